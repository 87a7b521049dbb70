"""Inbox planning and shard merging, against a fake in-memory ``read``.

The property that matters: paging through any set of items over N shards, with any page size
and any read budget, yields every matching item exactly once, in global sort-key order, even
when filters make reads come back short.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.clock import format_ts
from chalicelib.domain.inbox import (
    INDEX_ALL,
    INDEX_SOURCE,
    INDEX_SOURCE_TYPE,
    INDEX_TYPE,
    InboxFilters,
    IndexPlan,
    collect_page,
    inbox_keys,
    item_sort_key,
    plan_query,
    shard_of,
    sort_key,
)

T0 = 1_795_000_000.0


def sk(ms: int, n: int = 0) -> str:
    return sort_key(format_ts(T0 + ms / 1000), f"evt_{n:026d}")


def in_range(plan: IndexPlan, key: str) -> bool:
    return plan.lower <= key <= plan.upper


# -- plan_query --------------------------------------------------------------------------------
def test_index_choice_and_partition_values() -> None:
    cases = {
        InboxFilters(): (INDEX_ALL, "inbox_pk", "t#{n}"),
        InboxFilters(source="s"): (INDEX_SOURCE, "inbox_src_pk", "t#{n}#s"),
        InboxFilters(event_type="e"): (INDEX_TYPE, "inbox_type_pk", "t#{n}#e"),
        InboxFilters(source="s", event_type="e"): (
            INDEX_SOURCE_TYPE,
            "inbox_srctype_pk",
            "t#{n}#s#e",
        ),
    }
    for filters, (index, attr, pattern) in cases.items():
        plan = plan_query("t", 3, filters, None)
        assert (plan.index_name, plan.partition_attr) == (index, attr)
        assert plan.partition_values == tuple(pattern.format(n=n) for n in range(3))


def test_partition_values_match_what_items_carry() -> None:
    keys = inbox_keys("t", 2, "s", "e", format_ts(T0), "evt_X")
    for filters in [
        InboxFilters(),
        InboxFilters(source="s"),
        InboxFilters(event_type="e"),
        InboxFilters(source="s", event_type="e"),
    ]:
        plan = plan_query("t", 4, filters, None)
        assert keys[plan.partition_attr] == plan.partition_values[2]


def test_unbounded_plan_covers_every_key() -> None:
    plan = plan_query("t", 1, InboxFilters(), None)
    assert in_range(plan, sk(0))
    assert in_range(plan, sk(10**12))
    assert not plan.empty


@given(st.integers(0, 10_000), st.integers(0, 10_000), st.integers(0, 99))
def test_created_after_is_exclusive_at_millisecond_resolution(bound: int, at: int, n: int) -> None:
    plan = plan_query("t", 1, InboxFilters(created_after=format_ts(T0 + bound / 1000)), None)
    assert in_range(plan, sk(at, n)) == (at > bound)


@given(st.integers(0, 10_000), st.integers(0, 10_000), st.integers(0, 99))
def test_created_before_is_exclusive_at_millisecond_resolution(bound: int, at: int, n: int) -> None:
    plan = plan_query("t", 1, InboxFilters(created_before=format_ts(T0 + bound / 1000)), None)
    assert in_range(plan, sk(at, n)) == (at < bound)


@given(st.integers(0, 1000), st.integers(0, 50), st.integers(0, 1000), st.integers(0, 50))
def test_cursor_is_an_exclusive_lower_bound(after_ms: int, after_n: int, at: int, n: int) -> None:
    after = sk(after_ms, after_n)
    plan = plan_query("t", 1, InboxFilters(), after)
    assert in_range(plan, sk(at, n)) == (sk(at, n) > after)


def test_cursor_and_created_after_combine_to_the_tighter_bound() -> None:
    filters = InboxFilters(created_after=format_ts(T0 + 0.005))
    assert plan_query("t", 1, filters, sk(2)).lower == plan_query("t", 1, filters, None).lower
    assert plan_query("t", 1, filters, sk(9)).lower == sk(9) + "!"


def test_empty_range() -> None:
    filters = InboxFilters(
        created_after=format_ts(T0 + 0.005), created_before=format_ts(T0 + 0.005)
    )
    plan = plan_query("t", 2, filters, None)
    assert plan.empty
    assert collect_page(plan, 10, _never_called, 10).items == []


def _never_called(partition: str, lower: str, n: int) -> tuple[list[Keyed], None]:
    raise AssertionError("an empty plan must not read")


def test_shard_of_is_stable_and_in_range() -> None:
    ids = [f"evt_{i:026d}" for i in range(400)]
    shards = [shard_of(i, 4) for i in ids]
    assert shards == [shard_of(i, 4) for i in ids]
    assert set(shards) == {0, 1, 2, 3}


# -- collect_page against a fake read ----------------------------------------------------------
@dataclass(frozen=True)
class Keyed:
    """An item as collect_page sees it: only its sort key matters."""

    sort_key: str


@dataclass
class FakeIndex:
    """Shards of items sorted by sort key; ``read`` behaves like a DynamoDB Query with Limit
    (evaluates up to n items, returns those that match the filter, and the last evaluated key
    whenever it stopped because of the limit)."""

    plan: IndexPlan
    shards: dict[str, list[tuple[str, bool]]]
    reads: int = 0
    log: list[tuple[str, str, int]] = field(default_factory=list)

    def read(self, partition: str, lower: str, n: int) -> tuple[list[Keyed], str | None]:
        self.reads += 1
        self.log.append((partition, lower, n))
        assert n >= 1
        candidates = [(k, m) for k, m in self.shards[partition] if lower <= k <= self.plan.upper]
        evaluated = candidates[:n]
        items = [Keyed(k) for k, m in evaluated if m]
        stopped = evaluated[-1][0] if len(evaluated) == n else None
        return items, stopped


item_sets = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 200), st.booleans()),
    max_size=60,
    unique_by=lambda t: t[1],
)


@given(
    items=item_sets,
    shards=st.integers(1, 5),
    limit=st.integers(1, 12),
    max_reads=st.integers(1, 12),
    read_size=st.none() | st.integers(1, 7),
    batched=st.booleans(),
)
def test_paging_yields_every_match_exactly_once_in_order(
    items: list[tuple[int, int, bool]],
    shards: int,
    limit: int,
    max_reads: int,
    read_size: int | None,
    batched: bool,
) -> None:
    partitions = [f"t#{n}" for n in range(shards)]
    by_shard: dict[str, list[tuple[str, bool]]] = {p: [] for p in partitions}
    for shard, ms, match in items:
        by_shard[partitions[shard % shards]].append((sk(ms, ms), match))
    for rows in by_shard.values():
        rows.sort()
    expected = sorted(key for rows in by_shard.values() for key, match in rows if match)

    served: list[str] = []
    after: str | None = None
    for _ in range(1000):
        plan = plan_query("t", shards, InboxFilters(), after)
        fake = FakeIndex(plan, by_shard)
        read_many = (lambda reqs, f=fake: [f.read(*r) for r in reqs]) if batched else None
        page = collect_page(plan, limit, fake.read, max_reads, read_size, read_many)
        assert len(page.items) <= limit
        # The budget is spent at most by one extra round over the shards.
        assert page.reads <= max(max_reads, 0) + shards
        served.extend(item_sort_key(i) for i in page.items)
        if page.resume_after is None:
            break
        assert after is None or page.resume_after > after, "a page must make progress"
        after = page.resume_after
    else:
        raise AssertionError("paging did not finish")
    assert served == expected


def test_short_reads_from_a_filter_are_topped_up() -> None:
    plan = plan_query("t", 2, InboxFilters(), None)
    rows = {
        "t#0": [(sk(i, i), i % 5 == 0) for i in range(0, 40, 2)],
        "t#1": [(sk(i, i), i % 5 == 0) for i in range(1, 40, 2)],
    }
    fake = FakeIndex(plan, rows)
    page = collect_page(plan, 4, fake.read, 50)
    assert [item_sort_key(i) for i in page.items] == [sk(0, 0), sk(5, 5), sk(10, 10), sk(15, 15)]
    assert page.resume_after == sk(15, 15)


def test_budget_spent_resumes_at_the_frontier_without_skipping() -> None:
    plan = plan_query("t", 2, InboxFilters(), None)
    rows = {
        "t#0": [(sk(i, i), False) for i in range(10)] + [(sk(50, 50), True)],
        "t#1": [(sk(i, i), False) for i in range(10, 20)] + [(sk(60, 60), True)],
    }
    fake = FakeIndex(plan, rows)
    page = collect_page(plan, 5, fake.read, 2, read_size=3)
    assert page.items == []
    assert page.resume_after is not None
    assert page.resume_after < sk(50, 50)


def test_a_stuck_reader_is_stopped_by_the_budget() -> None:
    plan = plan_query("t", 2, InboxFilters(), None)

    def stuck(partition: str, lower: str, n: int) -> tuple[list[Keyed], str | None]:
        # Claims more is left but never advances past the bound it was given.
        return [], plan.lower

    page = collect_page(plan, 5, stuck, max_reads=50)
    assert page.items == []
    assert page.reads <= 50 + 2
    assert page.resume_after == plan.lower


@given(limit=st.integers(1, 100), shards=st.integers(1, 64))
def test_first_read_size_is_between_one_and_the_page(limit: int, shards: int) -> None:
    from chalicelib.domain.inbox import first_read_size

    size = first_read_size(limit, shards)
    assert 1 <= size <= limit
    # Together the shards ask for at least one and a half pages (or each for a whole page).
    assert size * shards >= min(limit * 3 // 2, limit * shards)


def test_a_round_of_reads_goes_to_read_many_together() -> None:
    plan = plan_query("t", 4, InboxFilters(), None)
    rows = {
        p: [(sk(i, i), True) for i in range(n, 40, 4)] for n, p in enumerate(plan.partition_values)
    }
    fake = FakeIndex(plan, rows)
    batches: list[int] = []

    def read_many(
        reqs: list[tuple[str, str, int]],
    ) -> list[tuple[list[Keyed], str | None]]:
        batches.append(len(reqs))
        return [fake.read(*r) for r in reqs]

    page = collect_page(plan, 10, fake.read, 24, read_size=4, read_many=read_many)
    assert [item_sort_key(i) for i in page.items] == [sk(i, i) for i in range(10)]
    assert batches[0] == 4  # the first round reads every shard at once


def test_filter_names_are_names_only() -> None:
    assert InboxFilters().names() == ()
    filters = InboxFilters(
        source="s",
        event_type="t",
        created_after="2026-01-01T00:00:00.000Z",
        created_before="2026-01-02T00:00:00.000Z",
        priority="high",
        metadata=(("team", "a"), ("region", "b")),
    )
    assert filters.names() == (
        "source",
        "event_type",
        "created_after",
        "created_before",
        "priority",
        "metadata",
    )
