"""Every public response the app sends (in-process, on DynamoDB Local) validates against its
pydantic model: the models the OpenAPI document is generated from describe the real bodies."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from chalice.test import Client
from pydantic import BaseModel

from chalicelib.api.application import create_app
from chalicelib.api.models.analytics import AnalyticsSummary
from chalicelib.api.models.bulk import BulkAckResult, BulkCreateResult, BulkDeleteResult
from chalicelib.api.models.responses import ErrorEnvelope, Event, Health, InboxPage
from tests.conftest import Database


@pytest.fixture
def app(ddb: Database) -> Iterator[tuple[Client, dict[str, str]]]:
    runtime = ddb.runtime()
    _, secret = runtime.keys.create_key("models", "ten_models")
    with Client(create_app(runtime)) as client:
        yield client, {"X-API-Key": secret, "Content-Type": "application/json"}


def body_of(response: Any, status: int, model: type[BaseModel]) -> dict[str, Any]:
    assert response.status_code == status, response.body
    body: dict[str, Any] = json.loads(response.body)
    model.model_validate(body)
    return body


EVENT = {
    "source": "billing",
    "event_type": "invoice.paid",
    "payload": {"amount": 12, "lines": [{"sku": "a"}]},
    "metadata": {"region": "eu"},
}


def test_event_inbox_and_bulk_responses(app: tuple[Client, dict[str, str]]) -> None:
    client, headers = app
    created = client.http.post("/v1/events", headers=headers, body=json.dumps(EVENT))
    event_id = body_of(created, 201, Event)["event_id"]
    body_of(client.http.get(f"/v1/events/{event_id}", headers=headers), 200, Event)
    body_of(client.http.get("/v1/inbox?limit=1", headers=headers), 200, InboxPage)
    bulk = {"items": [EVENT, {"source": "x"}, {**EVENT, "idempotency_key": "k-1"}]}
    result = body_of(
        client.http.post("/v1/events/bulk", headers=headers, body=json.dumps(bulk)),
        200,
        BulkCreateResult,
    )
    assert [f["index"] for f in result["failed"]] == [1]
    ids = {"event_ids": [event_id, event_id, "evt_01JD0000000000000000000000"]}
    acked = client.http.post("/v1/events/bulk/ack", headers=headers, body=json.dumps(ids))
    assert len(body_of(acked, 200, BulkAckResult)["failed"]) == 2
    deleted = client.http.delete("/v1/events/bulk", headers=headers, body=json.dumps(ids))
    assert len(body_of(deleted, 200, BulkDeleteResult)["successful"]) == 1


def test_analytics_health_and_error_responses(app: tuple[Client, dict[str, str]]) -> None:
    client, headers = app
    body_of(client.http.get("/v1/analytics/summary", headers=headers), 200, AnalyticsSummary)
    body_of(client.http.get("/v1/health"), 200, Health)
    invalid = client.http.post("/v1/events", headers=headers, body=json.dumps({"payload": 1}))
    assert body_of(invalid, 400, ErrorEnvelope)["error"]["details"]
    body_of(client.http.get("/v1/inbox?limit=0", headers=headers), 400, ErrorEnvelope)
    body_of(client.http.get("/v1/events/evt_x", headers=headers), 404, ErrorEnvelope)
    body_of(client.http.get("/v1/inbox"), 401, ErrorEnvelope)
