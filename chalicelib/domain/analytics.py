"""Ingestion analytics, pure: stream records -> counter increments, counter keys, summaries.

A change to the events table (a DynamoDB stream record, already turned into plain values by
:mod:`chalicelib.stores.stream_records`) becomes zero or more increments of per-minute
counters, each keyed by tenant, source, event type and the minute it belongs to:

* INSERT of a pending event: ``ingested`` in the minute of ``created_at``.
* MODIFY pending -> acknowledged: ``acknowledged`` and ``ack_latency_ms_sum`` in the minute of
  ``acknowledged_at``, and ``cohort_acknowledged`` in the minute of ``created_at``.
* REMOVE: ``deleted`` (or ``expired`` when DynamoDB's TTL removed it: ``userIdentity`` is the
  ``dynamodb.amazonaws.com`` service) in the minute the stream saw it, and
  ``cohort_removed_<status>`` in the minute of ``created_at``.

The *activity* counters say what happened in a minute; the *cohort* counters follow the events
created in a minute, so a summary can tell how many of a window's events are still pending.
Each minute's increments are also added to the hour and the day that contain it, so a summary
over a long window reads a few day items instead of thousands of minute items.

Every increment is kept at two *scopes*: the detail item (tenant, source, event type) and a
roll-up of the tenant's total, in a partition of its own (:func:`counter_pk`). An unfiltered time
series reads one roll-up item per bucket, whatever the number of sources and types; the detail
items answer filtered series, the summary's breakdowns and the export. (Roll-ups per source and
per event type were tried and dropped: they tripled the counter writes of small stream batches,
and writes cost five times what reads do; see docs/ANALYTICS.md.)

Ack latency is kept as a mergeable histogram (:mod:`chalicelib.domain.latency_sketch`) in the
same items, so the percentiles of an hour or a day are exact merges of its minutes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from chalicelib.domain import latency_sketch
from chalicelib.domain.clock import format_ts, parse_ts
from chalicelib.domain.events import NAME_PATTERN, STATUS_ACKNOWLEDGED, STATUS_PENDING

MINUTE, HOUR, DAY = 60, 3600, 86400
GRANULARITIES = ("minute", "hour", "day")
_SECONDS = {"minute": MINUTE, "hour": HOUR, "day": DAY}
# How long each granularity's counters are kept (DynamoDB TTL); reads ignore expired items.
RETENTION_SECONDS = {"minute": 35 * DAY, "hour": 400 * DAY, "day": 1830 * DAY}
# A stream record's dedup marker outlives the stream's 24 h retention with a margin.
MARKER_TTL_SECONDS = 2 * DAY
MARKER_PREFIX = "#stream-record#"  # tenants cannot start with '#', so no counter pk collides

ACTIVITY_COUNTERS = (
    "ingested",
    "acknowledged",
    "deleted",
    "expired",
    "ack_latency_ms_sum",
    # Webhook deliveries that ended in the window (counted by the delivery worker, once each).
    "deliveries_succeeded",
    "deliveries_failed",
)
COHORT_COUNTERS = (
    "cohort_acknowledged",
    "cohort_removed_pending",
    "cohort_removed_acknowledged",
)
COUNTERS = ACTIVITY_COUNTERS + COHORT_COUNTERS

# The scopes every increment is kept at. The roll-up holds ALL as its source and event type;
# no source or event type can be "*" (NAME_PATTERN), so nothing collides with it.
DETAIL, TOTAL = "detail", "total"
SCOPES = (DETAIL, TOTAL)
ALL = "*"


class PoisonRecord(ValueError):
    """A stream record this code cannot turn into counts (malformed or unexpected)."""


@dataclass(frozen=True)
class Increment:
    tenant_id: str
    source: str
    event_type: str
    minute: int  # epoch seconds at the start of the minute
    counts: Mapping[str, int]


@dataclass(frozen=True)
class RecordEffect:
    """What one stream record adds to the counters, and the figures it yields for metrics."""

    sequence_number: str
    record_id: str  # the stream record's eventID: unique per record, the dedup key
    increments: tuple[Increment, ...] = ()
    ingestion_lag_ms: float | None = None
    ack_latency_ms: float | None = None
    kind: str = "ignored"  # ingested | acknowledged | deleted | expired | ignored
    request_id: str | None = None  # of the POST that created the event (logged, not counted)


@dataclass(frozen=True)
class StreamChange:
    """One stream record of the events table, in plain values (no wire format)."""

    sequence_number: str
    record_id: str  # the record's eventID
    event_name: object  # INSERT | MODIFY | REMOVE; anything else is a poison record
    arrival: float | None  # when the stream saw the change (epoch seconds); None if unreadable
    by_ttl: bool  # removed by DynamoDB's TTL sweep rather than by a client
    old_image: Mapping[str, object] | None = None  # attribute name -> plain value
    new_image: Mapping[str, object] | None = None


# -- stream changes -> increments ---------------------------------------------------------------
def _image_str(image: Mapping[str, object], name: str) -> str | None:
    value = image.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise PoisonRecord(f"attribute {name} is not a string")
    return value


def _required(image: Mapping[str, object], name: str) -> str:
    value = _image_str(image, name)
    if not value:
        raise PoisonRecord(f"image has no {name}")
    return value


def _ts(image: Mapping[str, object], name: str) -> float:
    try:
        return parse_ts(_required(image, name))
    except ValueError as exc:
        raise PoisonRecord(f"{name} is not an RFC 3339 timestamp") from exc


@dataclass(frozen=True)
class _Identity:
    tenant_id: str
    source: str
    event_type: str
    created: float
    status: str


def _identity(image: Mapping[str, object] | None) -> _Identity:
    if image is None:
        raise PoisonRecord("record has no image of the item")
    tenant, source, event_type = (
        _required(image, "tenant_id"),
        _required(image, "source"),
        _required(image, "event_type"),
    )
    if "#" in tenant or not NAME_PATTERN.match(source) or not NAME_PATTERN.match(event_type):
        raise PoisonRecord("tenant, source or event type has characters keys cannot hold")
    return _Identity(
        tenant, source, event_type, _ts(image, "created_at"), _required(image, "status")
    )


def minute_of(epoch_seconds: float) -> int:
    return int(epoch_seconds // MINUTE) * MINUTE


def _inc(who: _Identity, at: float, **counts: int) -> Increment:
    return Increment(who.tenant_id, who.source, who.event_type, minute_of(at), counts)


def _arrival(change: StreamChange) -> float:
    if change.arrival is None:
        raise PoisonRecord("ApproximateCreationDateTime is not epoch seconds")
    return change.arrival


def change_effect(change: StreamChange) -> RecordEffect:
    """Turn one change of the events table into its effect; raise PoisonRecord."""
    sequence, record_id, name = change.sequence_number, change.record_id, change.event_name
    if name == "INSERT":
        who = _identity(change.new_image)
        if who.status != STATUS_PENDING:
            return RecordEffect(sequence, record_id)
        lag = max(0.0, _arrival(change) - who.created) * 1000
        request_id = (change.new_image or {}).get("request_id")
        return RecordEffect(
            sequence,
            record_id,
            (_inc(who, who.created, ingested=1),),
            lag,
            kind="ingested",
            request_id=request_id if isinstance(request_id, str) else None,
        )
    if name == "MODIFY":
        old, new = _identity(change.old_image), _identity(change.new_image)
        if not (old.status == STATUS_PENDING and new.status == STATUS_ACKNOWLEDGED):
            return RecordEffect(sequence, record_id)
        acked = _ts(change.new_image or {}, "acknowledged_at")
        latency = max(0, round((acked - new.created) * 1000))
        latency_bin = latency_sketch.bin_name(latency_sketch.bin_of(latency))
        increments = (
            _inc(new, acked, acknowledged=1, ack_latency_ms_sum=latency, **{latency_bin: 1}),
            _inc(new, new.created, cohort_acknowledged=1),
        )
        return RecordEffect(
            sequence, record_id, increments, ack_latency_ms=latency, kind="acknowledged"
        )
    if name == "REMOVE":
        old = _identity(change.old_image)
        kind = "expired" if change.by_ttl else "deleted"
        cohort = f"cohort_removed_{old.status}"
        if cohort not in COHORT_COUNTERS:
            raise PoisonRecord(f"unknown status {old.status!r}")
        increments = (
            _inc(old, _arrival(change), **{kind: 1}),
            _inc(old, old.created, **{cohort: 1}),
        )
        return RecordEffect(sequence, record_id, increments, kind=kind)
    raise PoisonRecord(f"unknown eventName {name!r}")


# -- counter keys -------------------------------------------------------------------------------
def _utc(epoch_seconds: float) -> datetime:
    return datetime.fromtimestamp(epoch_seconds, tz=UTC)


def bucket_label(granularity: str, start: int) -> str:
    """``2026-11-23T13:05`` / ``2026-11-23T13`` / ``2026-11-23``: fixed width, time-ordered."""
    fmt = {"minute": "%Y-%m-%dT%H:%M", "hour": "%Y-%m-%dT%H", "day": "%Y-%m-%d"}[granularity]
    return _utc(start).strftime(fmt)


def partition_label(granularity: str, start: int) -> str:
    """Minute items are partitioned by day, hour items by month, day items by year."""
    fmt = {"minute": "%Y-%m-%d", "hour": "%Y-%m", "day": "%Y"}[granularity]
    return _utc(start).strftime(fmt)


def counter_pk(tenant_id: str, granularity: str, start: int, scope: str = DETAIL) -> str:
    """Detail items: ``{tenant}#{granularity}#{partition}``; the roll-up adds ``#total``."""
    base = f"{tenant_id}#{granularity}#{partition_label(granularity, start)}"
    if scope == DETAIL:
        return base
    if scope == TOTAL:
        return f"{base}#{TOTAL}"
    raise ValueError(f"unknown scope {scope!r}")


