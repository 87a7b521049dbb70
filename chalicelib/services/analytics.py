"""Analytics reads: the counts the stream handler keeps, for the caller's tenant only."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib import errors
from chalicelib.domain.analytics import MINUTE, cover, key_ranges, summarize
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
class Window:
    """Whole minutes ``[start, end)``, epoch seconds."""

    start: int
    end: int


def window_for(request: SummaryRequest, now: float) -> Window:
    """``to`` defaults to now and ``from`` to 24 h before ``to``; widened to whole minutes; at
    most 31 days; errors name the parameter."""
    end = now if request.end is None else request.end
    start = end - DEFAULT_WINDOW_SECONDS if request.start is None else request.start
    if not start < end:
        raise errors.invalid_parameter("from", "must be earlier than to")
    window = Window(math.floor(start / MINUTE) * MINUTE, math.ceil(end / MINUTE) * MINUTE)
    if window.end - window.start > MAX_WINDOW_DAYS * 86400:
        raise errors.invalid_parameter("from", f"must be at most {MAX_WINDOW_DAYS} days before to")
    return window


class AnalyticsService:
    def __init__(self, store: AnalyticsStorage, now: Callable[[], float] = time.time) -> None:
        self._store = store
        self._now = now

    def summary(self, tenant_id: str, request: SummaryRequest) -> dict[str, Any]:
        window = window_for(request, self._now())
        rows = []
        with storage_unavailable_as_503():
            for key_range in key_ranges(tenant_id, cover(window.start, window.end)):
                rows.extend(self._store.read(key_range))
        return {
            "from": format_ts(window.start),
            "to": format_ts(window.end),
            **summarize(rows),
        }
