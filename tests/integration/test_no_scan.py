"""Count the DynamoDB operations each request-path call makes: never a Scan, and the expected
number of round trips (botocore's before-call event sees every API call, retries excluded)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib import errors
from chalicelib.api.models.inbox import parse_inbox_query
from chalicelib.domain.events import parse_event_create
from chalicelib.runtime import Runtime
from tests.conftest import Database

BODY: dict[str, Any] = {"source": "billing", "event_type": "invoice.paid", "payload": {"n": 1}}


class CallCounter:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def __call__(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def take(self) -> dict[str, int]:
        out = dict(self.calls)
        self.calls.clear()
        return out


@pytest.fixture
def counted(ddb: Database) -> Iterator[tuple[Runtime, CallCounter]]:
    counter = CallCounter()
    ddb.client.meta.events.register("before-call.dynamodb.*", counter)
    rt = ddb.runtime()
    yield rt, counter
    ddb.client.meta.events.unregister("before-call.dynamodb.*", counter)


def new_event(rt: Runtime, tenant: str = "ten_a", **changes: Any) -> str:
    return str(rt.events.create(tenant, parse_event_create({**BODY, **changes})).event["event_id"])


def test_create_is_one_put(counted: tuple[Runtime, CallCounter]) -> None:
    rt, counter = counted
    new_event(rt)
    assert counter.take() == {"PutItem": 1}


def test_idempotent_create_is_one_transaction_and_replay_costs_no_more(
    counted: tuple[Runtime, CallCounter],
) -> None:
    rt, counter = counted
    draft = parse_event_create(BODY, header_idempotency_key="k")
    rt.events.create("ten_a", draft)
    assert counter.take() == {"TransactWriteItems": 1}
    assert rt.events.create("ten_a", draft).replayed
    assert counter.take() == {"TransactWriteItems": 1}


def test_get_ack_delete_are_one_call_each(counted: tuple[Runtime, CallCounter]) -> None:
    rt, counter = counted
    event_id = new_event(rt)
    counter.take()
    rt.events.get("ten_a", event_id)
    assert counter.take() == {"GetItem": 1}
    rt.events.acknowledge("ten_a", event_id)
    assert counter.take() == {"UpdateItem": 1}
    with pytest.raises(errors.AlreadyAcknowledged):
        rt.events.acknowledge("ten_a", event_id)
    assert counter.take() == {"UpdateItem": 1}
    rt.events.delete("ten_a", event_id)
    assert counter.take() == {"DeleteItem": 1}


def test_misses_cost_one_call_and_malformed_ids_none(counted: tuple[Runtime, CallCounter]) -> None:
    rt, counter = counted
    for call in (rt.events.get, rt.events.acknowledge, rt.events.delete):
        with pytest.raises(errors.NotFound):
            call("ten_a", "evt_01JD0000000000000000000000")
        assert sum(counter.take().values()) == 1
        with pytest.raises(errors.NotFound):
            call("ten_a", "nope")
        assert counter.take() == {}


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"source": "billing"},
        {"event_type": "invoice.paid"},
        {"source": "billing", "event_type": "invoice.paid"},
        {"limit": "3"},
    ],
)
def test_inbox_is_one_query_per_shard_on_an_index(
    counted: tuple[Runtime, CallCounter], params: dict[str, str]
) -> None:
    rt, counter = counted
    for n in range(10):
        new_event(rt, payload={"n": n})
    counter.take()
    page = rt.inbox.list_pending("ten_a", parse_inbox_query(params))
    assert page["events"]
    calls = counter.take()
    assert set(calls) == {"Query"}
    assert calls["Query"] == rt.settings.inbox_shards


def test_authentication_is_one_get_then_cached(counted: tuple[Runtime, CallCounter]) -> None:
    """On the request's path: one GetItem, then none while cached. Off it, on a background
    thread: one UpdateItem of last_used_at (at most once a minute per key)."""
    rt, counter = counted
    _, secret = rt.keys.create_key("n", "ten_a")
    counter.take()
    assert rt.keys.authenticate(secret) is not None
    assert rt.keys.authenticate(secret) is not None
    deadline = time.monotonic() + 10
    while counter.calls["UpdateItem"] == 0 and time.monotonic() < deadline:
        time.sleep(0.02)  # the background write of last_used_at
    assert counter.take() == {"GetItem": 1, "UpdateItem": 1}
    assert rt.keys.authenticate(secret) is not None
    time.sleep(0.2)  # room for a second background write, which must not come
    assert counter.take() == {}


def test_health_is_one_get(counted: tuple[Runtime, CallCounter]) -> None:
    rt, counter = counted
    assert rt.health.check()[0]
    assert counter.take() == {"GetItem": 1}


def test_no_request_path_ever_scans(counted: tuple[Runtime, CallCounter]) -> None:
    rt, counter = counted
    ids = [new_event(rt, payload={"n": n}) for n in range(30)]
    for event_id in ids[:10]:
        rt.events.acknowledge("ten_a", event_id)
    cursor = None
    while True:
        params = {"limit": "4", **({"cursor": cursor} if cursor else {})}
        page = rt.inbox.list_pending("ten_a", parse_inbox_query(params))
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert "Scan" not in counter.take()


def test_analytics_reads_are_queries_one_per_partition(
    counted: tuple[Runtime, CallCounter],
) -> None:
    from chalicelib.services.analytics import ExportRequest, SummaryRequest, TimeseriesRequest

    rt, counter = counted
    now = time.time()
    day = 86400.0
    for request in (
        TimeseriesRequest("minute", now - 2 * day, now),
        TimeseriesRequest("hour", now - 90 * day, now, source="billing"),
        TimeseriesRequest("day", now - 400 * day, now, event_type="invoice.paid"),
    ):
        counter.take()
        rt.analytics.timeseries("ten_a", request)
        calls = counter.take()
        # One Query per partition the range touches (minute items by day, hour items by
        # month, day items by year), never a Scan.
        assert set(calls) == {"Query"}, calls
        assert calls["Query"] <= {"minute": 3, "hour": 4, "day": 2}[request.granularity]
    rt.analytics.export("ten_a", ExportRequest("json", "hour", now - 2 * day, now))
    rt.analytics.summary("ten_a", SummaryRequest(now - 30 * day, now))
    assert set(counter.take()) == {"Query"}
