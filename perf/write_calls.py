"""DynamoDB write calls per 1,000 POSTs: what a create costs in writes (money in AWS).

    .venv/bin/python -m perf.write_calls [--posts 1000] [--threads 4] [--json out.json]

Starts a fresh DynamoDB Local with the tables (``devstack.stack.LocalStack``, no API process),
builds the app as the dev server does (chalice's LocalGateway) on a DynamoDB client of its own
that counts every call by operation (a botocore ``before-call`` hook: the app's real calls, not
a model of them), creates one key (1,000,000/min, so no request is refused) and sends ``--posts``
single-event POSTs from ``--threads`` threads. It prints the write calls per 1,000 POSTs by
operation (PutItem of the event, the rate limiter's UpdateItem, any other write) and the reads.
``measure()`` is what the perf gate calls.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from chalice.config import Config
from chalice.local import LocalGateway

from chalicelib.api.application import create_app
from chalicelib.runtime import Runtime
from chalicelib.settings import load_settings
from chalicelib.stores.aws import dynamodb_client
from devstack.stack import LocalStack
from devstack.stage_env import stage_environment

ROOT = Path(__file__).resolve().parent.parent
WRITE_OPERATIONS = frozenset(
    {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
)
BODY = {"source": "billing", "event_type": "invoice.paid", "payload": {"amount_cents": 1299}}


class CallCounter:
    """Counts a botocore client's calls by operation name (thread-safe)."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, model: Any, **_: Any) -> None:
        with self._lock:
            self.calls[model.name] += 1

    def snapshot(self) -> Counter[str]:
        with self._lock:
            return Counter(self.calls)


def measure(posts: int = 1000, threads: int = 4) -> dict[str, Any]:
    out = ROOT / "perf" / "results"
    out.mkdir(parents=True, exist_ok=True)
    with LocalStack(out / "write-calls-logs", api=False, workers=(), access_key="writes") as stack:
        os.environ.update(stack.env())
        os.environ.update(stage_environment("local"))
        settings = load_settings()
        client = dynamodb_client(settings)
        counter = CallCounter()
        client.meta.events.register("before-call.dynamodb", counter)
        runtime = Runtime.build(settings, dynamodb=client)
        _, secret = runtime.keys.create_key("writes", "writes", rate_limit_per_minute=10**6)
        gateway = LocalGateway(create_app(runtime), Config(chalice_stage="local"))
        headers = {"x-api-key": secret, "content-type": "application/json", "host": "local"}
        raw = json.dumps(BODY).encode()
        statuses: Counter[int] = Counter()
        lock = threading.Lock()
        per_thread = [posts // threads + (1 if i < posts % threads else 0) for i in range(threads)]
        gateway.handle_request("GET", "/v1/health", dict(headers), b"")  # build what is lazy
        before = counter.snapshot()

        def send(count: int) -> None:
            for _ in range(count):
                status = gateway.handle_request("POST", "/v1/events", dict(headers), raw)[
                    "statusCode"
                ]
                with lock:
                    statuses[status] += 1

        workers = [threading.Thread(target=send, args=(n,)) for n in per_thread]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        calls = counter.snapshot() - before
    writes = {op: n for op, n in sorted(calls.items()) if op in WRITE_OPERATIONS}
    reads = {op: n for op, n in sorted(calls.items()) if op not in WRITE_OPERATIONS}
    total_writes = sum(writes.values())
    scale = 1000 / posts
    return {
        "posts": posts,
        "threads": threads,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "write_calls": writes,
        "read_calls": reads,
        "write_calls_per_1000_posts": round(total_writes * scale, 1),
        "write_calls_per_post": round(total_writes / posts, 4),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--posts", type=int, default=1000)
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    result = measure(args.posts, args.threads)
    print(f"{args.posts} POSTs from {args.threads} threads: statuses {result['statuses']}")
    print(f"  write calls per 1,000 POSTs: {result['write_calls_per_1000_posts']}")
    for op, n in result["write_calls"].items():
        print(f"    {op:<20} {n * 1000 / args.posts:8.1f}")
    for op, n in result["read_calls"].items():
        print(f"  (reads) {op:<12} {n * 1000 / args.posts:8.1f}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if set(result["statuses"]) == {"201"} else 1


if __name__ == "__main__":
    sys.exit(main())
