"""full_jitter: bounds, growth, the cap and determinism with a seeded random source."""

from __future__ import annotations

import random

import pytest

from chalicelib.domain.backoff import full_jitter


@pytest.mark.parametrize("attempt", [0, 1, 2, 3, 4, 5])
def test_delays_stay_within_zero_and_the_exponential_ceiling(attempt: int) -> None:
    rng = random.Random(attempt)
    ceiling = 0.01 * 2**attempt
    delays = [full_jitter(attempt, 0.01, 10.0, rng) for _ in range(500)]
    assert all(0 <= d <= ceiling for d in delays)
    # Full jitter spreads over the whole range, not just its top or bottom.
    assert min(delays) < ceiling * 0.1
    assert max(delays) > ceiling * 0.9


def test_the_cap_bounds_every_delay_even_for_huge_attempts() -> None:
    rng = random.Random(7)
    assert all(full_jitter(attempt, 0.025, 0.4, rng) <= 0.4 for attempt in range(0, 2000, 7))


def test_the_same_seed_gives_the_same_delays() -> None:
    first = [full_jitter(a, 0.02, 1.0, random.Random(42)) for a in range(6)]
    second = [full_jitter(a, 0.02, 1.0, random.Random(42)) for a in range(6)]
    assert first == second
    assert first != [full_jitter(a, 0.02, 1.0, random.Random(43)) for a in range(6)]


def test_zero_cap_or_base_means_no_wait() -> None:
    rng = random.Random(1)
    assert full_jitter(3, 0.02, 0.0, rng) == 0
    assert full_jitter(3, 0.0, 1.0, rng) == 0


def test_negative_inputs_are_refused() -> None:
    rng = random.Random(1)
    with pytest.raises(ValueError, match="attempt"):
        full_jitter(-1, 0.01, 1.0, rng)
    with pytest.raises(ValueError, match="base and cap"):
        full_jitter(0, -0.01, 1.0, rng)
