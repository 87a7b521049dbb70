"""What logging + metrics cost per request, without the rest of the request: one access-log
line and the request's EMF documents (latency, count, an error), written to a real file."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from chalice.app import Response

from chalicelib.api import access_log
from chalicelib.api.context import RequestContext
from chalicelib.observability import metrics
from chalicelib.observability.logging import logger


@dataclass(frozen=True)
class Output:
    path: Path
    metrics: metrics.MetricsConfig


@pytest.fixture
def to_file(tmp_path: Path) -> Iterator[Output]:
    path = tmp_path / "out.log"
    with path.open("w") as out:
        previous_stream = logger.registered_handler.setStream(out)

        def sink(line: str) -> None:
            out.write(line + "\n")
            out.flush()

        yield Output(path, metrics.MetricsConfig(namespace="TriggersAPI/bench", sink=sink))
        logger.registered_handler.setStream(previous_stream)


def observed_request(config: metrics.MetricsConfig, status: int, body: str) -> None:
    ctx = RequestContext(
        request_id="req_bench",
        method="GET",
        route="/v1/events/{event_id}",
        path="/api/v1/events/evt_x",
        started=time.perf_counter(),
    )
    ctx.log_fields["event_id"] = "evt_01JD8ZK3ABCDEFGHJKMNPQRSTV"
    with metrics.request_scope(config):
        access_log.record_request(ctx, Response(body=body, status_code=status))


def test_bench_observability_success(benchmark: Any, to_file: Output) -> None:
    benchmark(observed_request, to_file.metrics, 200, '{"event_id": "evt_x"}')
    assert '"ApiLatency"' in to_file.path.read_text()


def test_bench_observability_error(benchmark: Any, to_file: Output) -> None:
    body = '{"error": {"code": "not_found", "message": "m", "details": []}, "request_id": "r"}'
    benchmark(observed_request, to_file.metrics, 404, body)
    assert '"error_code":"not_found"' in to_file.path.read_text()
