"""Inbox paging over sharded GSIs on DynamoDB Local: no repeats, no skips, oldest first."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from chalicelib import errors
from chalicelib.api.models.inbox import parse_inbox_query
from chalicelib.domain.events import parse_event_create
from chalicelib.runtime import Runtime
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
    assert seen[: len(initial)] == initial, "an event committed before the pass was skipped"
    assert set(seen[len(initial) :]) <= set(posted)
    # An event committed during the pass may be missed by it (the shards are read one after
    # another, so a page can hold a later event of one shard and not an earlier one of another
    # still in flight), but never by the next pass: docs/API.md, "Paging under concurrent writes".
    assert walk(rt, limit="4") == initial + posted


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


def test_paging_guarantee_under_concurrent_writers_over_shards(ddb: Database) -> None:
    """docs/API.md, "Paging under concurrent writes": an event committed before a pass starts is
    never skipped in that pass; one committed during it appears in it or in the next pass, never
    twice in one pass. Several writer threads post over every shard while passes run."""
    rt = ddb.runtime()
    assert rt.settings.inbox_shards >= 4
    committed: list[str] = []  # in the order create() returned, i.e. after the write committed
    lock = threading.Lock()
    stop = threading.Event()
    errors_seen: list[BaseException] = []

    def writer(w: int) -> None:
        try:
            n = 0
            while not stop.is_set() and n < 60:
                event_id = post(rt, w * 1000 + n)
                with lock:
                    committed.append(event_id)
                n += 1
        except BaseException as exc:  # surfaced in the test thread below
            errors_seen.append(exc)

    for n in range(20):
        committed.append(post(rt, n))
    threads = [threading.Thread(target=writer, args=(w,)) for w in range(1, 4)]
    for t in threads:
        t.start()
    passes: list[tuple[set[str], list[str], set[str]]] = []
    try:
        for _ in range(3):
            with lock:
                before = set(committed)
            seen = walk(rt, limit="5")
            with lock:
                after = set(committed)
            passes.append((before, seen, after))
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors_seen, errors_seen
    with lock:
        before = set(committed)
    final = walk(rt, limit="5")
    passes.append((before, final, before))
    assert set(final) == set(committed)  # quiet: everything pending is served
    for number, (before, seen, after) in enumerate(passes):
        assert len(seen) == len(set(seen)), f"pass {number} served an event twice"
        missing = before - set(seen)
        assert not missing, f"pass {number} skipped {len(missing)} events committed before it"
        if number + 1 < len(passes):
            during = after - before
            next_seen = set(passes[number + 1][1])
            lost = during - set(seen) - next_seen
            assert not lost, f"{len(lost)} events committed during pass {number} never showed"
    assert sum(len(after - before) for before, _, after in passes) > 0, "no concurrent writes"
