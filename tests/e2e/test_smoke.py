"""The walk-through of the README, over HTTP."""

from __future__ import annotations

from tests.e2e.conftest import ApiClient, Stack


def test_health_is_public_and_reports_dynamodb(stack: Stack) -> None:
    import requests

    resp = requests.get(stack.base_url + "/v1/health", timeout=10)
    assert resp.status_code == 200
    body = resp.json()
    assert body["status"] == "ok"
    assert body["checks"] == {"dynamodb": "ok"}
    assert resp.headers["X-Request-ID"]


def test_post_inbox_ack_walkthrough(api: ApiClient) -> None:
    created = api.post(
        "/v1/events", json={"source": "billing", "event_type": "invoice.paid", "payload": {"n": 1}}
    )
    assert created.status_code == 201, created.text
    event = created.json()
    assert event["event_id"].startswith("evt_")
    assert event["status"] == "pending"

    inbox = api.get("/v1/inbox").json()
    assert [e["event_id"] for e in inbox["events"]] == [event["event_id"]]

    acked = api.post(f"/v1/events/{event['event_id']}/ack")
    assert acked.status_code == 200
    assert acked.json()["status"] == "acknowledged"
    assert api.get("/v1/inbox").json()["events"] == []

    again = api.post(f"/v1/events/{event['event_id']}/ack")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_acknowledged"
