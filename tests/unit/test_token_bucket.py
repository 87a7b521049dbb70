"""GCRA token bucket: the properties the limiter's exactness rests on."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.token_bucket import (
    MICROS,
    Branch,
    Decision,
    Policy,
    admitted,
    decide,
    refused,
)

START = 1_795_000_000 * MICROS
limits = st.integers(min_value=1, max_value=2000)
# Gaps between requests, in microseconds: bursts (0), sub-interval and long idle stretches.
gaps = st.lists(
    st.one_of(st.just(0), st.integers(0, 200_000), st.integers(0, 120 * MICROS)),
    min_size=1,
    max_size=300,
)


def run(policy: Policy, times: list[int]) -> list[Decision]:
    tat: int | None = None
    out = []
    for now in times:
        decision = decide(policy, tat, now)
        if decision.allowed:
            tat = decision.tat_us
        out.append(decision)
    return out


def absolute(deltas: list[int]) -> list[int]:
    times, now = [], START
    for delta in deltas:
        now += delta
        times.append(now)
    return times


@given(limits, gaps)
def test_never_admits_more_than_capacity_plus_rate_times_elapsed(limit: int, deltas: list[int]):
    policy = Policy(limit)
    times = absolute(deltas)
    decisions = run(policy, times)
    admitted_at = [t for t, d in zip(times, decisions, strict=True) if d.allowed]
    # Every stretch between two admitted requests holds at most limit + elapsed // interval.
    for i in range(len(admitted_at)):
        for j in range(i, len(admitted_at)):
            elapsed = admitted_at[j] - admitted_at[i]
            assert j - i + 1 <= limit + elapsed // policy.interval_us


@given(limits, gaps)
def test_a_burst_after_a_full_refill_admits_exactly_the_capacity(limit: int, deltas: list[int]):
    policy = Policy(limit)
    times = absolute(deltas)
    run_before = run(policy, times)
    tat = next((d.tat_us for d in reversed(run_before) if d.allowed), None)
    after_idle = times[-1] + policy.span_us  # idle long enough to refill completely
    decisions = []
    for _ in range(limit + 5):
        decision = decide(policy, tat, after_idle)
        decisions.append(decision)
        if decision.allowed:
            tat = decision.tat_us
    assert sum(d.allowed for d in decisions) == limit
    assert [d.remaining for d in decisions[:limit]] == list(range(limit - 1, -1, -1))


@given(limits, st.integers(1, 50))
def test_refills_one_token_per_interval_across_idle_gaps(limit: int, idle_intervals: int):
    policy = Policy(limit)
    tat = None
    for _ in range(limit):  # empty the bucket at one instant
        decision = decide(policy, tat, START)
        assert decision.allowed
        tat = decision.tat_us
    assert not decide(policy, tat, START).allowed
    later = START + idle_intervals * policy.interval_us
    granted = 0
    while True:
        decision = decide(policy, tat, later)
        if not decision.allowed:
            break
        tat = decision.tat_us
        granted += 1
    assert granted == min(limit, idle_intervals)


@given(limits, gaps, st.lists(st.integers(-120 * MICROS, 0), min_size=1, max_size=50))
def test_clock_going_backwards_grants_nothing(limit: int, deltas: list[int], back: list[int]):
    policy = Policy(limit)
    times = absolute(deltas)
    # Replay with the clock jumping backwards at the end: the admitted count stays within
    # limit + (latest time seen - earliest) // interval, as if time had never gone back.
    skewed = times + [times[-1] + b for b in back]
    decisions = run(policy, skewed)
    total = sum(d.allowed for d in decisions)
    assert total <= limit + (max(skewed) - min(skewed)) // policy.interval_us
    # And for any state, asking earlier never reports more remaining than asking later.
    tat = next((d.tat_us for d in reversed(decisions) if d.allowed), None)
    earlier, later = sorted((times[-1], times[-1] + back[0]))
    assert decide(policy, tat, earlier).remaining <= decide(policy, tat, later).remaining


@given(limits, st.integers(0, 10 * MICROS))
def test_retry_after_is_exactly_when_the_next_request_is_admitted(limit: int, offset: int):
    policy = Policy(limit)
    tat = None
    now = START + offset
    for _ in range(limit):
        tat = decide(policy, tat, now).tat_us
    refusal = decide(policy, tat, now)
    assert not refusal.allowed
    assert refusal.retry_after_us > 0
    assert refusal.retry_after_seconds >= 1
    assert not decide(policy, tat, now + refusal.retry_after_us - 1).allowed
    assert decide(policy, tat, now + refusal.retry_after_us).allowed


def test_branches_partition_the_state_space():
    policy = Policy(60)  # one token per second, span 60 s
    now = START
    assert policy.branch(None, now) is Branch.IDLE
    assert policy.branch(now, now) is Branch.IDLE
    assert policy.branch(now + 1, now) is Branch.BUSY
    assert policy.branch(policy.tat_limit(now), now) is Branch.BUSY
    assert policy.branch(policy.tat_limit(now) + 1, now) is Branch.OVER


def test_headers_follow_the_contract():
    policy = Policy(1000)
    decision = admitted(policy, START + policy.interval_us, START)
    headers = decision.headers(policy)
    assert headers["X-RateLimit-Limit"] == "1000"
    assert headers["X-RateLimit-Remaining"] == "999"
    assert headers["X-RateLimit-Reset"] == str(START // MICROS + 1)
    assert headers["RateLimit-Policy"] == '"per-key";q=1000;w=60'
    assert headers["RateLimit"] == '"per-key";r=999;t=1'


def test_refusal_keeps_the_state_and_reports_zero_remaining():
    policy = Policy(2)
    over = policy.tat_limit(START) + 5 * MICROS
    decision = refused(policy, over, START)
    assert (decision.allowed, decision.remaining, decision.tat_us) == (False, 0, over)
    assert decision.retry_after_seconds == 5


def test_interval_rounds_up_so_rounding_never_admits_more():
    assert Policy(7).interval_us * 7 >= 60 * MICROS
    assert Policy(1_000_000).interval_us == 60


def test_policy_rejects_nonsense():
    with pytest.raises(ValueError, match="limit"):
        Policy(0)


def test_observed_bucket_takes_nothing_and_matches_the_next_decision() -> None:
    from chalicelib.domain.token_bucket import Policy, decide, observed

    policy = Policy(10, 60)
    now = 1_000 * 1_000_000
    tat = None
    for _ in range(4):
        tat = decide(policy, tat, now).tat_us
    view = observed(policy, tat, now)
    assert view.tat_us == tat  # nothing taken
    assert view.allowed
    # The view shows one more token than the next admitted request will leave.
    assert view.remaining == decide(policy, tat, now).remaining + 1
    assert observed(policy, None, now).remaining == policy.limit
