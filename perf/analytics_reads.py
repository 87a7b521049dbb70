"""How long a time series takes to read over seeded counters, on DynamoDB Local.

    .venv/bin/python -m perf.analytics_reads [--sources 3] [--types 2] [--reps 30]

Starts a fresh DynamoDB Local with the tables (``devstack.stack.LocalStack`` without the API or
workers), then seeds one tenant's counters the way the stream handler writes them (the same
``aggregate`` and ``AnalyticsStore.count`` transactions): every minute of the last ``--minute-days``
days and every hour of the ``--hour-days`` days before that, for each of ``--sources`` x
``--types`` combinations, each increment with ingested/acknowledged counts and a few latency
histogram bins. Then it reads, through ``AnalyticsService.timeseries`` (the code behind
``GET /v1/analytics/timeseries``, without HTTP), ``--reps`` times each:

* a 2-day range of minute buckets (2,880 buckets), unfiltered and filtered by one source;
* a 90-day range of hour buckets (2,160 buckets), unfiltered and filtered by one source;
* the default ranges (the last hour of minutes, the last day of hours).

Prints p50/p95/max per read and writes them to perf/results/analytics-reads-<time>.json.
Figures, not verdicts.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from chalicelib.domain.analytics import DAY, HOUR, MINUTE, Increment, RecordEffect, aggregate
from chalicelib.domain.latency_sketch import bin_name
from chalicelib.services.analytics import AnalyticsService, TimeseriesRequest
from chalicelib.stores.analytics import AnalyticsStore
from devstack.stack import LocalStack

ROOT = Path(__file__).resolve().parent.parent
TENANT = "ten_reads"
SEED_GROUP = 25


def increments(args: argparse.Namespace, now: int, rng: random.Random) -> list[Increment]:
    """Every minute of the minute range and every hour of the hour range, per combination."""
    minute_end = now // MINUTE * MINUTE
    minute_start = minute_end - args.minute_days * DAY
    starts = list(range(minute_start, minute_end, MINUTE))
    hour_start = minute_start // HOUR * HOUR - args.hour_days * DAY
    starts += list(range(hour_start, minute_start // HOUR * HOUR, HOUR))
    out = []
    for start in starts:
        for s in range(args.sources):
            for t in range(args.types):
                counts = {"ingested": 5, "acknowledged": 4, "ack_latency_ms_sum": 4000}
                for _ in range(4):
                    name = bin_name(rng.randint(60, 110))
                    counts[name] = counts.get(name, 0) + 1
                out.append(Increment(TENANT, f"source-{s}", f"type.{t}", start, counts))
    return out


def seed(store: AnalyticsStore, incs: list[Increment], threads: int) -> int:
    # Aggregate a day of increments at a time (the hour and day items then sum in memory, as a
    # busy stream batch would), and write each aggregate in transactions of SEED_GROUP counter
    # items (small enough for DynamoDB Local to answer within the client's read timeout on a
    # loaded machine; the items are the same whatever the grouping).
    by_day: dict[int, list[Increment]] = {}
    for inc in incs:
        by_day.setdefault(inc.minute // DAY, []).append(inc)
    groups = []
    for day_incs in by_day.values():
        updates = aggregate([RecordEffect("", "", tuple(day_incs))])
        groups += [updates[i : i + SEED_GROUP] for i in range(0, len(updates), SEED_GROUP)]
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda group: store.count([], group), groups))
    return sum(len(g) for g in groups)


def timed(reps: int, read: Any) -> dict[str, float]:
    samples = []
    for _ in range(reps):
        started = time.perf_counter()
        read()
        samples.append((time.perf_counter() - started) * 1000)
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1),
        "max_ms": round(ordered[-1], 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", type=int, default=3)
    parser.add_argument("--types", type=int, default=2)
    parser.add_argument("--minute-days", type=int, default=2)
    parser.add_argument("--hour-days", type=int, default=88)
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)

    log_dir = ROOT / "perf" / "results" / "analytics-reads"
    stack = LocalStack(
        log_dir,
        api=False,
        workers=[],
        access_key="reads" + uuid.uuid4().hex[:12],
        environment={"LOG_LEVEL": "WARNING"},
    )
    with stack:
        settings = stack.settings()
        store = AnalyticsStore(stack.dynamodb_client(settings), settings.analytics_table)
        now = int(time.time())
        incs = increments(args, now, random.Random(7))
        started = time.perf_counter()
        items = seed(store, incs, args.threads)
        seeded_s = time.perf_counter() - started
        service = AnalyticsService(store, now=lambda: now)
        minute = TimeseriesRequest("minute", now - args.minute_days * DAY, now)
        hour_days = min(90, args.minute_days + args.hour_days)
        hour = TimeseriesRequest("hour", now - hour_days * DAY, now)

        def check(request: TimeseriesRequest) -> Any:
            return lambda: service.timeseries(TENANT, request)

        one = {"source": "source-0"}
        results = {
            "minute_range": timed(args.reps, check(minute)),
            "minute_range_one_source": timed(
                args.reps, check(TimeseriesRequest("minute", minute.start, now, **one))
            ),
            "hour_range": timed(args.reps, check(hour)),
            "hour_range_one_source": timed(
                args.reps, check(TimeseriesRequest("hour", hour.start, now, **one))
            ),
            # The dashboard's defaults: the last hour of minutes, the last day of hours.
            "minute_default_1_hour": timed(args.reps, check(TimeseriesRequest("minute"))),
            "hour_default_1_day": timed(args.reps, check(TimeseriesRequest("hour"))),
        }
        buckets = {
            "minute_range": len(service.timeseries(TENANT, minute)["buckets"]),
            "hour_range": len(service.timeseries(TENANT, hour)["buckets"]),
        }
    report = {
        "combinations": args.sources * args.types,
        "minute_range_days": args.minute_days,
        "hour_range_days": min(90, args.minute_days + args.hour_days),
        "counter_items_written": items,
        "seed_seconds": round(seeded_s, 1),
        "reps": args.reps,
        "buckets": buckets,
        "reads": results,
    }
    print(f"seeded {items} counter items in {seeded_s:.1f} s")
    for name, figures in results.items():
        print(
            f"{name:28} p50 {figures['p50_ms']:8.1f} ms  p95 {figures['p95_ms']:8.1f} ms  "
            f"max {figures['max_ms']:8.1f} ms"
        )
    out = (
        args.out
        or ROOT / "perf" / "results" / f"analytics-reads-{time.strftime('%Y%m%d-%H%M%S')}.json"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
