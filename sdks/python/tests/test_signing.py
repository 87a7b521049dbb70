"""Request signing against the shared vectors (tests/vectors/request_signing.json)."""

from __future__ import annotations

import json

import pytest
from conftest import VECTORS, FakeTime, Script, event_json, respond, sync_client

from triggers import signing

VECTORS_DOC = json.loads((VECTORS / "request_signing.json").read_text())


@pytest.mark.parametrize("vector", VECTORS_DOC["sign"], ids=lambda v: v["name"])
def test_sign_vectors_reproduced_exactly(vector):
    params = [tuple(pair) for pair in vector["query"]]
    assert signing.canonical_target(vector["path"], params) == vector["canonical_target"]
    body = vector["body"].encode()
    content = signing.signed_content(
        vector["timestamp"], vector["method"], vector["canonical_target"], body
    )
    assert content.decode() == vector["signed_content"]
    headers = signing.sign_request(
        vector["secrets"],
        timestamp=vector["timestamp"],
        method=vector["method"],
        path=vector["path"],
        params=params,
        body=body,
    )
    assert headers == {
        "X-Triggers-Timestamp": vector["timestamp"],
        "X-Triggers-Signature": vector["header"],
    }


@pytest.mark.parametrize("vector", VECTORS_DOC["verify"], ids=lambda v: v["name"])
def test_verify_verdicts_agree(vector):
    verdict = signing.verify_request(
        vector["secrets"],
        timestamp=vector.get("timestamp"),
        signature_header=vector.get("signature"),
        method=vector["method"],
        target=vector["target"],
        body=vector["body"].encode(),
        now=vector["now"],
    )
    assert verdict == vector["expected"]


def test_client_signs_every_attempt_with_a_fresh_timestamp(fake_time: FakeTime):
    vector = VECTORS_DOC["sign"][2]  # GET /v1/inbox with a query
    secret = vector["secrets"][0]
    script = Script(
        respond(
            503, {"error": {"code": "service_unavailable", "message": "x"}}, {"Retry-After": "2"}
        ),
        respond(200, {"events": [], "next_cursor": None}),
    )
    client = sync_client(script, fake_time, signing_secret=secret)
    client.inbox.list(
        source="billing", limit=50, event_type="invoice.*", created_after="2026-11-30T00:00:00.000Z"
    )
    first, second = script.requests
    assert first.headers["X-Triggers-Timestamp"] == "1764460800"
    assert second.headers["X-Triggers-Timestamp"] == "1764460802"  # re-signed after the wait
    for request in script.requests:
        ts = request.headers["X-Triggers-Timestamp"]
        expected = signing.signature(secret, ts, "GET", vector["canonical_target"], b"")
        assert request.headers["X-Triggers-Signature"] == f"v1={expected}"
    # the URL's own query is the caller's order, encoded the same way as the signature's
    assert first.url.raw_path.decode().startswith("/v1/inbox?limit=50&source=billing")


def test_client_signs_the_exact_body_bytes(fake_time: FakeTime):
    secret = "tsig_3q9XbW2uTQJmHqJ8cZrQv0b1YwUeT9yD4kF7Lm2Np5s"
    script = Script(respond(201, event_json()))
    client = sync_client(script, fake_time, signing_secret=[secret, "tsig_other"])
    client.events.create(
        source="billing",
        event_type="invoice.paid",
        payload={"note": "café ☃"},
        idempotency_key="k1",
    )
    request = script.requests[0]
    values = request.headers["X-Triggers-Signature"].split(",")
    assert len(values) == 2  # one v1= per secret
    verdict = signing.verify_request(
        [secret],
        timestamp=request.headers["X-Triggers-Timestamp"],
        signature_header=request.headers["X-Triggers-Signature"],
        method="POST",
        target="/v1/events",
        body=request.content,
        now=fake_time.now,
    )
    assert verdict == "ok"
    assert "☃".encode() in request.content  # UTF-8 on the wire, not \\u escapes


def test_unsigned_client_sends_no_signature(fake_time: FakeTime):
    script = Script(respond(200, event_json()))
    sync_client(script, fake_time).events.get("evt_01JD8ZK3ABCDEFGHJKMNPQRSTV")
    assert "X-Triggers-Signature" not in script.requests[0].headers
