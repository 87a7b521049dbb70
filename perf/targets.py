"""The performance targets, and how a run's figures are checked against them. Pure: no I/O.

A load run produces a *summary* (see ``perf/locust/support.py``): per request name, the count,
failures, rps and p50/p95/p99 in milliseconds, plus scenario figures such as events created per
second. :func:`evaluate` turns a summary (and the raw engine figure measured in the same run)
into rows of ``(target, measured, limit, verdict)``; a row is only produced when the run measured
what the target is about, so each scenario is checked on what it exercises.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Latency targets, p95 in milliseconds, by request kind.
P95_TARGETS_MS: dict[str, float] = {
    "ingest": 100.0,  # POST /v1/events
    "inbox": 200.0,  # GET /v1/inbox
    "lookup": 50.0,  # GET /v1/events/{id}
    "bulk": 500.0,  # POST /v1/events/bulk (25 items)
}
MIN_SUCCESS_RATE = 0.999
MIN_EVENTS_PER_SECOND = 1000.0  # ingestion throughput, bulk allowed
MIN_SINGLE_POST_VS_RAW = 0.6  # single POST rps / raw boto3 PutItem items/s, same run (issue 16)
MIN_BULK_VS_RAW = 0.6  # bulk events/s / raw BatchWriteItem items/s, same threads, same run
MAX_INBOX_SCALE_RATIO = 1.5  # inbox p95 at 100,000 pending / at 1,000 pending, same run

# Request names the scenarios use; the kind decides which target applies.
BIG_INBOX_TAG = "[100k pending]"
SMALL_INBOX_TAG = "[1k pending]"


def request_kind(method: str, name: str) -> str:
    """``ingest``, ``bulk``, ``inbox``, ``lookup``, ``ack``, ``delete`` or ``other``."""
    path = name.split(" ", 1)[0]  # a name is a path template, optionally with " [tag]"
    method = method.upper()
    if path.startswith("/v1/events/bulk"):
        return "bulk" if method == "POST" and path == "/v1/events/bulk" else "bulk-other"
    if path == "/v1/events" and method == "POST":
        return "ingest"
    if path.startswith("/v1/inbox") and method == "GET":
        return "inbox"
    if path.startswith("/v1/events/") and path.endswith("/ack") and method == "POST":
        return "ack"
    if path.startswith("/v1/events/") and method == "GET":
        return "lookup"
    if path.startswith("/v1/events/") and method == "DELETE":
        return "delete"
    return "other"


@dataclass(frozen=True)
class Row:
    target: str
    measured: float | None
    limit: str
    ok: bool | None  # None: informational, never a miss
    unit: str = ""
    threshold: float | None = None
    higher_is_better: bool = False
    strict: bool = True  # "<"/">" rather than "<="/">="

    def measured_text(self) -> str:
        if self.measured is None:
            return "n/a"
        if self.unit == "%":
            return f"{self.measured * 100:.2f} %"
        if self.unit == "x":
            return f"{self.measured:.2f}x"
        return f"{self.measured:.1f} {self.unit}".strip()

    @property
    def verdict(self) -> str:
        return {True: "PASS", False: "MISS", None: "info"}[self.ok]


def passes(value: float, threshold: float, higher_is_better: bool, strict: bool) -> bool:
    if higher_is_better:
        return value > threshold if strict else value >= threshold
    return value < threshold if strict else value <= threshold


def rejudge(row: Row, value: float) -> Row:
    """The same row with another measured value (a median over runs)."""
    ok = row.ok
    if ok is not None and row.threshold is not None:
        ok = passes(value, row.threshold, row.higher_is_better, row.strict)
    return Row(
        row.target, value, row.limit, ok, row.unit, row.threshold, row.higher_is_better, row.strict
    )


def _requests(summary: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return dict(summary.get("requests", {}))


def _by_kind(summary: Mapping[str, Any], kind: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        (key, stats)
        for key, stats in _requests(summary).items()
        if stats.get("count", 0) > 0
        and request_kind(stats.get("method", ""), stats.get("name", "")) == kind
    ]


def evaluate(
    summary: Mapping[str, Any],
    raw_put_items_per_s: float | None = None,
    gates: frozenset[str] | None = None,
    raw_batch_items_per_s: float | None = None,
) -> list[Row]:
    """Rows for every target this run measured. ``gates`` limits which ones can fail (the
    rest become informational); ``None`` gates all of them."""
    rows: list[Row] = []

    def add(
        target: str,
        measured: float,
        limit: str,
        unit: str,
        threshold: float | None = None,
        higher: bool = False,
        strict: bool = True,
    ) -> None:
        ok = None if threshold is None else passes(measured, threshold, higher, strict)
        if ok is not None and gates is not None and target.split(" ", 1)[0] not in gates:
            ok = None
        rows.append(Row(target, measured, limit, ok, unit, threshold, higher, strict))

    for kind, limit_ms in P95_TARGETS_MS.items():
        for name, stats in _by_kind(summary, kind):
            p95 = float(stats["p95_ms"])
            add(f"{kind} p95 ({name})", p95, f"< {limit_ms:.0f} ms", "ms", limit_ms)

    total = summary.get("total", {})
    count = int(total.get("count", 0))
    if count:
        failures = int(total.get("failures", 0))
        success = 1.0 - failures / count
        add("success rate", success, "> 99.9 %", "%", MIN_SUCCESS_RATE, higher=True)

    if summary.get("events_per_second") is not None and _by_kind(summary, "bulk"):
        eps = float(summary["events_per_second"])
        add("throughput events/s", eps, ">= 1000/s", "/s", MIN_EVENTS_PER_SECOND, True, False)
        if raw_batch_items_per_s:
            add(
                "raw BatchWriteItem items/s (same engine, threads, run)",
                raw_batch_items_per_s,
                "",
                "/s",
            )
            limit = f">= {MIN_BULK_VS_RAW:.2f}x"
            ratio = eps / raw_batch_items_per_s
            add("bulk/raw ratio", ratio, limit, "x", MIN_BULK_VS_RAW, True, False)

    singles = _by_kind(summary, "ingest")
    if raw_put_items_per_s and singles and not _by_kind(summary, "bulk"):
        single_rps = sum(float(stats["rps"]) for _, stats in singles)
        add("raw PutItem items/s (same engine, same run)", raw_put_items_per_s, "", "/s")
        add("single POST rps", single_rps, "", "/s")
        ratio = single_rps / raw_put_items_per_s
        limit = f">= {MIN_SINGLE_POST_VS_RAW:.2f}x"
        add("single-POST/raw ratio", ratio, limit, "x", MIN_SINGLE_POST_VS_RAW, True, False)

    reqs = _requests(summary)
    big = next(
        (s for s in reqs.values() if BIG_INBOX_TAG in s.get("name", "") and s["count"]), None
    )
    small = next(
        (s for s in reqs.values() if SMALL_INBOX_TAG in s.get("name", "") and s["count"]), None
    )
    if big is not None and small is not None and float(small["p95_ms"]) > 0:
        ratio = float(big["p95_ms"]) / float(small["p95_ms"])
        limit = f"<= {MAX_INBOX_SCALE_RATIO:.1f}x"
        add("inbox-scale p95 100k/1k", ratio, limit, "x", MAX_INBOX_SCALE_RATIO, False, False)
    return rows


def misses(rows: list[Row]) -> list[Row]:
    return [row for row in rows if row.ok is False]


def format_table(rows: list[Row], title: str = "") -> str:
    header = ("target", "measured", "limit", "verdict")
    body = [(r.target, r.measured_text(), r.limit, r.verdict) for r in rows]
    widths = [max(len(str(line[i])) for line in [header, *body]) for i in range(4)]
    lines = [title] if title else []
    for line in [header, tuple("-" * w for w in widths), *body]:
        lines.append("  ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(line)))
    return "\n".join(lines)
