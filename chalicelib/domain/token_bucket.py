"""Rate limiting as GCRA (the generic cell rate algorithm): a token bucket kept as one number.

A policy admits ``limit`` requests per ``window`` with a burst of ``limit``: a bucket of
``limit`` tokens refilled at one token per ``interval`` (``window / limit``, rounded *up* to a
whole microsecond, so rounding can only ever make the limit stricter). Instead of a token count
and a refill time, the state is the *theoretical arrival time* (TAT): the instant at which the
bucket would be full again. A request at ``now`` is admitted when, after taking its token, the
bucket would not be over-full::

    new_tat = max(tat, now) + interval      admitted  <=>  new_tat - now <= span
    (span = limit * interval: the time it takes to refill an empty bucket)

Everything is integer microseconds, so decisions are exact and reproducible. The state only
ever moves forward (``max``), so a clock that steps back never grants a token. In any stretch of
``d`` microseconds at most ``limit + d // interval`` requests are admitted.

**Lease reserve.** A policy may hold back ``lease_tokens`` of its burst (``capacity`` = span less
that many intervals). Tokens taken in a batch (a lease, :mod:`chalicelib.domain.token_lease`) may
then be spent up to ``hold`` (the reserve's length) after their slot, and the bound above still
holds exactly: each admitted token owns one interval-long slot of the TAT line, the slots never
overlap, and every token spent in a stretch ``[a, a + d]`` has its slot inside
``[a - hold, a + d + span - hold]``, which holds at most ``limit + d // interval`` of them. With no
reserve (the default) a policy is plain GCRA.

The DynamoDB store applies the same rule as a conditional write on one of two *branches*
(bucket idle: ``tat <= now``; bucket busy: ``now < tat <= now + span - interval``); the
functions here give it the bounds and turn what it stored into a :class:`Decision`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

MICROS = 1_000_000
DEFAULT_WINDOW_SECONDS = 60


class Branch(Enum):
    IDLE = "idle"  # tat <= now (or no state): the new TAT is now + interval
    BUSY = "busy"  # now < tat <= tat_limit: the new TAT is tat + interval
    OVER = "over"  # tat > tat_limit: refused, state unchanged


@dataclass(frozen=True)
class Policy:
    limit: int  # requests per window, and the burst capacity (less ``lease_tokens``)
    window_seconds: int = DEFAULT_WINDOW_SECONDS
    # Tokens of the burst held back so that leased tokens can be spent up to ``hold_us`` after
    # they were taken without the bound moving (see :mod:`chalicelib.domain.token_lease`).
    lease_tokens: int = 0

    def __post_init__(self) -> None:
        if self.limit < 1:
            raise ValueError("limit must be at least 1")
        if self.window_seconds < 1:
            raise ValueError("window must be at least 1 second")
        if not 0 <= self.lease_tokens < self.limit:
            raise ValueError("lease_tokens must be at least 0 and below the limit")

    @property
    def interval_us(self) -> int:
        """Microseconds per token, rounded up (never admits more than the nominal rate)."""
        return -(-self.window_seconds * MICROS // self.limit)

    @property
    def span_us(self) -> int:
        """Time to refill an empty bucket: ``limit`` intervals."""
        return self.limit * self.interval_us

    @property
    def hold_us(self) -> int:
        """How long after its slot a leased token may still be spent: the reserve's length."""
        return self.lease_tokens * self.interval_us

    @property
    def capacity_us(self) -> int:
        """The span a bucket may be filled to: ``span_us`` less the lease reserve."""
        return self.span_us - self.hold_us

    def tat_limit(self, now_us: int, tokens: int = 1) -> int:
        """The largest stored TAT at which ``tokens`` taken at ``now_us`` are still admitted."""
        return now_us + self.capacity_us - tokens * self.interval_us

    def fit(self, tat_us: int | None, now_us: int) -> int:
        """How many tokens can be taken at ``now_us`` with the stored TAT ``tat_us``."""
        start = now_us if tat_us is None or tat_us <= now_us else tat_us
        return max(0, (now_us + self.capacity_us - start) // self.interval_us)

    def branch(self, tat_us: int | None, now_us: int) -> Branch:
        if tat_us is None or tat_us <= now_us:
            return Branch.IDLE
        if tat_us <= self.tat_limit(now_us):
            return Branch.BUSY
        return Branch.OVER

    def header_policy(self) -> str:
        """The IETF ``RateLimit-Policy`` field value (draft-ietf-httpapi-ratelimit-headers)."""
        return f'"per-key";q={self.limit};w={self.window_seconds}'


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int  # requests that would be admitted right now after this one
    reset_after_us: int  # until the bucket is full again
    retry_after_us: int  # until the next request can be admitted (0 when it can now)
    tat_us: int | None  # the state after the decision (unchanged when refused)
    now_us: int

    @property
    def retry_after_seconds(self) -> int:
        """Whole seconds, at least 1, rounded up: waiting that long always suffices."""
        return max(1, -(-self.retry_after_us // MICROS))

    @property
    def reset_after_seconds(self) -> int:
        return max(0, -(-self.reset_after_us // MICROS))

    def reset_epoch_seconds(self) -> int:
        """Unix time (whole seconds, rounded up) at which the bucket is full again."""
        return -(-(self.now_us + self.reset_after_us) // MICROS)

    def headers(self, policy: Policy) -> dict[str, str]:
        """``X-RateLimit-*`` and the IETF draft's ``RateLimit-Policy`` / ``RateLimit``."""
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_epoch_seconds()),
            "RateLimit-Policy": policy.header_policy(),
            "RateLimit": f'"per-key";r={self.remaining};t={self.reset_after_seconds}',
        }


def admitted(policy: Policy, new_tat_us: int, now_us: int) -> Decision:
    """The decision for a request that moved the state to ``new_tat_us``."""
    used = new_tat_us - now_us
    remaining = max(0, (policy.capacity_us - used) // policy.interval_us)
    return Decision(True, policy.limit, remaining, max(0, used), 0, new_tat_us, now_us)


def refused(policy: Policy, tat_us: int, now_us: int) -> Decision:
    """The decision for a request refused while the state is ``tat_us`` (left unchanged)."""
    retry = max(1, tat_us - policy.tat_limit(now_us))
    return Decision(False, policy.limit, 0, max(0, tat_us - now_us), retry, tat_us, now_us)


def observed(policy: Policy, tat_us: int | None, now_us: int) -> Decision:
    """The bucket as it stands at ``now_us``, no token taken (for responses that spend none)."""
    used = max(0, (tat_us if tat_us is not None else now_us) - now_us)
    remaining = max(0, (policy.capacity_us - used) // policy.interval_us)
    allowed = policy.branch(tat_us, now_us) is not Branch.OVER
    retry = 0 if allowed else max(1, (tat_us or now_us) - policy.tat_limit(now_us))
    return Decision(allowed, policy.limit, remaining, used, retry, tat_us, now_us)


def decide(policy: Policy, tat_us: int | None, now_us: int) -> Decision:
    """Admit or refuse one request at ``now_us`` given the stored TAT (``None``: no state)."""
    if tat_us is None or tat_us <= now_us:  # Branch.IDLE
        return admitted(policy, now_us + policy.interval_us, now_us)
    if tat_us <= policy.tat_limit(now_us):  # Branch.BUSY
        return admitted(policy, tat_us + policy.interval_us, now_us)
    return refused(policy, tat_us, now_us)  # Branch.OVER


def to_micros(epoch_seconds: float) -> int:
    return int(epoch_seconds * MICROS)
