"""Analytics reads: the counts the stream handler keeps, for the caller's tenant only."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib import errors
from chalicelib.domain.analytics import MINUTE, cover, key_ranges, summarize
from chalicelib.domain.clock import format_ts, parse_ts
from chalicelib.services.storage_errors import storage_unavailable_as_503
from chalicelib.stores.protocols import AnalyticsStorage

DEFAULT_WINDOW_SECONDS = 24 * 3600
MAX_WINDOW_DAYS = 31
SUMMARY_PARAMS = frozenset({"from", "to"})


@dataclass(frozen=True)
class Window:
    """Whole minutes ``[start, end)``, epoch seconds."""

    start: int
    end: int


def _bad(name: str, message: str) -> errors.ValidationError:
    return errors.ValidationError(
        f"Query parameter {name!r} {message}.", details=[{"field": name, "message": message}]
    )


def _time(params: Mapping[str, str], name: str) -> float | None:
    raw = params.get(name)
    if raw is None:
        return None
    try:
        return parse_ts(raw)
    except ValueError:
        raise _bad(name, "must be an RFC 3339 timestamp, e.g. 2026-11-22T10:00:00Z") from None


def parse_window(params: Mapping[str, str], now: float) -> Window:
    """``from``/``to`` (RFC 3339): default the last 24 h, ``to`` defaults to now and ``from``
    to 24 h before ``to``; widened to whole minutes; at most 31 days; errors name the parameter."""
    for name in params:
        if name not in SUMMARY_PARAMS:
            raise _bad(name, "is not a supported parameter")
    start, end = _time(params, "from"), _time(params, "to")
    if end is None:
        end = now
    if start is None:
        start = end - DEFAULT_WINDOW_SECONDS
    if not start < end:
        raise _bad("from", "must be earlier than to")
    window = Window(math.floor(start / MINUTE) * MINUTE, math.ceil(end / MINUTE) * MINUTE)
    if window.end - window.start > MAX_WINDOW_DAYS * 86400:
        raise _bad("from", f"must be at most {MAX_WINDOW_DAYS} days before to")
    return window


class AnalyticsService:
    def __init__(self, store: AnalyticsStorage, now: Callable[[], float] = time.time) -> None:
        self._store = store
        self._now = now

    def summary(self, tenant_id: str, params: Mapping[str, str]) -> dict[str, Any]:
        window = parse_window(params, self._now())
        rows = []
        with storage_unavailable_as_503():
            for key_range in key_ranges(tenant_id, cover(window.start, window.end)):
                rows.extend(self._store.read(key_range))
        return {
            "from": format_ts(window.start),
            "to": format_ts(window.end),
            **summarize(rows),
        }
