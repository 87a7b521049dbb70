"""EMF documents from record_metric: shape, grouping, per-request isolation across threads."""

from __future__ import annotations

import dataclasses
import json
import threading
import time

import pytest

from chalicelib.observability import metrics


@pytest.fixture
def sink() -> list[str]:
    return []


@pytest.fixture
def config(sink: list[str]) -> metrics.MetricsConfig:
    return metrics.MetricsConfig(namespace="TriggersAPI/test", sink=sink.append)


def docs(lines: list[str]) -> list[dict]:
    return [json.loads(line) for line in lines]


def test_outside_a_scope_a_metric_is_written_at_once_to_stdout(capsys):
    metrics.record_metric("RateLimited", "Count", 1)
    [doc] = docs(capsys.readouterr().out.splitlines())
    [directive] = doc["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == metrics.DEFAULT.namespace
    assert directive["Dimensions"] == [["service"]]
    assert directive["Metrics"] == [{"Name": "RateLimited", "Unit": "Count"}]
    assert doc["service"] == "triggers-api"
    assert doc["RateLimited"] == [1.0]


def test_default_namespace_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv(metrics.NAMESPACE_ENV, "TriggersAPI/prod")
    assert metrics.MetricsConfig.from_environment().namespace == "TriggersAPI/prod"
    monkeypatch.delenv(metrics.NAMESPACE_ENV)
    assert metrics.MetricsConfig.from_environment().namespace == metrics.DEFAULT_NAMESPACE


def test_a_request_writes_one_document_per_dimension_set_at_the_end(sink, config):
    with metrics.request_scope(config):
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


def test_a_disabled_config_writes_nothing(sink, config):
    off = dataclasses.replace(config, enabled=False)
    with metrics.request_scope(off):
        metrics.record_metric("ApiRequestCount", "Count", 1, route="GET /v1/health")
    assert sink == []
    with metrics.request_scope(config):  # the same scope, enabled, does write
        metrics.record_metric("ApiRequestCount", "Count", 1, route="GET /v1/health")
    assert len(sink) == 1


def test_concurrent_requests_never_see_each_others_metrics(sink, config):
    start = threading.Barrier(8)
    batches: dict[int, list[metrics.Sample]] = {}

    def request(n: int) -> None:
        with metrics.request_scope(config) as batch:
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


def test_a_failing_sink_does_not_raise(config):
    def broken(line: str) -> None:
        raise OSError("disk full")

    with metrics.request_scope(dataclasses.replace(config, sink=broken)):
        metrics.record_metric("IpBlocked", "Count", 1)


@pytest.mark.parametrize(
    "samples",
    [
        [("RateLimited", "Count", 1.0, ())],
        [
            ("ApiLatency", "Milliseconds", 12.5, (("route", "GET /v1/inbox"),)),
            ("ApiRequestCount", "Count", 1.0, (("route", "GET /v1/inbox"),)),
        ],
        [
            ("BulkItemsSucceeded", "Count", 25.0, (("operation", "create"),)),
            ("BulkItemsSucceeded", "Count", 3.0, (("operation", "create"),)),
            ("BulkItemsFailed", "Count", 0.0, (("operation", "create"),)),
        ],
        [("X", "Count", 2.0, (("a", "1"), ("b", "two")))],
    ],
)
def test_a_document_is_byte_identical_to_what_powertools_serializes(samples):
    batch = [metrics.Sample(name, unit, value, dims) for name, unit, value, dims in samples]
    dimensions = batch[0].dimensions
    now = int(time.time() * 1000)
    ours = metrics.emf_document("TriggersAPI/test", "triggers-api", dimensions, batch, now)
    theirs = metrics._powertools_document(
        "TriggersAPI/test", "triggers-api", dimensions, batch, now
    )
    assert json.dumps(ours) == json.dumps(theirs)


def test_a_batch_beyond_the_emf_limits_is_left_to_powertools(monkeypatch):
    calls = []
    monkeypatch.setattr(
        metrics, "_powertools_document", lambda *args: calls.append(args) or {"doc": 1}
    )
    many = [metrics.Sample(f"M{n}", "Count", 1.0, ()) for n in range(metrics._MAX_METRICS)]
    assert metrics.emf_document("ns", "svc", (), many, 0) == {"doc": 1}
    assert len(calls) == 1
