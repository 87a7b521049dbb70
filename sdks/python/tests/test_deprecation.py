"""Deprecated routes (docs/VERSIONING.md): parsed notice on responses and errors, one warning
per route and client."""

from __future__ import annotations

import logging
from datetime import datetime, timezone

import httpx
import pytest
from conftest import EVENT_ID, FakeTime, Script, error_json, event_json, respond, sync_client

from triggers import Deprecation, NotFoundError
from triggers._deprecation import parse_deprecation

NOTICE = {
    "Deprecation": "@1803859200",
    "Sunset": "Wed, 01 Sep 2027 00:00:00 GMT",
    "Link": '<https://docs.example.com/changelog#2027-03-01>; rel="deprecation"; type="text/html"',
}


def test_the_notice_is_parsed_onto_last_response(fake_time: FakeTime):
    client = sync_client(Script(respond(200, event_json(), NOTICE)), fake_time)
    client.events.get(EVENT_ID)
    notice = client.last_response.deprecation
    assert notice == Deprecation(
        raw="@1803859200",
        deprecated_at=datetime(2027, 3, 1, tzinfo=timezone.utc),
        sunset=datetime(2027, 9, 1, tzinfo=timezone.utc),
        link="https://docs.example.com/changelog#2027-03-01",
    )


def test_no_header_no_notice(fake_time: FakeTime):
    client = sync_client(Script(respond(200, event_json())), fake_time)
    client.events.get(EVENT_ID)
    assert client.last_response.deprecation is None


def test_errors_carry_the_notice(fake_time: FakeTime):
    client = sync_client(Script(respond(404, error_json("not_found"), NOTICE)), fake_time)
    with pytest.raises(NotFoundError) as info:
        client.events.get(EVENT_ID)
    assert info.value.deprecation is not None
    assert info.value.deprecation.deprecated_at == datetime(2027, 3, 1, tzinfo=timezone.utc)


def test_one_warning_per_route_and_client(fake_time: FakeTime, caplog: pytest.LogCaptureFixture):
    replies = [respond(200, event_json(), NOTICE) for _ in range(4)]
    first = sync_client(Script(*replies[:3]), fake_time)
    second = sync_client(Script(replies[3]), fake_time)
    with caplog.at_level(logging.WARNING, logger="triggers"):
        first.events.get("evt_55555555555555555555555555")
        # the same route with another id: no second warning
        first.events.get("evt_66666666666666666666666666")
        first.events.ack("evt_88888888888888888888888888")  # another route: warned
        # another client has its own record (no process-wide state): warned again
        second.events.get("evt_77777777777777777777777777")
    messages = [r.getMessage() for r in caplog.records if r.name == "triggers"]
    assert len(messages) == 3
    assert messages[0].startswith(
        "GET /v1/events/{event_id} is deprecated (Deprecation: @1803859200)"
    )
    assert "2027-09-01T00:00:00+00:00" in messages[0]
    assert "https://docs.example.com/changelog#2027-03-01" in messages[0]
    assert messages[1].startswith("POST /v1/events/{event_id}/ack is deprecated")
    assert messages[2].startswith("GET /v1/events/{event_id} is deprecated")


def test_an_undeprecated_route_never_warns(fake_time: FakeTime, caplog: pytest.LogCaptureFixture):
    client = sync_client(Script(respond(200, event_json())), fake_time)
    with caplog.at_level(logging.WARNING, logger="triggers"):
        client.events.get(EVENT_ID)
    assert [r for r in caplog.records if r.name == "triggers"] == []


@pytest.mark.parametrize(
    ("headers", "deprecated_at", "sunset", "link"),
    [
        ({"Deprecation": "@0"}, datetime(1970, 1, 1, tzinfo=timezone.utc), None, None),
        ({"Deprecation": "true"}, None, None, None),
        ({"Deprecation": "@soon", "Sunset": "not a date"}, None, None, None),
        (
            {"Deprecation": "Sun, 30 Nov 2025 00:00:00 GMT"},
            datetime(2025, 11, 30, tzinfo=timezone.utc),
            None,
            None,
        ),
        (
            {
                "Deprecation": "@1",
                "Link": '<https://a.test/next>; rel="next", <https://a.test/dep>;rel=deprecation',
            },
            datetime(1970, 1, 1, 0, 0, 1, tzinfo=timezone.utc),
            None,
            "https://a.test/dep",
        ),
        (
            {"Deprecation": "@1", "Link": '<https://a.test/x>; rel="successor-version"'},
            datetime(1970, 1, 1, 0, 0, 1, tzinfo=timezone.utc),
            None,
            None,
        ),
    ],
)
def test_header_forms(headers, deprecated_at, sunset, link):
    notice = parse_deprecation(httpx.Headers(headers))
    assert notice is not None
    assert (notice.deprecated_at, notice.sunset, notice.link) == (deprecated_at, sunset, link)


def test_no_deprecation_header_is_none():
    assert parse_deprecation(httpx.Headers({"Sunset": "Wed, 01 Sep 2027 00:00:00 GMT"})) is None
