"""The API process's CPU milliseconds per request, per kind, on one fresh local stack.

    .venv/bin/python -m perf.cpu_per_request [--requests 1000] [--threads 2] [--json out.json]

A throughput on a shared 2-core machine moves with whatever else runs; the CPU time the API
process itself spends per request (``/proc/<pid>/stat`` user + system, all its threads) hardly
does, so this is the figure to compare before and after a change to the request path.

It starts a private stack (a fresh DynamoDB Local and the dev server, no workers, like
``perf.paired``), creates a key with a limit of 1,000,000 requests a minute, warms every kind
up, then for each kind sends ``--requests`` requests from ``--threads`` threads, each on its own
kept-alive HTTP/1.1 connection:

* ``create``: ``POST /v1/events`` (one event);
* ``get``: ``GET /v1/events/{id}`` of the events created;
* ``inbox``: ``GET /v1/inbox?limit=50``;
* ``bulk-25``: ``POST /v1/events/bulk`` with 25 events (no idempotency keys: one
  BatchWriteItem).

Per kind: the API's CPU ms per request (the process's CPU delta over the kind's requests divided
by their number), wall p50/p95 and requests/s. Then, in the same run and on the same engine, the
raw engine's BatchWriteItem of 25 API-shaped event items from the same number of threads
(:func:`perf.raw_engine.measure_batch_write`, a private database of its own, for as long as the
API's bulk-25 took, 5-30 s: the engine slows as a table's stream fills, so both sides write a
similar number of items) against the API's bulk events/s, and their ratio.

``measure(...)`` returns the figures as a dict (what ``--json`` writes) for the perf gate.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devstack.stack import LocalStack
from perf.paired import ApiConnection, process_cpu_seconds
from perf.raw_engine import measure_batch_write
from perf.stats import percentile

ROOT = Path(__file__).resolve().parent.parent
KINDS = ("create", "get", "inbox", "bulk-25")
BULK_SIZE = 25
RATE_LIMIT_PER_MINUTE = 1_000_000
INBOX_LIMIT = 50
WARMUP_PER_KIND = 40
MAX_RAW_SECONDS = 30.0
TENANT = "cpu-probe"
EVENT: dict[str, Any] = {
    "source": "billing",
    "event_type": "invoice.paid",
    "payload": {"invoice_id": "inv_0001", "amount_cents": 129900, "currency": "EUR"},
    "metadata": {"priority": "normal", "region": "eu"},
}
BULK_EVENT: dict[str, Any] = {
    "source": "billing",
    "event_type": "invoice.paid",
    "payload": {"amount_cents": 1299},
    "metadata": {"priority": "normal"},
}


@dataclass(frozen=True)
class KindResult:
    """One kind's requests: how many, the API's CPU seconds over them, each one's wall time."""

    kind: str
    requests: int
    cpu_seconds: float
    wall_seconds: float
    latencies_ms: tuple[float, ...]

    @property
    def cpu_ms_per_request(self) -> float:
        return self.cpu_seconds * 1000 / self.requests if self.requests else 0.0

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.wall_seconds if self.wall_seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "cpu_ms_per_request": round(self.cpu_ms_per_request, 3),
            "p50_ms": round(percentile(self.latencies_ms, 0.5), 2),
            "p95_ms": round(percentile(self.latencies_ms, 0.95), 2),
            "requests_per_second": round(self.requests_per_second, 1),
        }


def split(total: int, parts: int) -> list[int]:
    """``total`` requests over ``parts`` threads, as evenly as whole numbers go."""
    parts = max(1, parts)
    base, extra = divmod(max(0, total), parts)
    return [base + (1 if n < extra else 0) for n in range(parts)]


def bulk_ratio(api_events_per_second: float, raw_items_per_second: float) -> float:
    """The API's bulk events/s as a fraction of the raw BatchWriteItem items/s (0 if no raw)."""
    return api_events_per_second / raw_items_per_second if raw_items_per_second > 0 else 0.0


