"""Time series and export, pure: windows and their limits, zero-filled buckets, rows, CSV."""

from __future__ import annotations

import csv
import io

import pytest

from chalicelib.domain import latency_sketch as ls
from chalicelib.domain.analytics import RETENTION_SECONDS, CounterRow
from chalicelib.domain.analytics_series import (
    EXPORT_COLUMNS,
    RangeError,
    SeriesWindow,
    export_filename,
    export_rows,
    oldest_live,
    series_buckets,
    series_window,
    to_csv,
)
from chalicelib.domain.clock import format_ts, parse_ts

NOW = parse_ts("2026-11-23T13:05:30Z")
DAY = 86400


def window(granularity: str, start: str | None = None, end: str | None = None) -> SeriesWindow:
    return series_window(
        granularity,
        None if start is None else parse_ts(start),
        None if end is None else parse_ts(end),
        NOW,
        RETENTION_SECONDS,
    )


def test_defaults_are_the_last_hour_day_or_30_days_in_whole_buckets() -> None:
    minute = window("minute")
    assert (format_ts(minute.start), format_ts(minute.end)) == (
        "2026-11-23T12:05:00.000Z",
        "2026-11-23T13:06:00.000Z",
    )
    assert len(minute.starts()) == 61
    hour = window("hour")
    assert (hour.start, hour.end) == (
        parse_ts("2026-11-22T13:00:00Z"),
        parse_ts("2026-11-23T14:00:00Z"),
    )
    day = window("day")
    assert (day.start, day.end) == (
        parse_ts("2026-10-24T00:00:00Z"),
        parse_ts("2026-11-24T00:00:00Z"),
    )


def test_the_widest_range_of_each_granularity_is_answered_and_one_second_more_is_not() -> None:
    for granularity, days in (("minute", 2), ("hour", 90), ("day", 400)):
        end = parse_ts("2026-11-23T00:00:00Z")
        assert series_window(granularity, end - days * DAY, end, NOW, RETENTION_SECONDS)
        with pytest.raises(RangeError) as caught:
            series_window(granularity, end - days * DAY - 1, end, NOW, RETENTION_SECONDS)
        assert caught.value.parameter == "from"
        assert f"at most {days} days" in caught.value.message


def test_an_empty_range_and_one_past_retention_are_refused() -> None:
    with pytest.raises(RangeError, match="earlier than to"):
        window("hour", "2026-11-23T10:00:00Z", "2026-11-23T10:00:00Z")
    with pytest.raises(RangeError, match="35 days minute buckets are kept"):
        window("minute", "2026-10-01T00:00:00Z", "2026-10-02T00:00:00Z")
    # An hour range of the same dates is kept (400 days).
    assert window("hour", "2026-10-01T00:00:00Z", "2026-10-02T00:00:00Z")


def row(bucket: str, source: str = "s", event_type: str = "t", **counts: int) -> CounterRow:
    latency = {ls.bin_of(v): n for v, n in ((100, counts.pop("fast", 0)),) if n}
    return CounterRow(source, event_type, counts, latency, format_ts(parse_ts(bucket)))


def test_buckets_are_all_present_in_order_and_sum_their_rows() -> None:
    w = window("minute", "2026-11-23T13:00:00Z", "2026-11-23T13:03:00Z")
    buckets = series_buckets(
        w,
        [
            row("2026-11-23T13:01:00Z", ingested=2, acknowledged=1, fast=1),
            row("2026-11-23T13:01:00Z", "s2", ingested=3, deliveries_failed=1),
            row("2026-11-23T13:05:00Z", ingested=99),  # outside the window: ignored
        ],
    )
    assert [b["start"] for b in buckets] == [
        "2026-11-23T13:00:00.000Z",
        "2026-11-23T13:01:00.000Z",
        "2026-11-23T13:02:00.000Z",
    ]
    empty = {
        "count": 0,
        "acknowledged": 0,
        "ack_latency_ms": {"p50": None, "p95": None},
        "deliveries": {"succeeded": 0, "failed": 0},
    }
    assert buckets[0] == {"start": "2026-11-23T13:00:00.000Z", **empty}
    assert buckets[2] == {"start": "2026-11-23T13:02:00.000Z", **empty}
    middle = buckets[1]
    assert (middle["count"], middle["acknowledged"]) == (5, 1)
    assert middle["deliveries"] == {"succeeded": 0, "failed": 1}
    assert middle["ack_latency_ms"]["p50"] == round(ls.representative(ls.bin_of(100)), 1)


def test_export_rows_are_ordered_and_csv_is_rfc_4180_with_formula_cells_defused() -> None:
    rows = export_rows(
        [
            row("2026-11-23T14:00:00Z", "b", ingested=1),
            row("2026-11-23T13:00:00Z", "-cmd", "=SUM(A1)", ingested=2, acknowledged=2, fast=2),
            row("2026-11-23T13:00:00Z", "a", ingested=4, expired=1, deleted=2),
        ]
    )
    assert [(r["start"][11:16], r["source"]) for r in rows] == [
        ("13:00", "-cmd"),
        ("13:00", "a"),
        ("14:00", "b"),
    ]
    text = to_csv(rows)
    assert text.startswith(",".join(EXPORT_COLUMNS) + "\r\n")
    assert text.count("\r\n") == 4
    parsed = list(csv.DictReader(io.StringIO(text, newline="")))
    assert parsed[0]["source"] == "'-cmd"
    assert parsed[0]["event_type"] == "'=SUM(A1)"
    assert parsed[0]["ack_latency_ms_p50"] == str(round(ls.representative(ls.bin_of(100)), 1))
    assert parsed[1]["ack_latency_ms_p50"] == ""
    assert (parsed[1]["count"], parsed[1]["deleted"], parsed[1]["expired"]) == ("4", "2", "1")


def test_csv_quotes_fields_that_need_it() -> None:
    rows = [dict.fromkeys(EXPORT_COLUMNS, "x")]
    rows[0]["source"] = 'a,"b"\nc'
    text = to_csv(rows)
    assert '"a,""b""\nc"' in text
    assert list(csv.reader(io.StringIO(text, newline="")))[1][1] == 'a,"b"\nc'


def test_export_filename_names_granularity_and_range() -> None:
    w = window("hour", "2026-11-22T00:00:00Z", "2026-11-23T00:00:00Z")
    assert export_filename(w, "csv") == "triggers-analytics-hour-20261122T0000Z-20261123T0000Z.csv"


def test_the_oldest_bucket_a_range_may_start_at_is_still_live() -> None:
    for granularity in ("minute", "hour", "day"):
        step = {"minute": 60, "hour": 3600, "day": DAY}[granularity]
        oldest = oldest_live(granularity, NOW, RETENTION_SECONDS)
        # Its counters expire at start + retention, after now; the bucket before it has expired.
        assert oldest + RETENTION_SECONDS[granularity] > NOW
        assert oldest - step + RETENTION_SECONDS[granularity] <= NOW
        assert series_window(granularity, oldest, oldest + step, NOW, RETENTION_SECONDS)
        with pytest.raises(RangeError, match="kept"):
            series_window(granularity, oldest - 1, oldest + step, NOW, RETENTION_SECONDS)
    # Exactly aligned: now - retention is itself a bucket start, and that bucket has expired.
    aligned = parse_ts("2026-11-23T13:05:00Z")
    assert oldest_live("minute", aligned, RETENTION_SECONDS) == aligned - 35 * DAY + 60
