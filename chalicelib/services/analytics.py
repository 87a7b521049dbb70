"""Analytics reads: the counts the stream handler keeps, for the caller's tenant only."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib import errors
from chalicelib.domain.analytics import (
    DAY,
    DETAIL,
    MINUTE,
    RETENTION_SECONDS,
    TOTAL,
    CounterRow,
    KeyRange,
    Span,
    cover,
    key_ranges,
    summarize,
)
from chalicelib.domain.analytics_series import (
    DEFAULT_GRANULARITY,
    MAX_EXPORT_ROWS,
    RangeError,
    SeriesWindow,
    export_filename,
    export_rows,
    oldest_live,
    series_buckets,
    series_window,
    to_csv,
)
from chalicelib.domain.clock import format_ts
from chalicelib.services.storage_errors import storage_unavailable_as_503
from chalicelib.stores.protocols import AnalyticsStorage

DEFAULT_WINDOW_SECONDS = 24 * 3600
MAX_WINDOW_DAYS = 31


@dataclass(frozen=True)
class SummaryRequest:
    """A validated summary query (parsed at the edge: ``chalicelib/api/models/analytics.py``):
    ``from`` and ``to`` in epoch seconds, ``None`` when not given."""

    start: float | None = None
    end: float | None = None


@dataclass(frozen=True)
class TimeseriesRequest:
    """A validated time-series query (``chalicelib/api/models/analytics.py``)."""

    granularity: str = DEFAULT_GRANULARITY
    start: float | None = None
    end: float | None = None
    source: str | None = None
    event_type: str | None = None


@dataclass(frozen=True)
class ExportRequest:
    """A validated export query: ``format`` is ``csv`` or ``json``."""

    format: str = "csv"
    granularity: str = DEFAULT_GRANULARITY
    start: float | None = None
    end: float | None = None


@dataclass(frozen=True)
class Export:
    """An export ready to send: the body, its media type and the download's file name."""

    body: str
    content_type: str
    filename: str


@dataclass(frozen=True)
class Window:
    """Whole minutes ``[start, end)``, epoch seconds."""

    start: int
    end: int


def window_for(request: SummaryRequest, now: float) -> Window:
    """``to`` defaults to now and ``from`` to 24 h before ``to``; widened to whole minutes; at
    most 31 days; every counter bucket it needs still kept; errors name the parameter."""
    end = now if request.end is None else request.end
    start = end - DEFAULT_WINDOW_SECONDS if request.start is None else request.start
    if not start < end:
        raise errors.invalid_parameter("from", "must be earlier than to")
    window = Window(math.floor(start / MINUTE) * MINUTE, math.ceil(end / MINUTE) * MINUTE)
    if window.end - window.start > MAX_WINDOW_DAYS * 86400:
        raise errors.invalid_parameter("from", f"must be at most {MAX_WINDOW_DAYS} days before to")
    for span in cover(window.start, window.end):
        if span.start < oldest_live(span.granularity, now, RETENTION_SECONDS):
            days = RETENTION_SECONDS[span.granularity] // DAY
            whole = {"minute": "a whole hour", "hour": "a whole day"}.get(span.granularity)
            fix = f"make from and to {whole} (UTC) or " if whole else ""
            raise errors.invalid_parameter(
                "from",
                f"needs {span.granularity} counts, which are kept {days} days: "
                f"{fix}make the window more recent",
            )
    return window


class AnalyticsService:
    def __init__(
        self,
        store: AnalyticsStorage,
        now: Callable[[], float] = time.time,
        max_export_rows: int = MAX_EXPORT_ROWS,
    ) -> None:
        self._store = store
        self._now = now
        self._max_export_rows = max_export_rows

    def summary(self, tenant_id: str, request: SummaryRequest) -> dict[str, Any]:
        window = window_for(request, self._now())
        rows = self._read(key_ranges(tenant_id, cover(window.start, window.end)))
        return {
            "from": format_ts(window.start),
            "to": format_ts(window.end),
            **summarize(rows),
        }

    def _series_window(
        self, granularity: str, start: float | None, end: float | None
    ) -> SeriesWindow:
        try:
            return series_window(granularity, start, end, self._now(), RETENTION_SECONDS)
        except RangeError as exc:
            raise errors.invalid_parameter(exc.parameter, exc.message) from None

    def _read(self, ranges: list[KeyRange], limit: int | None = None) -> list[CounterRow]:
        rows: list[CounterRow] = []
        with storage_unavailable_as_503():
            for key_range in ranges:
                left = None if limit is None else limit - len(rows)
                rows.extend(self._store.read(key_range, left))
                if limit is not None and len(rows) > limit:
                    break
        return rows

    def timeseries(self, tenant_id: str, request: TimeseriesRequest) -> dict[str, Any]:
        """Every bucket of the window: unfiltered, from the tenant's roll-up (one item per
        bucket); with ``source``/``event_type``, from the detail items of that source / type."""
        window = self._series_window(request.granularity, request.start, request.end)
        span = [Span(window.granularity, window.start, window.end)]
        source, event_type = request.source, request.event_type
        if source is None and event_type is None:
            rows = self._read(key_ranges(tenant_id, span, TOTAL))
        else:
            rows = self._read(key_ranges(tenant_id, span, DETAIL, source, event_type))
        return {
            "granularity": window.granularity,
            "from": format_ts(window.start),
            "to": format_ts(window.end),
            "buckets": series_buckets(window, rows),
        }

    def export(self, tenant_id: str, request: ExportRequest) -> Export:
        """One row per bucket, source and event type; 400 when there would be more than
        :data:`MAX_EXPORT_ROWS`."""
        window = self._series_window(request.granularity, request.start, request.end)
        span = [Span(window.granularity, window.start, window.end)]
        limit = self._max_export_rows
        rows = self._read(key_ranges(tenant_id, span, DETAIL), limit)
        if len(rows) > limit:
            raise errors.ValidationError(
                f"The export would have more than {limit} rows; "
                "narrow the range or use a coarser granularity.",
                details=[{"field": "from", "message": f"the range has over {limit} rows"}],
            )
        table = export_rows(rows)
        if request.format == "csv":
            return Export(to_csv(table), "text/csv; charset=utf-8", export_filename(window, "csv"))
        body = {
            "granularity": window.granularity,
            "from": format_ts(window.start),
            "to": format_ts(window.end),
            "rows": table,
        }
        return Export(
            json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False),
            "application/json",
            export_filename(window, "json"),
        )
