"""What a request logs and which EMF documents it writes (the app in-process on DynamoDB Local)."""

from __future__ import annotations

import io
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from chalice.test import Client

from chalicelib.api.application import create_app
from chalicelib.observability import metrics
from chalicelib.observability.logging import logger

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@dataclass
class Captured:
    log: io.StringIO
    emf: list[str]

    @property
    def metrics_config(self) -> metrics.MetricsConfig:
        return metrics.MetricsConfig(namespace="TriggersAPI/test", sink=self.emf.append)

    def lines(self) -> list[dict]:
        return [json.loads(line) for line in self.log.getvalue().splitlines() if line]

    def access(self) -> list[dict]:
        return [line for line in self.lines() if line["message"] == "request"]

    def documents(self) -> list[dict]:
        return [json.loads(line) for line in self.emf]

    def metric(self, name: str) -> list[dict]:
        return [
            doc
            for doc in self.documents()
            if any(m["Name"] == name for m in doc["_aws"]["CloudWatchMetrics"][0]["Metrics"])
        ]


@pytest.fixture
def captured() -> Iterator[Captured]:
    stream = io.StringIO()
    previous_stream = logger.registered_handler.setStream(stream)
    yield Captured(stream, [])
    logger.registered_handler.setStream(previous_stream)


@pytest.fixture
def client(ddb, captured) -> Iterator[Client]:
    with Client(create_app(ddb.runtime(metrics=captured.metrics_config))) as c:
        yield c


def key(ddb, tenant: str = "ten_obs") -> tuple[str, str]:
    record, secret = ddb.runtime().keys.create_key("obs", tenant)
    return record.key_id, secret


def test_a_public_request_writes_one_access_line_and_its_metrics(client, captured):
    resp = client.http.get("/v1/health", headers={"X-Request-ID": "req-health-1"})
    assert resp.status_code == 200
    [line] = captured.access()
    assert line["request_id"] == "req-health-1"
    assert line["method"] == "GET"
    assert line["endpoint"] == "/v1/health"
    assert line["status_code"] == 200
    assert line["level"] == "INFO"
    assert line["service"] == "triggers-api"
    assert isinstance(line["duration_ms"], float)
    assert TIMESTAMP.match(line["timestamp"]), line["timestamp"]
    assert "function_request_id" in line
    assert "tenant" not in line
    assert "key_id" not in line

    [doc] = captured.metric("ApiLatency")
    directive = doc["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "TriggersAPI/test"
    assert directive["Dimensions"] == [["service"], ["service", "route"]]
    assert doc["route"] == "GET /v1/health"
    assert doc["ApiRequestCount"] == [1.0]
    assert doc["ApiLatency"][0] > 0
    assert captured.metric("ApiErrorCount") == []


def test_an_ingest_logs_key_prefix_tenant_and_event_id_but_no_secret_or_payload(
    ddb, client, captured
):
    key_id, secret = key(ddb)
    body = {"source": "billing", "event_type": "invoice.paid", "payload": {"card": "4242-secret"}}
    resp = client.http.post(
        "/v1/events",
        headers={"X-API-Key": secret, "Content-Type": "application/json"},
        body=json.dumps(body),
    )
    assert resp.status_code == 201, resp.body
    event_id = json.loads(resp.body)["event_id"]
    [line] = captured.access()
    assert line["tenant"] == "ten_obs"
    assert key_id.startswith(line["key_id"])
    assert line["event_id"] == event_id
    assert line["endpoint"] == "/v1/events"
    assert line["status_code"] == 201
    everything = captured.log.getvalue() + "\n".join(captured.emf)
    assert secret not in everything
    assert "4242-secret" not in everything
    [ingested] = captured.metric("EventsIngested")
    assert ingested["EventsIngested"] == [1.0]
    assert ingested["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service"]]


def test_an_error_response_counts_by_error_code(ddb, client, captured):
    _, secret = key(ddb)
    resp = client.http.get(
        "/v1/events/evt_01ARZ3NDEKTSV4RRFFQ69G5FAV", headers={"X-API-Key": secret}
    )
    assert resp.status_code == 404
    [line] = captured.access()
    assert line["error_code"] == "not_found"
    assert line["status_code"] == 404
    assert line["event_id"] == "evt_01ARZ3NDEKTSV4RRFFQ69G5FAV"
    [errors] = captured.metric("ApiErrorCount")
    assert errors["error_code"] == "not_found"
    assert errors["ApiErrorCount"] == [1.0]
    [latency] = captured.metric("ApiLatency")
    assert latency["route"] == "GET /v1/events/{event_id}"
    assert captured.metric("ApiServerErrorCount") == []


def test_unauthenticated_request_is_logged_with_its_code(client, captured):
    resp = client.http.get("/v1/inbox", headers={"X-API-Key": "tk_test_not-a-real-key"})
    assert resp.status_code == 401
    [line] = captured.access()
    assert line["error_code"] == "unauthorized"
    assert "tk_test_not-a-real-key" not in captured.log.getvalue()
    [errors] = captured.metric("ApiErrorCount")
    assert errors["error_code"] == "unauthorized"


def test_lines_logged_inside_a_request_carry_that_requests_fields(captured):
    """The log-field provider under concurrency: 8 threads, each its own request context."""
    from chalicelib.api import context, telemetry

    telemetry.install()
    start = threading.Barrier(8)

    def request(n: int) -> None:
        ctx = context.RequestContext(
            request_id=f"req-{n}", method="GET", route=f"/r{n}", path=f"/r{n}", started=0.0
        )
        context.set_current(ctx)
        try:
            start.wait()
            for i in range(20):
                logger.info(f"thread {n} line {i}")
        finally:
            context.set_current(None)

    threads = [threading.Thread(target=request, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = [line for line in captured.lines() if line["message"].startswith("thread ")]
    assert len(lines) == 160
    for line in lines:
        n = line["message"].split()[1]
        assert line["request_id"] == f"req-{n}"
        assert line["endpoint"] == f"/r{n}"
    logger.info("outside any request")
    assert "request_id" not in captured.lines()[-1]


def test_the_access_line_names_the_inbox_filters_used_never_their_values(ddb, client, captured):
    _, secret = key(ddb)
    auth = {"X-API-Key": secret}
    query = (
        "/v1/inbox?limit=5&source=billing&priority=high"
        "&metadata.team=payments-secret&created_after=2026-01-01T00:00:00Z"
    )
    assert client.http.get(query, headers=auth).status_code == 200
    assert client.http.get("/v1/inbox", headers=auth).status_code == 200
    filtered, unfiltered = captured.access()
    assert filtered["inbox_filters"] == "source,created_after,priority,metadata"
    assert unfiltered["inbox_filters"] == "none"
    raw = captured.log.getvalue()
    for value in ("billing", "payments-secret", "team", "2026-01-01"):
        assert value not in raw
