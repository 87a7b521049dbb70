"""GET /v1/analytics/summary's window: defaults, whole minutes, bounds, errors naming the field."""

from __future__ import annotations

import pytest

from chalicelib import errors
from chalicelib.api.models.analytics import parse_summary_query
from chalicelib.domain.clock import parse_ts
from chalicelib.services.analytics import SummaryRequest, Window, window_for

NOW = parse_ts("2026-11-23T13:05:30.250Z")


def parse_window(params: dict[str, str], now: float) -> Window:
    """The query as the edge parses it, then the window the service reads."""
    return window_for(parse_summary_query(params), now)


def test_default_is_the_last_24_hours_in_whole_minutes() -> None:
    window = parse_window({}, NOW)
    assert window.end == parse_ts("2026-11-23T13:06:00Z")
    assert window.start == parse_ts("2026-11-22T13:05:00Z")


def test_from_alone_runs_to_now_and_to_alone_covers_the_day_before() -> None:
    assert parse_window({"from": "2026-11-23T12:00:00Z"}, NOW).end == parse_ts(
        "2026-11-23T13:06:00Z"
    )
    window = parse_window({"to": "2026-11-20T00:00:00+02:00"}, NOW)
    assert window.start == parse_ts("2026-11-18T22:00:00Z")
    assert window.end == parse_ts("2026-11-19T22:00:00Z")


def test_exactly_31_days_is_allowed() -> None:
    window = parse_window({"from": "2026-10-01T00:00:00Z", "to": "2026-11-01T00:00:00Z"}, NOW)
    assert window.end - window.start == 31 * 86400


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-11-23"}, "from"),
        ({"to": "now"}, "to"),
        ({"from": "2026-11-23T10:00:00Z", "to": "2026-11-23T10:00:00Z"}, "from"),
        ({"from": "2026-10-01T00:00:00Z", "to": "2026-11-01T00:00:01Z"}, "from"),
        ({"since": "2026-11-23T10:00:00Z"}, "since"),
    ],
)
def test_invalid_windows_name_the_parameter(params: dict[str, str], field: str) -> None:
    with pytest.raises(errors.ValidationError) as caught:
        parse_window(params, NOW)
    assert [d["field"] for d in caught.value.details] == [field]


def test_a_window_needing_expired_counters_is_refused_and_says_how_to_fix_it() -> None:
    # 36 days ago: minute counters (35 days) are gone, hour counters (400 days) are not.
    old = NOW - 36 * 86400
    with pytest.raises(errors.ValidationError) as caught:
        window_for(SummaryRequest(start=old, end=old + 86400), NOW)
    assert caught.value.details[0]["field"] == "from"
    assert "minute counts, which are kept 35 days" in caught.value.details[0]["message"]
    assert "a whole hour" in caught.value.details[0]["message"]
    hour = old // 3600 * 3600
    assert window_for(SummaryRequest(start=hour, end=hour + 86400), NOW).start == hour
