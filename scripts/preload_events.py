#!/usr/bin/env python3
"""Write N pending events for one tenant straight into the events table, fast (BatchWriteItem).

    python scripts/preload_events.py --tenant perf-big --count 100000
    python scripts/preload_events.py --tenant t1 --count 1000 --json

The items are made by the API's own code (``EventService.new_event``, ``EventService.placed``
and the events store's ``new_event_item``), so they are exactly what ``POST /v1/events`` would
store: same ids, shards, inbox index attributes and retention. Sources, event types and
priorities cycle through small sets so that the inbox filters have something to select.

Like ``seed_api_keys.py`` it writes to the running `make run` stack (``.run/stack.json``) unless
``AWS_ENDPOINT_URL_DYNAMODB`` is set (the load-test runner sets it for the stack it started).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.domain.backoff import full_jitter
from chalicelib.domain.events import PRIORITIES, EventDraft, canonical_json
from chalicelib.runtime import Runtime
from chalicelib.stores.events import new_event_item
from devstack.stage_env import script_settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BATCH = 25  # BatchWriteItem's maximum
SOURCES = ("billing", "crm", "shop", "auth")
EVENT_TYPES = ("invoice.paid", "user.created", "order.shipped", "session.started")
MAX_UNPROCESSED_ROUNDS = 12
_JITTER = random.Random()  # backoff between rounds of unprocessed items


@dataclass(frozen=True)
class PreloadResult:
    tenant_id: str
    count: int
    seconds: float

    @property
    def items_per_second(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else 0.0


def draft_for(n: int) -> EventDraft:
    """The n-th event of a preload: a small payload and rotating source/type/priority."""
    payload = {"n": n, "amount": n % 997, "note": "preloaded"}
    return EventDraft(
        source=SOURCES[n % len(SOURCES)],
        event_type=EVENT_TYPES[(n // len(SOURCES)) % len(EVENT_TYPES)],
        payload_json=canonical_json(payload),
        metadata={"priority": PRIORITIES[n % len(PRIORITIES)], "region": "eu", "batch": "preload"},
        idempotency_key=None,
    )


def make_items(runtime: Runtime, tenant_id: str, start: int, count: int) -> list[dict[str, Any]]:
    events = runtime.events
    return [
        new_event_item(events.placed(events.new_event(tenant_id, draft_for(n))))
        for n in range(start, start + count)
    ]


def write_batch(client: DynamoDBClient, table: str, items: list[dict[str, Any]]) -> None:
    """One BatchWriteItem, re-sending unprocessed items with jittered backoff."""
    requests: list[Any] = [{"PutRequest": {"Item": item}} for item in items]
    for attempt in range(MAX_UNPROCESSED_ROUNDS):
        resp = client.batch_write_item(RequestItems={table: requests})
        requests = list(resp.get("UnprocessedItems", {}).get(table, []))
        if not requests:
            return
        time.sleep(full_jitter(attempt, 0.02, 1.0, _JITTER))
    raise RuntimeError(f"{len(requests)} items still unprocessed after {MAX_UNPROCESSED_ROUNDS}")


def _chunks(total: int, size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, total, size):
        yield start, min(size, total - start)


def preload(
    runtime: Runtime, tenant_id: str, count: int, threads: int = 4, progress: bool = False
) -> PreloadResult:
    table = runtime.settings.events_table
    done = 0
    lock = threading.Lock()
    started = time.perf_counter()

    def work(chunk: tuple[int, int]) -> None:
        nonlocal done
        items = make_items(runtime, tenant_id, *chunk)
        write_batch(runtime.dynamodb, table, items)
        with lock:
            done += len(items)
            if progress and done % 10_000 < len(items):
                rate = done / (time.perf_counter() - started)
                print(f"[preload] {done}/{count} ({rate:.0f} items/s)", file=sys.stderr)

    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        for _ in pool.map(work, _chunks(count, BATCH)):
            pass
    return PreloadResult(tenant_id, count, time.perf_counter() - started)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--tenant", required=True, help="tenant the events belong to")
    p.add_argument("--count", type=int, required=True, help="number of pending events to write")
    p.add_argument("--threads", type=int, default=4, help="concurrent BatchWriteItem calls")
    p.add_argument("--json", action="store_true", help="print one JSON object with the result")
    p.add_argument("--stage", default=os.environ.get("STAGE", "local"))
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.count < 0:
        print("error: --count must be 0 or more", file=sys.stderr)
        return 2
    runtime = Runtime.build(script_settings(args.stage, require_stack=True))
    result = preload(runtime, args.tenant, args.count, args.threads, progress=not args.json)
    summary = {
        "tenant_id": result.tenant_id,
        "count": result.count,
        "seconds": round(result.seconds, 2),
        "items_per_second": round(result.items_per_second, 1),
    }
    print(json.dumps(summary) if args.json else f"[preload] done: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
