"""Query timestamps the API cannot store or format are a 400 naming the parameter, never a 500
or a silently wrong range (a 3-digit year would sort after 2026 as a string)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib import errors
from chalicelib.api.models.analytics import parse_summary_query
from chalicelib.api.models.inbox import parse_inbox_query
from chalicelib.services.analytics import window_for

HOSTILE = [
    "9999-12-31T23:59:59.9999Z",
    "9999-01-01T00:00:00Z",
    "0001-01-01T00:00:00+01:00",
    "0999-01-01T00:00:00Z",
    "1969-12-31T23:59:59Z",
]


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("name", ["created_after", "created_before"])
def test_inbox_refuses_timestamps_out_of_range(name: str, value: str) -> None:
    with pytest.raises(errors.ValidationError) as refused:
        parse_inbox_query({name: value})
    assert refused.value.details[0]["field"] == name


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("name", ["from", "to"])
def test_analytics_refuses_timestamps_out_of_range(name: str, value: str) -> None:
    with pytest.raises(errors.ValidationError) as refused:
        parse_summary_query({name: value})
    assert refused.value.details[0]["field"] == name


@given(
    year=st.integers(min_value=1970, max_value=9998),
    month=st.integers(min_value=1, max_value=12),
    day=st.integers(min_value=1, max_value=28),
)
def test_every_accepted_timestamp_gives_a_window_or_a_400(year: int, month: int, day: int) -> None:
    stamp = f"{year:04d}-{month:02d}-{day:02d}T23:59:59.999Z"
    for params in ({"to": stamp}, {"from": stamp}):
        request = parse_summary_query(params)
        try:
            window = window_for(request, 1_764_460_800.0)
        except errors.ValidationError:
            continue
        assert window.start < window.end
    request_inbox = parse_inbox_query({"created_after": stamp})
    assert request_inbox.filters.created_after is not None
    assert len(request_inbox.filters.created_after) == len("2026-11-30T00:00:00.000Z")
