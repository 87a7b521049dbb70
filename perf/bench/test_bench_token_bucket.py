"""Rate limiting: the pure GCRA decision (on every authenticated request) and the deny-cache
path of the limiter service (every request of a key over its limit, no DynamoDB call)."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.domain.token_bucket import MICROS, Policy, decide
from chalicelib.observability import metrics
from chalicelib.services.rate_limiter import SOURCE_CACHE, RateLimiter
from chalicelib.stores.rate_limits import WriteResult

POLICY = Policy(1000)
NOW = 1_795_000_000 * MICROS


@pytest.mark.perf
def test_bench_gcra_decide_busy_bucket(benchmark: Any) -> None:
    tat = NOW + 10 * POLICY.interval_us
    decision = benchmark(decide, POLICY, tat, NOW)
    assert decision.allowed


@pytest.mark.perf
def test_bench_gcra_decide_and_headers(benchmark: Any) -> None:
    def run() -> dict[str, str]:
        return decide(POLICY, NOW, NOW).headers(POLICY)

    assert benchmark(run)["X-RateLimit-Remaining"] == "999"


class RefusingStore:
    """A table whose bucket is always over the limit (only reached once: then the cache)."""

    def take(self, key_id: str, branch: Any, now_us: int, interval_us: int, tat_limit: int):
        return WriteResult(False, tat_limit + 3600 * MICROS)


@pytest.mark.perf
def test_bench_limiter_deny_cache_hit(benchmark: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """The deny path as a request runs it: inside the request's metrics scope, where the
    ``RateLimitDenyCacheHit`` sample joins the request's batch. Writing the batch happens once
    per request whatever the path (the observability benchmarks measure it), so each call's
    sample is dropped here and nothing reaches stdout."""
    limiter = RateLimiter(RefusingStore(), 1000)  # type: ignore[arg-type]
    with metrics.request_scope() as batch:
        limiter.check("key_bench", 10)  # first refusal comes from the "table"
        batch.samples.clear()
        assert limiter.check("key_bench", 10).source == SOURCE_CACHE
        assert [sample.name for sample in batch.samples] == ["RateLimitDenyCacheHit"]

        def deny() -> Any:
            check = limiter.check("key_bench", 10)
            batch.samples.clear()
            return check

        check = benchmark(deny)
    assert check.source == SOURCE_CACHE
    assert capsys.readouterr().out == ""  # no EMF document was written


class GrantingStore:
    """A table that grants every take, however many tokens it asks for."""

    def __init__(self) -> None:
        self.tat = 0

    def take(self, key_id: str, branch: Any, now_us: int, interval_us: int, tat_limit: int):
        self.tat = max(self.tat, now_us) + interval_us
        return WriteResult(True, self.tat)


@pytest.mark.perf
def test_bench_limiter_lease_spend(benchmark: Any) -> None:
    """A leased token spent in process: the common path of a busy key since issue 16 (no
    DynamoDB call; the write that takes the next lease is the rare case and is not timed).
    The clock stands still, so every lease lives until spent and is refilled by one write."""
    clock = [1_795_000_000.0]
    store = GrantingStore()
    limiter = RateLimiter(store, 1000, now=lambda: clock[0])  # type: ignore[arg-type]
    for _ in range(300):  # grow the lease to its maximum
        limiter.check("key_bench", 1_000_000)
    check = benchmark(limiter.check, "key_bench", 1_000_000)
    assert check.decision.allowed
