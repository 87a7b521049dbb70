"""Over HTTP: rate-limit headers and 429, IP allowlists through X-Forwarded-For, bulk routes
(including DELETE with a JSON body and the literal-route precedence), and inbox filters."""

from __future__ import annotations

import time

from tests.e2e.conftest import ApiClient, NewClient

RATE_HEADERS = (
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "RateLimit-Policy",
    "RateLimit",
)


def event(n: int, **extra: object) -> dict[str, object]:
    return {"source": "billing", "event_type": "invoice.paid", "payload": {"n": n}, **extra}


def test_rate_limit_headers_then_429_with_retry_after(new_client: NewClient):
    api = new_client(rate_limit_per_minute=3)
    first = api.get("/v1/inbox")
    assert first.status_code == 200
    for name in RATE_HEADERS:
        assert name in first.headers, name
    assert first.headers["X-RateLimit-Limit"] == "3"
    assert first.headers["X-RateLimit-Remaining"] == "2"
    assert int(first.headers["X-RateLimit-Reset"]) >= int(time.time())
    assert first.headers["RateLimit-Policy"] == '"per-key";q=3;w=60'
    # An error response still carries the headers (here a 404 from the view).
    missing = api.get("/v1/events/evt_01JD0000000000000000000000")
    assert missing.status_code == 404
    assert missing.headers["X-RateLimit-Remaining"] == "1"
    api.get("/v1/inbox")
    limited = api.get("/v1/inbox")
    assert limited.status_code == 429
    body = limited.json()
    assert body["error"]["code"] == "rate_limited"
    assert body["request_id"] == limited.headers["X-Request-ID"]
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert limited.headers["RateLimit"].startswith('"per-key";r=0;')
    # Another key is not affected.
    other = new_client()
    assert other.get("/v1/inbox").status_code == 200


def test_unauthenticated_requests_are_not_rate_limited_or_headed(api: ApiClient):
    import requests

    resp = requests.get(api.base_url + "/v1/inbox", timeout=10)
    assert resp.status_code == 401
    assert "X-RateLimit-Limit" not in resp.headers


def test_ip_allowlist_through_trusted_proxy(new_client: NewClient):
    api = new_client(allowed_ips=["203.0.113.0/24", "2001:db8::/32"])
    allowed = api.get("/v1/inbox", headers={"X-Forwarded-For": "203.0.113.9"})
    assert allowed.status_code == 200
    v6 = api.get("/v1/inbox", headers={"X-Forwarded-For": "2001:db8::5"})
    assert v6.status_code == 200
    mapped = api.get("/v1/inbox", headers={"X-Forwarded-For": "::ffff:203.0.113.10"})
    assert mapped.status_code == 200
    # No header: the client is the gateway's source address (127.0.0.1), not on the list.
    direct = api.get("/v1/inbox")
    assert direct.status_code == 403
    assert direct.json()["error"]["code"] == "ip_not_allowed"
    # Still an authenticated response: it carries the rate-limit headers, and spent no token.
    remaining = int(allowed.headers["X-RateLimit-Remaining"])
    assert int(direct.headers["X-RateLimit-Remaining"]) >= remaining - 2
    assert direct.headers["X-RateLimit-Limit"] == allowed.headers["X-RateLimit-Limit"]
    assert "RateLimit-Policy" in direct.headers
    # A forged leading entry never grants access: the rightmost untrusted address counts.
    forged = api.get("/v1/inbox", headers={"X-Forwarded-For": "203.0.113.9, 198.51.100.20"})
    assert forged.status_code == 403
    body = forged.json()
    assert body["error"]["code"] == "ip_not_allowed"
    assert "198.51.100.20" in body["error"]["message"]
    assert api.secret not in forged.text


def test_ip_refusal_is_logged_with_request_id_and_key_id_never_the_secret(
    new_client: NewClient, stack
):
    api = new_client(allowed_ips=["203.0.113.0/24"])
    resp = api.get("/v1/inbox", headers={"X-Request-ID": "req-ip-check-1"})
    assert resp.status_code == 403
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        log = stack.log_text()
        lines = [line for line in log.splitlines() if "req-ip-check-1" in line]
        if any("allowlist" in line for line in lines):
            break
        time.sleep(0.1)
    refusal = [line for line in lines if "allowlist" in line]
    assert refusal, lines
    assert api.key_id[:12] in refusal[0]
    assert api.secret not in log


def test_bulk_create_partial_success_then_ack_and_delete_with_a_body(api: ApiClient):
    created = api.post(
        "/v1/events/bulk",
        json={"items": [event(0), {"source": "x"}, event(2, idempotency_key="bulk-e2e")]},
    )
    assert created.status_code == 200, created.text
    body = created.json()
    assert body["request_id"] == created.headers["X-Request-ID"]
    assert [s["index"] for s in body["successful"]] == [0, 2]
    assert body["failed"][0]["index"] == 1
    assert body["failed"][0]["error"]["code"] == "validation_error"
    ids = [s["event"]["event_id"] for s in body["successful"]]

    acked = api.post("/v1/events/bulk/ack", json={"event_ids": [ids[0], ids[0]]})
    assert acked.status_code == 200
    assert [s["index"] for s in acked.json()["successful"]] == [0]
    assert acked.json()["failed"][0]["index"] == 1

    deleted = api.delete("/v1/events/bulk", json={"event_ids": [ids[1], "evt_nope"]})
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["successful"] == [{"index": 0, "event_id": ids[1]}]
    assert deleted.json()["failed"][0]["error"]["code"] == "not_found"
    assert api.get(f"/v1/events/{ids[1]}").status_code == 404
    # The single-event routes still work next to the literal /bulk routes.
    assert api.get(f"/v1/events/{ids[0]}").json()["status"] == "acknowledged"


def test_bulk_rejects_bad_shapes_as_a_whole(api: ApiClient):
    too_many = api.post("/v1/events/bulk", json={"items": [event(n) for n in range(26)]})
    assert too_many.status_code == 400
    assert too_many.json()["error"]["details"][0]["field"] == "items"
    empty = api.delete("/v1/events/bulk", json={"event_ids": []})
    assert empty.status_code == 400
    no_body = api.delete("/v1/events/bulk")
    assert no_body.status_code == 400


def test_inbox_filters_over_http(api: ApiClient):
    items = [
        event(0, metadata={"priority": "high", "region": "eu west"}),
        event(1, metadata={"priority": "low", "region": "eu west"}),
        event(2, metadata={"priority": "high", "region": "us"}),
        event(3, metadata={"priority": "high", "region": "eu west"}),
    ]
    created = api.post("/v1/events/bulk", json={"items": items}).json()["successful"]
    ids = [c["event"]["event_id"] for c in created]
    first = api.get(
        "/v1/inbox", params={"priority": "high", "metadata.region": "eu west", "limit": 1}
    )
    assert first.status_code == 200, first.text
    assert [e["event_id"] for e in first.json()["events"]] == [ids[0]]
    cursor = first.json()["next_cursor"]
    second = api.get(
        "/v1/inbox",
        params={"priority": "high", "metadata.region": "eu west", "limit": 1, "cursor": cursor},
    ).json()
    assert [e["event_id"] for e in second["events"]] == [ids[3]]
    bad = api.get("/v1/inbox", params={"priority": "urgent"})
    assert bad.status_code == 400
    assert bad.json()["error"]["details"][0]["field"] == "priority"
