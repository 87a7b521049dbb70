"""Every error status of the core API over HTTP, always in the one envelope."""

from __future__ import annotations

import json
import socket
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from tests.e2e.conftest import ApiClient, Stack

EVENT = {"source": "billing", "event_type": "invoice.paid", "payload": {"n": 1}}
MISSING_ID = "evt_01JD0000000000000000000000"


def envelope(resp: requests.Response, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text[:500]
    assert resp.headers["Content-Type"].startswith("application/json")
    body = resp.json()
    assert set(body) == {"error", "request_id"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    assert isinstance(body["error"]["details"], list)
    assert body["request_id"] == resp.headers["X-Request-ID"]
    assert "Traceback" not in resp.text
    return body


def fields(body: dict[str, Any]) -> list[str]:
    return [d["field"] for d in body["error"]["details"]]


# -- 400 ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({**EVENT, "source": ""}, "source"),
        ({**EVENT, "event_type": "has space"}, "event_type"),
        ({k: v for k, v in EVENT.items() if k != "payload"}, "payload"),
        ({**EVENT, "payload": [1]}, "payload"),
        ({**EVENT, "metadata": {"priority": "urgent"}}, "metadata.priority"),
        ({**EVENT, "metadata": {"k": 1}}, "metadata.k"),
        ({**EVENT, "idempotency_key": "k" * 256}, "idempotency_key"),
        ({**EVENT, "surprise": True}, "surprise"),
        ([EVENT], "body"),
    ],
)
def test_validation_error_names_the_field(api: ApiClient, payload: Any, field: str) -> None:
    body = envelope(api.post("/v1/events", json=payload), 400, "validation_error")
    assert field in fields(body)


def test_empty_body_is_a_validation_error(api: ApiClient) -> None:
    resp = api.post("/v1/events", data=b"", headers={"Content-Type": "application/json"})
    assert fields(envelope(resp, 400, "validation_error")) == ["body"]


@pytest.mark.parametrize("raw", [b"{", b"{'a': 1}", b"nul", b'{"a": 1}}', b"\xff\xfe"])
def test_invalid_json(api: ApiClient, raw: bytes) -> None:
    resp = api.post("/v1/events", data=raw, headers={"Content-Type": "application/json"})
    envelope(resp, 400, "invalid_json")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"source": "bad source"}, "source"),
        ({"cursor": "garbage"}, "cursor"),
        ({"nonsense": "1"}, "nonsense"),
        ({"created_after": "yesterday"}, "created_after"),
    ],
)
def test_bad_inbox_query_names_the_parameter(
    api: ApiClient, params: dict[str, str], field: str
) -> None:
    body = envelope(api.get("/v1/inbox", params=params), 400, "validation_error")
    assert fields(body) == [field]


# -- 401 ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-API-Key": ""},
        {"X-API-Key": "tk_local_" + "A" * 43},
        {"X-API-Key": "not-a-key"},
        {"Authorization": "Bearer tk_local_" + "B" * 43},
        {"Authorization": "Basic dXNlcjpwYXNz"},
    ],
)
def test_missing_or_unknown_key_is_401(stack: Stack, headers: dict[str, str]) -> None:
    for method, path in [
        ("GET", "/v1/inbox"),
        ("POST", "/v1/events"),
        ("GET", f"/v1/events/{MISSING_ID}"),
    ]:
        resp = requests.request(method, stack.base_url + path, headers=headers, timeout=10)
        envelope(resp, 401, "unauthorized")


def test_a_key_of_another_stage_is_401(api: ApiClient) -> None:
    resp = api.get("/v1/inbox", headers={"X-API-Key": api.secret.replace("tk_local_", "tk_prod_")})
    envelope(resp, 401, "unauthorized")


# -- 404 ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    [
        f"/v1/events/{MISSING_ID}",
        "/v1/events/not-an-id",
        "/v1/events/evt_%2E%2E%2Fx",
        "/v1/events/" + "evt_" + "Z" * 26,
    ],
)
def test_unknown_or_malformed_id_is_404(api: ApiClient, path: str) -> None:
    envelope(api.get(path), 404, "not_found")
    envelope(api.post(path + "/ack"), 404, "not_found")
    envelope(api.delete(path), 404, "not_found")


@pytest.mark.parametrize("path", ["/v1/nope", "/v2/events", "/", "/v1/events/x/y/z"])
def test_unknown_route_is_404_with_or_without_a_key(
    api: ApiClient, stack: Stack, path: str
) -> None:
    envelope(api.get(path), 404, "not_found")
    envelope(requests.get(stack.base_url + path, timeout=10), 404, "not_found")


# -- 405 ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/v1/events", {"POST"}),
        ("GET", "/v1/events", {"POST"}),
        ("PATCH", f"/v1/events/{MISSING_ID}", {"GET", "DELETE"}),
        ("GET", f"/v1/events/{MISSING_ID}/ack", {"POST"}),
        ("POST", "/v1/inbox", {"GET"}),
    ],
)
def test_wrong_method_is_405_with_allow(
    api: ApiClient, method: str, path: str, allowed: set[str]
) -> None:
    resp = api.request(method, path)
    envelope(resp, 405, "method_not_allowed")
    assert {m.strip() for m in resp.headers["Allow"].split(",")} >= allowed


