"""The Python retry example's waits (examples/retries/retry_post.py): at least Retry-After when
the API sent one, else full jitter within the capped exponential bound."""

from __future__ import annotations

import importlib.util
import random
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def example() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "retry_post", ROOT / "examples" / "retries" / "retry_post.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["retry_post"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_retry_after_is_a_floor() -> None:
    retry = example()
    rng = random.Random(7)
    for attempt in range(8):
        assert retry.delay_seconds(attempt, "4", rng) >= 4
    assert retry.delay_seconds(0, "1", rng) >= 1


def test_without_retry_after_full_jitter_within_the_bound() -> None:
    retry = example()
    rng = random.Random(7)
    for attempt in range(12):
        bound = min(retry.CAP_SECONDS, retry.BASE_SECONDS * 2**attempt)
        waits = [retry.delay_seconds(attempt, None, rng) for _ in range(200)]
        assert all(0 <= w <= bound for w in waits)
        assert max(waits) > bound / 2  # spread over the range, not a fixed delay
    # A Retry-After that is not whole seconds is ignored, as the contract never sends one.
    assert retry.delay_seconds(0, "soon", random.Random(1)) <= retry.BASE_SECONDS


def test_a_body_that_is_not_a_json_object_reads_as_empty() -> None:
    # A proxy's 502/504 answers HTML; the status still decides whether to retry.
    retry = example()
    assert retry.parse_body(b"<html><body>502 Bad Gateway</body></html>") == {}
    assert retry.parse_body(b"") == {}
    assert retry.parse_body(b"[1, 2]") == {}
    assert retry.parse_body(b'{"error": {"code": "rate_limited"}}') == {
        "error": {"code": "rate_limited"}
    }
