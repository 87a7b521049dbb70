"""The frozen hand-written validator (perf/reference) still agrees with the pydantic model on
the benchmark's sample, so the perf gate's same-run comparison compares like with like."""

from __future__ import annotations

from dataclasses import asdict

from chalicelib.domain.events import parse_event_create
from perf.reference import handwritten_event_validation as reference
from perf.validation_sample import TYPICAL


def test_both_validators_agree_on_the_sample() -> None:
    assert asdict(parse_event_create(TYPICAL)) == asdict(reference.parse_event_create(TYPICAL))
