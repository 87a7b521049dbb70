"""The chaos fault plan: parsing (anything invalid is refused, never half-read) and the
per-attempt decision."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.fault_plan import (
    FAULT_STATUS,
    NO_FAULT,
    FaultPlan,
    InvalidFaultPlan,
    decide,
    parse_fault_plan,
)

ERRORS = sorted(FAULT_STATUS)


@pytest.mark.parametrize("text", ["", "  \n", "{}", '{"dynamodb": {}}'])
def test_empty_means_no_fault(text: str) -> None:
    assert parse_fault_plan(text) == NO_FAULT


def test_a_full_plan() -> None:
    plan = parse_fault_plan(
        json.dumps(
            {
                "dynamodb": {
                    "error": "ThrottlingException",
                    "probability": 0.25,
                    "operations": ["PutItem", "Query"],
                }
            }
        )
    )
    assert plan == FaultPlan("ThrottlingException", 0.25, frozenset({"PutItem", "Query"}))
    assert plan.status == 400


@pytest.mark.parametrize(("error", "status"), sorted(FAULT_STATUS.items()))
def test_each_error_has_dynamodbs_status(error: str, status: int) -> None:
    plan = parse_fault_plan(json.dumps({"dynamodb": {"error": error, "probability": 1}}))
    assert plan.operations is None
    assert plan.status == status


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("not json", "not JSON"),
        ("[]", "JSON object"),
        ('{"s3": {}}', "unknown keys"),
        ('{"dynamodb": []}', "must be an object"),
        ('{"dynamodb": {"error": "Nope", "probability": 1}}', "'error' must be one of"),
        ('{"dynamodb": {"probability": 1}}', "'error' must be one of"),
        ('{"dynamodb": {"error": "ThrottlingException"}}', "'probability'"),
        ('{"dynamodb": {"error": "ThrottlingException", "probability": 1.5}}', "'probability'"),
        ('{"dynamodb": {"error": "ThrottlingException", "probability": -0.1}}', "'probability'"),
        ('{"dynamodb": {"error": "ThrottlingException", "probability": "1"}}', "'probability'"),
        ('{"dynamodb": {"error": "ThrottlingException", "probability": true}}', "'probability'"),
        ('{"dynamodb": {"error": "ThrottlingException", "probability": NaN}}', "'probability'"),
        (
            '{"dynamodb": {"error": "ThrottlingException", "probability": 1, "operations": "Put"}}',
            "'operations'",
        ),
        (
            '{"dynamodb": {"error": "ThrottlingException", "probability": 1, "operations": [""]}}',
            "'operations'",
        ),
        ('{"dynamodb": {"error": "ThrottlingException", "probability": 1, "x": 1}}', "unknown"),
    ],
)
def test_invalid_plans_are_refused_with_a_reason(text: str, says: str) -> None:
    with pytest.raises(InvalidFaultPlan, match=says):
        parse_fault_plan(text)


@given(st.text(max_size=200))
def test_any_text_parses_or_is_refused_never_crashes(text: str) -> None:
    try:
        plan = parse_fault_plan(text)
    except InvalidFaultPlan:
        return
    assert plan.error is None or plan.error in FAULT_STATUS
    assert 0.0 <= plan.probability <= 1.0


@given(
    error=st.sampled_from(ERRORS),
    probability=st.floats(0.0, 1.0),
    operations=st.none() | st.lists(st.sampled_from(["PutItem", "GetItem", "Query"]), max_size=3),
)
def test_valid_plans_round_trip(
    error: str, probability: float, operations: list[str] | None
) -> None:
    spec: dict[str, object] = {"error": error, "probability": probability}
    if operations is not None:
        spec["operations"] = operations
    plan = parse_fault_plan(json.dumps({"dynamodb": spec}))
    assert plan.error == error
    assert plan.probability == probability
    assert plan.operations == (None if operations is None else frozenset(operations))


def never_drawn() -> float:
    raise AssertionError("the random source must not be drawn")


def test_no_plan_never_fires_and_draws_nothing() -> None:
    assert decide(NO_FAULT, "PutItem", never_drawn) is None


def test_probability_one_always_fires_without_drawing() -> None:
    assert decide(FaultPlan("InternalServerError", 1.0), "GetItem", never_drawn) == (
        "InternalServerError"
    )


def test_probability_zero_never_fires() -> None:
    assert decide(FaultPlan("InternalServerError", 0.0), "GetItem", never_drawn) is None


def test_other_operations_are_left_alone() -> None:
    plan = FaultPlan("ThrottlingException", 1.0, frozenset({"PutItem"}))
    assert decide(plan, "GetItem", never_drawn) is None
    assert decide(plan, "PutItem", never_drawn) == "ThrottlingException"


@given(probability=st.floats(0.0, 1.0), draw=st.floats(0.0, 1.0, exclude_max=True))
def test_fires_exactly_when_the_draw_is_below_the_probability(
    probability: float, draw: float
) -> None:
    fired = decide(FaultPlan("ThrottlingException", probability), "Query", lambda: draw)
    expected = probability > 0.0 and (probability >= 1.0 or draw < probability)
    assert (fired is not None) == expected


def test_the_rate_follows_the_probability() -> None:
    rng = random.Random(7)
    plan = FaultPlan("ThrottlingException", 0.3)
    fired = sum(decide(plan, "PutItem", rng.random) is not None for _ in range(10_000))
    assert 2_800 < fired < 3_200
