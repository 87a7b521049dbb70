"""Stream records (through the stream adapter) -> counter increments, counter keys and
time-range covering (pure)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain import analytics as a
from chalicelib.domain.clock import format_ts, parse_ts
from chalicelib.stores.stream_records import record_effect

T0 = parse_ts("2026-11-23T13:05:30.250Z")


def image(status: str = "pending", created: float = T0, **extra: str) -> dict[str, Any]:
    item = {
        "tenant_id": {"S": "ten_a"},
        "source": {"S": "billing"},
        "event_type": {"S": "invoice.paid"},
        "created_at": {"S": format_ts(created)},
        "status": {"S": status},
        "pk": {"S": "ten_a#evt_01"},
    }
    item.update({k: {"S": v} for k, v in extra.items()})
    return item


def record(name: str, seq: str = "100", arrival: float = T0 + 2, **dynamodb: Any) -> dict:
    return {
        "eventID": f"id-{seq}",
        "eventName": name,
        "eventSource": "aws:dynamodb",
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:1:table/t/stream/x",
        "dynamodb": {
            "SequenceNumber": seq,
            "ApproximateCreationDateTime": arrival,
            "Keys": {"pk": {"S": "ten_a#evt_01"}},
            "StreamViewType": "NEW_AND_OLD_IMAGES",
            **dynamodb,
        },
    }


def test_insert_of_a_pending_event_counts_ingested_in_its_creation_minute() -> None:
    effect = record_effect(record("INSERT", NewImage=image()))
    assert effect.kind == "ingested"
    assert effect.sequence_number == "100"
    assert effect.record_id == "id-100"
    (inc,) = effect.increments
    assert (inc.tenant_id, inc.source, inc.event_type) == ("ten_a", "billing", "invoice.paid")
    assert inc.minute == parse_ts("2026-11-23T13:05:00Z")
    assert inc.counts == {"ingested": 1}
    assert effect.ingestion_lag_ms == pytest.approx(2000.0)


def test_ingestion_lag_is_never_negative_when_arrival_is_rounded_down() -> None:
    # DynamoDB Local rounds ApproximateCreationDateTime down to the minute.
    effect = record_effect(record("INSERT", arrival=T0 - 30, NewImage=image()))
    assert effect.ingestion_lag_ms == 0.0


def test_ack_counts_acknowledged_at_ack_time_and_in_the_creation_cohort() -> None:
    acked = T0 + 125.5
    effect = record_effect(
        record(
            "MODIFY",
            OldImage=image(),
            NewImage=image("acknowledged", acknowledged_at=format_ts(acked)),
        )
    )
    assert effect.kind == "acknowledged"
    assert effect.ack_latency_ms == 125500
    activity, cohort = effect.increments
    assert activity.minute == parse_ts("2026-11-23T13:07:00Z")
    # 125.5 s is in [2^(135/8), 2^(136/8)) ms: histogram bin 136.
    assert activity.counts == {
        "acknowledged": 1,
        "ack_latency_ms_sum": 125500,
        "ackh136": 1,
    }
    assert cohort.minute == parse_ts("2026-11-23T13:05:00Z")
    assert cohort.counts == {"cohort_acknowledged": 1}


def test_other_modifications_count_nothing() -> None:
    acked = image("acknowledged", acknowledged_at=format_ts(T0 + 1))
    effect = record_effect(record("MODIFY", OldImage=acked, NewImage=acked))
    assert effect.increments == ()
    assert effect.kind == "ignored"


def test_remove_by_a_user_counts_deleted_at_removal_time() -> None:
    effect = record_effect(record("REMOVE", arrival=T0 + 3600, OldImage=image()))
    assert effect.kind == "deleted"
    activity, cohort = effect.increments
    assert activity.counts == {"deleted": 1}
    assert activity.minute == parse_ts("2026-11-23T14:05:00Z")
    assert cohort.counts == {"cohort_removed_pending": 1}


def test_remove_by_ttl_counts_expired_not_deleted() -> None:
    rec = record("REMOVE", OldImage=image("acknowledged", acknowledged_at=format_ts(T0)))
    rec["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    effect = record_effect(rec)
    assert effect.kind == "expired"
    assert [i.counts for i in effect.increments] == [
        {"expired": 1},
        {"cohort_removed_acknowledged": 1},
    ]


@pytest.mark.parametrize(
    "bad",
    [
        "not a record",
        {"eventName": "INSERT"},
        record("INSERT"),  # no image
        record("INSERT", NewImage={**image(), "created_at": {"S": "yesterday"}}),
        record("INSERT", NewImage={**image(), "source": {"S": "a#b"}}),
        record("INSERT", NewImage={**image(), "tenant_id": {"N": "1"}}),
        record("INSERT", arrival="soon", NewImage=image()),
        record("TRUNCATE", NewImage=image()),
        {**record("INSERT", NewImage=image()), "eventID": ""},
        record("REMOVE", OldImage=image("archived")),
    ],
)
def test_malformed_records_are_poison(bad: Any) -> None:
    with pytest.raises(a.PoisonRecord):
        record_effect(bad)


def test_aggregate_sums_per_counter_item_at_every_granularity_and_scope() -> None:
    effects = [
        record_effect(record("INSERT", seq=str(i), NewImage=image(created=T0 + i)))
        for i in range(3)
    ]
    updates = a.aggregate(effects)
    three = {"ingested": 3}
    assert {(u.key.granularity, u.key.scope, u.key.pk, u.key.sk): u.counts for u in updates} == {
        ("minute", "detail", "ten_a#minute#2026-11-23", "2026-11-23T13:05#billing#invoice.paid"): (
            three
        ),
        ("minute", "total", "ten_a#minute#2026-11-23#total", "2026-11-23T13:05"): three,
        ("hour", "detail", "ten_a#hour#2026-11", "2026-11-23T13#billing#invoice.paid"): three,
        ("hour", "total", "ten_a#hour#2026-11#total", "2026-11-23T13"): three,
        ("day", "detail", "ten_a#day#2026", "2026-11-23#billing#invoice.paid"): three,
        ("day", "total", "ten_a#day#2026#total", "2026-11-23"): three,
    }
    rollups = [u.key for u in updates if u.key.scope == "total"]
    assert {(k.source, k.event_type) for k in rollups} == {("*", "*")}


def test_counter_keys_refuse_an_unknown_scope() -> None:
    with pytest.raises(ValueError, match="scope"):
        a.counter_pk("ten_a", "minute", int(T0), "weekly")


def test_pack_fills_transactions_up_to_the_capacity_and_keeps_order() -> None:
    shared = {("pk", "a")}
    entries = list(range(7))
    groups = a.pack(entries, lambda e: shared | {("pk", f"own{e}")}, capacity=10)
    # Each entry brings a marker and an item of its own; the shared item counts once.
    assert groups == [[0, 1, 2, 3], [4, 5, 6]]
    assert a.pack([], lambda e: set(), capacity=10) == []
    # An entry too big for an empty transaction still gets a group of its own.
    assert a.pack([1], lambda e: {("p", str(i)) for i in range(200)}, capacity=100) == [[1]]


def test_marker_keys_cannot_collide_with_a_tenant() -> None:
    assert a.marker_pk("abc").startswith("#")


MIN = a.MINUTE


@given(
    st.integers(min_value=0, max_value=60 * 24 * 70),
    st.integers(min_value=0, max_value=60 * 24 * 40),
)
def test_cover_partitions_the_window_exactly(offset: int, length: int) -> None:
    start = int(parse_ts("2026-12-20T00:00:00Z")) + offset * MIN
    end = start + length * MIN
    spans = a.cover(start, end)
    minutes: list[int] = []
    for span in spans:
        step = {"minute": MIN, "hour": 3600, "day": 86400}[span.granularity]
        assert span.start % step == 0
        assert span.end % step == 0
        minutes.extend(range(span.start, span.end, MIN))
    assert minutes == list(range(start, end, MIN))
    assert len(spans) <= 5


def test_key_ranges_split_at_partition_boundaries() -> None:
    start = int(parse_ts("2026-12-31T22:30:00Z"))
    end = int(parse_ts("2027-01-02T01:10:00Z"))
    ranges = a.key_ranges("ten_a", a.cover(start, end))
    assert [(r.pk, r.lower, r.upper) for r in ranges] == [
        ("ten_a#minute#2026-12-31", "2026-12-31T22:30", "2026-12-31T22:59#~"),
        ("ten_a#hour#2026-12", "2026-12-31T23", "2026-12-31T23#~"),
        ("ten_a#day#2027", "2027-01-01", "2027-01-01#~"),
        ("ten_a#hour#2027-01", "2027-01-02T00", "2027-01-02T00#~"),
        ("ten_a#minute#2027-01-02", "2027-01-02T01:00", "2027-01-02T01:09#~"),
    ]


def test_summarize_totals_breakdowns_and_cohort_status() -> None:
    rows = [
        a.CounterRow("billing", "paid", {"ingested": 5, "cohort_acknowledged": 2}),
        a.CounterRow(
            "billing",
            "refund",
            {"ingested": 1, "cohort_removed_pending": 1, "acknowledged": 2},
        ),
        a.CounterRow("crm", "paid", {"acknowledged": 1, "ack_latency_ms_sum": 900, "deleted": 1}),
    ]
    out = a.summarize(rows)
    totals = out["totals"]
    assert totals["ingested"] == 6
    assert totals["acknowledged"] == 3
    assert totals["deleted"] == 1
    assert totals["ack_latency_ms_avg"] == 300.0
    assert totals["by_status"] == {"pending": 3, "acknowledged": 2, "removed": 1}
    assert [s["source"] for s in out["by_source"]] == ["billing", "crm"]
    assert [t["event_type"] for t in out["by_event_type"]] == ["paid", "refund"]
    assert out["by_event_type"][0]["ingested"] == 5
    assert a.summarize([])["totals"]["ack_latency_ms_avg"] is None
