"""Token leases: sizes, spending, the exact bound across processes (Hypothesis) and the stated
cost of leasing (tokens one process holds refused to another, and for how long)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.domain.clock import FixedClock
from chalicelib.domain.token_bucket import MICROS, Policy
from chalicelib.domain.token_lease import (
    MAX_LEASE_TOKENS,
    Lease,
    leasing_policy,
    max_lease,
    next_lease_size,
    reserve_tokens,
)
from chalicelib.services.rate_limiter import SOURCE_LEASE, SOURCE_TABLE, RateLimiter
from tests.fakes import FakeRateLimitStore


def test_small_limits_are_not_leased_and_large_ones_hold_back_a_sixtieth() -> None:
    assert [reserve_tokens(n) for n in (1, 20, 60, 180, 181, 240, 1000)] == [0, 0, 0, 0, 4, 4, 17]
    assert reserve_tokens(1_000_000) == 16_667
    assert leasing_policy(20) == Policy(20)
    policy = leasing_policy(1000)
    assert policy.lease_tokens == 17
    assert policy.hold_us == 17 * policy.interval_us  # ~1 s of a per-minute limit
    assert max_lease(policy) == 17
    assert max_lease(leasing_policy(1_000_000)) == MAX_LEASE_TOKENS
    assert max_lease(leasing_policy(20)) == 1


def test_the_lease_size_follows_the_rate_and_at_most_doubles() -> None:
    policy = leasing_policy(6000)  # interval 10 ms, hold 1 s, at most 100 tokens a lease
    assert next_lease_size(policy, 0, 0, None) == 1  # first take: one token
    ms = 1000
    # 1 token spent 10 ms ago: a rate of 100/s wants 100, but growth is at most twofold.
    assert next_lease_size(policy, 1, 1, 10 * ms) == 2
    assert next_lease_size(policy, 64, 64, 100 * ms) == MAX_LEASE_TOKENS
    # Quiet: one token in two seconds -> one token at a time.
    assert next_lease_size(policy, 50, 1, 2_000 * ms) == 1
    # A lease that expired half spent -> about what was spent.
    assert next_lease_size(policy, 40, 20, 1_000 * ms) == 20
    # A small limit never leases.
    assert next_lease_size(leasing_policy(60), 8, 100, 1) == 1


def test_a_lease_is_spent_until_empty_or_expired() -> None:
    policy = leasing_policy(6000)  # interval 10 ms, reserve 100 tokens = 1 s hold
    first_slot = 10 * MICROS - 5 * policy.interval_us  # an idle bucket: the first slot is now
    lease = Lease.taken(policy, 5, new_tat_us=10 * MICROS, now_us=first_slot)
    assert lease.tokens == 4
    assert lease.expires_us == first_slot + policy.hold_us
    # Reported TAT: the lease's unspent tokens count as free.
    assert lease.unspent_tat(policy) == 10 * MICROS - 4 * policy.interval_us
    assert lease.spend(policy, first_slot) == 10 * MICROS - 3 * policy.interval_us
    assert lease.spend(policy, lease.expires_us + 1) is None  # expired: nothing spent
    assert lease.tokens == 3
    for _ in range(3):
        assert lease.spend(policy, lease.expires_us) is not None
    assert lease.spend(policy, first_slot) is None
    assert not lease.live(first_slot)


def test_a_busy_key_makes_a_write_per_lease_not_per_request() -> None:
    store, clock = FakeRateLimitStore(), FixedClock()
    limiter = RateLimiter(store, 1000, now=clock.now)
    checks = []
    for _ in range(1000):  # 200 requests a second for 5 s on a 1,000,000/min key
        checks.append(limiter.check("key_busy", 1_000_000))
        clock.advance(0.005)
    assert all(c.decision.allowed for c in checks)
    writes = sum(c.writes for c in checks)
    assert writes == len(store.calls)
    assert writes <= 30, writes  # leases grow 1, 2, 4, ... 100: ~1,000 / 100 + the ramp
    assert {c.source for c in checks} == {SOURCE_TABLE, SOURCE_LEASE}


def test_a_quiet_key_and_a_small_limit_write_once_per_request() -> None:
    store, clock = FakeRateLimitStore(), FixedClock()
    limiter = RateLimiter(store, 1000, now=clock.now)
    for _ in range(20):
        assert limiter.check("key_quiet", 1_000_000).writes == 1  # one request every 2 s
        clock.advance(2)
    for _ in range(20):
        check = limiter.check("key_small", 120)  # reserve of 2 tokens: not leased
        assert check.writes == 1
        assert check.source == SOURCE_TABLE
        clock.advance(0.01)


def test_headers_of_leased_tokens_count_down_like_single_writes() -> None:
    store, clock = FakeRateLimitStore(), FixedClock()
    limiter = RateLimiter(store, 1000, now=clock.now)
    policy = leasing_policy(6000)
    capacity = policy.limit - policy.lease_tokens
    remaining = []
    for _ in range(40):
        remaining.append(limiter.check("key_h", 6000).decision.remaining)
    # No time passes: every request spends one token of the bucket, leased or not.
    assert remaining == list(range(capacity - 1, capacity - 41, -1))
    assert len(store.calls) < 40


def test_the_cost_of_leasing_refusals_while_another_process_holds_tokens() -> None:
    """Process A leases tokens it does not spend; B, on the same key, is refused exactly those
    tokens, no more than one lease, and they were never admitted by anyone."""
    store, clock = FakeRateLimitStore(), FixedClock()
    a = RateLimiter(store, 1000, now=clock.now)
    b = RateLimiter(store, 1000, now=clock.now)
    limit = 6000  # one token every 10 ms; reserve 100 tokens (1 s)
    policy = leasing_policy(limit)
    capacity = limit - policy.lease_tokens
    # The clock stands still: A's leases double (1, 2, 4, ...), then A stops mid-lease.
    a_admitted = sum(a.check("key_c", limit).decision.allowed for _ in range(40))
    held = a._keys["key_c"].lease  # the state this test is about
    assert held is not None
    unspent = held.tokens
    assert 0 < unspent <= max_lease(policy)
    b_admitted = 0
    while b.check("key_c", limit).decision.allowed:
        b_admitted += 1
    # Everything the bucket held went to A or B, except A's unspent tokens: B was refused
    # exactly `unspent` requests it would have had without leasing.
    assert a_admitted + b_admitted + unspent == capacity
    # Within the hold A still spends them (nobody else can)...
    clock.advance(policy.hold_us / MICROS / 2)
    assert a.check("key_c", limit).source == SOURCE_LEASE
    # ...after it they are gone: A's lease is dead and A goes to the table like B, whose
    # requests are refused until the refill brings the next token (the expired tokens stay
    # charged: admissions lost, not delayed).
    clock.advance(policy.hold_us / MICROS / 2 + 0.001)
    assert not held.live(round(clock.now() * MICROS))
    after = a.check("key_c", limit)
    assert after.source != SOURCE_LEASE


def always_full(policy: Policy, previous: int, spent: int, elapsed_us: int | None) -> int:
    """The worst case for the bound: every take is a lease of the largest size."""
    return max_lease(policy)


def within_bound(admitted: list[int], limit: int) -> bool:
    """At most limit + stretch // interval admitted between any two admitted requests."""
    interval = Policy(limit).interval_us
    return all(
        j - i + 1 <= limit + (admitted[j] - start) // interval
        for i, start in enumerate(admitted)
        for j in range(i, len(admitted))
    )


