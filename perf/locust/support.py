"""What every Locust scenario shares: options, keys, request bodies, exact stats and the summary.

* Keys are created directly in the stack's database with the app's own ``KeyService`` (high rate
  limits, so the load measures the API and not the limiter). The database is found the way the
  repo's scripts find it: ``AWS_ENDPOINT_URL_DYNAMODB`` (+ ``AWS_ACCESS_KEY_ID``) when set, which
  the load-test runner does for the stack it starts, else ``.run/stack.json`` from `make run`.
* Every request's time is recorded here (Locust's own percentiles are rounded into buckets), and
  when Locust quits a JSON summary is written: rps, p50/p95/p99, failures per request name, the
  total, the error rate, events created per second and whatever the scenario adds to ``EXTRA``.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from locust import events
from locust.env import Environment
from locust.user.wait_time import constant_throughput

from chalicelib.runtime import Runtime
from chalicelib.settings import load_settings
from devstack import state
from devstack.stage_env import stage_environment
from perf.stats import percentile as nearest_rank

SOURCES = ("billing", "crm", "shop", "auth")
EVENT_TYPES = ("invoice.paid", "user.created", "order.shipped", "session.started")
PRIORITIES = ("low", "normal", "high")
DEFAULT_KEY_RATE_LIMIT = 1_000_000  # per minute: load tests measure the API, not the limiter


@dataclass(frozen=True)
class Key:
    tenant_id: str
    key_id: str
    secret: str

    @property
    def headers(self) -> dict[str, str]:
        return {"X-API-Key": self.secret, "Content-Type": "application/json"}


@dataclass
class Recorder:
    """Exact per-request-name timings for the measured window (test start to test stop)."""

    times: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    failures: dict[tuple[str, str], int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    started: float = 0.0
    stopped: float = 0.0
    warmup_until: float = 0.0

    def record(self, method: str, name: str, ms: float, exception: BaseException | None) -> None:
        key = (method, name)
        self.times.setdefault(key, []).append(ms)
        if exception is not None:
            self.failures[key] = self.failures.get(key, 0) + 1
            text = f"{method} {name}: {str(exception)[:120]}"
            self.errors[text] = self.errors.get(text, 0) + 1

    def elapsed(self) -> float:
        end = self.stopped or time.monotonic()
        return max(1e-9, end - self.started) if self.started else 0.0


RECORDER = Recorder()
KEYS: list[Key] = []
EXTRA: dict[str, Any] = {"events_created": 0, "ack_conflicts": 0, "bulk_item_failures": 0}
_SETUP: list[Callable[[Environment], None]] = []
_SCENARIO: dict[str, str] = {}


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1) of unsorted values; 0 for none."""
    return nearest_rank(values, q) if values else 0.0


def stats_block(
    method: str, name: str, times: list[float], failures: int, elapsed: float
) -> dict[str, Any]:
    return {
        "method": method,
        "name": name,
        "count": len(times),
        "failures": failures,
        "rps": round(len(times) / elapsed, 2) if elapsed else 0.0,
        "p50_ms": round(percentile(times, 0.50), 2),
        "p95_ms": round(percentile(times, 0.95), 2),
        "p99_ms": round(percentile(times, 0.99), 2),
        "avg_ms": round(sum(times) / len(times), 2) if times else 0.0,
        "max_ms": round(max(times), 2) if times else 0.0,
    }


def build_summary(environment: Environment | None = None) -> dict[str, Any]:
    elapsed = RECORDER.elapsed()
    requests = {
        f"{method} {name}": stats_block(
            method, name, times, RECORDER.failures.get((method, name), 0), elapsed
        )
        for (method, name), times in sorted(RECORDER.times.items())
    }
    all_times = [t for times in RECORDER.times.values() for t in times]
    failures = sum(RECORDER.failures.values())
    total = stats_block("ALL", "total", all_times, failures, elapsed)
    opts = environment.parsed_options if environment is not None else None
    return {
        "scenario": _SCENARIO.get("name", "unknown"),
        "host": getattr(environment, "host", None),
        "users": getattr(opts, "num_users", None),
        "elapsed_s": round(elapsed, 2),
        "requests": requests,
        "total": total,
        "error_rate": round(failures / len(all_times), 6) if all_times else 0.0,
        "events_created": EXTRA["events_created"],
        "events_per_second": round(EXTRA["events_created"] / elapsed, 1) if elapsed else 0.0,
        "errors": dict(sorted(RECORDER.errors.items(), key=lambda kv: -kv[1])[:20]),
        "extra": {k: v for k, v in EXTRA.items() if k != "events_created"},
    }


# -- options and lifecycle ------------------------------------------------------------------------
@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    parser.add_argument("--summary-json", default="", help="write the JSON summary here")
    parser.add_argument("--tenants", type=int, default=1, help="tenants to create keys in")
    parser.add_argument("--keys-per-tenant", type=int, default=1, help="keys per tenant")
    parser.add_argument(
        "--key-rate-limit", type=int, default=DEFAULT_KEY_RATE_LIMIT, help="per-minute limit"
    )
    parser.add_argument(
        "--pace", type=float, default=0.0, help="tasks per second per user (0: no wait)"
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=0.0,
        help="seconds at the start whose latencies are not recorded (failures still count)",
    )