@pytest.mark.parametrize("method", ["TRACE", "PROPFIND", "FOO"])
def test_a_method_nothing_routes_is_405_in_the_envelope(api: ApiClient, method: str) -> None:
    # Stock chalice local answers these with an HTML 501 from http.server.
    resp = api.request(method, "/v1/events")
    envelope(resp, 405, "method_not_allowed")
    assert "POST" in resp.headers["Allow"]


def raw_http(stack: Stack, request: bytes) -> bytes:
    url = urlsplit(stack.base_url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}", 400),
        (b"GET /v1/health HTTP/9.9\r\nHost: x\r\n\r\n", 400),
        (b"GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n", 431),
    ],
)
def test_http_errors_of_the_server_itself_are_json(
    stack: Stack, request_bytes: bytes, status: int
) -> None:
    # Stock: a dropped connection (bad Content-Length) or an HTML page.
    answer = raw_http(stack, request_bytes)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {status} ".encode()), answer[:300]
    assert b"Content-Type: application/json" in head
    document = json.loads(body)
    assert document["error"]["code"] == "validation_error"
    assert document["request_id"].encode() in head


# -- hostile bodies: 400 naming the field, or strict JSON back; never a 5xx -----------------
def strict_json(resp: requests.Response) -> Any:
    def refuse(literal: str) -> None:
        raise AssertionError(f"{literal} in a response is not JSON")

    return json.loads(resp.content.decode("utf-8"), parse_constant=refuse)


@pytest.mark.parametrize(
    ("path", "raw", "field"),
    [
        ("/v1/events", '{"source":"s","event_type":"t","payload":{"x":NaN}}', "payload.x"),
        ("/v1/events", '{"source":"s","event_type":"t","payload":{"x":-Infinity}}', "payload.x"),
        ("/v1/events", '{"source":"s","event_type":"t","payload":{"x":[1e400]}}', "payload.x[0]"),
        ("/v1/events", '{"source":"s","event_type":"t","payload":{"x":"\\ud800"}}', "payload.x"),
        ("/v1/events", '{"source":"s","event_type":"t","payload":{},"\\ud800":1}', "\\ud800"),
        (
            "/v1/events",
            '{"source":"s","event_type":"t","payload":{},"metadata":{"k":"\\udc00"}}',
            "metadata.k",
        ),
        ("/v1/events", '{"source":"s","event_type":"t","payload":{"x":1,"x":2}}', "payload.x"),
        ("/v1/events", '{"payload":' + "[" * 5000 + "]" * 5000 + "}", "body"),
        ("/v1/events", "[" * 100_000, "body"),
        ("/v1/events/bulk", '{"items":[{"\\ud800":1}]}', "items[0].\\ud800"),
        (
            "/v1/events/bulk",
            '{"items":[{"source":"s","event_type":"t","payload":{"x":NaN}}]}',
            "items[0].payload.x",
        ),
        ("/v1/events/bulk/ack", '{"event_ids":["\\ud800"]}', "event_ids[0]"),
    ],
)
def test_hostile_json_is_a_validation_error_naming_the_field(
    api: ApiClient, path: str, raw: str, field: str
) -> None:
    resp = api.post(path, data=raw.encode(), headers={"Content-Type": "application/json"})
    body = envelope(resp, 400, "validation_error")
    assert fields(body) == [field]
    strict_json(resp)


@pytest.mark.parametrize(
    "raw",
    [
        '{"source":"s","event_type":"t","payload":{"x":"\\u0000"}}'.encode("utf-16"),
        '{"source":"s","event_type":"t","payload":{"x":"\ud800"}}'.encode("utf-8", "surrogatepass"),
    ],
)
def test_a_body_that_is_not_utf8_is_invalid_json(api: ApiClient, raw: bytes) -> None:
    resp = api.post("/v1/events", data=raw, headers={"Content-Type": "application/json"})
    envelope(resp, 400, "invalid_json")


def test_odd_but_strict_json_is_stored_and_answered_unchanged(api: ApiClient) -> None:
    raw = (
        '{"source":"s","event_type":"t","payload":{"nul":"a\\u0000b","emoji":"\\ud83d\\ude00",'
        '"big":1.7976931348623157e308,"tiny":1e-400,"int":9007199254740993,"neg0":-0.0},'
        '"metadata":{"k":"\\u0000"}}'
    )
    resp = api.post("/v1/events", data=raw.encode(), headers={"Content-Type": "application/json"})
    assert resp.status_code == 201, resp.text
    created = strict_json(resp)
    expected = {
        "nul": "a\x00b",
        "emoji": "\U0001f600",
        "big": 1.7976931348623157e308,
        "tiny": 0.0,
        "int": 9007199254740993,
        "neg0": -0.0,
    }
    assert created["payload"] == expected
    again = strict_json(api.get(f"/v1/events/{created['event_id']}"))
    assert again["payload"] == expected
    assert again["metadata"]["k"] == "\x00"


