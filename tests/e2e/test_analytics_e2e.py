"""Events posted over HTTP show up in GET /v1/analytics/summary once the stream worker counts them.

The e2e stack runs no stream worker, so this module starts one (`python -m
devstack.stream_worker`, as `make run` does, polling faster) in the stack, and stops it with
SIGTERM.
"""

from __future__ import annotations

import csv
import io
import math
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from chalicelib.domain import latency_sketch
from chalicelib.domain.clock import format_ts, parse_ts
from devstack.webhook_receiver import Script, WebhookReceiver
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
    past = api.get("/v1/analytics/summary", params={"to": "2026-01-01T00:00:00Z"})
    assert past.status_code == 200
    assert past.json()["totals"]["ingested"] == 0
    assert past.json()["from"] == "2025-12-31T00:00:00.000Z"
    # One older than the day counters are kept (5 years) is refused, not answered with zeros.
    ancient = api.get("/v1/analytics/summary", params={"to": "2020-01-01T00:00:00Z"})
    assert ancient.status_code == 400
    assert "kept 1830 days" in ancient.json()["error"]["details"][0]["message"]


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


# -- a known mix, every figure checked ------------------------------------------------------------
MIX = [  # (source, event_type, how many, how many acknowledged)
    ("billing", "invoice.paid", 5, 3),
    ("billing", "invoice.failed", 2, 0),
    ("crm", "lead.created", 3, 1),
    ("ops", "alert", 2, 2),
]


@dataclass
class Posted:
    source: str
    event_type: str
    created: float
    acked: float | None = None
    deleted: bool = False

    @property
    def latency_ms(self) -> int:
        assert self.acked is not None
        return max(0, round((self.acked - self.created) * 1000))


def sketch(latencies: list[int]) -> dict[str, float | None]:
    """The percentiles the API must answer for these latencies. Checked two ways: equal to the
    sketch of the raw values (what was stored is exactly these acks), and within the sketch's
    stated error of the exact nearest-rank values (independent of the sketch's code)."""
    bins: dict[int, int] = {}
    for value in latencies:
        bins[latency_sketch.bin_of(value)] = bins.get(latency_sketch.bin_of(value), 0) + 1
    answer = latency_sketch.percentiles(bins)
    ordered = sorted(latencies)
    for name, q in (("p50", 0.5), ("p95", 0.95)):
        got = answer[name]
        if not ordered:
            assert got is None
            continue
        exact = ordered[max(1, math.ceil(q * len(ordered))) - 1]
        assert got is not None
        assert abs(got - exact) <= exact * 0.0443 + 0.05, (name, got, exact)
    return answer


