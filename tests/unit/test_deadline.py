"""The request time budget: the pure arithmetic, and the middleware that sets it per request."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from chalice.app import Request, Response
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.api.middleware import request_context
from chalicelib.domain import deadline
from chalicelib.domain.deadline import MARGIN_SECONDS, Deadline, attempt_seconds, request_budget


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_an_attempt_is_both_timeouts_and_the_margin() -> None:
    assert attempt_seconds(1.0, 3.0) == 4.0 + MARGIN_SECONDS


def test_the_budget_is_the_setting_or_less_when_lambda_says_less_remains() -> None:
    assert request_budget(29.0, None) == 29.0
    assert request_budget(29.0, 900_000) == 29.0  # chalice local's context: 900 s
    assert request_budget(29.0, 12_500) == 12.5
    assert request_budget(29.0, -5) == 0.0


@given(setting=st.floats(0.1, 900.0), remaining_ms=st.none() | st.integers(-1000, 10**7))
def test_the_budget_never_exceeds_either_bound(setting: float, remaining_ms: int | None) -> None:
    budget = request_budget(setting, remaining_ms)
    assert 0.0 <= budget <= setting
    if remaining_ms is not None:
        assert budget <= max(remaining_ms / 1000.0, 0.0)


def test_a_deadline_allows_until_its_end_and_remembers_a_refusal() -> None:
    clock = Clock()
    d = Deadline.after(10.0, clock)
    assert d.remaining() == 10.0
    assert d.allows(10.0)
    clock.now += 6.0
    assert d.allows(4.0)
    assert not d.exceeded
    assert not d.allows(4.5)
    assert d.exceeded
    assert d.allows(1.0)  # still room for less; the refusal stays recorded
    assert d.exceeded


@given(budget=st.floats(0.0, 100.0), elapsed=st.floats(0.0, 200.0), need=st.floats(0.0, 50.0))
def test_allows_exactly_when_the_work_fits(budget: float, elapsed: float, need: float) -> None:
    clock = Clock(0.0)
    d = Deadline.after(budget, clock)
    clock.now = elapsed
    assert d.allows(need) == (budget - elapsed >= need)


def test_outside_a_request_everything_is_allowed() -> None:
    assert deadline.current() is None
    assert deadline.allows(1e9)


def test_the_current_deadline_is_per_context_and_reset() -> None:
    d = Deadline.after(0.0, Clock())
    token = deadline.set_current(d)
    try:
        assert deadline.current() is d
        assert not deadline.allows(1.0)
        seen: list[Deadline | None] = []
        thread = threading.Thread(target=lambda: seen.append(deadline.current()))
        thread.start()
        thread.join()
        assert seen == [None]  # a new thread does not inherit it (pools copy the context)
    finally:
        deadline.reset(token)
    assert deadline.current() is None


class FakeLambdaContext:
    def __init__(self, remaining_ms: int | Exception) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        if isinstance(self.remaining_ms, Exception):
            raise self.remaining_ms
        return self.remaining_ms


def request(lambda_context: Any = None) -> Request:
    event = {
        "multiValueQueryStringParameters": None,
        "headers": {},
        "pathParameters": None,
        "requestContext": {"httpMethod": "GET", "resourcePath": "/v1/x", "path": "/v1/x"},
        "body": None,
        "isBase64Encoded": False,
        "stageVariables": None,
    }
    return Request(event, lambda_context)


def seen_by_view(
    lambda_context: Any, budget: float | None, clock: Clock
) -> tuple[Deadline | None, Callable[[], float]]:
    seen: list[Deadline | None] = []

    def view(_: Request) -> Response:
        seen.append(deadline.current())
        return Response(body="{}", status_code=200)

    middleware = request_context(None, budget, clock)
    middleware(request(lambda_context), view)
    assert deadline.current() is None  # reset when the request ends
    return seen[0], clock


@pytest.mark.parametrize(
    ("lambda_context", "expected"),
    [
        (None, 29.0),
        (FakeLambdaContext(900_000), 29.0),
        (FakeLambdaContext(7_000), 7.0),
        (FakeLambdaContext(RuntimeError("no context")), 29.0),
        (object(), 29.0),
    ],
)
def test_the_middleware_sets_the_budget_for_the_request(
    lambda_context: Any, expected: float
) -> None:
    clock = Clock()
    d, _ = seen_by_view(lambda_context, 29.0, clock)
    assert d is not None
    assert d.remaining() == pytest.approx(expected)


def test_no_budget_configured_means_no_deadline() -> None:
    d, _ = seen_by_view(None, None, Clock())
    assert d is None
