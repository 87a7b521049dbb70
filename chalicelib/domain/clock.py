"""Time as a dependency, and the contract's timestamp format (RFC 3339 UTC, milliseconds)."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Protocol

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
)


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch (UTC)."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.time()


class FixedClock:
    """A clock for tests: starts at ``start`` and moves only when told."""

    def __init__(self, start: float = 1_795_000_000.0) -> None:
        self.current = start

    def now(self) -> float:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += seconds


def format_ts(epoch_seconds: float) -> str:
    """``2026-11-22T10:00:00.123Z``: fixed width, so strings sort in time order."""
    ms = round(epoch_seconds * 1000)
    dt = datetime.fromtimestamp(ms // 1000, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}Z"


def parse_ts(value: str) -> float:
    """Parse an RFC 3339 timestamp (any offset) into epoch seconds; raise ``ValueError``."""
    if not _RFC3339.match(value):
        raise ValueError("not an RFC 3339 timestamp")
    text = value.replace("z", "Z").replace("t", "T")
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    # datetime.fromisoformat accepts at most 6 fractional digits.
    match = re.search(r"\.(\d+)", text)
    if match and len(match.group(1)) > 6:
        text = text.replace(match.group(0), "." + match.group(1)[:6])
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        raise ValueError("timestamp needs an offset")
    return dt.timestamp()
