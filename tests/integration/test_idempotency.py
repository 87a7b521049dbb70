"""Idempotent creates on DynamoDB Local: replay, conflict, expiry and concurrency."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from chalicelib import errors
from chalicelib.domain.clock import FixedClock
from chalicelib.domain.events import parse_event_create
from chalicelib.runtime import Runtime
from chalicelib.services.events import CreateResult
from tests.conftest import Database

BODY: dict[str, Any] = {"source": "billing", "event_type": "invoice.paid", "payload": {"n": 1}}


def create(rt: Runtime, tenant: str = "ten_a", key: str = "k-1", **changes: Any) -> CreateResult:
    return rt.events.create(
        tenant, parse_event_create({**BODY, **changes}, header_idempotency_key=key)
    )


def count_events(db: Database) -> int:
    return len(db.client.scan(TableName=db.settings.events_table)["Items"])  # test-only Scan


def test_replay_returns_the_same_event_flagged(ddb: Database) -> None:
    rt = ddb.runtime()
    first = create(rt)
    second = create(rt)
    assert not first.replayed
    assert second.replayed
    assert second.event == first.event
    assert count_events(ddb) == 1


def test_replay_returns_the_original_even_after_an_ack(ddb: Database) -> None:
    rt = ddb.runtime()
    first = create(rt)
    rt.events.acknowledge("ten_a", str(first.event["event_id"]))
    assert create(rt).event == first.event


def test_different_body_conflicts(ddb: Database) -> None:
    rt = ddb.runtime()
    create(rt)
    for change in [{"payload": {"n": 2}}, {"source": "other"}, {"metadata": {"priority": "high"}}]:
        with pytest.raises(errors.IdempotencyConflict):
            create(rt, **change)
    assert count_events(ddb) == 1


def test_keys_are_per_tenant(ddb: Database) -> None:
    rt = ddb.runtime()
    a = create(rt, tenant="ten_a")
    b = create(rt, tenant="ten_b", payload={"n": 99})
    assert not b.replayed
    assert a.event["event_id"] != b.event["event_id"]


def test_different_keys_make_different_events(ddb: Database) -> None:
    rt = ddb.runtime()
    assert create(rt, key="a").event["event_id"] != create(rt, key="b").event["event_id"]


def test_expired_record_is_replaced(ddb: Database) -> None:
    clock = FixedClock(1_795_000_000.0)
    rt = Runtime.build(ddb.settings, dynamodb=ddb.client, now=clock.now)
    first = create(rt)
    clock.advance(ddb.settings.idempotency_ttl_seconds - 1)
    assert create(rt).replayed
    clock.advance(2)  # past 24 h: the key is free again, even with another body
    again = create(rt, payload={"n": 2})
    assert not again.replayed
    assert again.event["event_id"] != first.event["event_id"]
    assert create(rt, payload={"n": 2}).event == again.event


def test_concurrent_identical_creates_make_exactly_one_event(ddb: Database) -> None:
    rt = ddb.runtime()
    barrier = threading.Barrier(20)
    results: list[CreateResult] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def work() -> None:
        barrier.wait()
        try:
            result = create(rt, key="race")
        except BaseException as exc:
            with lock:
                failures.append(exc)
            return
        with lock:
            results.append(result)

    threads = [threading.Thread(target=work) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert len(results) == 20
    assert count_events(ddb) == 1
    assert len({r.event["event_id"] for r in results}) == 1
    assert all(r.event == results[0].event for r in results)
    assert sum(not r.replayed for r in results) == 1
