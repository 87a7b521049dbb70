"""The contract's timestamp format and its parser."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.clock import FixedClock, SystemClock, format_ts, parse_ts

# 2000-01-01 .. 2200-01-01 in milliseconds
millis = st.integers(min_value=946_684_800_000, max_value=7_258_118_400_000)


def test_format_is_rfc3339_utc_with_milliseconds() -> None:
    assert format_ts(1_795_000_000.123) == "2026-11-18T11:06:40.123Z"
    assert format_ts(0) == "1970-01-01T00:00:00.000Z"


def test_milliseconds_round_to_nearest() -> None:
    assert format_ts(1.9996) == "1970-01-01T00:00:02.000Z"
    assert format_ts(1.0004) == "1970-01-01T00:00:01.000Z"


@given(millis)
def test_round_trip_at_millisecond_resolution(ms: int) -> None:
    text = format_ts(ms / 1000)
    assert len(text) == 24
    assert round(parse_ts(text) * 1000) == ms


@given(millis, millis)
def test_string_order_is_time_order(a: int, b: int) -> None:
    assert (format_ts(a / 1000) < format_ts(b / 1000)) == (a < b)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-22T10:00:00Z", 1_795_341_600.0),
        ("2026-11-22T10:00:00.5Z", 1_795_341_600.5),
        ("2026-11-22t10:00:00z", 1_795_341_600.0),
        ("2026-11-22T12:00:00+02:00", 1_795_341_600.0),
        ("2026-11-22T05:30:00-04:30", 1_795_341_600.0),
        ("2026-11-22T10:00:00.123456789Z", 1_795_341_600.123456),
    ],
)
def test_parse_accepts_rfc3339_with_any_offset(text: str, expected: float) -> None:
    assert parse_ts(text) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "2026-11-22",
        "2026-11-22T10:00:00",  # no offset
        "2026-11-22 10:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-02-30T00:00:00Z",
        "1795860000",
        "2026-11-22T10:00:00.Z",
        "2026-11-22T10:00:00+0200",
    ],
)
def test_parse_rejects_everything_else(text: str) -> None:
    with pytest.raises(ValueError, match=r"RFC 3339|day is out of range|month must be|offset"):
        parse_ts(text)


def test_fixed_clock_moves_only_when_told() -> None:
    clock = FixedClock(100.0)
    assert clock.now() == clock.now() == 100.0
    clock.advance(2.5)
    assert clock.now() == 102.5


def test_system_clock_is_epoch_seconds() -> None:
    assert SystemClock().now() > 1_700_000_000
