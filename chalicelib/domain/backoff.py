"""Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And
Jitter"). Pure: the caller passes the random source, so a seeded ``random.Random`` gives the
same delays every run."""

from __future__ import annotations

import random


def full_jitter(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based): uniform in
    ``[0, min(cap, base * 2**attempt)]``."""
    if attempt < 0:
        raise ValueError("attempt must be 0 or more")
    if base < 0 or cap < 0:
        raise ValueError("base and cap must not be negative")
    # The exponent is bounded so that attempts far past the cap cannot overflow a float.
    return rng.uniform(0, min(cap, base * 2.0 ** min(attempt, 64)))