def test_late_spenders_cannot_push_a_stretch_over_the_bound() -> None:
    """The worst case for leases: two processes take full leases and stop, the bucket refills,
    a third drains it, then the first two spend what they hold. Their tokens are either inside
    the reserve (within the hold) or expired: never on top of a full bucket. (Without the
    reserve, a zero-length stretch admits limit + 7 at 0.99 s; with leases living three hold
    times, limit + 8 at 2.5 s.)"""
    limit = 600  # one token every 100 ms; reserve 10 tokens, hold 1 s, leases of up to 10
    for wait in (0.5, 0.99, 1.5, 2.5):
        store, clock = FakeRateLimitStore(), FixedClock()
        a, b, c = (
            RateLimiter(store, 1000, now=clock.now, lease_size=always_full) for _ in range(3)
        )
        admitted: list[int] = []

        def spend(limiter: RateLimiter, admitted: list[int] = admitted) -> bool:
            decision = limiter.check("key_w", limit).decision
            if decision.allowed:
                admitted.append(decision.now_us)
            return decision.allowed

        assert spend(a)
        assert spend(b)  # each holds 9 tokens now
        clock.advance(wait)
        while spend(c):
            pass
        for holder in (a, b):  # as many as they can right now
            while spend(holder):
                pass
        assert within_bound(admitted, limit), wait


ACTIONS = st.lists(
    st.tuples(
        st.integers(0, 2),  # which process
        st.sampled_from([0, 0, 0, 100, 5_000, 100_000, 990_000, 1_500_000, 2_500_000]),  # gap in us
    ),
    min_size=1,
    max_size=600,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    limit=st.sampled_from([240, 300, 600, 1200]),
    actions=ACTIONS,
    full_leases=st.booleans(),
)
def test_never_more_than_the_limit_plus_the_refill_in_any_stretch(
    limit: int, actions: list[tuple[int, int]], full_leases: bool
) -> None:
    """Three processes with leases on one key (adaptive, or always the largest), at any
    interleaving and pace: in every stretch between two admitted requests, at most
    limit + stretch // interval were admitted."""
    store, clock = FakeRateLimitStore(), FixedClock()
    sizer = always_full if full_leases else next_lease_size
    limiters = [RateLimiter(store, 1000, now=clock.now, lease_size=sizer) for _ in range(3)]
    times: list[int] = []
    for process, gap_us in actions:
        clock.advance(gap_us / MICROS)
        decision = limiters[process].check("key_p", limit).decision
        if decision.allowed:
            times.append(decision.now_us)
    assert within_bound(times, limit)


def test_a_clock_that_steps_back_ends_the_lease() -> None:
    policy = leasing_policy(6000)
    lease = Lease.taken(policy, 5, new_tat_us=10 * MICROS, now_us=9 * MICROS)
    assert lease.spend(policy, 9 * MICROS - 1) is None  # before it was taken: not spendable
    assert lease.spend(policy, 9 * MICROS) is not None
    assert next_lease_size(policy, 8, 8, -5) == 1  # no rate from a negative stretch
