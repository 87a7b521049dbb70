"""Time series and export of the analytics counters, pure: windows, buckets, rows, CSV.

A time series has one bucket per minute, hour or day (UTC) of ``[from, to)``, every bucket
present, zeros included. An export has one row per bucket, source and event type that saw
anything. Both read counter items of a single granularity (never the mixed cover the summary
uses), so a bucket's figures are exactly its item's.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.domain import latency_sketch
from chalicelib.domain.analytics import DAY, HOUR, MINUTE, CounterRow, Tally
from chalicelib.domain.clock import format_ts

STEP_SECONDS = {"minute": MINUTE, "hour": HOUR, "day": DAY}
# The widest range each granularity answers (``to - from`` as asked).
MAX_RANGE_SECONDS = {"minute": 2 * DAY, "hour": 90 * DAY, "day": 400 * DAY}
MAX_RANGE_WORDS = {"minute": "2 days", "hour": "90 days", "day": "400 days"}
# The range a series covers when ``from`` is not given: the last hour, day or 30 days.
DEFAULT_RANGE_SECONDS = {"minute": HOUR, "hour": DAY, "day": 30 * DAY}
DEFAULT_GRANULARITY = "hour"
# The most rows one export answers (about 2.5 MB of JSON, under Lambda's 6 MB response limit).
MAX_EXPORT_ROWS = 10_000
EXPORT_COLUMNS = (
    "start",
    "source",
    "event_type",
    "count",
    "acknowledged",
    "deleted",
    "expired",
    "ack_latency_ms_p50",
    "ack_latency_ms_p95",
    "deliveries_succeeded",
    "deliveries_failed",
)
# A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV injection").
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class SeriesWindow:
    """Buckets of ``granularity`` starting in ``[start, end)``, epoch seconds, aligned."""

    granularity: str
    start: int
    end: int

    @property
    def step(self) -> int:
        return STEP_SECONDS[self.granularity]

    def starts(self) -> range:
        return range(self.start, self.end, self.step)


class RangeError(ValueError):
    """A range the series cannot answer; ``parameter`` is the query parameter to blame."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter
        self.message = message


def series_window(
    granularity: str,
    start: float | None,
    end: float | None,
    now: float,
    retention_seconds: Mapping[str, int],
) -> SeriesWindow:
    """The aligned window of a series: ``to`` defaults to now and ``from`` to the granularity's
    default range before ``to``; ``from`` is rounded down and ``to`` up to whole buckets. Raises
    :class:`RangeError` for an empty or too wide range, or one older than the retention."""
    step = STEP_SECONDS[granularity]
    end = now if end is None else end
    start = end - DEFAULT_RANGE_SECONDS[granularity] if start is None else start
    if not start < end:
        raise RangeError("from", "must be earlier than to")
    if end - start > MAX_RANGE_SECONDS[granularity]:
        raise RangeError(
            "from",
            f"must be at most {MAX_RANGE_WORDS[granularity]} before to for {granularity} "
            "buckets; use a coarser granularity or a shorter range",
        )
    window = SeriesWindow(
        granularity, math.floor(start / step) * step, math.ceil(end / step) * step
    )
    if window.start < oldest_live(granularity, now, retention_seconds):
        days = retention_seconds[granularity] // DAY
        raise RangeError(
            "from",
            f"is older than the {days} days {granularity} buckets are kept; "
            "use a coarser granularity",
        )
    return window


def oldest_live(granularity: str, now: float, retention_seconds: Mapping[str, int]) -> int:
    """The start of the oldest bucket whose counters are still live: an item expires at its
    start plus the retention, and reads keep only ``expires_at > now``."""
    step = STEP_SECONDS[granularity]
    return (math.floor((now - retention_seconds[granularity]) / step) + 1) * step


def _figures(tally: Tally) -> dict[str, Any]:
    counts = tally.counts
    return {
        "count": counts["ingested"],
        "acknowledged": counts["acknowledged"],
        "ack_latency_ms": latency_sketch.percentiles(tally.latency),
        "deliveries": {
            "succeeded": counts["deliveries_succeeded"],
            "failed": counts["deliveries_failed"],
        },
    }


def series_buckets(window: SeriesWindow, rows: Iterable[CounterRow]) -> list[dict[str, Any]]:
    """One bucket per start of ``window``, the rows of each added up (rows outside are
    ignored)."""
    tallies = {format_ts(start): Tally() for start in window.starts()}
    for row in rows:
        tally = tallies.get(row.bucket)
        if tally is not None:
            tally.add(row)
    return [{"start": start, **_figures(tally)} for start, tally in tallies.items()]


def export_rows(rows: Iterable[CounterRow]) -> list[dict[str, Any]]:
    """One row per counter item, ordered by bucket, source and event type."""
    out = []
    for row in sorted(rows, key=lambda r: (r.bucket, r.source, r.event_type)):
        counts = row.counts
        latency = latency_sketch.percentiles(row.latency)
        out.append(
            {
                "start": row.bucket,
                "source": row.source,
                "event_type": row.event_type,
                "count": int(counts.get("ingested", 0)),
                "acknowledged": int(counts.get("acknowledged", 0)),
                "deleted": int(counts.get("deleted", 0)),
                "expired": int(counts.get("expired", 0)),
                "ack_latency_ms_p50": latency["p50"],
                "ack_latency_ms_p95": latency["p95"],
                "deliveries_succeeded": int(counts.get("deliveries_succeeded", 0)),
                "deliveries_failed": int(counts.get("deliveries_failed", 0)),
            }
        )
    return out


def _cell(value: object) -> str:
    if value is None:
        return ""
    text = str(value)
    if isinstance(value, str) and text.startswith(_FORMULA_STARTS):
        return "'" + text
    return text


def to_csv(rows: Iterable[Mapping[str, Any]]) -> str:
    """RFC 4180 CSV: a header row, CRLF line ends, fields quoted when they need it; an empty
    percentile is an empty field; a text cell a spreadsheet would run as a formula is prefixed
    with ``'``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(EXPORT_COLUMNS)
    for row in rows:
        writer.writerow([_cell(row[column]) for column in EXPORT_COLUMNS])
    return buffer.getvalue()


def export_filename(window: SeriesWindow, extension: str) -> str:
    """``triggers-analytics-hour-20261130T0000Z-20261201T0000Z.csv``."""

    def stamp(epoch: int) -> str:
        return format_ts(epoch)[:16].replace("-", "").replace(":", "") + "Z"

    return (
        f"triggers-analytics-{window.granularity}-{stamp(window.start)}-{stamp(window.end)}"
        f".{extension}"
    )
