"""Webhook delivery under a steady event rate: end-to-end latency, throughput, loss, duplicates.

    .venv/bin/python -m perf.webhook_delivery [--rate 50] [--seconds 20] [--webhooks 5]

1. Starts a private local stack (``devstack.stack.LocalStack``: a fresh in-memory DynamoDB Local,
   the tables, moto's SQS with the webhook queues, the dev server and the workers of
   ``make run``, on free loopback ports; logs under ``perf/results/webhook-delivery-<time>/``),
   and a receiver on 127.0.0.1 (``devstack.webhook_receiver``, answering 204 at once and
   verifying every signature).
2. One tenant (an admin key with a rate limit far above the load) registers ``--webhooks``
   webhooks without filters, each on its own receiver path, through the API.
3. A few warm-up events are posted and delivered (not measured), then ``--rate`` events/s are
   POSTed to /v1/events for ``--seconds`` (paced: event *i* leaves at start + i / rate, from
   ``--senders`` threads), and the run waits for every delivery.
4. Reported: end-to-end latency per delivery (the event's ``created_at``, the body's
   ``timestamp``, to the moment the receiver read the request) p50/p95/p99/max, split at the
   fan-out's batch line (whose ``request_ids`` name the POST: the batch that queued the event
   was done then) into event -> fan-out done and fan-out done -> received;
   deliveries/s; undelivered (when the run ends: lost if it drained, else late) and duplicated
   deliveries (counted at the receiver per (webhook, ``webhook-id``)); signatures that did not
   verify; the delivery queue's largest depth (sampled each second); the CPU seconds each
   process of the stack used during the measured window.
5. The raw SQS figure of the same run (``--raw-messages``, 0 for none): on the same moto server,
   a scratch queue with the delivery queue's definition; one thread sends messages shaped as the
   fan-out's in batches of 10 (SendMessageBatch, as the fan-out sends) while as many threads as
   the delivery worker has pollers receive them (10 at a time, 1 s long poll, every attribute,
   as the worker asks) and delete them (DeleteMessageBatch), with the app's SQS client settings.
   Delivery throughput reads against it.

Prints a table and writes the figures as JSON to ``perf/results/webhook-delivery-<time>.json``
(``--json`` elsewhere). Exits 1 when a delivery is missing or duplicated, or a signature fails;
the p95 target (1 s) is reported, not enforced. ``scripts/perf_gate.py`` runs a short form
(2 events/s to 2 webhooks for 8 s) with fixed limits; docs/PERFORMANCE.md has the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.domain.clock import parse_ts
from chalicelib.domain.webhooks import DeliveryMessage
from chalicelib.observability.logging import set_level
from chalicelib.stores.queues import QueueDefinition, delivery_queue, ensure_queue
from devstack.stack import WORKERS, LocalStack, Worker
from devstack.webhook_receiver import WebhookReceiver
from perf.stats import percentile

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "perf" / "results"
TENANT = "ten_webhook_perf"
WARMUP_EVENTS = 5
SEND_BATCH = 10


@dataclass
class Options:
    rate: float = 50.0
    seconds: float = 20.0
    webhooks: int = 5
    senders: int = 8
    drain_timeout: float = 120.0
    grace: float = 2.0  # after the last delivery, to see late duplicates
    raw_messages: int = 2000
    concurrency: int | None = None  # the delivery worker's pollers (None: its default)
    log_level: str = "INFO"
    analytics: bool = True  # run the analytics stream worker too, as `make run` does
    p95_target_s: float = 1.0


@dataclass
class Posted:
    event_id: str
    created_at: float
    post_ms: float
    request_id: str


@dataclass
class SendLog:
    posted: list[Posted] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    late_s: list[float] = field(default_factory=list)  # how late each POST left its schedule
    lock: threading.Lock = field(default_factory=threading.Lock)


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), from /proc (Linux)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_snapshot(stack: LocalStack) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, proc in stack.supervisor.children:
        try:
            out[name] = process_cpu_seconds(proc.pid)
        except (OSError, ValueError, IndexError):
            continue
    with contextlib.suppress(OSError, ValueError, IndexError):
        out["this process (senders, receiver)"] = process_cpu_seconds(os.getpid())
    return out


def workers_for(options: Options) -> tuple[Worker, ...]:
    workers = []
    for worker in WORKERS:
        if worker.name == "stream-worker" and not options.analytics:
            continue
        if worker.name == "delivery-worker" and options.concurrency is not None:
            worker = Worker(worker.name, (*worker.args, "--concurrency", str(options.concurrency)))
        workers.append(worker)
    return tuple(workers)


def queue_depth(stack: LocalStack) -> int:
    """Messages in the delivery queue, visible or in flight (moto counts them exactly)."""
    attributes = stack.sqs_client().get_queue_attributes(
        QueueUrl=stack.webhook_queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(v) for v in attributes.values())


class DepthSampler:
    """The delivery queue's depth once a second (its maximum tells a backlog in the queue, the
    worker's side, from one in the stream, the fan-out's side)."""

    def __init__(self, stack: LocalStack) -> None:
        self._stack = stack
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.max = 0

    def start(self) -> DepthSampler:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            with contextlib.suppress(BotoCoreError, ClientError):
                self.max = max(self.max, queue_depth(self._stack))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


# -- the load --------------------------------------------------------------------------------------
def post_events(
    base_url: str, secret: str, total: int, rate: float, senders: int, log: SendLog
) -> tuple[float, float]:
    """POST ``total`` events paced at ``rate``/s from ``senders`` threads; (start, end)."""
    started = time.time() + 0.2
    body = {"source": "perf", "event_type": "perf.delivery", "payload": {"amount_cents": 1299}}

    def sender(first: int) -> None:
        session = requests.Session()
        session.headers["X-API-Key"] = secret
        try:
            for i in range(first, total, senders):
                due = started + i / rate
                wait = due - time.time()
                if wait > 0:
                    time.sleep(wait)
                late = max(0.0, time.time() - due)
                t0 = time.perf_counter()
                try:
                    resp = session.post(base_url + "/v1/events", json=body, timeout=30)
                except requests.RequestException as exc:
                    with log.lock:
                        log.errors.append(f"{type(exc).__name__}: {exc}")
                    continue
                elapsed = (time.perf_counter() - t0) * 1000
                if resp.status_code != 201:
                    with log.lock:
                        log.errors.append(f"{resp.status_code}: {resp.text[:200]}")
                    continue
                created = resp.json()
                posted = Posted(
                    created["event_id"],
                    parse_ts(created["created_at"]),
                    elapsed,
                    resp.headers.get("X-Request-ID", ""),
                )
                with log.lock:
                    log.posted.append(posted)
                    log.late_s.append(late)
        finally:
            session.close()

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return started, time.time()


def fanout_times(log_path: Path) -> dict[str, float]:
    """request id -> when the fan-out finished the batch that queued its event's deliveries
    (the batch line's ``request_ids``; the messages went out at that time or before)."""
    out: dict[str, float] = {}
    try:
        raw_lines = log_path.read_bytes().splitlines()
    except OSError:
        return out
    for raw in raw_lines:
        try:
            line = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(line, dict) or line.get("message") != "webhook fan-out batch":
            continue
        try:
            at = parse_ts(str(line["timestamp"]))
        except (KeyError, ValueError):
            continue
        for request_id in line.get("request_ids") or ():
            out.setdefault(str(request_id), at)
    return out


# -- the raw SQS figure ---------------------------------------------------------------------------
def measure_raw_sqs(stack: LocalStack, messages: int, receivers: int) -> dict[str, Any]:
    """``messages`` through a scratch queue defined as the delivery queue, on the same moto
    server: one thread sends them in batches of 10 (as the fan-out sends) while ``receivers``
    threads receive (10 at a time, 1 s long poll, every attribute) and delete them
    (DeleteMessageBatch), as the delivery worker's pollers do, with the app's client settings.

    Sending and receiving run together, as in the pipeline, so the queue stays shallow: moto's
    SendMessageBatch, ReceiveMessage and GetQueueAttributes each walk the whole queue (on this
    machine a batch send took ~0.4 ms more per 10 messages already queued), so sending
    everything first would measure a deep queue no delivery run has."""
    settings = stack.settings()
    sqs = stack.sqs_client(settings)
    name = f"perf-raw-{uuid.uuid4().hex[:8]}"
    template = delivery_queue(stack.stage)
    dlq_url = ensure_queue(sqs, QueueDefinition(name + "-dlq"))
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])
    definition = QueueDefinition(
        name,
        retention_seconds=template.retention_seconds,
        visibility_timeout=template.visibility_timeout,
        max_receive_count=template.max_receive_count,
    )
    url = ensure_queue(sqs, definition, dlq_arn["Attributes"]["QueueArn"])
    body = DeliveryMessage(TENANT, "wh_" + "0" * 26, "msg_" + "0" * 26, "req_" + "0" * 24).body()
    lock = threading.Lock()
    done = threading.Event()
    counts = {"received": 0, "errors": 0}
    times: dict[str, float] = {}

    def sender() -> None:
        client = stack.sqs_client(settings)
        for start in range(0, messages, SEND_BATCH):
            entries: list[Any] = [
                {"Id": str(n), "MessageBody": body}
                for n in range(min(SEND_BATCH, messages - start))
            ]
            resp = client.send_message_batch(QueueUrl=url, Entries=entries)
            if resp.get("Failed"):
                raise RuntimeError(f"raw SendMessageBatch refused {len(resp['Failed'])} messages")
        times["sent"] = time.perf_counter()

    def receiver() -> None:
        client = stack.sqs_client(settings)
        while not done.is_set():
            try:
                got = client.receive_message(
                    QueueUrl=url,
                    MaxNumberOfMessages=SEND_BATCH,
                    WaitTimeSeconds=1,
                    AttributeNames=["All"],
                    MessageSystemAttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
                if got:
                    entries: list[Any] = [
                        {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]}
                        for n, m in enumerate(got)
                    ]
                    client.delete_message_batch(QueueUrl=url, Entries=entries)
            except (BotoCoreError, ClientError):
                with lock:
                    counts["errors"] += 1
                continue
            with lock:
                counts["received"] += len(got)
                if counts["received"] >= messages:
                    times["received"] = time.perf_counter()
                    done.set()

    threads = [threading.Thread(target=receiver, daemon=True) for _ in range(receivers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    sender()
    finished = done.wait(timeout=120)
    done.set()
    for thread in threads:
        thread.join(timeout=5)
    sqs.delete_queue(QueueUrl=url)
    sqs.delete_queue(QueueUrl=dlq_url)
    if not finished:
        raise RuntimeError(f"raw SQS: {counts['received']} of {messages} messages came back")
    return {
        "messages": messages,
        "receivers": receivers,
        "errors": counts["errors"],
        "send_per_second": round(messages / (times["sent"] - started), 1),
        # Each message sent, received and deleted: the least a delivery needs of SQS.
        "round_trip_per_second": round(messages / (times["received"] - started), 1),
    }


# -- the scenario ---------------------------------------------------------------------------------
def summary(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "p99": None, "max": None, "mean": None}
    return {
        "p50": round(percentile(values, 0.50), 1),
        "p95": round(percentile(values, 0.95), 1),
        "p99": round(percentile(values, 0.99), 1),
        "max": round(max(values), 1),
        "mean": round(statistics.fmean(values), 1),
    }


def run(options: Options, log_dir: Path, say: Callable[[str], None]) -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    workers = workers_for(options)
    stack = LocalStack(
        log_dir,
        workers=workers,
        access_key="whp" + uuid.uuid4().hex[:12],
        environment={"LOG_LEVEL": options.log_level},
    )
    receiver = WebhookReceiver(status=204)
    with stack, receiver:
        say(f"stack up: API {stack.api_url}, workers {', '.join(w.name for w in workers)}")
        runtime = stack.runtime()
        _, secret = runtime.keys.create_key(
            "perf-webhooks", TENANT, admin=True, rate_limit_per_minute=1_000_000
        )
        api = requests.Session()
        api.headers["X-API-Key"] = secret
        for n in range(options.webhooks):
            path = f"/hooks/{n}"
            resp = api.post(stack.api_url + "/v1/webhooks", json={"url": receiver.url(path)})
            resp.raise_for_status()
            created = resp.json()
            receiver.set_secret(created["secret"], path)

        say(f"warm-up: {WARMUP_EVENTS} events to {options.webhooks} webhooks")
        warm = SendLog()
        post_events(stack.api_url, secret, WARMUP_EVENTS, 10.0, 1, warm)
        receiver.wait_for(WARMUP_EVENTS * options.webhooks, timeout=60)

        total = int(options.rate * options.seconds)
        say(f"posting {total} events at {options.rate:g}/s for {options.seconds:g} s")
        cpu_before = cpu_snapshot(stack)
        depth = DepthSampler(stack).start()
        log = SendLog()
        started, sent_end = post_events(
            stack.api_url, secret, total, options.rate, options.senders, log
        )
        measured = {p.event_id for p in log.posted}
        want = len(measured) * options.webhooks

        def arrived() -> list[Any]:
            return [d for d in receiver.deliveries if d.event_id in measured]

        deadline = time.time() + options.drain_timeout
        while len(arrived()) < want and time.time() < deadline:
            time.sleep(0.1)
        drained = time.time()
        cpu_after = cpu_snapshot(stack)
        depth.stop()
        still_queued = queue_depth(stack)
        time.sleep(options.grace)
        deliveries = arrived()
        requests_seen = [r for r in receiver.requests if r.event_id in measured]
        created_at = fanout_times(stack.log_path("fanout-worker"))
        raw: dict[str, Any] | None = None
        if options.raw_messages:
            say(f"measuring raw SQS on the same moto server ({options.raw_messages} messages)")
            raw = measure_raw_sqs(stack, options.raw_messages, options.concurrency or 4)
        api.close()

    pairs = {(d.path, d.event_id) for d in deliveries}
    undelivered = want - len(pairs)
    fanned_out = sum(1 for p in log.posted if p.request_id in created_at)
    duplicated = sum(1 for r in requests_seen if r.duplicate)
    unverified = sum(1 for r in requests_seen if r.verified is not True)
    latencies = [d.latency_ms for d in deliveries if d.latency_ms is not None]
    to_queue, queue_to_receiver = [], []
    by_event = {p.event_id: p for p in log.posted}
    for d in deliveries:
        event = by_event.get(d.event_id or "")
        queued = None if event is None else created_at.get(event.request_id)
        if queued is None or event is None:
            continue
        to_queue.append((queued - event.created_at) * 1000)
        queue_to_receiver.append((d.received_at - queued) * 1000)
    first = min((p.created_at for p in log.posted), default=started)
    last = max((d.received_at for d in deliveries), default=drained)
    span = max(1e-9, last - first)
    cpu = {
        name: round(cpu_after[name] - cpu_before[name], 2)
        for name in cpu_after
        if name in cpu_before
    }
    window = max(1e-9, drained - started)
    p95_s = (percentile(latencies, 0.95) / 1000) if latencies else None
    return {
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "options": {
            "rate": options.rate,
            "seconds": options.seconds,
            "webhooks": options.webhooks,
            "senders": options.senders,
            "delivery_worker_concurrency": options.concurrency,
            "log_level": options.log_level,
            "analytics_worker": options.analytics,
            "drain_timeout": options.drain_timeout,
        },
        # The machine's 1-minute load average before the stack started (other work) and after.
        "load_average": f"{load_before:.1f} / {os.getloadavg()[0]:.1f}",
        "events": {
            "planned": total,
            "posted": len(log.posted),
            "post_errors": len(log.errors),
            "first_errors": log.errors[:5],
            "achieved_rate": round(len(log.posted) / max(1e-9, sent_end - started), 1),
            "post_ms": summary([p.post_ms for p in log.posted]),
            "sender_late_ms_max": round(max(log.late_s, default=0.0) * 1000, 1),
        },
        "deliveries": {
            "expected": want,
            "received": len(pairs),
            # Not received by the end of the run. When it did not drain, these include late
            # ones: still_queued_at_end and events_fanned_out tell where they were.
            "undelivered": undelivered,
            "drained": undelivered == 0,
            "still_queued_at_end": still_queued,
            "events_fanned_out": fanned_out,
            "queue_depth_max": depth.max,
            "duplicated": duplicated,
            "unverified": unverified,
            "requests": len(requests_seen),
            "per_second": round(len(pairs) / span, 1),
            "offered_per_second": round(options.rate * options.webhooks, 1),
            "drain_after_last_post_s": round(drained - sent_end, 2),
        },
        "latency_ms": summary(latencies),
        "event_to_fanout_done_ms": summary(to_queue),
        "fanout_done_to_received_ms": summary(queue_to_receiver),
        "raw_sqs": raw,
        "delivered_vs_raw_sqs_round_trip": None
        if raw is None
        else round((len(pairs) / span) / raw["round_trip_per_second"], 3),
        "cpu_seconds": cpu,
        "cpu_cores_busy": round(sum(cpu.values()) / window, 2),
        "window_s": round(window, 2),
        "target": {
            "p95_s": options.p95_target_s,
            "p95_met": p95_s is not None and p95_s < options.p95_target_s,
            "nothing_lost_or_duplicated": undelivered == 0 and duplicated == 0 and unverified == 0,
        },
    }


def table(result: dict[str, Any]) -> str:
    o, e, d = result["options"], result["events"], result["deliveries"]
    lat = result["latency_ms"]
    q1, q2 = result["event_to_fanout_done_ms"], result["fanout_done_to_received_ms"]
    raw = result["raw_sqs"]
    t = result["target"]

    def ms(s: dict[str, Any]) -> str:
        if s["p50"] is None:
            return "n/a"
        return f"{s['p50']:.0f} / {s['p95']:.0f} / {s['p99']:.0f} / {s['max']:.0f} ms"

    if d["drained"]:
        drain = f"all arrived {d['drain_after_last_post_s']} s after the last POST"
    else:
        drain = (
            f"NOT drained in {o['drain_timeout']:g} s: {d['still_queued_at_end']} messages "
            f"still queued, {d['events_fanned_out']} of {e['posted']} events fanned out"
        )
    rows = [
        ("load", f"{o['rate']:g} events/s x {o['seconds']:g} s, {o['webhooks']} webhooks"),
        (
            "events posted",
            f"{e['posted']} of {e['planned']} ({e['achieved_rate']}/s, {e['post_errors']} "
            f"errors), POST p50/p95 {e['post_ms']['p50']} / {e['post_ms']['p95']} ms",
        ),
        (
            "deliveries",
            f"{d['received']} of {d['expected']}; undelivered {d['undelivered']}, duplicated "
            f"{d['duplicated']}, unverified {d['unverified']}",
        ),
        ("drain", drain),
        (
            "deliveries/s",
            f"{d['per_second']} (offered {d['offered_per_second']}); delivery queue depth "
            f"max {d['queue_depth_max']}",
        ),
        ("end-to-end p50 / p95 / p99 / max", ms(lat)),
        ("  event -> fan-out batch done", ms(q1)),
        ("  fan-out batch done -> received", ms(q2)),
    ]
    if raw is not None:
        rows += [
            (
                "raw SQS, same moto (msgs/s)",
                f"send {raw['send_per_second']}; sent + received + deleted "
                f"{raw['round_trip_per_second']} ({raw['receivers']} receiving threads)",
            ),
            (
                "deliveries/s vs raw SQS round trip",
                f"{result['delivered_vs_raw_sqs_round_trip']}",
            ),
        ]
    rows.append(
        (
            "CPU cores busy (this stack)",
            f"{result['cpu_cores_busy']} over {result['window_s']} s "
            f"(machine load average before / after {result.get('load_average', '?')})",
        )
    )
    rows += [(f"  cpu s: {name}", f"{sec}") for name, sec in sorted(result["cpu_seconds"].items())]
    rows.append((f"target p95 < {t['p95_s']:g} s", "met" if t["p95_met"] else "MISSED"))
    rows.append(("nothing lost / duplicated", "yes" if t["nothing_lost_or_duplicated"] else "NO"))
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--rate", type=float, default=50.0, help="events per second")
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--webhooks", type=int, default=5)
    p.add_argument("--senders", type=int, default=8, help="POSTing threads")
    p.add_argument("--drain-timeout", type=float, default=120.0)
    p.add_argument("--raw-messages", type=int, default=2000, help="0: no raw SQS figure")
    p.add_argument("--concurrency", type=int, default=None, help="delivery worker pollers")
    p.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    p.add_argument("--no-analytics", action="store_true", help="leave out the stream worker")
    p.add_argument("--json", type=Path, default=None, help="where to write the figures")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    options = Options(
        rate=args.rate,
        seconds=args.seconds,
        webhooks=args.webhooks,
        senders=args.senders,
        drain_timeout=args.drain_timeout,
        raw_messages=args.raw_messages,
        concurrency=args.concurrency,
        log_level=args.log_level,
        analytics=not args.no_analytics,
    )
    stamp = time.strftime("%Y%m%d-%H%M%S")
    log_dir = RESULTS / f"webhook-delivery-{stamp}"
    out = args.json or RESULTS / f"webhook-delivery-{stamp}.json"

    def say(line: str) -> None:
        print(f"[webhook-delivery] {line}", file=sys.stderr, flush=True)

    set_level("WARNING")  # this process's own app logging (the key it creates), not the stack's

    result = run(options, log_dir, say)
    result["logs"] = str(log_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(table(result))
    say(f"figures: {out}")
    return 0 if result["target"]["nothing_lost_or_duplicated"] else 1


if __name__ == "__main__":
    sys.exit(main())
