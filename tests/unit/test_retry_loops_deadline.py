"""Our own retry loops stop at the request's deadline instead of sleeping past it: BatchWriteItem
returns what is left as not written (bulk reports those items as retryable failures); an
idempotent create whose transaction conflicted (nothing written) gives up as unavailable."""

from __future__ import annotations

import random
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from chalicelib.domain import deadline
from chalicelib.domain.deadline import Deadline, attempt_seconds
from chalicelib.domain.events import parse_event_create
from chalicelib.runtime import Runtime
from chalicelib.settings import load_settings
from chalicelib.stores.aws import dynamodb_client
from chalicelib.stores.batch_write import write_batch
from chalicelib.stores.errors import DeadlineExceeded
from chalicelib.stores.events import EventStore
from chalicelib.stores.protocols import IdempotencyRecord


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


class HoldsBackOne:
    """A client whose BatchWriteItem always leaves the last request unprocessed."""

    def __init__(self) -> None:
        self.meta = SimpleNamespace(config=SimpleNamespace(connect_timeout=1.0, read_timeout=3.0))
        self.calls = 0

    def batch_write_item(self, RequestItems: dict[str, list[Any]]) -> dict[str, Any]:
        self.calls += 1
        ((table, requests),) = RequestItems.items()
        return {"UnprocessedItems": {table: requests[-1:]}}


def requests(n: int) -> list[dict[str, Any]]:
    return [{"PutRequest": {"Item": {"pk": {"S": str(i)}}}} for i in range(n)]


def test_without_a_deadline_it_tries_every_attempt() -> None:
    client, slept = HoldsBackOne(), []
    left = write_batch(
        client, "t", requests(3), sleep=slept.append, rng=random.Random(1), max_attempts=4
    )  # type: ignore[arg-type]
    assert client.calls == 4
    assert len(slept) == 3
    assert len(left) == 1


def test_at_the_deadline_it_stops_before_sleeping() -> None:
    clock, client, slept = Clock(), HoldsBackOne(), []
    # Room for one call, not for a backoff sleep plus another call.
    token = deadline.set_current(Deadline.after(attempt_seconds(1.0, 3.0), clock))
    try:
        left = write_batch(
            client, "t", requests(3), sleep=slept.append, rng=random.Random(1), max_attempts=4
        )  # type: ignore[arg-type]
        assert deadline.current().exceeded  # type: ignore[union-attr]
    finally:
        deadline.reset(token)
    assert client.calls == 1
    assert slept == []
    assert left == requests(3)[-1:]


def test_an_idempotent_create_stops_retrying_a_conflict_at_the_deadline() -> None:
    """A create whose transaction was cancelled by a conflict (nothing written) backs off and
    tries again, but not past the request's budget: it stops with DeadlineExceeded (503)."""
    settings = load_settings({"STAGE": "local", "CURSOR_SIGNING_KEY": "k" * 16})
    session = boto3.Session(
        aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1"
    )
    client = dynamodb_client(settings, session, "http://127.0.0.1:9")
    slept: list[float] = []
    store = EventStore(client, "events", "idempotency", sleep=slept.append)
    service = Runtime.build(settings, dynamodb=client).events
    draft = parse_event_create({"source": "s", "event_type": "t", "payload": {}})
    new = service.placed(service.new_event("ten_a", draft))
    token = deadline.set_current(Deadline.after(attempt_seconds(1.0, 3.0), Clock()))
    try:
        with Stubber(client) as stub:
            stub.add_client_error(
                "transact_write_items",
                "TransactionCanceledException",
                http_status_code=400,
                modeled_fields={
                    "CancellationReasons": [{"Code": "TransactionConflict"}, {"Code": "None"}]
                },
            )
            record = IdempotencyRecord("h", "e", "{}")
            with pytest.raises(DeadlineExceeded, match="no time left"):
                store.put_new_idempotent(new, "ten_a", "k1", record, 3600)
            stub.assert_no_pending_responses()
    finally:
        deadline.reset(token)
    assert slept == []
