"""EMF documents from record_metric: shape, grouping, per-request isolation across threads."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest

from chalicelib.observability import metrics, switch


@pytest.fixture
def sink() -> Iterator[list[str]]:
    lines: list[str] = []
    previous = metrics.configure(namespace="TriggersAPI/test", sink=lines.append)
    yield lines
    metrics.restore(previous)


def docs(lines: list[str]) -> list[dict]:
    return [json.loads(line) for line in lines]


def test_outside_a_request_a_metric_is_written_at_once(sink):
    metrics.record_metric("RateLimited", "Count", 1)
    [doc] = docs(sink)
    [directive] = doc["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "TriggersAPI/test"
    assert directive["Dimensions"] == [["service"]]
    assert directive["Metrics"] == [{"Name": "RateLimited", "Unit": "Count"}]
    assert doc["service"] == "triggers-api"
    assert doc["RateLimited"] == [1.0]


def test_a_request_writes_one_document_per_dimension_set_at_the_end(sink):
    with metrics.request_scope():
        metrics.record_metric("ApiLatency", "Milliseconds", 12.5, route="GET /v1/inbox")
        metrics.record_metric("ApiRequestCount", "Count", 1, route="GET /v1/inbox")
        metrics.record_metric("ApiErrorCount", "Count", 1, error_code="not_found")
        assert sink == []  # nothing leaves before the request ends
    by_name = {
        tuple(sorted(m["Name"] for m in d["_aws"]["CloudWatchMetrics"][0]["Metrics"])): d
        for d in docs(sink)
    }
    assert set(by_name) == {("ApiLatency", "ApiRequestCount"), ("ApiErrorCount",)}
    latency = by_name[("ApiLatency", "ApiRequestCount")]
    assert latency["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [
        ["service"],
        ["service", "route"],
    ]
    assert latency["route"] == "GET /v1/inbox"
    assert latency["ApiLatency"] == [12.5]
    errors = by_name[("ApiErrorCount",)]
    assert errors["error_code"] == "not_found"
    assert errors["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [
        ["service"],
        ["service", "error_code"],
    ]


def test_unknown_unit_fails_at_the_call():
    with pytest.raises(ValueError, match="unit"):
        metrics.record_metric("RateLimited", "Requests", 1)


def test_switched_off_metrics_write_nothing(sink):
    previous = switch.set_enabled(False)
    try:
        with metrics.request_scope():
            metrics.record_metric("ApiRequestCount", "Count", 1, route="GET /v1/health")
        metrics.record_metric("RateLimited")
    finally:
        switch.set_enabled(previous)
    assert sink == []


def test_concurrent_requests_never_see_each_others_metrics(sink):
    start = threading.Barrier(8)
    batches: dict[int, list[metrics.Sample]] = {}

    def request(n: int) -> None:
        with metrics.request_scope() as batch:
            start.wait()
            for _ in range(50):
                metrics.record_metric("ApiRequestCount", "Count", 1, route=f"GET /r{n}")
            batches[n] = list(batch.samples)

    threads = [threading.Thread(target=request, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for n, samples in batches.items():
        assert len(samples) == 50
        assert {s.dimensions for s in samples} == {(("route", f"GET /r{n}"),)}
    written = docs(sink)
    assert len(written) == 8
    assert sorted(d["route"] for d in written) == sorted(f"GET /r{n}" for n in range(8))
    assert all(d["ApiRequestCount"] == [1.0] * 50 for d in written)


def test_a_failing_sink_does_not_raise(sink):
    def broken(line: str) -> None:
        raise OSError("disk full")

    metrics.configure(sink=broken)
    with metrics.request_scope():
        metrics.record_metric("IpBlocked", "Count", 1)
