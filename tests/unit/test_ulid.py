"""ULIDs: Crockford base32 encoding, timestamp round trip, monotonic generation."""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain import ulid

timestamps = st.integers(min_value=0, max_value=(1 << 48) - 1)
randomness = st.integers(min_value=0, max_value=(1 << 80) - 1)


@given(timestamps, randomness)
def test_encode_is_26_crockford_chars_and_keeps_the_timestamp(ts: int, rnd: int) -> None:
    text = ulid.encode(ts, rnd)
    assert len(text) == 26
    assert set(text) <= set(ulid.ALPHABET)
    assert ulid.decode_timestamp_ms(text) == ts
    assert ulid.is_valid(text)


@given(st.tuples(timestamps, randomness), st.tuples(timestamps, randomness))
def test_string_order_is_numeric_order(a: tuple[int, int], b: tuple[int, int]) -> None:
    assert (ulid.encode(*a) < ulid.encode(*b)) == (a < b)


@pytest.mark.parametrize(("ts", "rnd"), [(-1, 0), (1 << 48, 0), (0, -1), (0, 1 << 80)], ids=str)
def test_encode_rejects_out_of_range(ts: int, rnd: int) -> None:
    with pytest.raises(ValueError, match="out of range"):
        ulid.encode(ts, rnd)


@pytest.mark.parametrize(
    "text",
    ["", "0" * 25, "0" * 27, "0" * 25 + "U", "0" * 25 + "!", "8" + "0" * 25, "Z" * 26],
)
def test_invalid_ulids(text: str) -> None:
    assert not ulid.is_valid(text)
    with pytest.raises(ValueError, match="ULID"):
        ulid.decode_timestamp_ms(text)


def test_lowercase_decodes() -> None:
    text = ulid.encode(1_795_000_000_123, 12345)
    assert ulid.decode_timestamp_ms(text.lower()) == 1_795_000_000_123


def test_same_millisecond_stays_monotonic() -> None:
    gen = ulid.UlidGenerator(random_bits=lambda: 7)
    ids = [gen.new(1000) for _ in range(5)]
    assert ids == sorted(ids)
    assert len(set(ids)) == 5
    assert all(ulid.decode_timestamp_ms(i) == 1000 for i in ids)


def test_clock_stepping_back_never_goes_backwards() -> None:
    gen = ulid.UlidGenerator()
    first = gen.new(5000)
    second = gen.new(4000)
    assert second > first
    assert ulid.decode_timestamp_ms(second) == 5000


def test_random_overflow_moves_to_the_next_millisecond() -> None:
    gen = ulid.UlidGenerator(random_bits=lambda: (1 << 80) - 1)
    first = gen.new(1000)
    second = gen.new(1000)
    assert second > first
    assert ulid.decode_timestamp_ms(second) == 1001


@given(st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=50))
def test_any_clock_sequence_gives_strictly_increasing_ids(clock: list[int]) -> None:
    gen = ulid.UlidGenerator()
    ids = [gen.new(ms) for ms in clock]
    assert all(a < b for a, b in itertools.pairwise(ids))


def test_threads_share_one_monotonic_sequence() -> None:
    # Threads only generate; every assertion runs here, in the test's own thread, where a
    # failure fails the test (an assert in a worker thread is only printed by threading).
    gen = ulid.UlidGenerator()
    start = threading.Barrier(4)

    def work() -> list[str]:
        start.wait()
        return [gen.new(42) for _ in range(200)]

    with ThreadPoolExecutor(max_workers=4) as pool:
        per_thread = [f.result() for f in [pool.submit(work) for _ in range(4)]]
    for mine in per_thread:
        assert len(mine) == 200
        assert mine == sorted(mine)
    assert len({i for mine in per_thread for i in mine}) == 800
