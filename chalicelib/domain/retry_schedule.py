"""When to retry a webhook delivery, and when to stop trying an endpoint.

Pure: the caller passes the random source (``random.Random().random`` or any callable returning
a float in ``[0, 1)``) and the clock, so tests are exact. Attempts are 1-based: attempt 1 goes
out immediately, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h after the previous failure, each
with ±10 % jitter; after attempt 8 the delivery is dead-lettered.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime

DEFAULT_DELAYS: tuple[float, ...] = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
DEFAULT_JITTER = 0.1
MAX_RETRY_AFTER_SECONDS = 7 * 86400  # a Retry-After further out than this is not believed
MIN_RETRY_AFTER_DELAY = 1.0

BREAKER_THRESHOLD = 5  # consecutive failed attempts that open the circuit breaker
BREAKER_OPEN_SECONDS = 60.0
DISABLE_AFTER_SECONDS = 5 * 86400  # an endpoint failing this long is disabled

RETRY_AFTER_STATUSES = frozenset({429, 503})
GONE_STATUS = 410


@dataclass(frozen=True)
class RetrySchedule:
    """Nominal delays before attempts 1..n and the jitter applied to each."""

    delays: tuple[float, ...] = DEFAULT_DELAYS
    jitter: float = DEFAULT_JITTER

    def __post_init__(self) -> None:
        if not self.delays:
            raise ValueError("a schedule needs at least one attempt")
        if any(not math.isfinite(d) or d < 0 for d in self.delays):
            raise ValueError("delays must be finite and not negative")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter must be in [0, 1)")

    @property
    def max_attempts(self) -> int:
        return len(self.delays)

    def nominal(self, attempt: int) -> float | None:
        """The delay before ``attempt`` without jitter; None past the last attempt."""
        if attempt < 1:
            raise ValueError("attempts are numbered from 1")
        if attempt > self.max_attempts:
            return None
        return float(self.delays[attempt - 1])

    def delay_before(self, attempt: int, rand: Callable[[], float]) -> float | None:
        """The delay before ``attempt``: nominal * uniform(1 - jitter, 1 + jitter); None past
        the last attempt. ``rand`` returns a float in ``[0, 1)``."""
        nominal = self.nominal(attempt)
        if nominal is None:
            return None
        if nominal == 0:
            return 0.0
        return nominal * (1 - self.jitter + 2 * self.jitter * rand())


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait per a ``Retry-After`` header: delta-seconds or an HTTP-date, relative to
    ``now`` (unix seconds). A past date or negative number is 0; garbage, or anything further
    out than :data:`MAX_RETRY_AFTER_SECONDS`, is None."""
    if value is None:
        return None
    value = value.strip()
    if not value or not value.isascii():
        return None
    digits = value.removeprefix("-")
    if digits.isdigit():
        if len(digits) > len(str(MAX_RETRY_AFTER_SECONDS)):
            return None
        seconds = float(int(value))
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = when.timestamp() - now
    if seconds > MAX_RETRY_AFTER_SECONDS:
        return None
    return max(seconds, 0.0)


def retry_after_delay(retry_after: float, next_nominal: float) -> float:
    """The delay to use when the endpoint sent ``Retry-After``: what it asked for, but at most
    twice the schedule's next nominal delay and at least 1 s (unless that delay is 0)."""
    delay = min(retry_after, 2 * next_nominal)
    if next_nominal > 0:
        delay = max(delay, MIN_RETRY_AFTER_DELAY)
    return delay


class Outcome(enum.Enum):
    DELIVERED = "delivered"
    RETRY = "retry"
    GONE = "gone"


def classify(status: int | None) -> Outcome:
    """2xx delivered; 410 gone (the endpoint is disabled); anything else, including redirects
    and no response at all (``None``: timeout, connection error), is retried."""
    if status is not None and 200 <= status <= 299:
        return Outcome.DELIVERED
    if status == GONE_STATUS:
        return Outcome.GONE
    return Outcome.RETRY


def honours_retry_after(status: int | None) -> bool:
    """Whether a ``Retry-After`` header on this response is followed (429 and 503)."""
    return status in RETRY_AFTER_STATUSES


def breaker_open_until(consecutive_failures: int, last_failure_at: float) -> float | None:
    """Until when deliveries to an endpoint are held back: :data:`BREAKER_OPEN_SECONDS` after
    the last failure once :data:`BREAKER_THRESHOLD` attempts in a row failed; else None."""
    if consecutive_failures < BREAKER_THRESHOLD:
        return None
    return last_failure_at + BREAKER_OPEN_SECONDS


def should_disable(failing_since: float | None, now: float) -> bool:
    """Whether an endpoint that has failed without a success since ``failing_since`` is
    disabled: after :data:`DISABLE_AFTER_SECONDS`."""
    return failing_since is not None and now - failing_since >= DISABLE_AFTER_SECONDS
