"""Added latency of the per-key guards (IP allowlist + rate limiter) per request, over HTTP.

    python -m perf.guards_latency [--requests 400]

One run starts a fresh DynamoDB Local (free port, in memory) and two dev servers on free
loopback ports, both the same app on the same database: ``on`` with the full middleware chain,
``off`` built with ``create_app(runtime, guards=False)`` (no IP allowlist, no rate limit). A
key with an allowlist (``127.0.0.0/8``, so the IP check runs and passes) and a limit high
enough never to refuse is used on both. Requests alternate between the servers in blocks of 20,
so drift and other load on the machine hit both alike. Prints p50/p95/mean per route and the
difference; the raw DynamoDB Local UpdateItem latency is printed beside them (the local floor of
the limiter's one write).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import requests

from devstack.stack import LocalStack

BLOCK = 20
ENV = {
    "STAGE": "local",
    "CURSOR_SIGNING_KEY": "perf-cursor-signing-key-0123456789",
    "TRUSTED_PROXIES": "127.0.0.1/32",
    "LOG_LEVEL": "WARNING",
}


def serve(port: int, guards: bool) -> None:
    """Run one dev server (the child process of :func:`main`)."""
    from chalice.config import Config
    from chalice.local import LocalDevServer

    from chalicelib.api.application import create_app
    from chalicelib.runtime import Runtime
    from chalicelib.settings import load_settings
    from devstack.server import NoDelayHandler

    app = create_app(Runtime.build(load_settings()), guards=guards)
    config = Config.create(chalice_stage="local", app_name="triggers-api")
    server = LocalDevServer(app, config, "127.0.0.1", port, handler_cls=NoDelayHandler)
    server.serve_forever()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=400, help="per route and mode")
    parser.add_argument("--serve", choices=["on", "off"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.port, args.serve == "on")
        return 0

    from devstack.ports import free_port, wait_for_port

    log_dir = Path(tempfile.mkdtemp(prefix="guards-latency-"))
    stack = LocalStack(
        log_dir, api=False, workers=(), access_key="perf" + uuid.uuid4().hex[:12], environment=ENV
    )
    with stack:
        settings = stack.settings()
        client = stack.dynamodb_client(settings)
        runtime = stack.runtime(settings)
        _, secret = runtime.keys.create_key(
            "perf", "ten_perf", rate_limit_per_minute=1_000_000, allowed_ips=["127.0.0.0/8"]
        )
        urls = {}
        for mode in ("on", "off"):
            port = free_port()
            stack.spawn(mode, ["-m", "perf.guards_latency", "--serve", mode, "--port", str(port)])
            wait_for_port(port, 60)
            urls[mode] = f"http://127.0.0.1:{port}"
        sessions = {mode: requests.Session() for mode in urls}
        headers = {"X-API-Key": secret}
        event = {"source": "perf", "event_type": "latency.probe", "payload": {"n": 1}}
        routes: dict[str, Any] = {
            "GET /v1/inbox?limit=1": lambda s, u: s.get(u + "/v1/inbox?limit=1", headers=headers),
            "POST /v1/events": lambda s, u: s.post(u + "/v1/events", json=event, headers=headers),
        }
        print(f"{args.requests} requests per route and mode, alternating blocks of {BLOCK}")
        print(f"{'route':24} {'mode':4} {'p50 ms':>8} {'p95 ms':>8} {'mean ms':>8}")
        for name, call in routes.items():
            samples: dict[str, list[float]] = {"on": [], "off": []}
            for mode in urls:
                for _ in range(20):
                    resp = call(sessions[mode], urls[mode])
                    resp.raise_for_status()
                    if mode == "on" and "X-RateLimit-Limit" not in resp.headers:
                        raise RuntimeError("the 'on' server did not run the rate limiter")
                    if mode == "off" and "X-RateLimit-Limit" in resp.headers:
                        raise RuntimeError("the 'off' server ran the rate limiter")
            while len(samples["on"]) < args.requests:
                for mode in ("on", "off"):
                    for _ in range(BLOCK):
                        began = time.perf_counter()
                        resp = call(sessions[mode], urls[mode])
                        samples[mode].append((time.perf_counter() - began) * 1000)
                        resp.raise_for_status()
            for mode in ("on", "off"):
                s = samples[mode]
                print(
                    f"{name:24} {mode:4} {pct(s, 0.5):8.2f} {pct(s, 0.95):8.2f} "
                    f"{statistics.fmean(s):8.2f}"
                )
            print(
                f"{name:24} {'diff':4} {pct(samples['on'], 0.5) - pct(samples['off'], 0.5):8.2f} "
                f"{pct(samples['on'], 0.95) - pct(samples['off'], 0.95):8.2f} "
                f"{statistics.fmean(samples['on']) - statistics.fmean(samples['off']):8.2f}"
            )
        raw = []
        for n in range(200):
            began = time.perf_counter()
            client.update_item(
                TableName=settings.rate_limits_table,
                Key={"pk": {"S": "raw#probe"}},
                UpdateExpression="SET tat = :t",
                ConditionExpression="attribute_not_exists(tat) OR tat < :t",
                ExpressionAttributeValues={":t": {"N": str(n + 1)}},
            )
            raw.append((time.perf_counter() - began) * 1000)
        print(
            f"{'raw UpdateItem (engine)':24} {'':4} {pct(raw, 0.5):8.2f} {pct(raw, 0.95):8.2f} "
            f"{statistics.fmean(raw):8.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
