"""Rate limiting: the pure GCRA decision (on every authenticated request) and the deny-cache
path of the limiter service (every request of a key over its limit, no DynamoDB call)."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.domain.token_bucket import MICROS, Policy, decide
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
def test_bench_limiter_deny_cache_hit(benchmark: Any) -> None:
    limiter = RateLimiter(RefusingStore(), 1000)  # type: ignore[arg-type]
    limiter.check("key_bench", 10)  # first refusal comes from the "table"
    check = benchmark(limiter.check, "key_bench", 10)
    assert check.source == SOURCE_CACHE
