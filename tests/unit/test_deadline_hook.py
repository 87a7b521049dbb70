"""The time budget on a real botocore client (no network: a last ``before-send`` handler answers
every attempt), and what botocore itself does with an exception raised from its hooks."""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from botocore.config import Config
from botocore.exceptions import ConnectionError as BotoConnectionError

from chalicelib.domain import deadline
from chalicelib.domain.deadline import Deadline, attempt_seconds
from chalicelib.settings import load_settings
from chalicelib.stores.aws import dynamodb_client, translate_errors
from chalicelib.stores.deadline_hook import max_backoff, time_for
from chalicelib.stores.errors import ConditionFailed, DeadlineExceeded, StorageUnavailable
from chalicelib.stores.fault_injection import fault_response

ENV = {
    "STAGE": "local",
    "CURSOR_SIGNING_KEY": "k" * 16,
    "AWS_CONNECT_TIMEOUT": "1",
    "AWS_READ_TIMEOUT": "3",
    "AWS_TOTAL_MAX_ATTEMPTS": "3",
}
ATTEMPT = attempt_seconds(1.0, 3.0)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def ok_response() -> AWSResponse:
    body = b"{}"
    headers = HTTPHeaders()
    headers["Content-Type"] = "application/x-amz-json-1.0"
    headers["x-amz-crc32"] = str(zlib.crc32(body) & 0xFFFFFFFF)

    class Raw:
        def stream(self, **_: Any) -> list[bytes]:
            return [body]

    return AWSResponse("http://x", 200, headers, Raw())


class Server:
    """Answers every attempt (``before-send``, registered last) and counts them."""

    def __init__(self, client: Any, answers: list[str]) -> None:
        self.answers = answers  # "ok", or a DynamoDB error code; the last one repeats
        self.attempts = 0
        client.meta.events.register_last("before-send.dynamodb", self.answer)

    def answer(self, **_: Any) -> AWSResponse:
        code = self.answers[min(self.attempts, len(self.answers) - 1)]
        self.attempts += 1
        if code == "ok":
            return ok_response()
        status = {"InternalServerError": 500, "ConditionalCheckFailedException": 400}.get(code, 400)
        return fault_response("http://x", code, status)


@pytest.fixture
def client() -> Any:
    session = boto3.Session(
        aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1"
    )
    return dynamodb_client(load_settings(ENV), session, "http://127.0.0.1:9")


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr("time.sleep", slept.append)  # botocore's retry backoff
    return slept


@pytest.fixture
def clock() -> Clock:
    return Clock()


@contextmanager
def within(budget: float, clock: Clock) -> Iterator[None]:
    """The request's deadline, ``budget`` seconds from the clock's now, for the block."""
    token = deadline.set_current(Deadline.after(budget, clock))
    try:
        yield
    finally:
        deadline.reset(token)


def get(client: Any) -> None:
    with translate_errors("GetItem t"):
        client.get_item(TableName="t", Key={"pk": {"S": "a"}})


def test_without_a_request_nothing_is_checked(client: Any, sleeps: list[float]) -> None:
    server = Server(client, ["InternalServerError"])
    with pytest.raises(StorageUnavailable) as caught:
        get(client)
    assert not isinstance(caught.value, DeadlineExceeded)
    assert server.attempts == 3


def test_an_attempt_that_does_not_fit_is_not_made_nor_retried(
    client: Any, clock: Clock, sleeps: list[float]
) -> None:
    server = Server(client, ["ok"])
    with within(ATTEMPT - 0.01, clock):  # the assert after the raises needs the deadline
        with pytest.raises(DeadlineExceeded, match="GetItem: request time budget spent") as c:
            get(client)
        assert deadline.current().exceeded  # type: ignore[union-attr]
    assert server.attempts == 0
    assert sleeps == []
    assert c.value.__cause__ is None


def test_an_attempt_that_fits_is_made(client: Any, clock: Clock, sleeps: list[float]) -> None:
    server = Server(client, ["ok"])
    with within(ATTEMPT, clock):
        get(client)
    assert server.attempts == 1


def test_a_retry_whose_sleep_might_not_fit_is_refused_before_sleeping(
    client: Any, clock: Clock, sleeps: list[float]
) -> None:
    server = Server(client, ["InternalServerError"])
    with (
        within(ATTEMPT + max_backoff(1) - 0.01, clock),
        pytest.raises(DeadlineExceeded, match="InternalServerError, and the request"),
    ):
        get(client)
    assert server.attempts == 1
    assert sleeps == []


def test_retries_that_fit_happen_then_the_real_error_surfaces(
    client: Any, clock: Clock, sleeps: list[float]
) -> None:
    server = Server(client, ["ThrottlingException"])
    with (
        within(3 * ATTEMPT + max_backoff(1) + max_backoff(2), clock),
        pytest.raises(StorageUnavailable, match="ThrottlingException") as caught,
    ):
        get(client)
    assert not isinstance(caught.value, DeadlineExceeded)
    assert server.attempts == 3
    assert len(sleeps) == 2


def test_the_clock_moving_during_retries_stops_them(
    client: Any, clock: Clock, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each botocore sleep advances the clock: the second retry no longer fits."""
    monkeypatch.setattr("time.sleep", lambda s: setattr(clock, "now", clock.now + 2.0))
    server = Server(client, ["InternalServerError"])
    with (
        within(ATTEMPT + max_backoff(2) + max_backoff(1) - 0.5, clock),
        pytest.raises(DeadlineExceeded),
    ):
        get(client)
    assert server.attempts == 2


def test_a_failure_that_is_not_unavailability_is_left_alone(
    client: Any, clock: Clock, sleeps: list[float]
) -> None:
    server = Server(client, ["ConditionalCheckFailedException"])
    with within(ATTEMPT, clock), pytest.raises(ConditionFailed):  # no room for any retry
        get(client)
    assert server.attempts == 1


def test_time_for_our_own_loops(client: Any, clock: Clock) -> None:
    assert time_for(client, 100.0)  # outside a request
    with within(ATTEMPT + 0.5, clock):
        assert time_for(client, 0.5)
        assert not time_for(client, 0.6)


def test_max_backoff_follows_botocores_standard_mode() -> None:
    assert [max_backoff(n) for n in (1, 2, 3, 5, 6, 40)] == [1, 2, 4, 16, 20, 20]
    assert max_backoff(1, retry_after=True) == 6


# What botocore does with an exception raised from a before-send handler, without our hooks.
def plain_client() -> Any:
    session = boto3.Session(
        aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1"
    )
    return session.client(
        "dynamodb",
        endpoint_url="http://127.0.0.1:9",
        config=Config(retries={"total_max_attempts": 3, "mode": "standard"}),
    )


@pytest.mark.parametrize(
    ("exception", "attempts"),
    [
        (DeadlineExceeded("spent"), 1),  # not botocore's: raised after one attempt, unchanged
        (BotoConnectionError(error="x"), 3),  # botocore's ConnectionError: retried as transient
    ],
)
def test_botocore_retries_only_its_own_transient_exceptions_from_before_send(
    sleeps: list[float], exception: Exception, attempts: int
) -> None:
    client = plain_client()
    calls: list[int] = []

    def raise_it(**_: Any) -> None:
        calls.append(1)
        raise exception

    client.meta.events.register("before-send.dynamodb", raise_it)
    with pytest.raises(type(exception)):
        client.get_item(TableName="t", Key={"pk": {"S": "a"}})
    assert len(calls) == attempts


def test_fault_response_bodies_are_json() -> None:
    assert json.loads(fault_response("u", "ThrottlingException", 400).content)["__type"]
