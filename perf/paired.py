"""The gate's load probe: the API and the raw engine, interleaved, on one fresh local stack.

    .venv/bin/python -m perf.paired [--rounds 6] [--block 2.0] [--threads 2] [--json out.json]
                                    [--kinds ingest,lookup,inbox,bulk]

Absolute latencies on a shared 2-core machine drift from run to run (docs/PERFORMANCE.md), so
the gate judges the API against DynamoDB Local measured *in the same moments*:

* Four request kinds, each with its raw engine twin, the engine calls the API makes for it:
  ``ingest`` (``POST /v1/events`` vs a conditional ``PutItem`` of the same item shape in an
  events table: with token leases the key's rate-limit write is one per lease, not per
  request), ``lookup`` (``GET /v1/events/{id}`` vs a consistent ``GetItem``), ``inbox``
  (``GET /v1/inbox?limit=50`` vs one ``Query`` of an inbox index for 50 items) and ``bulk``
  (``POST /v1/events/bulk`` of 25 events vs one ``BatchWriteItem`` of 25 items of the API's
  shape, unprocessed items sent again). The raw side writes to a private database of the same
  engine (another access key) with the events table's definition, streams and indexes
  included.
* ``--threads`` threads run each kind at once; every thread alternates an API call and the raw
  call (API first on even turns, raw first on odd ones), so both sides see the same contention.
* The kinds take turns in short blocks (``--block`` seconds, ``--rounds`` times each), so a slow
  patch of the machine lands on every kind rather than on one.
* CPU: the API process's user+system time (``/proc/<pid>/stat``) over each block, and the probe
  threads' own CPU time (``time.thread_time``) inside the raw calls. Both are Python doing
  botocore work, so their ratio holds when the machine is slower or busier.

It prints, per kind, p50/p95 of both sides, the p50 ratio, CPU per request and the CPU ratio, and
the absolute p95 against the seeds' targets (information here; ``make perf-targets`` enforces
them on a quiet machine). ``scripts/perf_gate.py`` compares the ratios with perf/baseline.json.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from chalicelib.domain.events import EventDraft, canonical_json
from chalicelib.domain.inbox import INDEX_ALL
from chalicelib.services.events import EventService
from chalicelib.settings import Settings
from chalicelib.stores.aws import dynamodb_client
from chalicelib.stores.events import EventStore, new_event_item
from chalicelib.stores.schema import create_table
from chalicelib.stores.tables import events_table
from devstack.stack import LocalStack
from perf import targets
from perf.gate import KindFigures, load_ratios

ROOT = Path(__file__).resolve().parent.parent
KINDS = ("ingest", "lookup", "inbox", "bulk")
ALL_KINDS = KINDS
BULK_SIZE = 25
INBOX_LIMIT = 50
PROBE_TENANT = "paired-probe"
RAW_TENANT = "raw-probe"
WARMUP_SECONDS = 6.0
SEED_EVENTS = 60  # per side, before the first measured block: lookups and the inbox need data
SOURCE, EVENT_TYPE = "billing", "invoice.paid"
PAYLOAD: dict[str, Any] = {"invoice_id": "inv_0001", "amount_cents": 129900, "currency": "EUR"}
METADATA: dict[str, str] = {"priority": "normal", "region": "eu"}
EVENT = {"source": SOURCE, "event_type": EVENT_TYPE, "payload": PAYLOAD, "metadata": METADATA}
_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        # The command name (field 2) may hold spaces; the fields after its ")" are fixed.
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


class ApiConnection:
    """One kept-alive HTTP/1.1 connection to the API (one per probe thread)."""

    def __init__(self, base_url: str, secret: str) -> None:
        host, port = base_url.removeprefix("http://").split(":")
        self._conn = http.client.HTTPConnection(host, int(port), timeout=30)
        self._headers = {"X-API-Key": secret, "Content-Type": "application/json"}

    def call(self, method: str, path: str, body: bytes | None, expect: int) -> Any:
        self._conn.request(method, path, body=body, headers=self._headers)
        resp = self._conn.getresponse()
        data = resp.read()
        if resp.status != expect:
            raise RuntimeError(f"{method} {path}: {resp.status} {data[:300]!r}")
        return json.loads(data)

    def close(self) -> None:
        self._conn.close()


@dataclass
class Samples:
    api_ms: list[float] = field(default_factory=list)
    raw_ms: list[float] = field(default_factory=list)
    api_cpu: float = 0.0
    raw_cpu: float = 0.0


class Probe:
    """The two sides of every kind, on one stack."""

    def __init__(self, stack: LocalStack, threads: int) -> None:
        self.stack = stack
        self.api_pid = stack.api_pid
        self.threads = threads
        settings = stack.settings()
        self.settings: Settings = settings
        self._lock = threading.Lock()
        # The API side: a key of its own tenant, high enough a limit not to be throttled.
        _, secret = stack.runtime(settings).keys.create_key(
            "paired-probe", PROBE_TENANT, rate_limit_per_minute=100_000_000
        )
        self.connections = [ApiConnection(stack.api_url, secret) for _ in range(threads)]
        self.api_ids: list[str] = []
        # The raw side: a private database (another access key) with the same table definition.
        self.raw = dynamodb_client(
            settings,
            session=boto3.Session(
                aws_access_key_id="raw" + uuid.uuid4().hex[:12],
                aws_secret_access_key="local",
                region_name=settings.region,
            ),
            endpoint_url=stack.dynamodb_endpoint,
        )
        create_table(self.raw, events_table(settings))
        self.service = EventService(
            EventStore(self.raw, settings.events_table, settings.idempotency_table),
            settings.inbox_shards,
            settings.event_retention_days,
            settings.idempotency_ttl_seconds,
        )
        self.raw_keys: list[dict[str, Any]] = []
        self.raw_inbox_pk = ""
        self.body = json.dumps(EVENT).encode()
        self.bulk_body = json.dumps({"items": [EVENT] * BULK_SIZE}).encode()
        self.draft = EventDraft(SOURCE, EVENT_TYPE, canonical_json(PAYLOAD), dict(METADATA), None)

    # -- one call of each side --------------------------------------------------------------
    def api_call(self, kind: str, conn: ApiConnection) -> None:
        if kind == "ingest":
            event_id = conn.call("POST", "/v1/events", self.body, 201)["event_id"]
            with self._lock:
                self.api_ids.append(event_id)
        elif kind == "lookup":
            conn.call("GET", f"/v1/events/{random.choice(self.api_ids)}", None, 200)
        elif kind == "bulk":
            answer = conn.call("POST", "/v1/events/bulk", self.bulk_body, 200)
            if answer["failed"]:
                raise RuntimeError(f"bulk: {len(answer['failed'])} items failed")
        else:
            page = conn.call("GET", f"/v1/inbox?limit={INBOX_LIMIT}", None, 200)
            if not page["events"]:
                raise RuntimeError("the probe's inbox is empty")

    def raw_item(self) -> dict[str, Any]:
        return new_event_item(self.service.placed(self.service.new_event(RAW_TENANT, self.draft)))

    def raw_items(self, kind: str) -> list[dict[str, Any]] | None:
        """What the raw call of ``kind`` writes, built outside its timing (None: nothing)."""
        if kind == "ingest":
            return [self.raw_item()]
        if kind == "bulk":
            return [self.raw_item() for _ in range(BULK_SIZE)]
        return None

    def raw_call(self, kind: str, items: list[dict[str, Any]] | None) -> None:
        table = self.settings.events_table
        if kind == "ingest":
            assert items is not None
            [item] = items
            # The API's engine call for a create (its key's bucket is written once per lease).
            self.raw.put_item(
                TableName=table, Item=item, ConditionExpression="attribute_not_exists(pk)"
            )
            with self._lock:
                self.raw_keys.append({"pk": item["pk"]})
                self.raw_inbox_pk = self.raw_inbox_pk or item["inbox_pk"]["S"]
        elif kind == "bulk":
            assert items is not None
            # A bulk create without idempotency keys: one BatchWriteItem.
            requests: list[Any] = [{"PutRequest": {"Item": item}} for item in items]
            while requests:
                resp = self.raw.batch_write_item(RequestItems={table: requests})
                requests = list(resp.get("UnprocessedItems", {}).get(table, []))
        elif kind == "lookup":
            found = self.raw.get_item(
                TableName=table, Key=random.choice(self.raw_keys), ConsistentRead=True
            )
            if "Item" not in found:
                raise RuntimeError("raw GetItem: item missing")
        else:
            page = self.raw.query(
                TableName=table,
                IndexName=INDEX_ALL,
                KeyConditionExpression="inbox_pk = :pk",
                ExpressionAttributeValues={":pk": {"S": self.raw_inbox_pk}},
                Limit=INBOX_LIMIT,
            )
            if not page.get("Items"):
                raise RuntimeError("raw Query: the raw inbox is empty")

    # -- blocks ------------------------------------------------------------------------------
    def block(self, kind: str, seconds: float, into: Samples | None) -> None:
        """Every thread alternates the two sides of ``kind`` for ``seconds``."""
        errors: list[BaseException] = []
        api_cpu_before = process_cpu_seconds(self.api_pid)
        deadline = time.monotonic() + seconds

        def work(n: int) -> None:
            conn = self.connections[n]
            api_ms: list[float] = []
            raw_ms: list[float] = []
            raw_cpu = 0.0
            turn = n
            try:
                while time.monotonic() < deadline:
                    items = self.raw_items(kind)
                    order = (True, False) if turn % 2 == 0 else (False, True)
                    for api_side in order:
                        if api_side:
                            t0 = time.perf_counter()
                            self.api_call(kind, conn)
                            api_ms.append((time.perf_counter() - t0) * 1000)
                        else:
                            c0, t0 = time.thread_time(), time.perf_counter()
                            self.raw_call(kind, items)
                            raw_ms.append((time.perf_counter() - t0) * 1000)
                            raw_cpu += time.thread_time() - c0
                    turn += 1
            except BaseException as exc:
                errors.append(exc)
            if into is not None:
                with self._lock:
                    into.api_ms.extend(api_ms)
                    into.raw_ms.extend(raw_ms)
                    into.raw_cpu += raw_cpu

        workers = [threading.Thread(target=work, args=(n,)) for n in range(self.threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        if errors:
            raise RuntimeError(f"{kind}: {errors[0]}") from errors[0]
        if into is not None:
            into.api_cpu += process_cpu_seconds(self.api_pid) - api_cpu_before

    def seed(self) -> None:
        for _ in range(SEED_EVENTS):
            self.api_call("ingest", self.connections[0])
            self.raw_call("ingest", self.raw_items("ingest"))

    def close(self) -> None:
        for conn in self.connections:
            conn.close()


def measure(
    rounds: int,
    block_seconds: float,
    threads: int,
    log_dir: Path,
    say: Callable[[str], None],
    kinds: tuple[str, ...] = KINDS,
) -> list[KindFigures]:
    """Start a fresh stack (no workers: the gate measures the request path), warm it up, then
    run ``rounds`` rounds of one block per kind; stop the stack."""
    unknown = set(kinds) - set(ALL_KINDS)
    if unknown or not kinds:
        raise ValueError(f"kinds must be some of {', '.join(ALL_KINDS)}; got {kinds}")
    with LocalStack(log_dir, workers=()) as stack:
        probe = Probe(stack, threads)
        try:
            probe.seed()
            warm = WARMUP_SECONDS / len(kinds)
            for kind in kinds:  # not measured: the fresh JVM and connection pools
                probe.block(kind, warm, None)
            samples = {kind: Samples() for kind in kinds}
            for n in range(rounds):
                order = kinds if n % 2 == 0 else tuple(reversed(kinds))
                for kind in order:
                    probe.block(kind, block_seconds, samples[kind])
                say(f"[paired] round {n + 1}/{rounds} done")
        finally:
            probe.close()
    return [
        KindFigures(kind, tuple(s.api_ms), tuple(s.raw_ms), s.api_cpu, s.raw_cpu)
        for kind, s in samples.items()
    ]


def format_figures(figures: list[KindFigures], threads: int) -> str:
    head = (
        f"{'kind':8} {'n':>5} {'API p50':>8} {'API p95':>8} {'raw p50':>8} {'raw p95':>8} "
        f"{'p50 ratio':>9} {'API cpu/req':>11} {'raw cpu/call':>12} {'cpu ratio':>9}  "
        f"absolute API p95 (quiet-machine target)"
    )
    lines = [f"paired probe: API vs raw engine, interleaved, {threads} threads (ms)", head]
    for f in figures:
        limit = targets.P95_TARGETS_MS.get(f.kind)
        target = (
            f"{f.api_p95:.1f} ms vs < {limit:.0f} ms: "
            + ("within" if f.api_p95 < limit else "over (info; make perf-targets gates it)")
            if limit
            else ""
        )
        lines.append(
            f"{f.kind:8} {len(f.api_ms):>5} {f.api_p50:>8.2f} {f.api_p95:>8.2f} "
            f"{f.raw_p50:>8.2f} {f.raw_p95:>8.2f} {f.latency_ratio:>9.3f} "
            f"{f.api_cpu_ms_per_request:>11.3f} {f.raw_cpu_ms_per_call:>12.3f} "
            f"{f.cpu_ratio:>9.3f}  {target}"
        )
    return "\n".join(lines)


def as_json(figures: list[KindFigures], threads: int) -> dict[str, Any]:
    return {
        "threads": threads,
        "ratios": load_ratios(figures),
        "kinds": {
            f.kind: {
                "n": len(f.api_ms),
                "api_p50_ms": round(f.api_p50, 3),
                "api_p95_ms": round(f.api_p95, 3),
                "raw_p50_ms": round(f.raw_p50, 3),
                "raw_p95_ms": round(f.raw_p95, 3),
                "api_cpu_ms_per_request": round(f.api_cpu_ms_per_request, 3),
                "raw_cpu_ms_per_call": round(f.raw_cpu_ms_per_call, 3),
            }
            for f in figures
        },
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--block", type=float, default=2.0, help="seconds per kind per round")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", type=Path, help="write the figures here as JSON")
    p.add_argument(
        "--kinds",
        default=",".join(KINDS),
        help=f"comma-separated, of {','.join(ALL_KINDS)} (default: {','.join(KINDS)})",
    )
    p.add_argument("--logs", type=Path, default=ROOT / "perf" / "results" / "paired-logs")
    args = p.parse_args(argv)

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    kinds = tuple(k for k in args.kinds.split(",") if k)
    figures = measure(args.rounds, args.block, args.threads, args.logs, say, kinds)
    print(format_figures(figures, args.threads))
    if args.json:
        args.json.write_text(json.dumps(as_json(figures, args.threads), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
