"""Inbox paging over sharded GSIs on DynamoDB Local: no repeats, no skips, oldest first."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from chalicelib import errors
from chalicelib.domain.events import parse_event_create
from chalicelib.runtime import Runtime
from chalicelib.services.inbox import parse_inbox_query
from tests.conftest import Database


def post(rt: Runtime, n: int, tenant: str = "ten_a", **changes: Any) -> str:
    raw = {"source": "billing", "event_type": "invoice.paid", "payload": {"n": n}, **changes}
    return str(rt.events.create(tenant, parse_event_create(raw)).event["event_id"])


def page(rt: Runtime, tenant: str = "ten_a", **params: str) -> dict[str, Any]:
    return rt.inbox.list_pending(tenant, parse_inbox_query(params))


def walk(rt: Runtime, between_pages: Any = None, **params: str) -> list[str]:
    seen: list[str] = []
    cursor = None
    for _ in range(500):
        query = {**params, **({"cursor": cursor} if cursor else {})}
        body = page(rt, **query)
        seen.extend(e["event_id"] for e in body["events"])
        cursor = body["next_cursor"]
        if cursor is None:
            return seen
        if between_pages is not None:
            between_pages()
    raise AssertionError("paging did not end")


@pytest.mark.parametrize("limit", ["1", "3", "7", "50", "100"])
def test_paging_returns_every_pending_event_once_oldest_first(ddb: Database, limit: str) -> None:
    rt = ddb.runtime()
    ids = [post(rt, n) for n in range(40)]
    assert walk(rt, limit=limit) == ids


def test_acknowledged_and_deleted_events_leave_the_inbox(ddb: Database) -> None:
    rt = ddb.runtime()
    ids = [post(rt, n) for n in range(20)]
    for event_id in ids[::3]:
        rt.events.acknowledge("ten_a", event_id)
    rt.events.delete("ten_a", ids[1])
    expected = [i for k, i in enumerate(ids) if k % 3 and k != 1]
    assert walk(rt, limit="4") == expected


def test_source_and_type_filters_use_their_indexes(ddb: Database) -> None:
    rt = ddb.runtime()
    ids = {}
    for n in range(24):
        source, kind = ("a", "b")[n % 2], ("x", "y", "z")[n % 3]
        ids[n] = (post(rt, n, source=source, event_type=kind), source, kind)
    for params in [{"source": "a"}, {"event_type": "y"}, {"source": "b", "event_type": "z"}]:
        expected = [
            eid
            for eid, s, k in ids.values()
            if params.get("source", s) == s and params.get("event_type", k) == k
        ]
        assert walk(rt, limit="2", **params) == expected


def test_new_events_between_pages_are_never_repeated_or_skipped(ddb: Database) -> None:
    rt = ddb.runtime()
    initial = [post(rt, n) for n in range(25)]
    added: list[str] = []

    def add_two() -> None:
        added.extend(post(rt, 1000 + len(added) + k) for k in range(2))

    seen = walk(rt, between_pages=add_two, limit="5")
    assert len(seen) == len(set(seen))
    # Every event, old or new, is seen: new ones sort after every cursor handed out.
    assert seen == initial + added


def test_paging_while_another_thread_posts(ddb: Database) -> None:
    rt = ddb.runtime()
    initial = [post(rt, n) for n in range(30)]
    posted: list[str] = []
    stop = threading.Event()

    def writer() -> None:
        n = 0
        while not stop.is_set() and n < 300:
            posted.append(post(rt, 10_000 + n))
            n += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        seen = walk(rt, limit="4")
    finally:
        stop.set()
        thread.join()
    assert len(seen) == len(set(seen)), "an event was served twice"
    assert seen[: len(initial)] == initial
    # A single writer creates and commits events in order: what paging saw of them is a prefix.
    new_seen = seen[len(initial) :]
    assert new_seen == posted[: len(new_seen)], "an event was skipped"


def test_tenants_never_see_each_other(ddb: Database) -> None:
    rt = ddb.runtime()
    mine = [post(rt, n, tenant="ten_a") for n in range(6)]
    [post(rt, n, tenant="ten_b") for n in range(6)]
    assert walk(rt, limit="4") == mine


def test_cursor_is_bound_to_tenant_and_filters(ddb: Database) -> None:
    rt = ddb.runtime()
    for n in range(6):
        post(rt, n, tenant="ten_a")
        post(rt, n, tenant="ten_b")
    cursor = page(rt, limit="2")["next_cursor"]
    assert cursor
    assert page(rt, limit="5", cursor=cursor)["events"]  # a new limit is fine
    with pytest.raises(errors.ValidationError) as exc:
        page(rt, tenant="ten_b", limit="2", cursor=cursor)
    assert exc.value.details[0]["field"] == "cursor"
    with pytest.raises(errors.ValidationError):
        page(rt, limit="2", cursor=cursor, source="billing")
    with pytest.raises(errors.ValidationError):
        page(rt, limit="2", cursor=cursor[:-2] + ("A" if cursor[-2] != "A" else "B") + cursor[-1])
