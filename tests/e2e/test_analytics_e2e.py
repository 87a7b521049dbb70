"""Events posted over HTTP show up in GET /v1/analytics/summary once the stream worker counts them.

The e2e stack runs no stream worker, so this module starts one (`python -m
devstack.stream_worker`, as `make run` does, polling faster) in the stack, and stops it with
SIGTERM.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import ApiClient, NewClient, Stack


@pytest.fixture(scope="module")
def stream_worker(stack: Stack) -> Iterator[subprocess.Popen[bytes]]:
    name = "analytics-stream-worker"
    proc = stack.local.spawn(name, ["-m", "devstack.stream_worker", "--poll-interval", "0.1"])
    log_path = stack.local.log_path(name)
    yield proc
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
            raise AssertionError("the stream worker did not stop on SIGTERM") from None
    output = log_path.read_text(errors="replace")
    assert proc.returncode == 0, output
    assert '"message":"stream worker stopped"' in output


def wait_for_summary(client: ApiClient, expected: dict[str, Any], timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        resp = client.get("/v1/analytics/summary")
        assert resp.status_code == 200, resp.text
        body = resp.json()
        totals = {k: body["totals"][k] for k in expected}
        if totals == expected:
            return dict(body)
        if time.monotonic() > deadline:
            raise AssertionError(f"counts did not reach {expected}: {totals}")
        time.sleep(0.2)


def post_event(client: ApiClient, source: str, event_type: str) -> str:
    resp = client.post(
        "/v1/events", json={"source": source, "event_type": event_type, "payload": {"x": 1}}
    )
    assert resp.status_code == 201, resp.text
    return str(resp.json()["event_id"])


def test_posted_events_appear_in_the_summary(
    stream_worker: subprocess.Popen[bytes], new_client: NewClient
) -> None:
    api, other = new_client(), new_client()
    ids = [post_event(api, "billing", "invoice.paid") for _ in range(4)]
    ids.append(post_event(api, "crm", "lead.created"))
    post_event(other, "billing", "invoice.paid")
    assert api.post(f"/v1/events/{ids[0]}/ack").status_code == 200
    assert api.post(f"/v1/events/{ids[4]}/ack").status_code == 200
    assert api.delete(f"/v1/events/{ids[1]}").status_code == 204

    body = wait_for_summary(api, {"ingested": 5, "acknowledged": 2, "deleted": 1})
    assert body["totals"]["by_status"] == {"pending": 2, "acknowledged": 2, "removed": 1}
    assert body["totals"]["ack_latency_ms_avg"] is not None
    assert [(s["source"], s["ingested"]) for s in body["by_source"]] == [
        ("billing", 4),
        ("crm", 1),
    ]
    assert [(t["event_type"], t["acknowledged"]) for t in body["by_event_type"]] == [
        ("invoice.paid", 1),
        ("lead.created", 1),
    ]
    # The other tenant's event is counted for it alone.
    wait_for_summary(other, {"ingested": 1, "acknowledged": 0})
    # A window that ends before the events were created holds none of them.
    past = api.get("/v1/analytics/summary", params={"to": "2020-01-01T00:00:00Z"})
    assert past.status_code == 200
    assert past.json()["totals"]["ingested"] == 0
    assert past.json()["from"] == "2019-12-31T00:00:00.000Z"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "yesterday"}, "from"),
        ({"to": "2026-13-01T00:00:00Z"}, "to"),
        ({"from": "2026-11-02T00:00:00Z", "to": "2026-11-01T00:00:00Z"}, "from"),
        ({"from": "2026-01-01T00:00:00Z", "to": "2026-03-01T00:00:00Z"}, "from"),
        ({"granularity": "hour"}, "granularity"),
    ],
)
def test_bad_parameters_are_named_in_a_400(
    api: ApiClient, params: dict[str, str], field: str
) -> None:
    resp = api.get("/v1/analytics/summary", params=params)
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert error["code"] == "validation_error"
    assert [d["field"] for d in error["details"]] == [field]


def test_summary_needs_an_api_key(stack: Stack) -> None:
    import requests

    resp = requests.get(stack.base_url + "/v1/analytics/summary", timeout=10)
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "unauthorized"
