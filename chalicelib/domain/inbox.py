"""Inbox query planning: which index, which key range, how shards merge. Pure.

Pending events live on sparse GSIs whose partition key is ``{tenant}#{shard}`` (plus the source
and/or event type for the filtered indexes) and whose sort key is ``{created_at}#{event_id}``.
Every sort key has the same length, so string order is time order and a key range is a time range.
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from chalicelib.domain.events import Event

INDEX_ALL = "inbox-index"
INDEX_SOURCE = "inbox-source-index"
INDEX_TYPE = "inbox-type-index"
INDEX_SOURCE_TYPE = "inbox-source-type-index"

# GSI name -> (partition key attribute, which filters make up the key)
INBOX_INDEXES: dict[str, tuple[str, tuple[str, ...]]] = {
    INDEX_ALL: ("inbox_pk", ()),
    INDEX_SOURCE: ("inbox_src_pk", ("source",)),
    INDEX_TYPE: ("inbox_type_pk", ("event_type",)),
    INDEX_SOURCE_TYPE: ("inbox_srctype_pk", ("source", "event_type")),
}
SORT_KEY = "inbox_sk"
LOWEST = " "  # below every sort key (they start with a digit)
HIGHEST = "~"  # above every sort key


def shard_of(event_id: str, shards: int) -> int:
    digest = hashlib.sha256(event_id.encode()).digest()
    return int.from_bytes(digest[:4], "big") % shards


def sort_key(created_at: str, event_id: str) -> str:
    return f"{created_at}#{event_id}"


def inbox_keys(
    tenant_id: str, shard: int, source: str, event_type: str, created_at: str, event_id: str
) -> dict[str, str]:
    """The attributes that put a pending event on every inbox index."""
    base = f"{tenant_id}#{shard}"
    return {
        "inbox_pk": base,
        "inbox_src_pk": f"{base}#{source}",
        "inbox_type_pk": f"{base}#{event_type}",
        "inbox_srctype_pk": f"{base}#{source}#{event_type}",
        SORT_KEY: sort_key(created_at, event_id),
    }


def replay_partition(tenant_id: str, shard: int) -> str:
    """The replay index's partition key of an event: every event, pending or not."""
    return f"{tenant_id}#{shard}"


INBOX_ATTRIBUTES = ("inbox_pk", "inbox_src_pk", "inbox_type_pk", "inbox_srctype_pk", SORT_KEY)


@dataclass(frozen=True)
class InboxFilters:
    source: str | None = None
    event_type: str | None = None
    created_after: str | None = None  # RFC 3339, normalised to format_ts, exclusive
    created_before: str | None = None  # exclusive
    priority: str | None = None
    metadata: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    def names(self) -> tuple[str, ...]:
        """The filters in use, by name only (``metadata`` for any ``metadata.<key>``): what the
        access log records, so never a value nor a customer's metadata key."""
        used = [
            name
            for name, value in (
                ("source", self.source),
                ("event_type", self.event_type),
                ("created_after", self.created_after),
                ("created_before", self.created_before),
                ("priority", self.priority),
                ("metadata", self.metadata),
            )
            if value
        ]
        return tuple(used)

    def scope_parts(self) -> dict[str, str]:
        parts = {
            "source": self.source or "",
            "event_type": self.event_type or "",
            "created_after": self.created_after or "",
            "created_before": self.created_before or "",
            "priority": self.priority or "",
        }
        for key, value in self.metadata:
            parts[f"metadata.{key}"] = value
        return parts


@dataclass(frozen=True)
class IndexPlan:
    index_name: str
    partition_attr: str
    partition_values: tuple[str, ...]  # one per shard
    lower: str  # inclusive
    upper: str  # inclusive

    @property
    def empty(self) -> bool:
        return self.lower > self.upper


def choose_index(filters: InboxFilters) -> str:
    if filters.source and filters.event_type:
        return INDEX_SOURCE_TYPE
    if filters.source:
        return INDEX_SOURCE
    if filters.event_type:
        return INDEX_TYPE
    return INDEX_ALL


def plan_query(tenant_id: str, shards: int, filters: InboxFilters, after: str | None) -> IndexPlan:
    """The key condition for every shard: partition value and an inclusive sort-key range.

    ``after`` (a cursor) and ``created_after`` are exclusive lower bounds; since all sort keys
    have one length, the smallest key above ``x`` that any item can have is above ``x + "!"``.
    ``created_before`` is exclusive: ``"{before}#"`` sorts below every key at that instant.
    """
    index = choose_index(filters)
    attr, parts = INBOX_INDEXES[index]
    suffix = "".join(
        f"#{filters.source if part == 'source' else filters.event_type}" for part in parts
    )
    partitions = tuple(f"{tenant_id}#{n}{suffix}" for n in range(shards))
    lower = LOWEST
    if filters.created_after:
        lower = max(lower, f"{filters.created_after}#~")
    if after:
        lower = max(lower, after + "!")
    upper = HIGHEST
    if filters.created_before:
        upper = f"{filters.created_before}#"
    return IndexPlan(index, attr, partitions, lower, upper)