@pytest.mark.parametrize("key", ["é".encode(), "ключ".encode(), "k\u00e9".encode("latin-1")])
def test_a_non_ascii_idempotency_key_is_400(api: ApiClient, key: bytes) -> None:
    # Sent as raw bytes: the server must not accept a mis-decoded version of it.
    resp = api.post("/v1/events", json=EVENT, headers={"Idempotency-Key": key})
    body = envelope(resp, 400, "validation_error")
    assert fields(body) == ["idempotency_key"]


# -- 409 ---------------------------------------------------------------------------------------
def test_conflicts(api: ApiClient) -> None:
    event_id = api.post("/v1/events", json=EVENT).json()["event_id"]
    api.post(f"/v1/events/{event_id}/ack")
    envelope(api.post(f"/v1/events/{event_id}/ack"), 409, "already_acknowledged")
    headers = {"Idempotency-Key": "conflict-1"}
    assert api.post("/v1/events", json=EVENT, headers=headers).status_code == 201
    other = {**EVENT, "payload": {"n": 2}}
    body = envelope(
        api.post("/v1/events", json=other, headers=headers), 409, "idempotency_conflict"
    )
    assert fields(body) == ["idempotency_key"]


# -- 413 ---------------------------------------------------------------------------------------
def test_payload_over_256_kib_is_413(api: ApiClient) -> None:
    payload = {"p": "x" * (256 * 1024 - 7)}  # one byte over
    body = envelope(
        api.post("/v1/events", json={**EVENT, "payload": payload}), 413, "payload_too_large"
    )
    assert fields(body) == ["payload"]


def test_huge_body_is_413(api: ApiClient) -> None:
    payload = {"p": "x" * (1024 * 1024)}
    envelope(api.post("/v1/events", json={**EVENT, "payload": payload}), 413, "payload_too_large")


# -- 415 ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
def test_non_json_body_is_415(api: ApiClient, content_type: str) -> None:
    resp = api.post("/v1/events", data=b'{"a": 1}', headers={"Content-Type": content_type})
    envelope(resp, 415, "unsupported_media_type")


def test_body_without_content_type_is_415(api: ApiClient) -> None:
    prepared = requests.Request(
        "POST", api.base_url + "/v1/events", data=b'{"a": 1}', headers={"X-API-Key": api.secret}
    ).prepare()
    prepared.headers.pop("Content-Type", None)
    resp = api.session.send(prepared, timeout=10)
    envelope(resp, 415, "unsupported_media_type")


def test_json_with_charset_is_fine(api: ApiClient) -> None:
    import json

    resp = api.post(
        "/v1/events",
        data=json.dumps(EVENT).encode(),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert resp.status_code == 201, resp.text


# -- X-Request-ID ------------------------------------------------------------------------------
def test_sane_request_id_is_echoed(api: ApiClient, stack: Stack) -> None:
    rid = "client-abc_123.x:y"
    assert api.get("/v1/inbox", headers={"X-Request-ID": rid}).headers["X-Request-ID"] == rid
    resp = api.get(f"/v1/events/{MISSING_ID}", headers={"X-Request-ID": rid})
    assert resp.headers["X-Request-ID"] == rid
    assert resp.json()["request_id"] == rid
    health = requests.get(stack.base_url + "/v1/health", headers={"X-Request-ID": rid}, timeout=10)
    assert health.headers["X-Request-ID"] == rid


def test_sane_request_id_is_echoed_on_unknown_routes(api: ApiClient) -> None:
    rid = "client-abc_123"
    unknown = api.get("/v1/nope", headers={"X-Request-ID": rid})
    assert unknown.headers["X-Request-ID"] == rid
    assert unknown.json()["request_id"] == rid


@pytest.mark.parametrize("rid", ["has space", "x" * 129, "<script>", "a\tb", "é"])
def test_insane_request_id_is_replaced(api: ApiClient, rid: str) -> None:
    resp = api.get("/v1/inbox", headers={"X-Request-ID": rid.encode("utf-8")})  # type: ignore[dict-item]
    assert resp.status_code == 200
    assert resp.headers["X-Request-ID"] != rid
    assert resp.headers["X-Request-ID"]


def test_every_response_has_a_request_id(api: ApiClient, stack: Stack) -> None:
    responses = [
        api.post("/v1/events", json=EVENT),
        api.get("/v1/inbox"),
        api.get("/v1/nope"),
        requests.get(stack.base_url + "/v1/inbox", timeout=10),
        requests.get(stack.base_url + "/v1/health", timeout=10),
    ]
    ids = [r.headers.get("X-Request-ID") for r in responses]
    assert all(ids)
    assert len(set(ids)) == len(ids)