class Runner:
    """The probe's connections and the one call of each kind."""

    def __init__(self, base_url: str, secret: str, threads: int) -> None:
        self.connections = [ApiConnection(base_url, secret) for _ in range(max(1, threads))]
        self.event_ids: list[str] = []
        self._lock = threading.Lock()
        self._single = json.dumps(EVENT).encode()
        self._bulk = json.dumps({"items": [BULK_EVENT] * BULK_SIZE}).encode()

    def call(self, kind: str, conn: ApiConnection, n: int) -> None:
        if kind == "create":
            event_id = conn.call("POST", "/v1/events", self._single, 201)["event_id"]
            with self._lock:
                self.event_ids.append(event_id)
        elif kind == "get":
            ids = self.event_ids
            conn.call("GET", f"/v1/events/{ids[n % len(ids)]}", None, 200)
        elif kind == "inbox":
            conn.call("GET", f"/v1/inbox?limit={INBOX_LIMIT}", None, 200)
        elif kind == "bulk-25":
            answer = conn.call("POST", "/v1/events/bulk", self._bulk, 200)
            if answer["failed"] or len(answer["successful"]) != BULK_SIZE:
                raise RuntimeError(f"bulk: {len(answer['failed'])} items failed")
        else:
            raise ValueError(f"unknown kind {kind!r}")

    def run(self, kind: str, requests: int) -> tuple[float, list[float]]:
        """``requests`` calls of ``kind`` spread over the threads; (wall seconds, latencies)."""
        latencies: list[float] = []
        errors: list[BaseException] = []

        def work(index: int, count: int) -> None:
            conn = self.connections[index]
            mine: list[float] = []
            try:
                for n in range(count):
                    t0 = time.perf_counter()
                    self.call(kind, conn, index * 100_003 + n)
                    mine.append((time.perf_counter() - t0) * 1000)
            except BaseException as exc:
                errors.append(exc)
            with self._lock:
                latencies.extend(mine)

        shares = split(requests, len(self.connections))
        workers = [threading.Thread(target=work, args=(i, c)) for i, c in enumerate(shares)]
        started = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        wall = time.perf_counter() - started
        if errors:
            raise RuntimeError(f"{kind}: {errors[0]}") from errors[0]
        return wall, latencies

    def close(self) -> None:
        for conn in self.connections:
            conn.close()


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def measure(
    requests: int = 1000,
    threads: int = 2,
    bulk_requests: int | None = None,
    raw_seconds: float | None = None,
    log_dir: Path | None = None,
    say: Callable[[str], None] = lambda line: None,
) -> dict[str, Any]:
    """Start a fresh stack, measure every kind and the raw BatchWriteItem; the figures."""
    bulk_requests = requests if bulk_requests is None else bulk_requests
    log_dir = log_dir or ROOT / "perf" / "results" / "cpu-per-request-logs"
    load_before = load_average()
    results: dict[str, KindResult] = {}
    with LocalStack(log_dir, workers=()) as stack:
        settings = stack.settings()
        _, secret = stack.runtime(settings).keys.create_key(
            "cpu-probe", TENANT, rate_limit_per_minute=RATE_LIMIT_PER_MINUTE
        )
        runner = Runner(stack.api_url, secret, threads)
        try:
            for kind in KINDS:  # not measured: the fresh JVM, the connection pools, the caches
                runner.run(kind, WARMUP_PER_KIND)
            for kind in KINDS:
                count = bulk_requests if kind == "bulk-25" else requests
                cpu_before = process_cpu_seconds(stack.api_pid)
                wall, latencies = runner.run(kind, count)
                cpu = process_cpu_seconds(stack.api_pid) - cpu_before
                results[kind] = KindResult(kind, count, cpu, wall, tuple(latencies))
                say(f"[cpu] {kind}: {results[kind].as_dict()}")
        finally:
            runner.close()
        if raw_seconds is None:  # as long as the API's bulk ran: the same growth of the stream
            raw_seconds = min(MAX_RAW_SECONDS, max(5.0, results["bulk-25"].wall_seconds))
        raw = measure_batch_write(stack.dynamodb_endpoint, settings, threads, raw_seconds)
        say(f"[cpu] raw BatchWriteItem: {raw.as_dict()}")
    bulk = results["bulk-25"]
    api_events_per_second = bulk.requests_per_second * BULK_SIZE
    return {
        "threads": threads,
        "load_average_before": load_before,
        "load_average_after": load_average(),
        "kinds": {kind: result.as_dict() for kind, result in results.items()},
        "bulk": {
            "api_events_per_second": round(api_events_per_second, 1),
            "raw_batch_write": raw.as_dict(),
            "ratio": round(bulk_ratio(api_events_per_second, raw.items_per_second), 3),
        },
    }


def format_figures(figures: dict[str, Any]) -> str:
    lines = [
        f"API CPU per request, {figures['threads']} threads "
        f"(load average before {figures['load_average_before']}, "
        f"after {figures['load_average_after']})",
        f"{'kind':8} {'n':>5} {'cpu ms/req':>10} {'p50 ms':>8} {'p95 ms':>8} {'req/s':>8}",
    ]
    for kind, f in figures["kinds"].items():
        lines.append(
            f"{kind:8} {f['requests']:>5} {f['cpu_ms_per_request']:>10.3f} {f['p50_ms']:>8.2f} "
            f"{f['p95_ms']:>8.2f} {f['requests_per_second']:>8.1f}"
        )
    bulk = figures["bulk"]
    raw = bulk["raw_batch_write"]
    lines.append(
        f"bulk: API {bulk['api_events_per_second']:.1f} events/s vs raw BatchWriteItem "
        f"{raw['items_per_second']:.1f} items/s (p50 {raw['p50_ms']:.1f} ms per call of "
        f"{BULK_SIZE}): ratio {bulk['ratio']:.3f}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--requests", type=int, default=1000, help="requests per kind")
    p.add_argument("--bulk-requests", type=int, help="bulk-25 requests (default: --requests)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument(
        "--raw-seconds",
        type=float,
        help="seconds of raw BatchWriteItem (default: as long as the API's bulk-25, 5-30 s)",
    )
    p.add_argument("--json", type=Path, help="write the figures here as JSON")
    p.add_argument("--logs", type=Path, default=ROOT / "perf" / "results" / "cpu-per-request-logs")
    args = p.parse_args(argv)

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    figures = measure(
        args.requests, args.threads, args.bulk_requests, args.raw_seconds, args.logs, say
    )
    print(format_figures(figures))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
