"""The local delivery worker on a real moto server (devstack/sqs_local.py), as Lambda's SQS
event-source mapping: Lambda-shaped events through chalice's own SQS wrapper,
ReportBatchItemFailures semantics, visibility, concurrency, stopping, and moto going away and
coming back.

Each test gets its own pair of queues (a fresh "stage" name) on the session's moto server.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from chalice import Chalice
from chalice.app import DynamoDBEventConfig, SQSEvent, SQSEventConfig

from chalicelib.settings import Settings
from chalicelib.stores.queues import QueueUrls, ensure_queues, queue_arn
from devstack import delivery_worker, stream_worker
from devstack.delivery_worker import DeliveryWorker
from devstack.ports import free_port
from devstack.sqs_local import SqsLocal
from devstack.stack import WORKERS
from devstack.stage_env import stage_environment
from tests.conftest import TEST_ENV
from tests.integration.conftest import local_sqs

ROOT = Path(__file__).resolve().parents[2]


class Recorder:
    """A delivery handler behind chalice's own SQS wrapper (what Lambda calls): it keeps every
    event and answers what ``decide`` says (default: all delivered)."""

    def __init__(self, decide: Callable[[list[Any]], dict[str, Any]] | None = None) -> None:
        self.events: list[dict[str, Any]] = []
        self.decide = decide or (lambda records: {"batchItemFailures": []})
        self.lock = threading.Lock()
        app = Chalice("recorder")

        @app.on_sqs_message(queue="q", batch_size=10, name="deliveries")
        def deliveries(event: SQSEvent) -> dict[str, Any]:
            records = list(event)  # chalice's SQSRecord: body, receipt_handle
            assert all(isinstance(r.body, str) and r.receipt_handle for r in records)
            with self.lock:
                self.events.append(event.to_dict())
            return self.decide([r.to_dict() for r in records])

        self.wrapped = deliveries

    def __call__(self, event: dict[str, Any]) -> Any:
        return self.wrapped(event, None)

    @property
    def records(self) -> list[dict[str, Any]]:
        with self.lock:
            return [r for e in self.events for r in e["Records"]]


def send(sqs: Any, url: str, n: int, **kwargs: Any) -> list[str]:
    return [
        sqs.send_message(QueueUrl=url, MessageBody=f'{{"n":{i}}}', **kwargs)["MessageId"]
        for i in range(n)
    ]


def counts(sqs: Any, url: str) -> tuple[int, int]:
    """(visible, in flight) messages of the queue."""
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return int(attributes[names[0]]), int(attributes[names[1]])


def worker(sqs: Any, url: str, handler: Any, **options: Any) -> DeliveryWorker:
    options.setdefault("retry_base", 0.05)
    options.setdefault("max_backoff", 0.2)
    return DeliveryWorker(sqs, url, handler, **options)


def drain(w: DeliveryWorker, want: int, timeout: float = 20.0) -> None:
    """Poll until ``want`` messages in all have been received."""
    deadline, seen = time.monotonic() + timeout, 0
    while seen < want:
        assert time.monotonic() < deadline, f"received {seen} of {want}"
        seen += w.poll_once()


def wait_for(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_messages_arrive_in_lambda_shape_and_successes_are_deleted(
    sqs: Any, queues: QueueUrls
) -> None:
    attributes = {
        "attempt": {"DataType": "Number", "StringValue": "1"},
        "webhook_id": {"DataType": "String", "StringValue": "wh_1"},
    }
    ids = send(sqs, queues.queue_url, 3, MessageAttributes=attributes)
    recorder = Recorder()
    w = worker(sqs, queues.queue_url, recorder)
    drain(w, 3)
    records = {r["messageId"]: r for r in recorder.records}
    assert set(records) == set(ids)
    arn = queue_arn(sqs, queues.queue_url)
    for record in records.values():
        assert record["eventSource"] == "aws:sqs"
        assert record["eventSourceARN"] == arn
        assert record["awsRegion"] == "us-east-1"
        assert record["md5OfBody"] == hashlib.md5(record["body"].encode()).hexdigest()  # noqa: S324
        assert record["receiptHandle"]
        system = record["attributes"]
        assert system["ApproximateReceiveCount"] == "1"
        for name in ("SentTimestamp", "ApproximateFirstReceiveTimestamp"):
            assert isinstance(system[name], str)
            assert system[name].isdigit()
        assert record["messageAttributes"]["webhook_id"] == {
            "stringValue": "wh_1",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        }
        assert record["messageAttributes"]["attempt"]["dataType"] == "Number"
    assert counts(sqs, queues.queue_url) == (0, 0)  # every success deleted
    assert w.counts.deleted == 3
    assert w.counts.failed == 0


def test_reported_failures_stay_and_come_back_after_their_visibility(
    sqs: Any, queues: QueueUrls
) -> None:
    ids = send(sqs, queues.queue_url, 4)
    failing = set(ids[1:3])

    def decide(records: list[dict[str, Any]]) -> dict[str, Any]:
        # As the delivery handler does: schedule the retry, then report the message failed.
        failures = []
        for record in records:
            first_try = record["attributes"]["ApproximateReceiveCount"] == "1"
            if record["messageId"] in failing and first_try:
                sqs.change_message_visibility(
                    QueueUrl=queues.queue_url,
                    ReceiptHandle=record["receiptHandle"],
                    VisibilityTimeout=1,
                )
                failures.append({"itemIdentifier": record["messageId"]})
        return {"batchItemFailures": failures}

    recorder = Recorder(decide)
    w = worker(sqs, queues.queue_url, recorder)
    drain(w, 4)
    assert counts(sqs, queues.queue_url) == (0, 2)  # the two failures wait, invisible
    assert w.counts.deleted == 2
    assert w.counts.failed == 2
    first = len(recorder.records)
    drain(w, 2)  # back after their one-second visibility
    again = recorder.records[first:]
    assert {r["messageId"] for r in again} == failing
    assert {r["attributes"]["ApproximateReceiveCount"] for r in again} == {"2"}
    assert counts(sqs, queues.queue_url) == (0, 0)


def test_a_handler_exception_keeps_the_whole_batch(sqs: Any, queues: QueueUrls) -> None:
    ids = send(sqs, queues.queue_url, 3)

    def explode(records: list[dict[str, Any]]) -> dict[str, Any]:
        raise RuntimeError("receiver lookup failed")

    recorder = Recorder(explode)
    w = worker(sqs, queues.queue_url, recorder)
    drain(w, 3)
    assert w.counts.handler_errors >= 1
    assert w.counts.deleted == 0
    assert counts(sqs, queues.queue_url) == (0, 3)  # in flight until the queue's visibility ends
    # Make them visible now instead of in 6 minutes: the same messages come back.
    sqs.change_message_visibility_batch(
        QueueUrl=queues.queue_url,
        Entries=[
            {"Id": str(n), "ReceiptHandle": r["receiptHandle"], "VisibilityTimeout": 0}
            for n, r in enumerate(recorder.records)
        ],
    )
    recorder.decide = lambda records: {}
    before = len(recorder.records)
    drain(w, 3)
    assert {r["messageId"] for r in recorder.records[before:]} == set(ids)
    assert counts(sqs, queues.queue_url) == (0, 0)


def test_an_unknown_item_identifier_fails_the_whole_batch(sqs: Any, queues: QueueUrls) -> None:
    send(sqs, queues.queue_url, 2)
    recorder = Recorder(lambda records: {"batchItemFailures": [{"itemIdentifier": "nope"}]})
    w = worker(sqs, queues.queue_url, recorder)
    drain(w, 2)
    assert w.counts.deleted == 0
    assert counts(sqs, queues.queue_url) == (0, 2)


def test_concurrent_pollers_handle_batches_at_the_same_time(sqs: Any, queues: QueueUrls) -> None:
    ids = send(sqs, queues.queue_url, 24)
    in_flight, peak = 0, 0
    lock = threading.Lock()

    def slow(records: list[dict[str, Any]]) -> dict[str, Any]:
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        time.sleep(0.3)
        with lock:
            in_flight -= 1
        return {"batchItemFailures": []}

    recorder = Recorder(slow)
    w = worker(sqs, queues.queue_url, recorder, concurrency=4, batch_size=2)
    runner = threading.Thread(target=w.run)
    runner.start()
    try:
        wait_for(lambda: w.counts.deleted >= 24)
    finally:
        w.stop.set()
        runner.join(timeout=10)
    assert not runner.is_alive()
    # Every message was handled. A standard queue delivers at least once: moto's concurrent
    # receives handed one message to two pollers once, with three test suites loading the machine.
    assert {r["messageId"] for r in recorder.records} == set(ids)
    assert all(len(e["Records"]) <= 2 for e in recorder.events)
    assert peak > 1
    assert counts(sqs, queues.queue_url) == (0, 0)


def test_stop_is_prompt_while_long_polling(sqs: Any, queues: QueueUrls) -> None:
    w = worker(sqs, queues.queue_url, Recorder(), concurrency=3)
    runner = threading.Thread(target=w.run)
    runner.start()
    time.sleep(1.5)  # every poller is in a long poll
    started = time.monotonic()
    w.stop.set()
    runner.join(timeout=10)
    assert not runner.is_alive()
    assert time.monotonic() - started < 2.5  # one long poll (1 s) and change


def test_it_survives_moto_going_away_and_coming_back(
    tmp_path: Path, test_settings: Settings
) -> None:
    port = free_port()
    server = SqsLocal(port, log_path=str(tmp_path / "moto.log")).start()
    client = local_sqs(test_settings, server.endpoint)
    try:
        urls = ensure_queues(client, "restart")
        recorder = Recorder()
        w = worker(client, urls.queue_url, recorder, concurrency=2)
        runner = threading.Thread(target=w.run)
        runner.start()
        try:
            send(client, urls.queue_url, 1)
            wait_for(lambda: w.counts.deleted == 1)
            server.stop()  # everything in moto is gone, queues included
            time.sleep(1.0)  # the pollers fail and back off
            assert runner.is_alive()
            server = SqsLocal(port, log_path=str(tmp_path / "moto.log")).start()
            assert ensure_queues(client, "restart") == urls  # same names, same URLs
            send(client, urls.queue_url, 2)
            wait_for(lambda: w.counts.deleted == 3)
        finally:
            w.stop.set()
            runner.join(timeout=10)
        assert not runner.is_alive()
        assert len(recorder.records) == 3
    finally:
        server.stop()


def test_the_worker_process_runs_the_apps_handler_and_stops_on_sigterm(
    moto: SqsLocal, queues: QueueUrls, tmp_path: Path
) -> None:
    """``python -m devstack.delivery_worker`` finds app.py's webhook_deliveries, polls the queue
    it is given and exits 0 on SIGTERM (the queue is empty, so the handler is never called)."""
    env = {
        **os.environ,
        **stage_environment("local"),
        **TEST_ENV,
        "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:9",  # never used: nothing to deliver
        "AWS_ENDPOINT_URL_SQS": moto.endpoint,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": "us-east-1",
        "WEBHOOK_QUEUE_URL": queues.queue_url,
        "WEBHOOK_DLQ_URL": queues.dlq_url,
    }
    log = tmp_path / "delivery-worker.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "devstack.delivery_worker", "--concurrency", "2"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: "delivery worker started" in log.read_text(), timeout=60)
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = log.read_text()
    assert queues.queue_url in text
    assert "delivery worker stopped" in text


@pytest.fixture
def app_module(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """The real app.py (importing it builds the runtime; nothing connects until used)."""
    for name, value in {**stage_environment("local"), **TEST_ENV}.items():
        monkeypatch.setenv(name, value)
    sys.modules.pop("app", None)
    yield importlib.import_module("app")
    sys.modules.pop("app", None)


def test_every_event_source_of_the_app_has_its_local_worker(app_module: ModuleType) -> None:
    """WORKERS covers what app.py registers: one stream worker per stream handler, the delivery
    worker for the SQS handler, at the batch size Lambda will use."""
    app = app_module.app
    streams = {s.name for s in app.event_sources if isinstance(s, DynamoDBEventConfig)}
    (queue,) = [s for s in app.event_sources if isinstance(s, SQSEventConfig)]
    assert streams == {"events_stream", "webhook_fanout"}
    by_module: dict[str, list[Any]] = {}
    for w in WORKERS:
        by_module.setdefault(w.args[1], []).append(w.args[2:])
    assert {
        stream_worker.parse_args(list(a)).handler for a in by_module["devstack.stream_worker"]
    } == streams
    (delivery_args,) = by_module["devstack.delivery_worker"]
    options = delivery_worker.parse_args(list(delivery_args))
    assert options.handler == queue.name == "webhook_deliveries"
    assert options.batch_size == queue.batch_size == app_module.WEBHOOK_BATCH_SIZE
    for name in streams:
        assert callable(stream_worker.app_handler(name))
    assert callable(delivery_worker.app_handler(queue.name))
    with pytest.raises(SystemExit):
        stream_worker.app_handler("webhook_deliveries")  # an SQS handler, not a stream one
    with pytest.raises(SystemExit):
        delivery_worker.app_handler("events_stream")
