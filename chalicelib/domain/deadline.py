"""A request's time budget: the answer must be out before the function is killed.

API Gateway gives up on a request after 29 s and the API function's timeout is 29 s
(``lambda_timeout`` in ``.chalice/config.json``); a Lambda killed at its timeout answers
nothing (API Gateway turns that into its own 504, outside our contract). Every DynamoDB call
can take up to ``attempts x (connect_timeout + read_timeout)`` plus backoff, and one request
can make many calls, so without a bound a slow DynamoDB can keep a request past the timeout.

**The arithmetic.** Let ``B`` be the budget: the smaller of what the Lambda context says remains
when the request starts and ``REQUEST_TIME_BUDGET_SECONDS`` (27: the template's 29 s function
timeout, which is also API Gateway's limit whatever the function's, less 2 s that API
Gateway's clock also counts and the function's does not: a cold start's init, the hops in and
out; ``chalice local`` claims 900 s). The
answer must be out by ``start + B``. Let ``A = connect_timeout + read_timeout + MARGIN`` be
one attempt: at most ``connect_timeout`` to connect, at most ``read_timeout`` for the answer
(DynamoDB's answers are small: one read in practice), and ``MARGIN`` for what follows the
last call (error translation, the envelope, the access log, returning to Lambda). Then:

* before each attempt (botocore ``before-send``): start it only if ``remaining >= A``;
* before each retry's sleep (botocore ``needs-retry``; our own backoff loops alike): sleep
  ``s`` only if ``remaining >= s_max + A``, where ``s_max`` bounds the sleep;
* otherwise stop: the call raises ``DeadlineExceeded`` (a ``StorageUnavailable``), and the
  request answers 503 ``service_unavailable`` with ``Retry-After`` (or, in bulk, fails the
  items not yet done) at once.

After the last check that passed, at most one sleep it accounted for and one attempt run
before the next check refuses, and that refusal answers within ``MARGIN``: so the answer is out
by ``start + B``. Nothing guarantees it when a single read trickles in slower than
``read_timeout`` per chunk (the timeout bounds each socket read, not a whole response); the
response sizes DynamoDB sends make that a network fault, which the chaos suite exercises.

Pure: the clock is passed in (``time.monotonic`` in production: wall-clock steps must not
move a deadline). The current request's deadline travels in a context variable set by the
outermost middleware; outside a request (workers, scripts) there is none and nothing is
checked.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextvars import ContextVar, Token
from dataclasses import dataclass, field

MARGIN_SECONDS = 0.25  # from the refusal of an attempt to the answer leaving the function


def attempt_seconds(connect_timeout: float, read_timeout: float) -> float:
    """``A``: the time one attempt may take, margin included (see the module docstring)."""
    return connect_timeout + read_timeout + MARGIN_SECONDS


def request_budget(setting_seconds: float, lambda_remaining_ms: int | None) -> float:
    """``B``: the setting, or less when the Lambda context says less remains."""
    if lambda_remaining_ms is None:
        return setting_seconds
    return max(0.0, min(setting_seconds, lambda_remaining_ms / 1000.0))


@dataclass
class Deadline:
    """The instant (on ``clock``'s scale) by which the answer must be out. ``exceeded`` turns
    true the first time a check refuses: the access log reports it."""

    end: float
    clock: Callable[[], float] = time.monotonic
    exceeded: bool = field(default=False)

    @classmethod
    def after(cls, budget: float, clock: Callable[[], float] = time.monotonic) -> Deadline:
        return cls(clock() + budget, clock)

    def remaining(self) -> float:
        return self.end - self.clock()

    def allows(self, seconds: float) -> bool:
        """Whether ``seconds`` of work still fit; a refusal marks the deadline exceeded."""
        if self.remaining() >= seconds:
            return True
        self.exceeded = True
        return False


_current: ContextVar[Deadline | None] = ContextVar("triggers_deadline", default=None)


def current() -> Deadline | None:
    """The running request's deadline; None outside a request."""
    return _current.get()


def set_current(deadline: Deadline | None) -> Token[Deadline | None]:
    return _current.set(deadline)


def reset(token: Token[Deadline | None]) -> None:
    _current.reset(token)


def allows(seconds: float) -> bool:
    """Whether the current request (if any) has ``seconds`` left."""
    deadline = _current.get()
    return deadline is None or deadline.allows(seconds)
