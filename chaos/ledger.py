"""What the load generator saw, and the contract it is judged against. Pure: no network.

Every HTTP answer (or its absence) is one :class:`Outcome`. The steady state a chaos experiment
checks is over these: no 500 ever; every answer is a status the contract allows for that call
(a 503 only with ``Retry-After``); every event a create answered 2xx has one id per
idempotency key. Outcomes carry their time, so a report can say what happened while a fault was
on (``during``) and how long the API took to recover after it ended.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

# The statuses the contract allows for each call the load makes. 429 and 503 are the retryable
# answers (each with Retry-After); 409 on ack is a retried ack whose first try went through.
ALLOWED: dict[str, frozenset[int]] = {
    "create": frozenset({200, 201, 429, 503}),
    "get": frozenset({200, 429, 503}),
    "inbox": frozenset({200, 429, 503}),
    "ack": frozenset({200, 409, 429, 503}),
    "health": frozenset({200, 503}),
    "analytics": frozenset({200, 429, 503}),
}
# Transport-level failures between the load and the API (the API is never behind a fault):
# the API did not answer at all.
NO_ANSWER = 0


def retry_after_seconds(value: str | None) -> int | None:
    """The contract's ``Retry-After``: whole seconds, at least 1 (None: absent or not that)."""
    if value is None or not value.isascii() or not value.isdigit() or int(value) < 1:
        return None
    return int(value)


def health_holds(outcome: Outcome, storage_down: bool, faulted: bool) -> bool:
    """What health must answer: 503 with Retry-After while storage is down (a health check
    that says "ok" then is lying); 200 or that 503 under any other fault; 200 otherwise."""
    unavailable = outcome.status == 503 and retry_after_seconds(outcome.retry_after) is not None
    if storage_down:
        return unavailable
    if faulted:
        return outcome.status == 200 or unavailable
    return outcome.status == 200


@dataclass(frozen=True)
class Outcome:
    op: str
    status: int  # NO_ANSWER when the API did not answer (a timeout, a reset)
    at: float  # monotonic seconds when the answer arrived
    seconds: float  # how long the call took
    retry_after: str | None = None  # the Retry-After header, when the answer had one
    error_code: str | None = None  # the envelope's error.code, when there was one
    detail: str = ""  # for a violation: what was wrong (an exception, a body)

    @property
    def server_error(self) -> bool:
        """A 5xx the contract forbids: anything but a 503 that says when to retry."""
        return self.status >= 500 and not (
            self.status == 503 and retry_after_seconds(self.retry_after) is not None
        )

    def violation(self) -> str | None:
        """Why this answer breaks the contract, or None."""
        if self.status == NO_ANSWER:
            return f"{self.op}: no answer ({self.detail})"
        if self.status in (429, 503) and retry_after_seconds(self.retry_after) is None:
            return f"{self.op}: {self.status} without a valid Retry-After ({self.retry_after!r})"
        if self.status not in ALLOWED.get(self.op, frozenset()):
            return f"{self.op}: unexpected {self.status} {self.error_code or ''} {self.detail}"
        return None


@dataclass
class Tally:
    """Counts over a set of outcomes (all of them, or those inside a fault window)."""

    requests: int = 0
    by_status: Counter[int] = field(default_factory=Counter)
    server_errors: int = 0
    retryable_503: int = 0
    violations: int = 0
    max_seconds: float = 0.0

    @classmethod
    def of(cls, outcomes: Iterable[Outcome]) -> Tally:
        tally = cls()
        for outcome in outcomes:
            tally.requests += 1
            tally.by_status[outcome.status] += 1
            tally.server_errors += outcome.server_error
            tally.retryable_503 += outcome.status == 503 and not outcome.server_error
            tally.violations += outcome.violation() is not None
            tally.max_seconds = max(tally.max_seconds, outcome.seconds)
        return tally

    def as_dict(self) -> dict[str, object]:
        return {
            "requests": self.requests,
            "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
            "server_errors": self.server_errors,
            "retryable_503": self.retryable_503,
            "violations": self.violations,
            "max_seconds": round(self.max_seconds, 3),
        }


