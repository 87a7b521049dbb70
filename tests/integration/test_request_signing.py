"""Request signing end to end through the app's middleware (in-process, DynamoDB Local): a key
with a signing secret refuses unsigned, tampered and stale requests; other keys ignore it."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
from chalice.test import Client

from chalicelib.api.application import create_app
from chalicelib.domain import request_signing as rs
from tests.conftest import Database


@dataclass
class Keys:
    client: Client
    signing: str
    signing_secret: str
    plain: str


@pytest.fixture
def keys(ddb: Database) -> Iterator[Keys]:
    runtime = ddb.runtime()
    record, signing = runtime.keys.create_key(
        "signer", "tenant-sign", rate_limit_per_minute=50, signing=True
    )
    assert record.signing_secret is not None
    _, plain = runtime.keys.create_key("plain", "tenant-sign", rate_limit_per_minute=50)
    with Client(create_app(runtime), stage_name="local") as client:
        yield Keys(client, signing, record.signing_secret, plain)


def signed(
    secret: str,
    signing_secret: str,
    method: str,
    path: str,
    query: list[tuple[str, str]] = (),  # type: ignore[assignment]
    body: bytes = b"",
    at: float | None = None,
) -> dict[str, str]:
    timestamp = str(int(time.time() if at is None else at))
    target = rs.canonical_target(path, query)
    return {
        "X-API-Key": secret,
        "Content-Type": "application/json",
        rs.TIMESTAMP_HEADER: timestamp,
        rs.SIGNATURE_HEADER: rs.signature_header([signing_secret], timestamp, method, target, body),
    }


BODY = json.dumps({"source": "billing", "event_type": "invoice.paid", "payload": {"n": 1}}).encode()


def error_code(response: object) -> str:
    return json.loads(response.body)["error"]["code"]  # type: ignore[attr-defined]


def test_a_signed_create_is_accepted(keys: Keys) -> None:
    headers = signed(keys.signing, keys.signing_secret, "POST", "/v1/events", body=BODY)
    response = keys.client.http.post("/v1/events", headers=headers, body=BODY)
    assert response.status_code == 201, response.body


def test_an_unsigned_request_is_refused_and_spends_no_token(keys: Keys) -> None:
    first = keys.client.http.post(
        "/v1/events",
        headers={"X-API-Key": keys.signing, "Content-Type": "application/json"},
        body=BODY,
    )
    assert first.status_code == 401
    assert error_code(first) == "signature_invalid"
    assert first.headers["X-RateLimit-Limit"] == "50"
    assert first.headers["X-RateLimit-Remaining"] == "50"
    second = keys.client.http.get("/v1/inbox", headers={"X-API-Key": keys.signing})
    assert error_code(second) == "signature_invalid"
    assert second.headers["X-RateLimit-Remaining"] == "50"


def test_a_tampered_body_is_refused(keys: Keys) -> None:
    headers = signed(keys.signing, keys.signing_secret, "POST", "/v1/events", body=BODY)
    response = keys.client.http.post("/v1/events", headers=headers, body=BODY.replace(b"1", b"2"))
    assert response.status_code == 401
    assert error_code(response) == "signature_invalid"


def test_a_signature_for_another_path_or_method_is_refused(keys: Keys) -> None:
    headers = signed(
        keys.signing, keys.signing_secret, "GET", "/v1/events/evt_01JD7X2Q9R3S4T5V6W7X8Y9Z0A"
    )
    other = keys.client.http.get("/v1/events/evt_01JD7X2Q9R3S4T5V6W7X8Y9Z0B", headers=headers)
    assert error_code(other) == "signature_invalid"
    deleted = keys.client.http.delete("/v1/events/evt_01JD7X2Q9R3S4T5V6W7X8Y9Z0A", headers=headers)
    assert error_code(deleted) == "signature_invalid"


def test_a_stale_signature_is_expired_and_a_fresh_one_passes(keys: Keys) -> None:
    stale = signed(keys.signing, keys.signing_secret, "GET", "/v1/inbox", at=time.time() - 400)
    response = keys.client.http.get("/v1/inbox", headers=stale)
    assert response.status_code == 401
    assert error_code(response) == "signature_expired"
    fresh = keys.client.http.get(
        "/v1/inbox", headers=signed(keys.signing, keys.signing_secret, "GET", "/v1/inbox")
    )
    assert fresh.status_code == 200


def test_the_query_is_signed_in_canonical_order_whatever_order_it_is_sent_in(keys: Keys) -> None:
    query = [("source", "billing"), ("limit", "5"), ("event_type", "invoice.paid")]
    headers = signed(keys.signing, keys.signing_secret, "GET", "/v1/inbox", query=query)
    sent = "/v1/inbox?" + urlencode(list(reversed(query)))
    assert keys.client.http.get(sent, headers=headers).status_code == 200
    changed = "/v1/inbox?" + urlencode([*query[:2], ("event_type", "invoice.sent")])
    assert error_code(keys.client.http.get(changed, headers=headers)) == "signature_invalid"


def test_a_signed_request_to_an_event_path_passes_the_check(keys: Keys) -> None:
    path = "/v1/events/evt_01JD7X2Q9R3S4T5V6W7X8Y9Z0A"
    response = keys.client.http.get(
        path, headers=signed(keys.signing, keys.signing_secret, "GET", path)
    )
    assert response.status_code == 404  # past the signature check: the event does not exist
    assert error_code(response) == "not_found"


def test_a_key_without_a_signing_secret_ignores_signature_headers(keys: Keys) -> None:
    bogus = signed(keys.plain, "tsig_not-this-key", "GET", "/v1/inbox")
    assert keys.client.http.get("/v1/inbox", headers=bogus).status_code == 200
    assert keys.client.http.get("/v1/inbox", headers={"X-API-Key": keys.plain}).status_code == 200
