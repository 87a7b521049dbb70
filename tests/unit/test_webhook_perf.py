"""perf/webhook_delivery.py's pure parts: the fan-out log it reads, the workers it starts."""

from __future__ import annotations

import json
from pathlib import Path

from chalicelib.domain.clock import parse_ts
from perf.webhook_delivery import Options, fanout_times, summary, workers_for


def test_fanout_times_maps_each_request_id_to_its_first_batch(tmp_path: Path) -> None:
    log = tmp_path / "fanout-worker.log"
    lines = [
        {
            "message": "webhook fan-out batch",
            "timestamp": "2026-11-30T21:00:00.250Z",
            "request_ids": ["req_a", "req_b"],
        },
        "not json",
        {"message": "stream worker started", "timestamp": "2026-11-30T21:00:00.000Z"},
        {
            "message": "webhook fan-out batch",
            "timestamp": "2026-11-30T21:00:01.500Z",
            "request_ids": ["req_b", "req_c"],
        },  # a redelivered batch: the first time counts
        {"message": "webhook fan-out batch", "timestamp": "2026-11-30T21:00:02.000Z"},
    ]
    log.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
    assert fanout_times(log) == {
        "req_a": parse_ts("2026-11-30T21:00:00.250Z"),
        "req_b": parse_ts("2026-11-30T21:00:00.250Z"),
        "req_c": parse_ts("2026-11-30T21:00:01.500Z"),
    }
    assert fanout_times(tmp_path / "missing.log") == {}


def test_workers_are_make_runs_with_the_options_applied() -> None:
    names = [w.name for w in workers_for(Options())]
    assert names == ["stream-worker", "fanout-worker", "delivery-worker"]
    chosen = workers_for(Options(analytics=False, concurrency=8))
    assert [w.name for w in chosen] == ["fanout-worker", "delivery-worker"]
    assert chosen[-1].args[-2:] == ("--concurrency", "8")


def test_summary_of_no_samples_is_empty() -> None:
    assert summary([])["p95"] is None
    assert summary([1.0, 2.0, 3.0, 4.0])["p50"] == 2.0
