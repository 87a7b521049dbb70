"""The dev server's output after a full flow: access lines, EMF documents, and no secrets."""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor


def server_lines(stack, since: int) -> list[dict]:
    """JSON lines the server wrote after byte offset ``since`` (non-JSON lines skipped)."""
    out = []
    with open(stack.log_path, "rb") as f:
        f.seek(since)
        for raw in f.read().splitlines():
            try:
                parsed = json.loads(raw)
            except ValueError:
                continue
            if isinstance(parsed, dict):
                out.append(parsed)
    return out


def wait_for(stack, since: int, predicate, timeout: float = 5.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        lines = server_lines(stack, since)
        if predicate(lines) or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def log_size(stack) -> int:
    return stack.log_path.stat().st_size


def test_full_flow_logs_every_request_and_no_secret(stack, new_client):
    start = log_size(stack)
    api = new_client()
    marker = "payload-marker-" + uuid.uuid4().hex
    rid = "e2e-obs-" + uuid.uuid4().hex[:8]
    created = api.post(
        "/v1/events",
        json={"source": "billing", "event_type": "invoice.paid", "payload": {"note": marker}},
        headers={"X-Request-ID": rid + "-create", "Idempotency-Key": "idem-" + marker},
    )
    assert created.status_code == 201, created.text
    event_id = created.json()["event_id"]
    assert api.get(f"/v1/events/{event_id}").status_code == 200
    assert api.get("/v1/inbox").status_code == 200
    assert api.post(f"/v1/events/{event_id}/ack").status_code == 200
    assert api.post(f"/v1/events/{event_id}/ack").status_code == 409
    assert api.delete(f"/v1/events/{event_id}").status_code == 204
    bad = api.post("/v1/events", json={"source": "", "payload": {"note": marker}})
    assert bad.status_code == 400
    wrong_secret = "tk_test_" + uuid.uuid4().hex
    assert api.get("/v1/inbox", headers={"X-API-Key": wrong_secret}).status_code == 401

    requests_made = 8
    lines = wait_for(
        stack,
        start,
        lambda ls: sum(1 for x in ls if x.get("message") == "request") >= requests_made,
    )
    text = stack.log_path.read_bytes()[start:].decode(errors="replace")
    secrets_used = [api.secret, wrong_secret, marker]
    for secret in secrets_used:
        assert secret not in text, "a secret or payload value reached the logs"

    access = [
        x for x in lines if x.get("message") == "request" and x.get("tenant") == api.tenant_id
    ]
    assert [(x["method"], x["endpoint"], x["status_code"]) for x in access] == [
        ("POST", "/v1/events", 201),
        ("GET", "/v1/events/{event_id}", 200),
        ("GET", "/v1/inbox", 200),
        ("POST", "/v1/events/{event_id}/ack", 200),
        ("POST", "/v1/events/{event_id}/ack", 409),
        ("DELETE", "/v1/events/{event_id}", 204),
        ("POST", "/v1/events", 400),
    ]
    assert access[0]["request_id"] == rid + "-create"
    assert access[0]["event_id"] == event_id
    assert all(api.key_id.startswith(x["key_id"]) for x in access)
    assert access[4]["error_code"] == "already_acknowledged"
    for line in access:
        assert line["timestamp"].endswith("Z")
        assert line["duration_ms"] >= 0

    emf = [x for x in lines if "_aws" in x]
    assert any(x.get("route") == "POST /v1/events" and "ApiLatency" in x for x in emf)
    assert any(x.get("error_code") == "already_acknowledged" for x in emf)
    assert any("EventsIngested" in x for x in emf)


def test_concurrent_requests_log_their_own_fields(stack, new_client):
    """chalice local serves each connection on its own thread: fields must not leak."""
    start = log_size(stack)
    clients = [new_client() for _ in range(6)]
    run = uuid.uuid4().hex[:8]

    def hit(args):
        n, i = args
        c = clients[n]
        resp = c.get(
            "/v1/events/evt_01ARZ3NDEKTSV4RRFFQ69G5FAV",
            headers={"X-Request-ID": f"cc-{run}-{n}-{i}"},
        )
        return resp.status_code

    jobs = [(n, i) for n in range(6) for i in range(10)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        assert set(pool.map(hit, jobs)) == {404}

    lines = wait_for(
        stack,
        start,
        lambda ls: (
            sum(1 for x in ls if str(x.get("request_id", "")).startswith(f"cc-{run}")) >= len(jobs)
        ),
    )
    mine = [x for x in lines if str(x.get("request_id", "")).startswith(f"cc-{run}")]
    assert len(mine) == len(jobs)
    for line in mine:
        n = int(line["request_id"].split("-")[2])
        assert line["tenant"] == clients[n].tenant_id
        assert clients[n].key_id.startswith(line["key_id"])
    not_found = [
        x
        for x in lines
        if "_aws" in x and x.get("error_code") == "not_found" and "ApiErrorCount" in x
    ]
    assert sum(len(x["ApiErrorCount"]) for x in not_found) >= len(jobs)