class SortKeyed(Protocol):
    @property
    def sort_key(self) -> str: ...


@dataclass(frozen=True)
class InboxItem:
    """A pending event as an inbox index holds it: its sort key and the event."""

    sort_key: str
    event: Event


ItemT = TypeVar("ItemT", bound=SortKeyed)


def item_sort_key(item: SortKeyed) -> str:
    return item.sort_key


@dataclass
class _Shard:
    partition: str
    lower: str  # inclusive lower bound of the next read
    buffered: list[Any] = field(default_factory=list)
    evaluated_to: str | None = None  # sort key read up to; None = nothing read yet
    exhausted: bool = False


@dataclass(frozen=True)
class CollectedPage(Generic[ItemT]):
    items: list[ItemT]
    resume_after: str | None  # sort key to continue after, None when nothing is left
    reads: int


ReadResult = tuple[list[ItemT], str | None]
ReadRequest = tuple[str, str, int]


def first_read_size(limit: int, shards: int) -> int:
    """Items to ask of each shard in the first round: enough that the page usually fills in one
    round (items hash evenly over shards), without reading ``shards x limit`` items every time."""
    return max(1, min(limit, -(-limit * 3 // (2 * shards)) + 2))


def collect_page(
    plan: IndexPlan,
    limit: int,
    read: Callable[[str, str, int], ReadResult[ItemT]],
    max_reads: int,
    read_size: int | None = None,
    read_many: Callable[[list[ReadRequest]], list[ReadResult[ItemT]]] | None = None,
) -> CollectedPage[ItemT]:
    """Fill one page from all shards, in global sort-key order, never skipping an item.

    ``read(partition, lower, n)`` returns up to ``n`` evaluated items' matches at or above
    ``lower`` and the sort key it stopped at (``None`` when the range is exhausted). Filters
    can make reads come back short, so shards are read again until the page is full, every shard
    is exhausted or ``max_reads`` is spent. Items are only served up to the lowest position every
    unexhausted shard has reached (the *frontier*); a page cut short by the budget resumes there.
    ``read_many`` (optional) performs one round's reads together, e.g. concurrently; it returns
    the results in request order.
    """
    if plan.empty:
        return CollectedPage([], None, 0)
    size = read_size or limit
    shards = [_Shard(p, plan.lower) for p in plan.partition_values]
    served: list[ItemT] = []
    reads = 0
    first_round = True
    while True:
        reads_before = reads
        due = [
            s
            for s in shards
            if not s.exhausted and (first_round or len(s.buffered) < limit - len(served))
        ]
        if not first_round:
            due = due[: max(0, max_reads - reads)]
        requests = [(s.partition, s.lower, size) for s in due]
        if read_many is not None and len(requests) > 1:
            results = read_many(requests)
        else:
            results = [read(*request) for request in requests]
        reads += len(due)
        for shard, (items, stopped_at) in zip(due, results, strict=True):
            shard.buffered.extend(items)
            if stopped_at is None:
                shard.exhausted = True
            else:
                shard.evaluated_to = stopped_at
                shard.lower = stopped_at + "!"
        first_round = False
        open_shards = [s for s in shards if not s.exhausted]
        frontier = min((str(s.evaluated_to) for s in open_shards), default=HIGHEST)
        ready = list(
            heapq.merge(
                *[[i for i in s.buffered if item_sort_key(i) <= frontier] for s in shards],
                key=item_sort_key,
            )
        )
        need = limit - len(served)
        served.extend(ready[:need])
        for s in shards:
            s.buffered = [i for i in s.buffered if item_sort_key(i) > frontier]
        if len(served) >= limit:
            more = len(ready) > need or bool(open_shards) or any(s.buffered for s in shards)
            # Anything read beyond the last served item is read again for the next page.
            return CollectedPage(served, item_sort_key(served[-1]) if more else None, reads)
        if not open_shards:
            return CollectedPage(served, None, reads)
        if reads >= max_reads or reads == reads_before:
            # (A round without reads cannot make progress: never loop on it.)
            # Budget spent with the page short: every shard has been read up to the frontier,
            # so the next page resumes there and nothing in between is skipped.
            return CollectedPage(served, frontier, reads)
