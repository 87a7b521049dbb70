"""Idempotent creates over HTTP: header or field, replay, conflict, concurrency."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import requests

from tests.e2e.conftest import ApiClient

EVENT = {"source": "billing", "event_type": "invoice.paid", "payload": {"n": 1}}


def test_header_key_replay_returns_200_and_the_original(api: ApiClient) -> None:
    headers = {"Idempotency-Key": "order-1"}
    first = api.post("/v1/events", json=EVENT, headers=headers)
    assert first.status_code == 201
    assert first.json()["idempotency_key"] == "order-1"
    assert "Idempotent-Replayed" not in first.headers
    second = api.post("/v1/events", json=EVENT, headers=headers)
    assert second.status_code == 200
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()


def test_field_key_works_the_same_and_matches_the_header(api: ApiClient) -> None:
    first = api.post("/v1/events", json={**EVENT, "idempotency_key": "order-2"})
    assert first.status_code == 201
    replay = api.post("/v1/events", json=EVENT, headers={"Idempotency-Key": "order-2"})
    assert replay.status_code == 200
    assert replay.json()["event_id"] == first.json()["event_id"]


def test_key_order_in_the_body_does_not_matter(api: ApiClient) -> None:
    headers = {"Idempotency-Key": "order-3", "Content-Type": "application/json"}
    one = b'{"source":"s","event_type":"t","payload":{"a":1,"b":2}}'
    two = b'{"payload":{"b":2,"a":1},"event_type":"t","source":"s"}'
    assert api.post("/v1/events", data=one, headers=headers).status_code == 201
    assert api.post("/v1/events", data=two, headers=headers).status_code == 200


def test_replay_is_the_original_even_after_ack(api: ApiClient) -> None:
    headers = {"Idempotency-Key": "order-4"}
    first = api.post("/v1/events", json=EVENT, headers=headers).json()
    api.post(f"/v1/events/{first['event_id']}/ack")
    assert api.post("/v1/events", json=EVENT, headers=headers).json() == first


def test_different_body_is_409(api: ApiClient) -> None:
    headers = {"Idempotency-Key": "order-5"}
    api.post("/v1/events", json=EVENT, headers=headers)
    resp = api.post("/v1/events", json={**EVENT, "payload": {"n": 2}}, headers=headers)
    assert resp.status_code == 409
    assert resp.json()["error"]["code"] == "idempotency_conflict"


def test_header_and_field_disagreeing_is_400(api: ApiClient) -> None:
    resp = api.post(
        "/v1/events", json={**EVENT, "idempotency_key": "a"}, headers={"Idempotency-Key": "b"}
    )
    assert resp.status_code == 400
    assert resp.json()["error"]["details"][0]["field"] == "idempotency_key"


def test_twenty_concurrent_identical_posts_make_one_event(api: ApiClient) -> None:
    headers = {"X-API-Key": api.secret, "Idempotency-Key": "burst-1"}

    def post(_: int) -> requests.Response:
        with requests.Session() as session:
            return session.post(
                api.base_url + "/v1/events", json=EVENT, headers=headers, timeout=60
            )

    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(post, range(20)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 19 + [201], [r.text for r in responses if r.status_code >= 300]
    assert len({r.json()["event_id"] for r in responses}) == 1
    assert len(api.get("/v1/inbox").json()["events"]) == 1
