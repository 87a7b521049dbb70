"""Advanced inbox filters on DynamoDB Local: priority, metadata, time range, source/type,
combined with each other and with paging (full pages, no repeats, no skips)."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib import errors
from chalicelib.api.models.inbox import parse_inbox_query
from chalicelib.domain.clock import FixedClock, format_ts
from chalicelib.domain.events import parse_event_create
from chalicelib.runtime import Runtime
from tests.conftest import Database

TENANT = "ten_filters"


def seed(rt: Runtime, clock: FixedClock, specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    created = []
    for spec in specs:
        body = {"source": "billing", "event_type": "invoice.paid", "payload": {}, **spec}
        created.append(rt.events.create(TENANT, parse_event_create(body)).event)
        clock.advance(1)
    return created


def read_all(rt: Runtime, params: dict[str, str], limit: int) -> tuple[list[str], list[int]]:
    ids: list[str] = []
    sizes: list[int] = []
    cursor = None
    while True:
        query = {**params, "limit": str(limit), **({"cursor": cursor} if cursor else {})}
        page = rt.inbox.list_pending(TENANT, parse_inbox_query(query))
        ids.extend(e["event_id"] for e in page["events"])
        sizes.append(len(page["events"]))
        cursor = page["next_cursor"]
        if cursor is None:
            return ids, sizes


@pytest.fixture
def world(ddb: Database) -> tuple[Runtime, list[dict[str, Any]], FixedClock]:
    clock = FixedClock(1_795_000_000.0)
    rt = ddb.runtime(now=clock.now)
    specs = []
    for n in range(60):
        metadata = {"priority": ("high" if n % 7 == 0 else "normal"), "region": f"r{n % 3}"}
        if n % 5 == 0:
            metadata["customer tier.v2"] = "gold"  # a key with a space and a dot
        if n % 11 == 0:
            metadata["size"] = "xl"  # a DynamoDB reserved word
        specs.append(
            {
                "source": "billing" if n % 2 else "shop",
                "event_type": "invoice.paid" if n % 4 < 2 else "order.placed",
                "payload": {"n": n},
                "metadata": metadata,
            }
        )
    return rt, seed(rt, clock, specs), clock


def expected(events: list[dict[str, Any]], **want: Any) -> list[str]:
    out = []
    for e in events:
        md = e["metadata"]
        if "priority" in want and md.get("priority") != want["priority"]:
            continue
        if any(md.get(k) != v for k, v in want.get("metadata", {}).items()):
            continue
        if "source" in want and e["source"] != want["source"]:
            continue
        if "event_type" in want and e["event_type"] != want["event_type"]:
            continue
        if "after" in want and not e["created_at"] > want["after"]:
            continue
        if "before" in want and not e["created_at"] < want["before"]:
            continue
        out.append(e["event_id"])
    return out


@pytest.mark.parametrize("limit", [1, 3, 50])
def test_priority_filter_pages_are_full_and_complete(world, limit: int):
    rt, events, _ = world
    ids, sizes = read_all(rt, {"priority": "high"}, limit)
    assert ids == expected(events, priority="high")
    # A page is short only when it is the last one (or the read budget ran out).
    assert all(size == limit for size in sizes[:-1])


def test_metadata_keys_with_dots_spaces_and_reserved_words(world):
    rt, events, _ = world
    ids, _ = read_all(rt, {"metadata.customer tier.v2": "gold", "metadata.size": "xl"}, 5)
    assert ids == expected(events, metadata={"customer tier.v2": "gold", "size": "xl"})
    assert ids  # n = 0 and n = 55


def test_every_filter_combined_with_paging(world):
    rt, events, _ = world
    after = events[10]["created_at"]
    before = events[50]["created_at"]
    params = {
        "source": "billing",
        "priority": "normal",
        "metadata.region": "r1",
        "created_after": after,
        "created_before": before,
    }
    ids, _ = read_all(rt, params, 2)
    want = expected(
        events,
        source="billing",
        priority="normal",
        metadata={"region": "r1"},
        after=after,
        before=before,
    )
    assert ids == want
    assert len(want) >= 3


def test_source_and_type_with_metadata(world):
    rt, events, _ = world
    params = {"source": "shop", "event_type": "order.placed", "metadata.region": "r2"}
    ids, _ = read_all(rt, params, 4)
    assert ids == expected(
        events, source="shop", event_type="order.placed", metadata={"region": "r2"}
    )


def test_no_match_is_an_empty_page_without_cursor(world):
    rt, _, _ = world
    page = rt.inbox.list_pending(TENANT, parse_inbox_query({"metadata.region": "nowhere"}))
    assert page == {"events": [], "next_cursor": None}


def test_a_cursor_only_works_with_the_same_filters(world):
    rt, _, _ = world
    page = rt.inbox.list_pending(TENANT, parse_inbox_query({"priority": "normal", "limit": "2"}))
    cursor = page["next_cursor"]
    assert cursor
    with pytest.raises(errors.ValidationError) as caught:
        rt.inbox.list_pending(TENANT, parse_inbox_query({"priority": "high", "cursor": cursor}))
    assert caught.value.details[0]["field"] == "cursor"
    with pytest.raises(errors.ValidationError):
        rt.inbox.list_pending(
            TENANT,
            parse_inbox_query({"metadata.region": "r1", "priority": "normal", "cursor": cursor}),
        )


def test_acknowledged_events_never_match(world):
    rt, events, _ = world
    high = expected(events, priority="high")
    rt.events.acknowledge(TENANT, high[0])
    ids, _ = read_all(rt, {"priority": "high"}, 10)
    assert ids == high[1:]


def test_time_range_is_exclusive_at_both_ends(world):
    rt, events, _ = world
    params = {"created_after": events[3]["created_at"], "created_before": events[6]["created_at"]}
    ids, _ = read_all(rt, params, 10)
    assert ids == [e["event_id"] for e in events[4:6]]
    assert format_ts(1_795_000_004.0) == events[4]["created_at"]
