"""How far behind real time the local stream worker's counts are at a given write rate.

    .venv/bin/python -m perf.stream_lag [--rate 200] [--seconds 30]

Starts a local stack without the API (``devstack.stack.LocalStack``: a fresh in-memory DynamoDB
Local on a free loopback port, since DynamoDB Local slows down as stream records pile up, the
tables, and the stream worker of ``make run``'s worker list; logs under
perf/results/stream-lag/), then writes events shaped as the
API writes them (BatchWriteItem of 25, paced to ``--rate`` events/s) for ``--seconds`` while a
sampler reads the tenant's counted total from the analytics table every 0.5 s.

Lag at a sample = sample time - the time the writer had written as many events as were counted
(so it is how old the newest counted event is). Printed: the rate achieved, lag p50/p95/max over
the run, and the time to drain after the writer stops. Figures, not verdicts.
"""

from __future__ import annotations

import argparse
import bisect
import json
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

from chalicelib.domain.events import EventDraft
from chalicelib.domain.inbox import shard_of
from chalicelib.services.analytics import SummaryRequest
from chalicelib.stores.events import event_to_item
from devstack.stack import WORKERS, LocalStack

ROOT = Path(__file__).resolve().parent.parent

TENANT = "ten_lag"
BATCH = 25


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=int, default=200, help="events per second")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--writers", type=int, default=4, help="writer threads")
    parser.add_argument("--drain-timeout", type=float, default=120.0)
    args = parser.parse_args()

    log_dir = ROOT / "perf" / "results" / "stream-lag"
    stream_worker = [w for w in WORKERS if w.name == "stream-worker"]
    stack = LocalStack(
        log_dir,
        api=False,
        workers=stream_worker,
        access_key="lag" + uuid.uuid4().hex[:12],
        environment={"LOG_LEVEL": "WARNING"},
    )
    with stack:
        settings = stack.settings()
        client = stack.dynamodb_client(settings)
        runtime = stack.runtime(settings)

        written: list[tuple[float, int]] = [(time.time(), 0)]  # (time, cumulative events)
        samples: list[tuple[float, int]] = []
        stop_sampling = threading.Event()

        def counted() -> int:
            totals = runtime.analytics.summary(TENANT, SummaryRequest())["totals"]
            return int(totals["ingested"])

        def sampler() -> None:
            while not stop_sampling.wait(0.5):
                samples.append((time.time(), counted()))

        draft = EventDraft("perf", "lag.sample", '{"n":1}', {"priority": "normal"}, None)
        total = int(args.rate * args.seconds)
        thread = threading.Thread(target=sampler, daemon=True)
        started = time.time()
        thread.start()
        lock = threading.Lock()
        progress = {"sent": 0}

        def writer(share: int) -> None:
            # Each writer paces its own share; together they write `rate` events/s.
            rate = args.rate / args.writers
            mine = 0
            while mine < share:
                delay = started + mine / rate - time.time()
                if delay > 0:
                    time.sleep(delay)
                items = []
                for _ in range(min(BATCH, share - mine)):
                    event = runtime.events.new_event(TENANT, draft)
                    shard = shard_of(event.event_id, settings.inbox_shards)
                    item = event_to_item(event, shard, int(time.time()) + 86400)
                    items.append({"PutRequest": {"Item": item}})
                request = {settings.events_table: items}
                while request:
                    resp = client.batch_write_item(RequestItems=request)  # type: ignore[arg-type]
                    request = resp.get("UnprocessedItems") or {}
                mine += len(items)
                with lock:
                    progress["sent"] += len(items)
                    written.append((time.time(), progress["sent"]))

        shares = [total // args.writers + (i < total % args.writers) for i in range(args.writers)]
        writers = [threading.Thread(target=writer, args=(n,)) for n in shares]
        for w in writers:
            w.start()
        for w in writers:
            w.join()
        write_end = time.time()
        while counted() < total and time.time() - write_end < args.drain_timeout:
            time.sleep(0.2)
        drained = time.time()
        stop_sampling.set()
        thread.join()

        times = [t for t, _ in written]
        cumulative = [n for _, n in written]
        lags = []
        for at, count in samples:
            if at > write_end or count == 0:
                continue
            # When had the writer written `count` events? (the newest counted event's write time)
            index = bisect.bisect_left(cumulative, count)
            lags.append(at - times[min(index, len(times) - 1)])
        result = {
            "target_rate": args.rate,
            "events": total,
            "write_seconds": round(write_end - started, 2),
            "achieved_rate": round(total / (write_end - started), 1),
            "writers": args.writers,
            "samples": len(lags),
            "lag_p50_s": round(percentile(lags, 0.5), 2),
            "lag_p95_s": round(percentile(lags, 0.95), 2),
            "lag_max_s": round(max(lags), 2) if lags else None,
            "lag_mean_s": round(statistics.fmean(lags), 2) if lags else None,
            "drain_after_writes_s": round(drained - write_end, 2),
            "counted_at_end": counted(),
        }
        print(json.dumps(result, indent=2))
        return 0 if result["counted_at_end"] == total else 1


if __name__ == "__main__":
    sys.exit(main())