def minute(epoch: float) -> str:
    return format_ts(int(epoch // 60) * 60)


def wait_for_deliveries(admin: ApiClient, webhook_id: str, n: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 60
    while True:
        resp = admin.get(f"/v1/webhooks/{webhook_id}/deliveries")
        assert resp.status_code == 200, resp.text
        done = [d for d in resp.json()["deliveries"] if d["status"] in ("succeeded", "failed")]
        if len(done) >= n:
            return done
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(done)} of {n} deliveries ended: {resp.json()}")
        time.sleep(0.3)


def test_a_known_mix_gives_every_figure_of_timeseries_summary_and_exports(
    stream_worker: subprocess.Popen[bytes], new_client: NewClient
) -> None:
    admin = new_client(admin=True)
    ok_receiver = WebhookReceiver().start()
    gone_receiver = WebhookReceiver(script=Script(first=1000, status=410)).start()
    try:
        hooks = {}
        for name, receiver, source in (("ok", ok_receiver, "ops"), ("gone", gone_receiver, "crm")):
            resp = admin.post("/v1/webhooks", json={"url": receiver.url(), "sources": [source]})
            assert resp.status_code == 201, resp.text
            hooks[name] = resp.json()["webhook_id"]

        posted: dict[str, Posted] = {}
        for source, event_type, n, _ in MIX:
            for _ in range(n):
                event_id = post_event(admin, source, event_type)
                posted[event_id] = Posted(source, event_type, 0.0)
        time.sleep(0.3)
        # Acks at two speeds, so the percentiles have a spread to get right.
        for source, event_type, _, n_acked in MIX:
            ids = [i for i, p in posted.items() if (p.source, p.event_type) == (source, event_type)]
            for index, event_id in enumerate(ids[:n_acked]):
                if index == 1:
                    time.sleep(1.2)
                assert admin.post(f"/v1/events/{event_id}/ack").status_code == 200
        for event_id, p in posted.items():
            event = admin.get(f"/v1/events/{event_id}").json()
            p.created = parse_ts(event["created_at"])
            if event["status"] == "acknowledged":
                p.acked = parse_ts(event["acknowledged_at"])
        failed_id = next(i for i, p in posted.items() if p.event_type == "invoice.failed")
        assert admin.delete(f"/v1/events/{failed_id}").status_code == 204
        posted[failed_id].deleted = True

        n_events = sum(m[2] for m in MIX)
        n_acked = sum(m[3] for m in MIX)
        summary = wait_for_summary(
            admin, {"ingested": n_events, "acknowledged": n_acked, "deleted": 1}
        )
        wait_for_deliveries(admin, hooks["ok"], 2)
        wait_for_deliveries(admin, hooks["gone"], 3)
        summary = wait_for_summary(
            admin, {"deliveries": {"succeeded": 2, "failed": 3}, "ingested": n_events}
        )
    finally:
        ok_receiver.stop()
        gone_receiver.stop()

    events = list(posted.values())
    acked = [p for p in events if p.acked is not None]

    # -- summary: totals and each breakdown, percentiles included
    totals = summary["totals"]
    assert totals["by_status"] == {
        "pending": n_events - n_acked - 1,
        "acknowledged": n_acked,
        "removed": 1,
    }
    assert totals["ack_latency_ms"] == sketch([p.latency_ms for p in acked])
    assert totals["ack_latency_ms_avg"] == round(sum(p.latency_ms for p in acked) / len(acked), 1)
    for key, blocks in (("source", summary["by_source"]), ("event_type", summary["by_event_type"])):
        for block in blocks:
            mine = [p for p in events if getattr(p, key) == block[key]]
            n_mine_acked = sum(p.acked is not None for p in mine)
            n_mine_deleted = sum(p.deleted for p in mine)
            assert block["ingested"] == len(mine)
            assert block["acknowledged"] == n_mine_acked
            assert (block["deleted"], block["expired"]) == (n_mine_deleted, 0)
            assert block["by_status"] == {
                "pending": len(mine) - n_mine_acked - n_mine_deleted,
                "acknowledged": n_mine_acked,
                "removed": n_mine_deleted,
            }
            assert block["ack_latency_ms"] == sketch([p.latency_ms for p in mine if p.acked])
    assert {b["source"]: b["deliveries"] for b in summary["by_source"]} == {
        "billing": {"succeeded": 0, "failed": 0},
        "crm": {"succeeded": 0, "failed": 3},
        "ops": {"succeeded": 2, "failed": 0},
    }
    assert [b["event_type"] for b in summary["by_event_type"]] == sorted({m[1] for m in MIX})
    assert {b["event_type"]: b["deliveries"] for b in summary["by_event_type"]} == {
        "alert": {"succeeded": 2, "failed": 0},
        "invoice.failed": {"succeeded": 0, "failed": 0},
        "invoice.paid": {"succeeded": 0, "failed": 0},
        "lead.created": {"succeeded": 0, "failed": 3},
    }

    # -- timeseries by minute: every bucket, every figure
    start = min(p.created for p in events)
    end = max(max(p.created, p.acked or 0) for p in events) + 60
    params = {"granularity": "minute", "from": format_ts(start), "to": format_ts(end)}
    resp = admin.get("/v1/analytics/timeseries", params=params)
    assert resp.status_code == 200, resp.text
    series = resp.json()
    assert series["granularity"] == "minute"
    starts = [b["start"] for b in series["buckets"]]
    assert starts[0] == minute(start)
    assert len(starts) == len(set(starts)) == (parse_ts(series["to"]) - parse_ts(starts[0])) // 60
    for bucket in series["buckets"]:
        created = [p for p in events if minute(p.created) == bucket["start"]]
        acks = [p for p in acked if minute(p.acked or 0) == bucket["start"]]
        assert bucket["count"] == len(created), bucket
        assert bucket["acknowledged"] == len(acks), bucket
        assert bucket["ack_latency_ms"] == sketch([p.latency_ms for p in acks]), bucket
    assert sum(b["deliveries"]["succeeded"] for b in series["buckets"]) == 2
    assert sum(b["deliveries"]["failed"] for b in series["buckets"]) == 3

    # -- filtered and coarser series add up to the same events
    hour_params = {"granularity": "hour", "from": format_ts(start), "to": format_ts(end)}
    for filters, match in (
        ({}, lambda p: True),
        ({"source": "billing"}, lambda p: p.source == "billing"),
        ({"event_type": "alert"}, lambda p: p.event_type == "alert"),
        (
            {"source": "billing", "event_type": "invoice.paid"},
            lambda p: (p.source, p.event_type) == ("billing", "invoice.paid"),
        ),
        ({"source": "nobody"}, lambda p: False),
    ):
        for granularity in ("hour", "day"):
            resp = admin.get(
                "/v1/analytics/timeseries",
                params={**hour_params, "granularity": granularity, **filters},
            )
            assert resp.status_code == 200, resp.text
            buckets = resp.json()["buckets"]
            mine = [p for p in events if match(p)]
            assert sum(b["count"] for b in buckets) == len(mine), filters
            assert sum(b["acknowledged"] for b in buckets) == sum(p.acked is not None for p in mine)
            nonzero = [b for b in buckets if b["count"] or b["acknowledged"]]
            if len(nonzero) == 1:  # the mix sits in one hour (or day): one exact merge
                lat = sketch([p.latency_ms for p in mine if p.acked])
                assert nonzero[0]["ack_latency_ms"] == lat, filters

    # -- exports: one row per minute, source and type; CSV and JSON agree
    export = {**params, "format": "json"}
    resp = admin.get("/v1/analytics/export", params=export)
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Disposition"].startswith('attachment; filename="triggers-')
    rows = resp.json()["rows"]
    expected: dict[tuple[str, str, str], dict[str, Any]] = {}
    for p in events:
        key = (minute(p.created), p.source, p.event_type)
        expected.setdefault(key, {"count": 0, "acknowledged": 0, "deleted": 0, "lat": []})
        expected[key]["count"] += 1
    for p in acked:
        key = (minute(p.acked or 0), p.source, p.event_type)
        entry = expected.setdefault(key, {"count": 0, "acknowledged": 0, "deleted": 0, "lat": []})
        entry["acknowledged"] += 1
        entry["lat"].append(p.latency_ms)
    got = {(r["start"], r["source"], r["event_type"]): r for r in rows}
    # A delete counts in the minute the stream saw it: its row may be a minute of its own.
    deletes = [r for r in rows if r["deleted"]]
    assert [(r["source"], r["event_type"], r["deleted"]) for r in deletes] == [
        ("billing", "invoice.failed", 1)
    ]
    for key, want in expected.items():
        row = got[key]
        assert (row["count"], row["acknowledged"]) == (want["count"], want["acknowledged"]), key
        lat = sketch(want["lat"])
        assert (row["ack_latency_ms_p50"], row["ack_latency_ms_p95"]) == (lat["p50"], lat["p95"])
    assert sum(r["deliveries_succeeded"] for r in rows if r["source"] == "ops") == 2
    assert sum(r["deliveries_failed"] for r in rows if r["source"] == "crm") == 3
    assert sum(r["count"] for r in rows) == n_events
    assert rows == sorted(rows, key=lambda r: (r["start"], r["source"], r["event_type"]))

    body = resp.json()
    assert (body["granularity"], body["from"], body["to"]) == (
        "minute",
        series["from"],
        series["to"],
    )
    # The hour export holds the same events, one row per source and type (the mix is in one or
    # two hours).
    resp = admin.get("/v1/analytics/export", params={**hour_params, "format": "json"})
    assert resp.status_code == 200, resp.text
    by_pair: dict[tuple[str, str], int] = {}
    for r in resp.json()["rows"]:
        by_pair[(r["source"], r["event_type"])] = (
            by_pair.get((r["source"], r["event_type"]), 0) + r["count"]
        )
    assert by_pair == {(m[0], m[1]): m[2] for m in MIX}

    resp = admin.get("/v1/analytics/export", params={**params, "format": "csv"})
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"].startswith("text/csv")
    assert resp.headers["Content-Disposition"] == (
        'attachment; filename="triggers-analytics-minute-'
        + series["from"][:16].replace("-", "").replace(":", "")
        + "Z-"
        + series["to"][:16].replace("-", "").replace(":", "")
        + 'Z.csv"'
    )
    assert resp.text.endswith("\r\n")
    table = list(csv.DictReader(io.StringIO(resp.text, newline="")))
    as_text = [{k: "" if v is None else str(v) for k, v in r.items()} for r in rows]
    assert table == as_text


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("timeseries", {"granularity": "week"}, "granularity"),
        (
            "timeseries",
            {"granularity": "minute", "from": "2026-11-01T00:00:00Z", "to": "2026-11-04T00:00:00Z"},
            "from",
        ),
        ("timeseries", {"source": "a b"}, "source"),
        ("timeseries", {"limit": "3"}, "limit"),
        ("export", {"format": "xml"}, "format"),
        ("export", {"granularity": "hour", "from": "2020-01-01T00:00:00Z"}, "from"),
    ],
)
def test_bad_series_and_export_parameters_are_named_in_a_400(
    api: ApiClient, path: str, params: dict[str, str], field: str
) -> None:
    resp = api.get(f"/v1/analytics/{path}", params=params)
    assert resp.status_code == 400, resp.text
    error = resp.json()["error"]
    assert error["code"] == "validation_error"
    assert [d["field"] for d in error["details"]] == [field]
