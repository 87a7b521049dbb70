"""The webhook retry schedule, Retry-After handling, outcome classes and endpoint policy."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain import retry_schedule as rs

NOW = 1764460800.0  # 2025-11-30T00:00:00Z
SCHEDULE = rs.RetrySchedule()


def fixed(value: float) -> Callable[[], float]:
    return lambda: value


def test_the_default_schedule_is_the_documented_one() -> None:
    assert rs.DEFAULT_DELAYS == (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
    assert SCHEDULE.max_attempts == 8
    assert SCHEDULE.jitter == 0.1
    assert [SCHEDULE.nominal(n) for n in range(1, 10)] == [
        0.0,
        5.0,
        300.0,
        1800.0,
        7200.0,
        18000.0,
        36000.0,
        36000.0,
        None,
    ]


@pytest.mark.parametrize(
    ("rand", "expected"),
    [
        (0.0, [0.0, 4.5, 270.0, 1620.0, 6480.0, 16200.0, 32400.0, 32400.0]),
        (0.5, [0.0, 5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0]),
        (0.75, [0.0, 5.25, 315.0, 1890.0, 7560.0, 18900.0, 37800.0, 37800.0]),
    ],
)
def test_exact_delays_with_a_fixed_rand(rand: float, expected: list[float]) -> None:
    delays = [SCHEDULE.delay_before(n, fixed(rand)) for n in range(1, 9)]
    assert delays == pytest.approx(expected)
    assert SCHEDULE.delay_before(9, fixed(rand)) is None


def test_a_seeded_random_gives_the_same_delays_every_run() -> None:
    first = [SCHEDULE.delay_before(n, random.Random(7).random) for n in range(1, 9)]
    second = [SCHEDULE.delay_before(n, random.Random(7).random) for n in range(1, 9)]
    assert first == second


def test_the_first_attempt_does_not_draw_a_random_number() -> None:
    def refuse() -> float:
        raise AssertionError("rand called for a zero delay")

    assert SCHEDULE.delay_before(1, refuse) == 0.0


@given(attempt=st.integers(1, 8), rand=st.floats(0, 1, exclude_max=True))
def test_every_delay_is_within_ten_percent_of_nominal(attempt: int, rand: float) -> None:
    nominal = SCHEDULE.nominal(attempt)
    delay = SCHEDULE.delay_before(attempt, fixed(rand))
    assert nominal is not None
    assert delay is not None
    assert nominal * 0.9 <= delay <= nominal * 1.1


@given(attempt=st.integers(9, 10**6))
def test_past_the_last_attempt_there_is_no_delay(attempt: int) -> None:
    assert SCHEDULE.delay_before(attempt, fixed(0.5)) is None
    assert SCHEDULE.nominal(attempt) is None


@pytest.mark.parametrize("attempt", [0, -1])
def test_attempts_are_numbered_from_one(attempt: int) -> None:
    with pytest.raises(ValueError, match="from 1"):
        SCHEDULE.delay_before(attempt, fixed(0.5))


@pytest.mark.parametrize(
    ("delays", "jitter"),
    [((), 0.1), ((1, -1), 0.1), ((1, float("inf")), 0.1), ((1,), 1.0), ((1,), -0.1)],
)
def test_bad_schedules_are_refused(delays: tuple[float, ...], jitter: float) -> None:
    with pytest.raises(ValueError, match=r"schedule|delays|jitter"):
        rs.RetrySchedule(delays, jitter)


def test_a_custom_schedule() -> None:
    schedule = rs.RetrySchedule(delays=(0, 1, 2), jitter=0)
    assert schedule.max_attempts == 3
    assert [schedule.delay_before(n, fixed(0.99)) for n in (1, 2, 3, 4)] == [0, 1, 2, None]


def http_date(offset: float) -> str:
    return format_datetime(datetime.fromtimestamp(NOW + offset, tz=UTC), usegmt=True)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        ("  7 ", 7.0),
        ("0", 0.0),
        ("-5", 0.0),
        (http_date(90), 90.0),
        (http_date(-90), 0.0),
        ("Sun, 30 Nov 2025 00:01:00 GMT", 60.0),
        ("Sunday, 30-Nov-25 00:01:00 GMT", 60.0),  # RFC 850, obsolete but allowed
        ("Sun, 30 Nov 2025 00:01:00 -0000", 60.0),
        (str(rs.MAX_RETRY_AFTER_SECONDS), float(rs.MAX_RETRY_AFTER_SECONDS)),
        (str(rs.MAX_RETRY_AFTER_SECONDS + 1), None),
        ("99999999999999999999999999", None),
        (http_date(rs.MAX_RETRY_AFTER_SECONDS + 60), None),
        ("Fri, 31 Dec 9999 23:59:59 GMT", None),
        (None, None),
        ("", None),
        ("soon", None),
        ("1.5", None),
        ("1e3", None),
        ("+5", None),
        ("١٢", None),
        ("Sun, 99 Nov 2025 00:01:00 GMT", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert rs.parse_retry_after(value, NOW) == expected


@given(st.text(max_size=40))
def test_parse_retry_after_never_raises(value: str) -> None:
    parsed = rs.parse_retry_after(value, NOW)
    assert parsed is None or 0 <= parsed <= rs.MAX_RETRY_AFTER_SECONDS


@pytest.mark.parametrize(
    ("retry_after", "next_nominal", "expected"),
    [
        (30.0, 300.0, 30.0),  # what the endpoint asked for
        (3600.0, 300.0, 600.0),  # capped at twice the schedule's delay
        (0.0, 300.0, 1.0),  # at least a second
        (0.2, 5.0, 1.0),
        (10.0, 5.0, 10.0),
        (50.0, 5.0, 10.0),
        (30.0, 0.0, 0.0),
    ],
)
def test_retry_after_delay(retry_after: float, next_nominal: float, expected: float) -> None:
    assert rs.retry_after_delay(retry_after, next_nominal) == expected


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, rs.Outcome.DELIVERED),
        (201, rs.Outcome.DELIVERED),
        (204, rs.Outcome.DELIVERED),
        (299, rs.Outcome.DELIVERED),
        (410, rs.Outcome.GONE),
        (None, rs.Outcome.RETRY),
        (100, rs.Outcome.RETRY),
        (199, rs.Outcome.RETRY),
        (300, rs.Outcome.RETRY),
        (301, rs.Outcome.RETRY),
        (302, rs.Outcome.RETRY),
        (304, rs.Outcome.RETRY),
        (400, rs.Outcome.RETRY),
        (401, rs.Outcome.RETRY),
        (404, rs.Outcome.RETRY),
        (429, rs.Outcome.RETRY),
        (500, rs.Outcome.RETRY),
        (503, rs.Outcome.RETRY),
    ],
)
def test_classify(status: int | None, outcome: rs.Outcome) -> None:
    assert rs.classify(status) is outcome


@pytest.mark.parametrize(
    ("status", "honoured"),
    [
        (429, True),
        (503, True),
        (500, False),
        (502, False),
        (200, False),
        (410, False),
        (None, False),
    ],
)
def test_honours_retry_after(status: int | None, honoured: bool) -> None:
    assert rs.honours_retry_after(status) is honoured


def test_the_breaker_opens_after_five_failures_in_a_row() -> None:
    assert rs.BREAKER_THRESHOLD == 5
    assert rs.BREAKER_OPEN_SECONDS == 60.0
    assert [rs.breaker_open_until(n, NOW) for n in range(5)] == [None] * 5
    assert rs.breaker_open_until(5, NOW) == NOW + 60
    assert rs.breaker_open_until(50, NOW) == NOW + 60


def test_an_endpoint_failing_for_five_days_is_disabled() -> None:
    assert rs.DISABLE_AFTER_SECONDS == 5 * 86400
    assert not rs.should_disable(None, NOW)
    assert not rs.should_disable(NOW, NOW)
    assert not rs.should_disable(NOW - 5 * 86400 + 1, NOW)
    assert rs.should_disable(NOW - 5 * 86400, NOW)
    assert rs.should_disable(NOW - 30 * 86400, NOW)
