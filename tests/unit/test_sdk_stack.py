"""scripts/sdk_stack.py's route coverage: after a language's suites, every authenticated
operation of the OpenAPI document must appear in the API's access log under that language's
tenant; the public routes are not counted, nor are other tenants' requests."""

from __future__ import annotations

import json
from pathlib import Path

from scripts import sdk_stack

DOCUMENT = {
    "security": [{"ApiKeyAuth": []}],
    "paths": {
        "/v1/health": {"get": {"security": []}},
        "/v1/events": {"post": {}},
        "/v1/events/{event_id}": {"get": {}, "delete": {}, "parameters": []},
        "/v1/events/bulk": {"post": {"security": [{"ApiKeyAuth": []}]}},
    },
}


def request_line(method: str, endpoint: str, tenant: str | None) -> str:
    record = {"level": "INFO", "message": "request", "method": method, "endpoint": endpoint}
    if tenant is not None:
        record["tenant"] = tenant
    return json.dumps(record, separators=(",", ":"))


def test_the_operations_that_take_a_key() -> None:
    assert sdk_stack.authenticated_operations(DOCUMENT) == {
        "POST /v1/events",
        "GET /v1/events/{event_id}",
        "DELETE /v1/events/{event_id}",
        "POST /v1/events/bulk",
    }


def test_only_the_tenants_logged_requests_count() -> None:
    lines = [
        request_line("POST", "/v1/events", "sdk-go-1"),
        request_line("GET", "/v1/events/{event_id}", "sdk-go-2"),  # another tenant
        request_line("GET", "/v1/health", None),  # public: no tenant
        '{"message":"request","tenant":"sdk-go-1"',  # cut short: not JSON
        json.dumps({"message": "api key audit", "tenant": "sdk-go-1", "endpoint": "/x"}),
        request_line("DELETE", "/v1/events/{event_id}", "sdk-go-1"),
    ]
    assert sdk_stack.operations_called(lines, "sdk-go-1") == {
        "POST /v1/events",
        "DELETE /v1/events/{event_id}",
    }


def test_uncovered_reads_the_log_past_the_offset(tmp_path: Path, monkeypatch) -> None:
    document = tmp_path / "openapi.json"
    document.write_text(json.dumps(DOCUMENT))
    monkeypatch.setattr(sdk_stack, "DOCUMENT", document)
    log = tmp_path / "api.log"
    before = request_line("POST", "/v1/events/bulk", "sdk-py-1") + "\n"
    log.write_text(
        before
        + request_line("POST", "/v1/events", "sdk-py-1")
        + "\n"
        + request_line("GET", "/v1/events/{event_id}", "sdk-py-1")
        + "\n"
    )
    # the bulk call was logged before this language's suites started: it does not count
    assert sdk_stack.uncovered(log, len(before), "sdk-py-1") == [
        "DELETE /v1/events/{event_id}",
        "POST /v1/events/bulk",
    ]
    assert sdk_stack.uncovered(log, 0, "sdk-py-1") == ["DELETE /v1/events/{event_id}"]


def test_the_committed_document_has_every_sdk_route() -> None:
    operations = sdk_stack.authenticated_operations(json.loads(sdk_stack.DOCUMENT.read_text()))
    assert "POST /v1/events" in operations
    assert "GET /v1/health" not in operations
    assert not any(op.split()[1].startswith("/dashboard") for op in operations)
