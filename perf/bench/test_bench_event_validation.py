"""Event validation: parsing a create request into a draft, on every POST /v1/events.

``test_bench_validate_*`` time the pydantic model (``parse_event_create``); the
``*_handwritten_reference`` twins time the frozen pre-pydantic validator
(``perf/reference/handwritten_event_validation.py``) in the same run, for the comparison in
docs/PERFORMANCE.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from chalicelib.domain.events import EventValidationError, parse_event_create
from perf.reference import handwritten_event_validation as reference
from perf.validation_sample import INVALID, TYPICAL


def test_bench_validate_typical_event(benchmark: Any) -> None:
    draft = benchmark(parse_event_create, TYPICAL)
    assert draft.source == "billing"
    assert draft.metadata["priority"] == "high"


def test_bench_validate_typical_event_handwritten_reference(benchmark: Any) -> None:
    draft = benchmark(reference.parse_event_create, TYPICAL)
    assert draft.source == "billing"
    assert draft.metadata["priority"] == "high"


def _rejected(parse: Callable[[Any], Any], error: type[Exception]) -> Callable[[], Any]:
    def rejected() -> list[dict[str, str]]:
        with pytest.raises(error) as info:
            parse(INVALID)
        details: list[dict[str, str]] = info.value.details  # type: ignore[attr-defined]
        return details

    return rejected


def test_bench_validate_invalid_event(benchmark: Any) -> None:
    fields = {d["field"] for d in benchmark(_rejected(parse_event_create, EventValidationError))}
    assert fields == {"source", "metadata.priority"}


def test_bench_validate_invalid_event_handwritten_reference(benchmark: Any) -> None:
    rejected = _rejected(reference.parse_event_create, reference.EventValidationError)
    fields = {d["field"] for d in benchmark(rejected)}
    assert fields == {"source", "metadata.priority"}
