"""How far behind real time the local stream worker's counts are at a given write rate.

    .venv/bin/python perf/stream_lag.py [--rate 200] [--seconds 30]

Starts a fresh in-memory DynamoDB Local on a free loopback port (DynamoDB Local slows down as
stream records pile up, so every run starts empty), creates the tables, starts
``python -m devstack.stream_worker`` exactly as ``make run`` does, then writes events shaped as the
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
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import boto3  # noqa: E402

from chalicelib.domain.events import EventDraft  # noqa: E402
from chalicelib.domain.inbox import shard_of  # noqa: E402
from chalicelib.runtime import Runtime  # noqa: E402
from chalicelib.settings import load_settings  # noqa: E402
from chalicelib.stores.aws import dynamodb_client  # noqa: E402
from chalicelib.stores.events import event_to_item  # noqa: E402
from chalicelib.stores.schema import create_all  # noqa: E402
from devstack.dynamodb_local import DynamoDBLocal  # noqa: E402
from devstack.ports import free_port  # noqa: E402
from devstack.stage_env import stage_environment  # noqa: E402

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

    access_key = "lag" + uuid.uuid4().hex[:12]
    log_dir = ROOT / "perf" / "results"
    log_dir.mkdir(parents=True, exist_ok=True)
    engine = DynamoDBLocal(free_port(), log_path=str(log_dir / "stream-lag-dynamodb.log"))
    engine.start()
    aws_env = {
        "AWS_ENDPOINT_URL_DYNAMODB": engine.endpoint,
        "AWS_ENDPOINT_URL_DYNAMODB_STREAMS": engine.endpoint,
        "AWS_ACCESS_KEY_ID": access_key,
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }
    worker: subprocess.Popen[bytes] | None = None
    try:
        settings = load_settings({**stage_environment("local"), **aws_env})
        session = boto3.Session(
            aws_access_key_id=access_key, aws_secret_access_key="local", region_name="us-east-1"
        )
        client = dynamodb_client(settings, session=session, endpoint_url=engine.endpoint)
        create_all(client, settings)
        runtime = Runtime.build(settings, dynamodb=client)
        worker_log = open(log_dir / "stream-lag-worker.log", "wb")  # noqa: SIM115
        worker = subprocess.Popen(
            [sys.executable, "-m", "devstack.stream_worker"],
            cwd=str(ROOT),
            env={**os.environ, **aws_env, "PYTHONUNBUFFERED": "1", "LOG_LEVEL": "WARNING"},
            stdout=worker_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

        written: list[tuple[float, int]] = [(time.time(), 0)]  # (time, cumulative events)
        samples: list[tuple[float, int]] = []
        stop_sampling = threading.Event()

        def counted() -> int:
            totals = runtime.analytics.summary(TENANT, {})["totals"]
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
    finally:
        if worker is not None and worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.kill()
        engine.stop()


if __name__ == "__main__":
    sys.exit(main())
