"""Tenants never see each other: another tenant's id answers 404, never 403."""

from __future__ import annotations

from tests.e2e.conftest import NewClient

EVENT = {"source": "billing", "event_type": "invoice.paid", "payload": {"n": 1}}


def test_other_tenants_ids_are_404_on_every_route(new_client: NewClient) -> None:
    alice, mallory = new_client(), new_client()
    event_id = alice.post("/v1/events", json=EVENT).json()["event_id"]
    for resp in (
        mallory.get(f"/v1/events/{event_id}"),
        mallory.post(f"/v1/events/{event_id}/ack"),
        mallory.delete(f"/v1/events/{event_id}"),
    ):
        assert resp.status_code == 404
        assert resp.json()["error"]["code"] == "not_found"
    # ...and nothing happened to Alice's event.
    assert alice.get(f"/v1/events/{event_id}").json()["status"] == "pending"


def test_inbox_never_shows_another_tenants_events(new_client: NewClient) -> None:
    alice, bob = new_client(), new_client()
    mine = [alice.post("/v1/events", json=EVENT).json()["event_id"] for _ in range(3)]
    theirs = [bob.post("/v1/events", json=EVENT).json()["event_id"] for _ in range(3)]
    assert [e["event_id"] for e in alice.get("/v1/inbox").json()["events"]] == mine
    assert [e["event_id"] for e in bob.get("/v1/inbox").json()["events"]] == theirs


def test_two_keys_of_one_tenant_share_its_events(new_client: NewClient) -> None:
    first = new_client()
    second = new_client(tenant=first.tenant_id)
    event_id = first.post("/v1/events", json=EVENT).json()["event_id"]
    assert second.get(f"/v1/events/{event_id}").status_code == 200


def test_idempotency_keys_are_per_tenant(new_client: NewClient) -> None:
    alice, bob = new_client(), new_client()
    headers = {"Idempotency-Key": "same-key"}
    a = alice.post("/v1/events", json=EVENT, headers=headers)
    b = bob.post("/v1/events", json={**EVENT, "payload": {"n": 2}}, headers=headers)
    assert (a.status_code, b.status_code) == (201, 201)
    assert a.json()["event_id"] != b.json()["event_id"]


def test_a_cursor_from_another_tenant_is_refused(new_client: NewClient) -> None:
    alice, bob = new_client(), new_client()
    for _ in range(3):
        alice.post("/v1/events", json=EVENT)
    cursor = alice.get("/v1/inbox", params={"limit": 1}).json()["next_cursor"]
    resp = bob.get("/v1/inbox", params={"limit": 1, "cursor": cursor})
    assert resp.status_code == 400
    assert resp.json()["error"]["details"][0]["field"] == "cursor"
