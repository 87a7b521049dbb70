"""The load-test verdicts: which target a request name falls under and how rows are judged."""

from __future__ import annotations

import pytest

from perf import targets


def _stats(method: str, name: str, p95: float, count: int = 100, rps: float = 10.0) -> dict:
    return {"method": method, "name": name, "count": count, "p95_ms": p95, "rps": rps}


@pytest.mark.parametrize(
    ("method", "name", "kind"),
    [
        ("POST", "/v1/events", "ingest"),
        ("POST", "/v1/events/bulk [25]", "bulk"),
        ("POST", "/v1/events/bulk/ack", "bulk-other"),
        ("GET", "/v1/inbox [100k pending]", "inbox"),
        ("GET", "/v1/events/{id}", "lookup"),
        ("POST", "/v1/events/{id}/ack", "ack"),
        ("DELETE", "/v1/events/{id}", "delete"),
        ("GET", "/v1/health", "other"),
    ],
)
def test_request_kind(method: str, name: str, kind: str) -> None:
    assert targets.request_kind(method, name) == kind


def test_latency_success_and_ratio_rows() -> None:
    summary = {
        "requests": {
            "POST /v1/events": _stats("POST", "/v1/events", 99.0, rps=150.0),
            "GET /v1/events/{id}": _stats("GET", "/v1/events/{id}", 50.0),
        },
        "total": {"count": 10_000, "failures": 11},
    }
    rows = {r.target.split(" (")[0]: r for r in targets.evaluate(summary, raw_put_items_per_s=400)}
    assert rows["ingest p95"].ok is True
    assert rows["lookup p95"].ok is False  # the limit is strict: 50 ms is a miss
    assert rows["success rate"].ok is False  # 99.89 %
    assert rows["single-POST/raw ratio"].ok is False  # 150 / 400 = 0.375
    assert rows["single-POST/raw ratio"].measured == pytest.approx(0.375)
    assert "throughput events/s" not in rows  # no bulk request in this run


def test_single_post_and_bulk_against_the_raw_engine_at_0_6x() -> None:
    single = {
        "requests": {"POST /v1/events": _stats("POST", "/v1/events", 80.0, rps=240.0)},
        "total": {"count": 1000, "failures": 0},
    }
    rows = {r.target: r for r in targets.evaluate(single, raw_put_items_per_s=400)}
    assert rows["single-POST/raw ratio"].ok is True  # 0.6x exactly: the limit is inclusive
    bulk = {
        "requests": {"POST /v1/events/bulk": _stats("POST", "/v1/events/bulk", 200.0, rps=40.0)},
        "total": {"count": 1000, "failures": 0},
        "events_per_second": 1000.0,
    }
    rows = {
        r.target.split(" (")[0]: r for r in targets.evaluate(bulk, raw_batch_items_per_s=1780.0)
    }
    assert rows["bulk/raw ratio"].measured == pytest.approx(1000 / 1780)
    assert rows["bulk/raw ratio"].ok is False  # 0.56x
    assert "bulk/raw ratio" not in {
        r.target for r in targets.evaluate(bulk)
    }  # no raw figure, no ratio


def test_inbox_scale_ratio_and_gates() -> None:
    summary = {
        "requests": {
            "GET a": _stats("GET", f"/v1/inbox {targets.SMALL_INBOX_TAG}", 40.0),
            "GET b": _stats("GET", f"/v1/inbox {targets.BIG_INBOX_TAG}", 61.0),
        },
        "total": {"count": 200, "failures": 0},
    }
    rows = {r.target: r for r in targets.evaluate(summary)}
    assert rows["inbox-scale p95 100k/1k"].ok is False  # 1.525x
    gated = targets.evaluate(summary, gates=frozenset({"success"}))
    assert [r.ok for r in gated if r.target.startswith("inbox-scale")] == [None]
    assert targets.misses(gated) == []


def test_rejudge_uses_the_rows_own_limit() -> None:
    row = targets.Row("x", 120.0, "< 100 ms", False, "ms", 100.0)
    assert targets.rejudge(row, 90.0).ok is True
    ratio = targets.Row("r", 1.6, "<= 1.5x", False, "x", 1.5, strict=False)
    assert targets.rejudge(ratio, 1.5).ok is True
    info = targets.Row("i", 1.0, "", None)
    assert targets.rejudge(info, 5.0).ok is None