def counter_sk(
    granularity: str, start: int, source: str, event_type: str, scope: str = DETAIL
) -> str:
    """Detail items: ``{bucket}#{source}#{event_type}``; a roll-up partition holds one item per
    bucket, keyed by the bucket alone."""
    label = bucket_label(granularity, start)
    return f"{label}#{source}#{event_type}" if scope == DETAIL else label


def _scoped(source: str, event_type: str) -> tuple[tuple[str, str, str], ...]:
    """``(scope, source, event_type)`` of each item an increment adds to."""
    return ((DETAIL, source, event_type), (TOTAL, ALL, ALL))


def marker_pk(record_id: str) -> str:
    return MARKER_PREFIX + record_id


def floor_to(granularity: str, epoch_seconds: float) -> int:
    step = _SECONDS[granularity]
    return int(epoch_seconds // step) * step


@dataclass(frozen=True)
class CounterKey:
    pk: str
    sk: str
    tenant_id: str
    source: str
    event_type: str
    granularity: str
    start: int
    scope: str = DETAIL

    @property
    def bucket(self) -> str:
        return format_ts(self.start)


@dataclass
class CounterUpdate:
    key: CounterKey
    counts: dict[str, int] = field(default_factory=dict)


def aggregate(effects: Iterable[RecordEffect]) -> list[CounterUpdate]:
    """Sum the increments of ``effects`` per counter item (minute, hour and day, at every
    scope), in a stable order, leaving out zeros."""
    updates: dict[tuple[str, str], CounterUpdate] = {}
    for effect in effects:
        for inc in effect.increments:
            for granularity in GRANULARITIES:
                start = floor_to(granularity, inc.minute)
                for scope, source, event_type in _scoped(inc.source, inc.event_type):
                    pk = counter_pk(inc.tenant_id, granularity, start, scope)
                    sk = counter_sk(granularity, start, source, event_type, scope)
                    update = updates.get((pk, sk))
                    if update is None:
                        key = CounterKey(
                            pk, sk, inc.tenant_id, source, event_type, granularity, start, scope
                        )
                        update = updates[(pk, sk)] = CounterUpdate(key)
                    for name, count in inc.counts.items():
                        update.counts[name] = update.counts.get(name, 0) + count
    return [u for _, u in sorted(updates.items()) if any(u.counts.values())]


def merge_updates(updates: Iterable[CounterUpdate]) -> list[CounterUpdate]:
    """Updates of the same counter item summed into one (a transaction names an item once)."""
    merged: dict[tuple[str, str], CounterUpdate] = {}
    for update in updates:
        key = (update.key.pk, update.key.sk)
        target = merged.setdefault(key, CounterUpdate(update.key))
        for name, value in update.counts.items():
            target.counts[name] = target.counts.get(name, 0) + value
    return [merged[k] for k in sorted(merged)]


def delivery_outcome(
    tenant_id: str, source: str, event_type: str, at: float, succeeded: bool
) -> list[CounterUpdate]:
    """The counter updates for one webhook delivery that ended at ``at``."""
    name = "deliveries_succeeded" if succeeded else "deliveries_failed"
    increment = Increment(tenant_id, source, event_type, floor_to("minute", at), {name: 1})
    return aggregate([RecordEffect("", "", (increment,))])


T = TypeVar("T")


def pack(
    entries: Sequence[T], items_of: Callable[[T], set[tuple[str, str]]], capacity: int
) -> list[list[T]]:
    """Consecutive groups of ``entries`` that each fit one transaction of ``capacity`` items:
    one marker per entry plus the distinct counter items (``(pk, sk)``) the group touches."""
    groups: list[list[T]] = []
    current: list[T] = []
    keys: set[tuple[str, str]] = set()
    for entry in entries:
        own = items_of(entry)
        if current and len(current) + 1 + len(keys | own) > capacity:
            groups.append(current)
            current, keys = [], set()
        current.append(entry)
        keys |= own
    if current:
        groups.append(current)
    return groups


def items_of(updates: Iterable[CounterUpdate]) -> set[tuple[str, str]]:
    return {(u.key.pk, u.key.sk) for u in updates}


# -- reading a time range -----------------------------------------------------------------------
@dataclass(frozen=True)
class Span:
    """Counter items of one granularity whose bucket starts in ``[start, end)``."""

    granularity: str
    start: int
    end: int


def cover(start: int, end: int) -> list[Span]:
    """Cover the whole minutes ``[start, end)`` with as few counter buckets as possible:
    minutes up to the first hour boundary, hours up to the first day boundary, whole days,
    then hours and minutes again at the far end."""
    if start % MINUTE or end % MINUTE:
        raise ValueError("start and end must be whole minutes")
    spans: list[Span] = []
    if start >= end:
        return spans

    def ceil(step: int, value: int) -> int:
        return -(-value // step) * step

    hour_lo, hour_hi = ceil(HOUR, start), end // HOUR * HOUR
    if hour_lo >= hour_hi:
        return [Span("minute", start, end)]
    day_lo, day_hi = ceil(DAY, hour_lo), hour_hi // DAY * DAY
    spans.append(Span("minute", start, hour_lo))
    if day_lo < day_hi:
        spans += [Span("hour", hour_lo, day_lo), Span("day", day_lo, day_hi)]
        spans.append(Span("hour", day_hi, hour_hi))
    else:
        spans.append(Span("hour", hour_lo, hour_hi))
    spans.append(Span("minute", hour_hi, end))
    return [s for s in spans if s.start < s.end]


@dataclass(frozen=True)
class KeyRange:
    """One Query: partition ``pk``, sort keys between ``lower`` and ``upper`` inclusive; with
    ``source``/``event_type``, only the items of that source / type (a filter: the items
    between the keys are still read)."""

    pk: str
    lower: str
    upper: str
    source: str | None = None
    event_type: str | None = None


def key_ranges(
    tenant_id: str,
    spans: Iterable[Span],
    scope: str = DETAIL,
    source: str | None = None,
    event_type: str | None = None,
) -> list[KeyRange]:
    """The Queries that read ``spans`` of one scope for a tenant: one per partition a span
    touches; ``source``/``event_type`` keep only the detail items of that source / type."""
    ranges: list[KeyRange] = []
    for span in spans:
        step = _SECONDS[span.granularity]
        cursor = span.start
        while cursor < span.end:
            partition = partition_label(span.granularity, cursor)
            last = cursor
            # Walk to the last bucket of this span that shares the partition.
            while last + step < span.end and partition_label(span.granularity, last + step) == (
                partition
            ):
                last += step
            ranges.append(
                KeyRange(
                    counter_pk(tenant_id, span.granularity, cursor, scope),
                    bucket_label(span.granularity, cursor),
                    bucket_label(span.granularity, last) + "#~",  # '~' sorts after every name
                    source,
                    event_type,
                )
            )
            cursor = last + step
    return ranges


@dataclass(frozen=True)
class CounterRow:
    """One counter item as read back: ``latency`` is its ack latency sketch (bin -> count)."""

    source: str
    event_type: str
    counts: Mapping[str, int]
    latency: Mapping[int, int] = field(default_factory=dict)
    bucket: str = ""  # the bucket's start, RFC 3339 (the item's ``bucket`` attribute)


def _blank() -> dict[str, int]:
    return dict.fromkeys(COUNTERS, 0)


def _public(counts: Mapping[str, int], latency: Mapping[int, int]) -> dict[str, Any]:
    acked = counts["acknowledged"]
    removed_pending, removed_acked = (
        counts["cohort_removed_pending"],
        counts["cohort_removed_acknowledged"],
    )
    return {
        "ingested": counts["ingested"],
        "acknowledged": acked,
        "deleted": counts["deleted"],
        "expired": counts["expired"],
        "ack_latency_ms_avg": round(counts["ack_latency_ms_sum"] / acked, 1) if acked else None,
        "ack_latency_ms": latency_sketch.percentiles(latency),
        "deliveries": {
            "succeeded": counts["deliveries_succeeded"],
            "failed": counts["deliveries_failed"],
        },
        "by_status": {
            "pending": counts["ingested"] - counts["cohort_acknowledged"] - removed_pending,
            "acknowledged": counts["cohort_acknowledged"] - removed_acked,
            "removed": removed_pending + removed_acked,
        },
    }


@dataclass
class Tally:
    """Counters and the latency sketch of some rows, added up."""

    counts: dict[str, int] = field(default_factory=_blank)
    latency: dict[int, int] = field(default_factory=dict)

    def add(self, row: CounterRow) -> None:
        for name in COUNTERS:
            self.counts[name] += int(row.counts.get(name, 0))
        latency_sketch.add_into(self.latency, row.latency)

    def public(self) -> dict[str, Any]:
        return _public(self.counts, self.latency)


def summarize(rows: Iterable[CounterRow]) -> dict[str, Any]:
    """Totals and breakdowns by source and by event type.

    ``ingested``, ``acknowledged``, ``deleted`` and ``expired`` count what happened in the
    window; ``by_status`` is the current status of the events *created* in the window.
    """
    totals = Tally()
    by_source: dict[str, Tally] = {}
    by_type: dict[str, Tally] = {}
    for row in rows:
        for target in (
            totals,
            by_source.setdefault(row.source, Tally()),
            by_type.setdefault(row.event_type, Tally()),
        ):
            target.add(row)
    return {
        "totals": totals.public(),
        "by_source": [{"source": k, **v.public()} for k, v in sorted(by_source.items())],
        "by_event_type": [{"event_type": k, **v.public()} for k, v in sorted(by_type.items())],
    }
