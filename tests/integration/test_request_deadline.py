"""The request time budget on DynamoDB Local, with DynamoDB slowed by a botocore hook that
sleeps before each attempt (as a slow answer under the read timeout would): a request answers
before its budget, 503 with Retry-After, and its access-log line says why; bulk keeps its
per-item results (done items reported, the rest failed as retryable, none half-done)."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from chalice.test import Client

from chalicelib.api.application import create_app
from chalicelib.domain.deadline import attempt_seconds
from chalicelib.observability.logging import logger
from chalicelib.runtime import Runtime
from chalicelib.settings import Settings, load_settings
from chalicelib.stores.aws import dynamodb_client
from tests.conftest import TEST_ENV, Database

CONNECT, READ, BUDGET = 0.1, 0.4, 1.2
SLOW = 0.3  # seconds added to every attempt
ATTEMPT = attempt_seconds(CONNECT, READ)  # 0.75 s: what the budget keeps for one attempt


def event(n: int) -> dict[str, Any]:
    return {"source": "billing", "event_type": "invoice.paid", "payload": {"n": n}}


def budget_settings(budget: float) -> Settings:
    return load_settings(
        {
            **TEST_ENV,
            "AWS_CONNECT_TIMEOUT": str(CONNECT),
            "AWS_READ_TIMEOUT": str(READ),
            "REQUEST_TIME_BUDGET_SECONDS": str(budget),
        }
    )


class SlowApp:
    def __init__(self, ddb: Database, log: io.StringIO, budget: float = BUDGET) -> None:
        settings = budget_settings(budget)
        session = boto3.Session(
            aws_access_key_id=ddb.access_key, aws_secret_access_key="local", region_name="us-east-1"
        )
        self.client = dynamodb_client(settings, session=session, endpoint_url=ddb.engine.endpoint)
        self.attempts: list[str] = []
        # Registered after the budget's own before-send check: runs only for attempts it allowed.
        self.client.meta.events.register("before-send.dynamodb", self._slow)
        self.runtime = Runtime.build(settings, dynamodb=self.client)
        self.log = log
        _, self.secret = ddb.runtime().keys.create_key("t", "ten_a")

    def _slow(self, event_name: str, **_: Any) -> None:
        self.attempts.append(event_name.rsplit(".", 1)[-1])
        time.sleep(SLOW)

    def access_lines(self) -> list[dict[str, Any]]:
        lines = [json.loads(line) for line in self.log.getvalue().splitlines() if line]
        return [line for line in lines if line["message"] == "request"]

    def lines(self, message: str) -> list[dict[str, Any]]:
        lines = [json.loads(line) for line in self.log.getvalue().splitlines() if line]
        return [line for line in lines if line["message"] == message]


@pytest.fixture
def log() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    previous = logger.registered_handler.setStream(stream)
    yield stream
    logger.registered_handler.setStream(previous)


@pytest.fixture
def slow(ddb: Database, log: io.StringIO) -> SlowApp:
    return SlowApp(ddb, log)


def test_a_create_answers_503_before_its_budget_and_says_why(slow: SlowApp, ddb: Database) -> None:
    """Key lookup (GetItem) and rate limit (UpdateItem) take 0.6 s of the 1.2 s: the PutItem
    would need 0.75 s more, so it is never sent and the request answers at once."""
    headers = {"X-API-Key": slow.secret, "Content-Type": "application/json"}
    with Client(create_app(slow.runtime), stage_name="local") as app:
        started = time.monotonic()
        response = app.http.post("/v1/events", headers=headers, body=json.dumps(event(1)))
        elapsed = time.monotonic() - started
    assert response.status_code == 503, response.body
    body = json.loads(response.body)
    assert body["error"]["code"] == "service_unavailable"
    assert int(response.headers["Retry-After"]) >= 1
    assert elapsed < BUDGET
    assert "PutItem" not in slow.attempts  # refused before sending: nothing half-written
    (access,) = slow.access_lines()
    assert access["status_code"] == 503
    assert access["deadline_exceeded"] is True
    (why,) = slow.lines("dependency failure")
    assert "request time budget spent" in why["error"]
    # Nothing was written: the inbox, read without the slowness, is empty.
    with Client(create_app(ddb.runtime()), stage_name="local") as app:
        inbox = app.http.get("/v1/inbox", headers={"X-API-Key": slow.secret})
    assert json.loads(inbox.body)["events"] == []


def test_a_request_within_its_budget_has_no_deadline_field(ddb: Database, log: io.StringIO) -> None:
    """A slowed call well within a roomy budget. (At the 1.2 s budget the others use, the one
    GetItem is sent only if it starts within 0.45 s of the request: a first request on a loaded
    CI machine once took longer before it and answered 503.)"""
    slow = SlowApp(ddb, log, budget=10 * ATTEMPT)
    with Client(create_app(slow.runtime), stage_name="local") as app:
        response = app.http.get("/v1/health")
    assert response.status_code == 200, response.body
    assert slow.attempts == ["GetItem"]  # slowed, and still within its budget
    (access,) = slow.access_lines()
    assert "deadline_exceeded" not in access


def test_bulk_reports_done_items_and_fails_the_rest_as_retryable(
    ddb: Database, log: io.StringIO
) -> None:
    """Ten keyed creates at 0.3 s each would take 3 s more: a 2 s budget stops after those that
    fit (key lookup and rate limit take 0.6 s; a create is tried while 0.75 s remain); a retry
    of the same body then creates the rest and replays the done ones, once each."""
    budget = 2.0
    slow = SlowApp(ddb, log, budget)
    items = [{**event(n), "idempotency_key": f"k-{n}"} for n in range(10)]
    headers = {"X-API-Key": slow.secret, "Content-Type": "application/json"}
    with Client(create_app(slow.runtime), stage_name="local") as app:
        started = time.monotonic()
        response = app.http.post(
            "/v1/events/bulk", headers=headers, body=json.dumps({"items": items})
        )
        elapsed = time.monotonic() - started
    assert response.status_code == 200, response.body
    assert elapsed < budget
    body = json.loads(response.body)
    done = {entry["index"] for entry in body["successful"]}
    failed = {entry["index"]: entry["error"]["code"] for entry in body["failed"]}
    assert done | set(failed) == set(range(10))
    assert 0 < len(failed) < 10
    assert set(failed.values()) == {"service_unavailable"}
    assert slow.access_lines()[0]["deadline_exceeded"] is True

    # The same request, without the slowness: the failed items are created, the done replayed.
    with Client(create_app(ddb.runtime()), stage_name="local") as app:
        again = json.loads(
            app.http.post(
                "/v1/events/bulk", headers=headers, body=json.dumps({"items": items})
            ).body
        )
    assert again["failed"] == []
    replayed = {entry["index"] for entry in again["successful"] if entry["replayed"]}
    assert replayed == done
    first_ids = {entry["index"]: entry["event"]["event_id"] for entry in body["successful"]}
    for entry in again["successful"]:
        if entry["index"] in first_ids:
            assert entry["event"]["event_id"] == first_ids[entry["index"]]


def test_outside_a_request_the_same_client_has_no_budget(slow: SlowApp) -> None:
    """Workers and scripts make calls outside any request: nothing limits them (their own
    timeouts and attempts do)."""
    started = time.monotonic()
    for _ in range(5):
        slow.runtime.health.check()
    assert time.monotonic() - started >= 5 * SLOW
    assert slow.attempts.count("GetItem") == 5


def test_the_inbox_shard_reads_on_the_pool_obey_the_budget(ddb: Database, log: io.StringIO) -> None:
    """The shard Queries run on the inbox's thread pool: the budget travels with them. After
    the key lookup (0.3 s of 0.9 s) no Query fits, so none is sent and the inbox answers 503."""
    slow = SlowApp(ddb, log, 0.9)
    with Client(create_app(slow.runtime), stage_name="local") as app:
        response = app.http.get("/v1/inbox", headers={"X-API-Key": slow.secret})
    assert response.status_code == 503, response.body
    assert int(response.headers["Retry-After"]) >= 1
    assert "Query" not in slow.attempts
    assert slow.access_lines()[0]["deadline_exceeded"] is True
