"""Events over HTTP: create, read, acknowledge, delete."""

from __future__ import annotations

import re

from chalicelib.domain.clock import parse_ts
from tests.e2e.conftest import ApiClient

TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
EVENT = {"source": "billing", "event_type": "invoice.paid", "payload": {"amount": 42}}


def test_create_returns_201_with_the_full_event(api: ApiClient) -> None:
    resp = api.post("/v1/events", json={**EVENT, "metadata": {"priority": "high", "team": "x"}})
    assert resp.status_code == 201, resp.text
    assert resp.headers["Content-Type"].startswith("application/json")
    event = resp.json()
    assert set(event) == {
        "event_id",
        "source",
        "event_type",
        "payload",
        "metadata",
        "status",
        "created_at",
        "acknowledged_at",
        "idempotency_key",
    }
    assert re.match(r"^evt_[0-9A-HJKMNP-TV-Z]{26}$", event["event_id"])
    assert event["payload"] == {"amount": 42}
    assert event["metadata"] == {"priority": "high", "team": "x"}
    assert event["status"] == "pending"
    assert TS.match(event["created_at"])
    assert event["acknowledged_at"] is None
    assert event["idempotency_key"] is None
    assert "Idempotent-Replayed" not in resp.headers


def test_event_ids_are_time_ordered(api: ApiClient) -> None:
    ids = [api.post("/v1/events", json=EVENT).json()["event_id"] for _ in range(5)]
    assert ids == sorted(ids)


def test_get_returns_what_create_returned(api: ApiClient) -> None:
    created = api.post("/v1/events", json=EVENT).json()
    resp = api.get(f"/v1/events/{created['event_id']}")
    assert resp.status_code == 200
    assert resp.json() == created


def test_ack_then_get_shows_acknowledged(api: ApiClient) -> None:
    created = api.post("/v1/events", json=EVENT).json()
    acked = api.post(f"/v1/events/{created['event_id']}/ack")
    assert acked.status_code == 200
    body = acked.json()
    assert body["status"] == "acknowledged"
    assert TS.match(body["acknowledged_at"])
    assert parse_ts(body["acknowledged_at"]) >= parse_ts(body["created_at"])
    assert api.get(f"/v1/events/{created['event_id']}").json() == body


def test_ack_twice_is_409(api: ApiClient) -> None:
    event_id = api.post("/v1/events", json=EVENT).json()["event_id"]
    assert api.post(f"/v1/events/{event_id}/ack").status_code == 200
    again = api.post(f"/v1/events/{event_id}/ack")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_acknowledged"


def test_delete_is_204_then_404(api: ApiClient) -> None:
    event_id = api.post("/v1/events", json=EVENT).json()["event_id"]
    resp = api.delete(f"/v1/events/{event_id}")
    assert resp.status_code == 204
    assert resp.content == b""
    assert api.get(f"/v1/events/{event_id}").status_code == 404
    assert api.delete(f"/v1/events/{event_id}").status_code == 404
    assert api.post(f"/v1/events/{event_id}/ack").status_code == 404


def test_acknowledged_events_can_be_deleted(api: ApiClient) -> None:
    event_id = api.post("/v1/events", json=EVENT).json()["event_id"]
    api.post(f"/v1/events/{event_id}/ack")
    assert api.delete(f"/v1/events/{event_id}").status_code == 204


def test_bearer_auth_works_like_x_api_key(api: ApiClient) -> None:
    resp = api.session.post(
        api.base_url + "/v1/events",
        json=EVENT,
        headers={"Authorization": f"Bearer {api.secret}"},
        timeout=30,
    )
    assert resp.status_code == 201


def test_unicode_round_trips(api: ApiClient) -> None:
    payload = {"name": "Zoë", "snow": "☃", "nested": {"list": [1, None, True, 2.5]}}
    created = api.post("/v1/events", json={**EVENT, "payload": payload}).json()
    assert api.get(f"/v1/events/{created['event_id']}").json()["payload"] == payload


def test_payload_at_the_limit_is_accepted(api: ApiClient) -> None:
    # {"p":"..."} is 8 bytes of framing: exactly 256 KiB serialized.
    payload = {"p": "x" * (256 * 1024 - 8)}
    resp = api.post("/v1/events", json={**EVENT, "payload": payload})
    assert resp.status_code == 201, resp.text[:300]