def scenario(name: str, setup: Callable[[Environment], None] | None = None) -> None:
    """Name the scenario (for the summary) and register what it prepares before the load."""
    _SCENARIO["name"] = name
    if setup is not None:
        _SETUP.append(setup)


@events.test_start.add_listener
def _test_start(environment: Environment, **_: Any) -> None:
    check_health(environment.host or "")
    for setup in _SETUP:
        setup(environment)
    warmup = float(getattr(environment.parsed_options, "warmup", 0.0) or 0.0)
    # A fresh stack's first seconds are JIT and cache warm-up (DynamoDB Local's JVM, boto3's
    # connection pools): with --warmup they load the service but are not measured.
    RECORDER.warmup_until = time.monotonic() + max(0.0, warmup)
    RECORDER.started = RECORDER.warmup_until


@events.test_stop.add_listener
def _test_stop(environment: Environment, **_: Any) -> None:
    RECORDER.stopped = time.monotonic()


@events.request.add_listener
def _on_request(
    request_type: str,
    name: str,
    response_time: float,
    exception: BaseException | None = None,
    **_: Any,
) -> None:
    if not RECORDER.started or RECORDER.stopped:
        return
    if time.monotonic() < RECORDER.warmup_until:
        if exception is not None:
            RECORDER.record(request_type, name, response_time, exception)
        return
    RECORDER.record(request_type, name, response_time, exception)


@events.quitting.add_listener
def _quitting(environment: Environment, **_: Any) -> None:
    path = environment.parsed_options.summary_json if environment.parsed_options else ""
    summary = build_summary(environment)
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(summary, indent=2))
    total = summary["total"]
    print(
        f"[perf] {summary['scenario']}: {total['count']} requests, {total['rps']} rps, "
        f"p95 {total['p95_ms']} ms, error rate {summary['error_rate']:.4%}, "
        f"{summary['events_per_second']} events/s",
        file=sys.stderr,
    )


def paced(user: Any) -> float:
    """``wait_time`` for every user: as fast as possible, or ``--pace`` tasks per second."""
    pace = float(getattr(user.environment.parsed_options, "pace", 0.0) or 0.0)
    if pace <= 0:
        return 0.0
    return float(constant_throughput(pace)(user))


# -- the stack's database and keys ------------------------------------------------------------
def stack_runtime(host: str) -> Runtime:
    """A Runtime on the database of the stack serving ``host``."""
    if not os.environ.get("AWS_ENDPOINT_URL_DYNAMODB"):
        found = state.read()
        if found is None or found.api_url.rstrip("/") != host.rstrip("/"):
            raise SystemExit(
                f"cannot find the database behind {host}: run through "
                "scripts/run_load_tests.sh, or set AWS_ENDPOINT_URL_DYNAMODB and "
                "AWS_ACCESS_KEY_ID to the stack's DynamoDB Local"
            )
        os.environ.update(found.aws_environment())
    settings = load_settings({**stage_environment("local"), **os.environ, "STAGE": "local"})
    return Runtime.build(settings)


def check_health(host: str) -> None:
    import requests

    try:
        resp = requests.get(host.rstrip("/") + "/v1/health", timeout=10)
    except requests.RequestException as exc:
        raise SystemExit(f"nothing answers at {host}: {exc}") from exc
    if resp.status_code != 200:
        raise SystemExit(f"{host}/v1/health answered {resp.status_code}: {resp.text[:200]}")


def new_tenant(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def create_keys(
    environment: Environment, prefix: str, tenants: list[str] | None = None
) -> list[Key]:
    """Keys for ``tenants`` (default: ``--tenants`` fresh ones), ``--keys-per-tenant`` each."""
    opts = environment.parsed_options
    runtime = stack_runtime(environment.host or "")
    tenant_ids = tenants or [new_tenant(prefix) for _ in range(max(1, opts.tenants))]
    keys = []
    for tenant in tenant_ids:
        for n in range(max(1, opts.keys_per_tenant)):
            record, secret = runtime.keys.create_key(
                f"perf-{prefix}-{n}", tenant, rate_limit_per_minute=opts.key_rate_limit
            )
            keys.append(Key(tenant, record.key_id, secret))
    KEYS.extend(keys)
    return keys


# -- bodies -----------------------------------------------------------------------------------
def event_body(n: int, idempotency_key: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "source": SOURCES[n % len(SOURCES)],
        "event_type": EVENT_TYPES[(n // len(SOURCES)) % len(EVENT_TYPES)],
        "payload": {"n": n, "amount_cents": (n * 37) % 100_000, "currency": "EUR"},
        "metadata": {"priority": PRIORITIES[n % len(PRIORITIES)], "region": "eu"},
    }
    if idempotency_key is not None:
        body["idempotency_key"] = idempotency_key
    return body
