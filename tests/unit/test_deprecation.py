"""Route deprecation: the header values from dates (RFC 9745 / RFC 8594), and an app with routes
marked deprecated in the test answering with them (through Chalice's test client)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from chalice.app import Chalice
from chalice.test import Client
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.api.application import create_app
from chalicelib.api.deprecations import DEPRECATED_ROUTES, mark_deprecated_operations
from chalicelib.api.openapi import openapi_document
from chalicelib.domain.deprecation import (
    RouteDeprecation,
    deprecation_value,
    link_value,
    sunset_value,
)
from chalicelib.runtime import Runtime
from chalicelib.settings import load_settings
from tests.conftest import TEST_ENV

DEPRECATED = datetime(2027, 3, 1, tzinfo=UTC)
SUNSET = datetime(2027, 9, 1, 12, 30, 5, tzinfo=UTC)
LINK = "https://docs.example.com/versioning#2027-03-01"


class UncalledClient:
    """These requests must not touch DynamoDB (401s and the OpenAPI document)."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"DynamoDB client used: {name}")


def test_deprecation_is_an_rfc_9745_structured_field_date() -> None:
    assert deprecation_value(DEPRECATED) == "@1803859200"
    assert deprecation_value(datetime(1970, 1, 1, tzinfo=UTC)) == "@0"
    # Another offset names the same instant.
    assert deprecation_value(datetime(2027, 3, 1, 2, tzinfo=timezone(timedelta(hours=2)))) == (
        "@1803859200"
    )


def test_sunset_is_an_rfc_8594_http_date() -> None:
    assert sunset_value(SUNSET) == "Wed, 01 Sep 2027 12:30:05 GMT"
    assert sunset_value(SUNSET.replace(microsecond=999_999)) == "Wed, 01 Sep 2027 12:30:05 GMT"
    assert sunset_value(datetime(2028, 1, 1, 1, tzinfo=timezone(timedelta(hours=1)))) == (
        "Sat, 01 Jan 2028 00:00:00 GMT"
    )


@given(st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9999, 12, 30)))
def test_both_values_parse_back_to_the_instant(moment: datetime) -> None:
    from email.utils import parsedate_to_datetime

    instant = moment.replace(microsecond=0, tzinfo=UTC)
    assert int(deprecation_value(instant)[1:]) == int(instant.timestamp())
    assert parsedate_to_datetime(sunset_value(instant)) == instant


def test_link_names_the_deprecation_relation() -> None:
    assert link_value(LINK) == f'<{LINK}>; rel="deprecation"; type="text/html"'


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"deprecated_at": datetime(2027, 3, 1)}, "timezone"),
        ({"deprecated_at": DEPRECATED.replace(microsecond=5)}, "whole second"),
        ({"deprecated_at": DEPRECATED, "sunset_at": datetime(2027, 9, 1)}, "timezone"),
        (
            {"deprecated_at": DEPRECATED, "sunset_at": DEPRECATED - timedelta(seconds=1)},
            "earlier",
        ),
        ({"deprecated_at": DEPRECATED, "link": "/docs/VERSIONING.md"}, "absolute"),
        ({"deprecated_at": DEPRECATED, "link": 'https://x.example/a"b'}, "absolute"),
    ],
)
def test_a_bad_mark_fails_when_made(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RouteDeprecation(**kwargs)


def test_headers_carry_only_what_was_given() -> None:
    assert RouteDeprecation(DEPRECATED).headers() == {"Deprecation": "@1803859200"}
    assert RouteDeprecation(DEPRECATED, SUNSET, LINK).headers() == {
        "Deprecation": "@1803859200",
        "Sunset": "Wed, 01 Sep 2027 12:30:05 GMT",
        "Link": f'<{LINK}>; rel="deprecation"; type="text/html"',
    }


def test_no_route_is_deprecated_in_v1_yet() -> None:
    # When one is, this line changes with docs/VERSIONING.md and CHANGELOG.md.
    assert dict(DEPRECATED_ROUTES) == {}


def runtime() -> Runtime:
    return Runtime.build(load_settings(TEST_ENV), dynamodb=UncalledClient())  # type: ignore[arg-type]


MARKED = {
    ("GET", "/v1/openapi.json"): RouteDeprecation(DEPRECATED, SUNSET, LINK),
    ("GET", "/v1/events/{event_id}"): RouteDeprecation(DEPRECATED),
}


@pytest.fixture(scope="module")
def app() -> Chalice:
    return create_app(runtime(), deprecations=MARKED)


def test_a_deprecated_route_answers_with_the_headers(app: Chalice) -> None:
    with Client(app, stage_name="local") as client:
        response = client.http.get("/v1/openapi.json")
    assert response.status_code == 200
    assert response.headers["Deprecation"] == "@1803859200"
    assert response.headers["Sunset"] == "Wed, 01 Sep 2027 12:30:05 GMT"
    assert response.headers["Link"] == f'<{LINK}>; rel="deprecation"; type="text/html"'
    assert response.headers["X-Request-ID"]


def test_errors_of_a_deprecated_route_carry_them_too(app: Chalice) -> None:
    with Client(app, stage_name="local") as client:
        response = client.http.get("/v1/events/evt_01JD8ZK3ABCDEFGHJKMNPQRSTV")
    assert response.status_code == 401
    assert json.loads(response.body)["error"]["code"] == "unauthorized"
    assert response.headers["Deprecation"] == "@1803859200"
    assert "Sunset" not in response.headers
    assert "Link" not in response.headers


def test_other_routes_and_methods_do_not(app: Chalice) -> None:
    with Client(app, stage_name="local") as client:
        other_method = client.http.delete("/v1/events/evt_01JD8ZK3ABCDEFGHJKMNPQRSTV")
        other_route = client.http.get("/v1/inbox")
    for response in (other_method, other_route):
        assert response.status_code == 401
        assert "Deprecation" not in response.headers
        assert "Sunset" not in response.headers


def test_the_served_document_marks_the_deprecated_operations(app: Chalice) -> None:
    with Client(app, stage_name="local") as client:
        document = json.loads(client.http.get("/v1/openapi.json").body)
    marked = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and operation.get("deprecated") is True
    }
    assert marked == set(MARKED)
    assert "deprecated" not in openapi_document()["paths"]["/v1/openapi.json"]["get"]


def test_an_unmarked_app_serves_the_document_unchanged() -> None:
    document = openapi_document()
    assert mark_deprecated_operations(document, {}) is document
    app = create_app(runtime())
    with Client(app, stage_name="local") as client:
        response = client.http.get("/v1/openapi.json")
    assert "Deprecation" not in response.headers
    assert json.loads(response.body) == document


def test_marking_a_route_the_app_does_not_have_fails() -> None:
    with pytest.raises(ValueError, match="GET /v1/nope"):
        create_app(runtime(), deprecations={("GET", "/v1/nope"): RouteDeprecation(DEPRECATED)})
    with pytest.raises(ValueError, match="PATCH /v1/inbox"):
        create_app(runtime(), deprecations={("PATCH", "/v1/inbox"): RouteDeprecation(DEPRECATED)})
    with pytest.raises(ValueError, match="not in the OpenAPI document"):
        mark_deprecated_operations(
            openapi_document(), {("GET", "/v1/nope"): RouteDeprecation(DEPRECATED)}
        )
