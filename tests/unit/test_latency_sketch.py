"""The ack latency sketch: bins, percentiles within the stated error, exact merges."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain import latency_sketch as ls

latencies = st.lists(st.integers(min_value=0, max_value=10**10), min_size=1, max_size=300)


def sketch_of(values: list[int]) -> dict[int, int]:
    sketch: dict[int, int] = {}
    for value in values:
        index = ls.bin_of(value)
        sketch[index] = sketch.get(index, 0) + 1
    return sketch


def exact(values: list[int], q: float) -> int:
    """Nearest rank: the smallest value with at least q of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def test_bins_have_the_documented_bounds() -> None:
    assert ls.bin_of(0) == 0
    assert ls.bin_of(0.999) == 0
    assert ls.bin_of(-5) == 0
    assert ls.bin_of(float("nan")) == 0
    assert ls.bin_of(1) == 1  # [2^0, 2^(1/8))
    assert ls.bin_of(2) == 9  # 2 = 2^(8/8) opens bin 9
    assert ls.bin_of(1.9) == 8
    assert ls.bin_of(1024) == 81
    assert ls.bin_of(2.0**40) == ls.LAST_BIN
    assert ls.bin_of(2.0**39) == 313
    assert ls.bin_of(1e300) == ls.LAST_BIN
    for index in range(1, ls.LAST_BIN):
        low, high = 2 ** ((index - 1) / 8), 2 ** (index / 8)
        assert low <= ls.representative(index) < high


def test_bin_names_round_trip_and_other_names_are_not_bins() -> None:
    for index in (0, 7, 136, ls.LAST_BIN):
        assert ls.bin_index(ls.bin_name(index)) == index
    for name in (
        "ack_latency_ms_sum",
        "ackh",
        "ackh12",
        "ackh9999",
        "ackhx12",
        "ackh999",
        "ack_latency_h012",
    ):
        assert ls.bin_index(name) is None


def test_percentiles_of_an_empty_sketch_are_null() -> None:
    assert ls.percentiles({}) == {"p50": None, "p95": None}
    assert ls.percentiles({5: 0}) == {"p50": None, "p95": None}
    with pytest.raises(ValueError, match=r"q must be in"):
        ls.percentile({1: 1}, 0)


def test_a_known_mix_reports_the_bins_of_its_ranks() -> None:
    # 19 fast acks at 100 ms and one slow at 60 s: p50 is ~100 ms, p95 (rank 19) still ~100 ms;
    # one more slow ack moves p95 (rank 20 of 21) to ~60 s.
    values = [100] * 19 + [60_000]
    p = ls.percentiles(sketch_of(values))
    assert p["p50"] is not None
    assert abs(p["p50"] - 100) / 100 <= ls.MAX_RELATIVE_ERROR
    assert p["p95"] == p["p50"]
    p = ls.percentiles(sketch_of([*values, 60_000]))
    assert p["p95"] is not None
    assert abs(p["p95"] - 60_000) / 60_000 <= ls.MAX_RELATIVE_ERROR


@given(latencies, st.sampled_from([0.5, 0.9, 0.95, 0.99, 1.0]))
def test_a_percentile_is_within_the_stated_error_of_the_exact_rank(
    values: list[int], q: float
) -> None:
    reported = ls.percentile(sketch_of(values), q)
    truth = exact(values, q)
    assert reported is not None
    if truth < 1:
        assert reported == 0.0
    else:
        # The bin's midpoint, rounded to 0.1 ms: within 4.4 % (plus the rounding).
        assert abs(reported - truth) <= truth * ls.MAX_RELATIVE_ERROR + 0.05


@given(st.lists(latencies, min_size=1, max_size=6))
def test_merging_sketches_equals_sketching_everything(parts: list[list[int]]) -> None:
    merged = ls.merge(sketch_of(part) for part in parts)
    everything = sketch_of([v for part in parts for v in part])
    assert merged == everything
    assert ls.percentiles(merged) == ls.percentiles(everything)
