"""Token leases: a process takes a batch of a key's tokens with one conditional write and spends
them locally, so most requests of a busy key make no rate-limit write at all.

Pure logic, no I/O: how big a key's reserve is, how big the next lease should be, and spending
a lease. :class:`chalicelib.services.rate_limiter.RateLimiter` does the writes.

**The bound stays exact.** A lease of ``n`` tokens advances the key's TAT by ``n`` intervals in
one write, under the same condition a single token meets (the bucket may not overfill), so the
table never grants more tokens than GCRA would. What a lease changes is *when* its tokens are
spent: later than they were granted. The policy holds back a reserve of the burst
(``Policy.lease_tokens``) and a leased token is only spent within ``Policy.hold_us`` (the
reserve's length) of its slot; :mod:`chalicelib.domain.token_bucket` shows why that keeps "at most
``limit + d // interval`` in any stretch ``d``" exact across any number of processes.

**Sizes.** The reserve is ``1/LEASE_DIVISOR`` of the limit (one second of a per-minute limit),
and keys whose reserve would be under ``MIN_LEASE_TOKENS`` are not leased: a small limit keeps
exact single-token writes and its whole burst. A lease never holds more than the reserve nor
``MAX_LEASE_TOKENS``, and its size follows the rate at which *this* process spends the key's
tokens: enough for one hold time at that rate, at most doubling from one lease to the next (a
process that sees a key once a second takes one token at a time).

**The cost.** Tokens leased by one process are spent by none other. While a lease lives (one
hold time after it was taken: one second for a per-minute limit) a request elsewhere can be
refused although the key has unspent tokens in that lease: at most one lease's worth
(``MAX_LEASE_TOKENS``, and no more than the reserve) per other process. Unspent tokens are not
returned when the lease expires (a return would let two processes' slots overlap): they stay
charged to the bucket like spent ones, so a key held at its limit loses at most one lease's
worth of admissions per expired lease, and a key below its limit loses nothing (the bucket
refills past them). The next lease of a process that left tokens unspent is smaller.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.domain.token_bucket import DEFAULT_WINDOW_SECONDS, Policy

LEASE_DIVISOR = 60  # the reserve: one token per 60 of the limit (1 s of a per-minute limit)
MIN_LEASE_TOKENS = 4  # a reserve smaller than this is not worth it: the key is not leased
MAX_LEASE_TOKENS = 100  # the most tokens one lease holds


def reserve_tokens(limit: int) -> int:
    """The tokens of a ``limit``'s burst held back for leases (0: the key is not leased)."""
    tokens = -(-limit // LEASE_DIVISOR)
    return tokens if tokens >= MIN_LEASE_TOKENS else 0


def leasing_policy(limit: int, window_seconds: int = DEFAULT_WINDOW_SECONDS) -> Policy:
    """The key's policy with its lease reserve (plain GCRA for small limits)."""
    return Policy(limit, window_seconds, reserve_tokens(limit))


def max_lease(policy: Policy) -> int:
    """The most tokens one lease of ``policy`` holds (1: no leasing)."""
    return max(1, min(MAX_LEASE_TOKENS, policy.lease_tokens))


def next_lease_size(policy: Policy, previous: int, spent: int, elapsed_us: int | None) -> int:
    """The size of the next lease: this process's spending rate over one hold time.

    ``previous`` is the size of the last lease, ``spent`` the tokens this process spent since it
    was taken and ``elapsed_us`` the time since then (``None``: no lease yet). The size grows at
    most twofold per lease and never exceeds :func:`max_lease`.
    """
    cap = max_lease(policy)
    if cap <= 1 or elapsed_us is None:
        return 1
    if elapsed_us < 0:  # the clock stepped back: no rate to go by
        return 1
    wanted = -(-spent * policy.hold_us // max(1, elapsed_us))
    return max(1, min(cap, wanted, 2 * max(1, previous)))


@dataclass
class Lease:
    """Tokens of one key taken in one write and not spent yet."""

    tokens: int  # unspent
    tat_us: int  # the key's TAT right after the write (it covers these tokens)
    expires_us: int  # no token is spent after this instant
    taken_us: int = 0  # when it was taken: none is spent before (a clock that stepped back)

    @classmethod
    def taken(cls, policy: Policy, size: int, new_tat_us: int, now_us: int) -> Lease:
        """A lease of ``size`` tokens taken at ``now_us`` by a write that moved the TAT to
        ``new_tat_us``; its first token goes to the request that took it, so ``size - 1`` are
        left. It expires one hold time after it was taken: its tokens' slots start no earlier
        than that instant, so each is spent within the hold time of its slot."""
        return cls(size - 1, new_tat_us, now_us + policy.hold_us, now_us)

    def spend(self, policy: Policy, now_us: int) -> int | None:
        """Spend one token at ``now_us``: the TAT as the decision should report it (this
        process's unspent tokens still counted as free), or ``None`` when the lease is spent
        or expired."""
        if not self.live(now_us):
            return None
        self.tokens -= 1
        return self.unspent_tat(policy)

    def unspent_tat(self, policy: Policy) -> int:
        """The TAT with this lease's unspent tokens given back (for headers)."""
        return self.tat_us - self.tokens * policy.interval_us

    def live(self, now_us: int) -> bool:
        """Tokens left, and ``now_us`` within the lease's life (a clock that steps back before
        the lease was taken ends it: its hold would otherwise stretch by the step)."""
        return self.tokens > 0 and self.taken_us <= now_us <= self.expires_us