@dataclass(frozen=True)
class FaultWindow:
    name: str
    started: float
    ended: float | None = None

    def contains(self, at: float) -> bool:
        return at >= self.started and (self.ended is None or at <= self.ended)


class Ledger:
    """Thread-safe record of one experiment's load: outcomes, the events each idempotency key
    was answered with, acknowledgements, and the fault windows."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.outcomes: list[Outcome] = []
        # idempotency key -> every event id a 2xx create answered for it (one, if all is well)
        self.accepted: dict[str, set[str]] = {}
        # keys whose create never got a 2xx (yet): the load retries them after the fault
        self.unconfirmed: set[str] = set()
        self.acknowledged: set[str] = set()
        self.windows: list[FaultWindow] = []

    # -- recording ---------------------------------------------------------------------------
    def record(self, outcome: Outcome) -> None:
        with self._lock:
            self.outcomes.append(outcome)

    def created(self, key: str, event_id: str) -> None:
        with self._lock:
            self.accepted.setdefault(key, set()).add(event_id)
            self.unconfirmed.discard(key)

    def gave_up(self, key: str) -> None:
        with self._lock:
            if key not in self.accepted:
                self.unconfirmed.add(key)

    def acked(self, event_id: str) -> None:
        with self._lock:
            self.acknowledged.add(event_id)

    def fault_on(self, name: str, at: float) -> None:
        with self._lock:
            self.windows.append(FaultWindow(name, at))

    def fault_off(self, at: float) -> bool:
        """Close the open fault windows; False when none was open (a rollback after the
        method already took the faults off)."""
        with self._lock:
            was_open = any(w.ended is None for w in self.windows)
            self.windows = [
                w if w.ended is not None else FaultWindow(w.name, w.started, at)
                for w in self.windows
            ]
            return was_open

    # -- reading -----------------------------------------------------------------------------
    def copy(self) -> Ledger:
        """A snapshot: what the load had been told up to now (checks read the store after it,
        so an event answered while they read is not taken for a lost one)."""
        with self._lock:
            other = Ledger()
            other.outcomes = list(self.outcomes)
            other.accepted = {key: set(ids) for key, ids in self.accepted.items()}
            other.unconfirmed = set(self.unconfirmed)
            other.acknowledged = set(self.acknowledged)
            other.windows = list(self.windows)
            return other

    def snapshot(self) -> list[Outcome]:
        with self._lock:
            return list(self.outcomes)

    def fault_active(self) -> bool:
        with self._lock:
            return any(w.ended is None for w in self.windows)

    def last_fault_end(self) -> float | None:
        with self._lock:
            ends = [w.ended for w in self.windows if w.ended is not None]
            return max(ends) if ends else None

    def unconfirmed_keys(self) -> list[str]:
        with self._lock:
            return sorted(self.unconfirmed)

    def during_fault(self, outcomes: Iterable[Outcome]) -> list[Outcome]:
        with self._lock:
            windows = list(self.windows)
        return [o for o in outcomes if any(w.contains(o.at) for w in windows)]

    def violations(self, limit: int = 20) -> list[str]:
        found = [v for o in self.snapshot() if (v := o.violation()) is not None]
        return found[:limit]

    def event_ids(self) -> dict[str, str]:
        """Each event id a 2xx create answered, and its idempotency key."""
        with self._lock:
            return {event_id: key for key, ids in self.accepted.items() for event_id in ids}

    def keys_with_several_events(self) -> list[str]:
        with self._lock:
            return sorted(key for key, ids in self.accepted.items() if len(ids) > 1)


def recovery_seconds(outcomes: Iterable[Outcome], fault_end: float, op: str) -> float | None:
    """Seconds from ``fault_end`` to the first 2xx of ``op`` answered after it (None: none
    yet). An op that kept succeeding through the fault recovers at once."""
    firsts = [o.at for o in outcomes if o.op == op and 200 <= o.status < 300 and o.at >= fault_end]
    return max(0.0, min(firsts) - fault_end) if firsts else None
