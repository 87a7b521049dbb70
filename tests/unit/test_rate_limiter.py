"""The limiter service with an in-memory store: deny cache, branch prediction, failing open."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chalicelib.domain.clock import FixedClock
from chalicelib.domain.token_bucket import Branch, Policy
from chalicelib.observability import metrics
from chalicelib.services.rate_limiter import (
    SOURCE_CACHE,
    SOURCE_LOCAL,
    SOURCE_TABLE,
    RateLimiter,
)
from tests.fakes import FakeRateLimitStore


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def store() -> FakeRateLimitStore:
    return FakeRateLimitStore()


@pytest.fixture
def emitted() -> Iterator[metrics.MetricBatch]:
    """What the limiter records, collected as inside a request (written when the scope ends)."""
    with metrics.request_scope(metrics.DISABLED) as batch:
        yield batch


def limiter(store: FakeRateLimitStore, clock: FixedClock) -> RateLimiter:
    return RateLimiter(store, default_limit=1000, now=clock.now)


def test_admits_the_burst_then_refuses_from_the_table_then_from_the_cache(store, clock):
    rl = limiter(store, clock)
    checks = [rl.check("key_a", 5) for _ in range(5)]
    assert [c.decision.remaining for c in checks] == [4, 3, 2, 1, 0]
    assert all(c.decision.allowed and c.source == SOURCE_TABLE for c in checks)
    refused = rl.check("key_a", 5)
    assert not refused.decision.allowed
    assert refused.source == SOURCE_TABLE
    assert refused.decision.retry_after_seconds == 12  # one token per 12 s
    calls_before = len(store.calls)
    cached = [rl.check("key_a", 5) for _ in range(50)]
    assert all(not c.decision.allowed and c.source == SOURCE_CACHE for c in cached)
    assert len(store.calls) == calls_before, "the deny cache made DynamoDB calls"
    clock.advance(12)
    after = rl.check("key_a", 5)
    assert after.decision.allowed
    assert after.source == SOURCE_TABLE


def test_one_write_per_request_when_the_prediction_holds(store, clock):
    rl = limiter(store, clock)
    for _ in range(10):
        assert rl.check("key_a", 100).writes == 1
        clock.advance(0.001)  # busy bucket: the busy branch is predicted
    clock.advance(120)
    assert rl.check("key_a", 100).writes == 1  # idle again: the idle branch is predicted


def test_a_stale_prediction_costs_one_more_write_never_a_double_admit(store, clock):
    mine, other = limiter(store, clock), limiter(store, clock)
    assert mine.check("key_a", 2).writes == 1  # mine now believes the bucket idle-ish
    clock.advance(60)  # mine's hint says idle; the bucket is idle too
    other.check("key_a", 2)  # another process takes a token: now busy
    check = mine.check("key_a", 2)
    assert check.decision.allowed
    assert check.writes == 2
    third = mine.check("key_a", 2)
    assert not third.decision.allowed  # capacity 2 within one instant: exact


def test_per_key_limits_and_the_default(store, clock):
    rl = limiter(store, clock)
    assert rl.check("key_default", None).decision.limit == 1000
    assert rl.check("key_small", 3).decision.limit == 3
    assert rl.policy_for(None) == Policy(1000, lease_tokens=17)  # 1/60 held for leases
    assert rl.policy_for(3) == Policy(3)  # too small to lease


def test_table_down_fails_open_to_a_per_process_limit_with_log_and_metric(
    store, clock, emitted, caplog
):
    rl = limiter(store, clock)
    store.down = True
    first = rl.check("key_a", 3)
    assert first.decision.allowed
    assert first.source == SOURCE_LOCAL
    warning = [r for r in caplog.records if getattr(r, "metric", None) == "RateLimiterUnavailable"]
    assert warning
    assert "ConnectTimeoutError" in warning[0].error
    names = {sample.name for sample in emitted.samples}
    assert {"RateLimiterUnavailable", "RateLimiterDegraded"} <= names
    # Still limited: the same policy, applied in memory.
    rest = [rl.check("key_a", 3) for _ in range(3)]
    assert [c.decision.allowed for c in rest] == [True, True, False]
    # While degraded the table is not tried on every request (no timeout per request)...
    assert store.calls.count(Branch.IDLE) + store.calls.count(Branch.BUSY) == 1
    # ...and once the degraded period is over it is tried again.
    store.down = False
    clock.advance(6)
    recovered = rl.check("key_a", 3)
    assert recovered.source == SOURCE_TABLE
    assert recovered.decision.allowed


def test_headers_are_on_every_decision(store, clock):
    rl = limiter(store, clock)
    headers = rl.check("key_a", 10).headers()
    assert set(headers) == {
        "X-RateLimit-Limit",
        "X-RateLimit-Remaining",
        "X-RateLimit-Reset",
        "RateLimit-Policy",
        "RateLimit",
    }
    assert headers["X-RateLimit-Remaining"] == "9"


def test_a_spent_request_budget_is_decided_locally_without_degrading_the_table(
    store, clock, monkeypatch
):
    """DeadlineExceeded says this request has no time left, not that the table is down: that
    request is decided in memory and the next one uses the table again."""
    from chalicelib.stores.errors import DeadlineExceeded

    rl = limiter(store, clock)
    real_take = store.take

    def out_of_time(*args, **kwargs):
        raise DeadlineExceeded("UpdateItem: request time budget spent")

    monkeypatch.setattr(store, "take", out_of_time)
    spent = rl.check("key_a", 3)
    assert spent.decision.allowed
    assert spent.source == SOURCE_LOCAL
    monkeypatch.setattr(store, "take", real_take)
    assert rl.check("key_a", 3).source != SOURCE_LOCAL
