"""Per-request overhead of logging + metrics: the same app, same run, observability on and off.

python -m perf.observability_overhead [--requests 600]

In-process (chalice.test.Client, the full middleware chain and views) against a fresh DynamoDB
Local database on a free port. Two apps on the same runtime: "on" is ``create_app(runtime)``, "off"
is ``create_app(runtime, observe=False)``: no access-log line and a metrics scope that writes
nothing (the telemetry wrapper and the request context still run). Log lines and EMF documents go
to a real file, as stdout would in Lambda. On and off alternate in blocks of 25 requests so drift
(DynamoDB Local slowing down, other load on the machine) hits both alike. Prints p50/p95/mean per
route and the difference.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from chalice.test import Client

from chalicelib.api.application import create_app
from chalicelib.observability.logging import logger
from chalicelib.observability.metrics import MetricsConfig
from chalicelib.settings import load_settings
from devstack.stack import LocalStack

BLOCK = 25
ENV = {
    "STAGE": "local",
    "CURSOR_SIGNING_KEY": "perf-cursor-signing-key-0123456789",
    "TRUSTED_PROXIES": "127.0.0.1/32",
}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


Route = dict[str, Callable[[], Any]]  # mode ("on"/"off") -> one request


def measure(requests: int, routes: dict[str, Route]) -> dict[str, dict[str, list[float]]]:
    samples: dict[str, dict[str, list[float]]] = {r: {"on": [], "off": []} for r in routes}
    for name, calls in routes.items():
        for _ in range(10):  # warm-up: connections, caches
            calls["on"]()
            calls["off"]()
        done = 0
        while done < requests:
            for mode in ("on", "off"):
                call = calls[mode]
                for _ in range(BLOCK):
                    started = time.perf_counter()
                    call()
                    samples[name][mode].append((time.perf_counter() - started) * 1000)
            done += BLOCK
    return samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=600, help="per route and mode")
    args = parser.parse_args(argv)

    log_dir = Path(tempfile.mkdtemp(prefix="obs-overhead-"))
    stack = LocalStack(log_dir, api=False, workers=(), access_key="perf" + uuid.uuid4().hex[:8])
    stack.start()
    out = (log_dir / "app.log").open("w")
    try:
        settings = load_settings(ENV)  # the app's settings; the stack gives the database
        logger.registered_handler.setStream(out)

        def to_file(line: str) -> None:
            out.write(line + "\n")
            out.flush()

        runtime = replace(
            stack.runtime(settings),
            metrics=MetricsConfig(namespace="TriggersAPI/perf", sink=to_file),
        )
        _, secret = runtime.keys.create_key("perf", "ten_perf", rate_limit_per_minute=1_000_000)
        headers = {"X-API-Key": secret, "Content-Type": "application/json"}
        with Client(create_app(runtime)) as on, Client(create_app(runtime, observe=False)) as off:
            created = on.http.post(
                "/v1/events",
                headers=headers,
                body=json.dumps({"source": "perf", "event_type": "t", "payload": {"n": 1}}),
            )
            event_id = json.loads(created.body)["event_id"]
            clients = {"on": on, "off": off}
            routes: dict[str, Route] = {
                "GET /v1/health": {
                    m: (lambda c=c: c.http.get("/v1/health")) for m, c in clients.items()
                },
                "GET /v1/events/{id}": {
                    m: (lambda c=c: c.http.get(f"/v1/events/{event_id}", headers=headers))
                    for m, c in clients.items()
                },
                "GET /v1/events/{id} 404": {
                    m: (
                        lambda c=c: c.http.get(
                            "/v1/events/evt_01ARZ3NDEKTSV4RRFFQ69G5FAV", headers=headers
                        )
                    )
                    for m, c in clients.items()
                },
            }
            samples = measure(args.requests, routes)
    finally:
        out.close()
        stack.stop()

    print(f"{'route':28} {'mode':4} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'mean ms':>8}")
    for name, modes in samples.items():
        for mode in ("on", "off"):
            xs = modes[mode]
            print(
                f"{name:28} {mode:4} {len(xs):5d} {pct(xs, 0.5):8.3f} {pct(xs, 0.95):8.3f}"
                f" {statistics.fmean(xs):8.3f}"
            )
        on, off = modes["on"], modes["off"]
        mean_diff = statistics.fmean(on) - statistics.fmean(off)
        print(
            f"{'':28} diff      {pct(on, 0.5) - pct(off, 0.5):+8.3f} "
            f"{pct(on, 0.95) - pct(off, 0.95):+8.3f} {mean_diff:+8.3f}"
        )
    print(f"log + EMF output written to {out.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
