"""Pydantic validation of a typical event stays within 1.5x of the hand-written validator it
replaced, timed in the same run (the frozen copy in perf/reference), so machine noise cancels."""

from __future__ import annotations

import timeit
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from chalicelib.domain.events import parse_event_create
from perf.reference import handwritten_event_validation as reference
from perf.validation_sample import TYPICAL

MAX_RATIO = 1.5
ROUNDS = 60
CALLS = 40


def one_round_us(parse: Callable[[Any], Any]) -> float:
    """The mean time of one call in a round of ``CALLS`` calls, in µs."""
    return timeit.timeit(lambda: parse(TYPICAL), number=CALLS) / CALLS * 1e6


def same_run_ratio() -> tuple[float, float, float]:
    """(pydantic µs, hand-written µs, ratio): the fastest of many short interleaved rounds of
    each, so that both get the machine's quiet moments (CI shares its cores)."""
    for parse in (reference.parse_event_create, parse_event_create):
        one_round_us(parse)  # warm up
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(ROUNDS):
        theirs.append(one_round_us(reference.parse_event_create))
        ours.append(one_round_us(parse_event_create))
    return min(ours), min(theirs), min(ours) / min(theirs)


def test_both_validators_agree_on_the_sample() -> None:
    assert asdict(parse_event_create(TYPICAL)) == asdict(reference.parse_event_create(TYPICAL))


def test_pydantic_is_at_most_one_and_a_half_times_the_handwritten_validator() -> None:
    ours, theirs, ratio = same_run_ratio()
    assert ratio <= MAX_RATIO, f"pydantic {ours:.1f} µs vs hand-written {theirs:.1f} µs"
