"""The local stand-in for Lambda's SQS event-source mapping on the webhook delivery queue
(``make run`` starts it).

``python -m devstack.delivery_worker [--stage local] [--concurrency 4]`` long-polls the delivery
queue on the local stack's moto server and calls the app's ``webhook_deliveries`` handler (the
very function Lambda calls in AWS) with Lambda-shaped SQS events, as the mapping does:

* up to ``--batch-size`` (10) messages per batch, ``--concurrency`` (4) batches at a time, each
  from its own poller thread (Lambda runs concurrent batches too);
* ``batchItemFailures`` are honoured (ReportBatchItemFailures): every message not reported as
  failed is deleted (DeleteMessageBatch), reported ones stay in the queue and come back when their
  visibility timeout ends (the handler sets it with ChangeMessageVisibility to schedule a
  retry). A null or empty answer is a success; an answer that is not an object, or names an
  empty or unknown ``itemIdentifier``, fails the whole batch, as in Lambda;
* a handler exception leaves the whole batch in the queue (logged), as a function error does;
* it survives moto restarts: on connection or queue errors each poller backs off (up to 5 s) and
  tries again;
* SIGTERM/SIGINT stop it: each poller finishes the batch in hand (so its successes are
  deleted) and stops within one long poll (1 s); it logs JSON lines.
"""

from __future__ import annotations

import argparse
import base64
import importlib
import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError
from chalice.app import SQSEventConfig

from chalicelib.observability.logging import logger
from chalicelib.settings import Settings
from chalicelib.stores.aws import sqs_client
from devstack.stage_env import stop_on_signals, worker_settings

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import DeleteMessageBatchRequestEntryTypeDef, MessageTypeDef

Handler = Callable[[dict[str, Any]], Any]

HANDLER_NAME = "webhook_deliveries"
BATCH_SIZE = 10  # app.py's WEBHOOK_BATCH_SIZE; SQS's maximum per ReceiveMessage
CONCURRENCY = 4
WAIT_SECONDS = 1  # long poll; below the SQS client's read timeout (settings.aws_read_timeout)
MAX_BACKOFF_SECONDS = 5.0


def lambda_message_attributes(attributes: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """ReceiveMessage's ``MessageAttributes`` in Lambda's shape (camelCase, binary as base64)."""

    def b64(value: bytes) -> str:
        return base64.b64encode(value).decode("ascii")

    out: dict[str, dict[str, Any]] = {}
    for name, value in attributes.items():
        item: dict[str, Any] = {
            "stringListValues": list(value.get("StringListValues", [])),
            "binaryListValues": [b64(v) for v in value.get("BinaryListValues", [])],
            "dataType": value["DataType"],
        }
        if "StringValue" in value:
            item["stringValue"] = value["StringValue"]
        if "BinaryValue" in value:
            item["binaryValue"] = b64(value["BinaryValue"])
        out[name] = item
    return out


def lambda_record(message: MessageTypeDef, queue_arn: str) -> dict[str, Any]:
    """One received message as a record of Lambda's SQS event."""
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {k: str(v) for k, v in message.get("Attributes", {}).items()},
        "messageAttributes": lambda_message_attributes(message.get("MessageAttributes", {})),
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": queue_arn.split(":")[3],
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def failed_message_ids(response: Any, message_ids: Sequence[str]) -> set[str]:
    """The messages Lambda leaves in the queue after ``response`` (ReportBatchItemFailures)."""
    everything = set(message_ids)
    if response is None:
        return set()
    if not isinstance(response, Mapping):
        return everything
    failures = response.get("batchItemFailures")
    if not failures:
        return set()
    if not isinstance(failures, list):
        return everything
    failed = set()
    for failure in failures:
        ident = failure.get("itemIdentifier") if isinstance(failure, Mapping) else None
        if not isinstance(ident, str) or ident not in everything:
            return everything  # empty, null or unknown: the whole batch failed
        failed.add(ident)
    return failed


@dataclass
class Counts:
    batches: int = 0
    deleted: int = 0  # messages the handler accepted
    failed: int = 0  # messages it reported as failed (left in the queue)
    handler_errors: int = 0  # batches left in the queue because the handler raised


class DeliveryWorker:
    def __init__(
        self,
        sqs: SQSClient,
        queue_url: str,
        handler: Handler,
        concurrency: int = CONCURRENCY,
        batch_size: int = BATCH_SIZE,
        wait_seconds: int = WAIT_SECONDS,
        retry_base: float = 0.25,
        max_backoff: float = MAX_BACKOFF_SECONDS,
        stop: threading.Event | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if not 1 <= batch_size <= 10:
            raise ValueError("batch_size must be between 1 and 10 (SQS's maximum)")
        self._sqs = sqs
        self.queue_url = queue_url
        self._handler = handler
        self.concurrency = concurrency
        self._batch_size = batch_size
        self._wait_seconds = wait_seconds
        self._retry_base = retry_base
        self._max_backoff = max_backoff
        self.stop = stop or threading.Event()
        self.counts = Counts()
        self._lock = threading.Lock()
        self._queue_arn: str | None = None
        self.crashed = False  # a poller died of an unexpected error (then all stop)

    # -- one batch ---------------------------------------------------------------------------
    def queue_arn(self) -> str:
        """The queue's ARN (``eventSourceARN``), looked up once per (re)connection."""
        if self._queue_arn is None:
            attributes = self._sqs.get_queue_attributes(
                QueueUrl=self.queue_url, AttributeNames=["QueueArn"]
            )["Attributes"]
            self._queue_arn = attributes["QueueArn"]
        return self._queue_arn

    def poll_once(self) -> int:
        """Receive one batch, hand it to the handler and delete what it accepted; return how
        many messages were received."""
        arn = self.queue_arn()
        received = self._sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self._batch_size,
            WaitTimeSeconds=self._wait_seconds,
            AttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = received.get("Messages", [])
        if messages:
            self.deliver([lambda_record(m, arn) for m in messages])
        return len(messages)

    def deliver(self, records: list[dict[str, Any]]) -> None:
        """Call the handler with one Lambda SQS event and settle its messages."""
        try:
            response = self._handler({"Records": records})
        except Exception:  # noqa: BLE001 - any function error leaves the batch, as in Lambda
            logger.exception(
                "delivery handler failed; the batch stays in the queue",
                extra={"messages": len(records), "queue_url": self.queue_url},
            )
            self._add(batches=1, handler_errors=1)
            return
        failed = failed_message_ids(response, [r["messageId"] for r in records])
        accepted = [r for r in records if r["messageId"] not in failed]
        self._delete(accepted)
        self._add(batches=1, deleted=len(accepted), failed=len(records) - len(accepted))
        if failed:
            logger.info(
                "delivery messages left for retry",
                extra={"failed": len(failed), "messages": len(records)},
            )

    def _delete(self, records: Iterable[dict[str, Any]]) -> None:
        entries: list[DeleteMessageBatchRequestEntryTypeDef] = [
            {"Id": str(n), "ReceiptHandle": r["receiptHandle"]} for n, r in enumerate(records)
        ]
        if not entries:
            return
        answer = self._sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
        for failure in answer.get("Failed", []):
            # The message comes back after its visibility timeout: delivered twice, as Lambda
            # would in the same case (at-least-once).
            logger.warning(
                "delete of a delivered message failed",
                extra={"code": failure.get("Code"), "error": failure.get("Message")},
            )

    def _add(self, **counts: int) -> None:
        with self._lock:
            for name, n in counts.items():
                setattr(self.counts, name, getattr(self.counts, name) + n)

    # -- the pollers -------------------------------------------------------------------------
    def poll(self, poller: int = 0) -> None:
        """One poller: batches until :attr:`stop` is set, backing off while SQS is away. An
        unexpected error (a bug here, not in the handler) stops every poller."""
        try:
            self._poll(poller)
        except Exception:  # noqa: BLE001 - logged, and it stops the worker (exit code 1)
            logger.exception("delivery poller crashed; stopping", extra={"poller": poller})
            self.crashed = True
            self.stop.set()

    def _poll(self, poller: int) -> None:
        backoff = self._retry_base
        while not self.stop.is_set():
            try:
                received = self.poll_once()
            except (BotoCoreError, ClientError) as exc:
                if self.stop.is_set():
                    break  # stopping with the stack: moto may already be gone
                # moto restarting, or its queues not created again yet: look again later.
                logger.warning(
                    "delivery queue read failed; retrying",
                    extra={
                        "poller": poller,
                        "error": f"{type(exc).__name__}: {exc}",
                        "retry_in": backoff,
                    },
                )
                self._queue_arn = None
                self.stop.wait(backoff)
                backoff = min(backoff * 2, self._max_backoff)
                continue
            backoff = self._retry_base
            if received == 0 and self._wait_seconds == 0:
                self.stop.wait(0.1)  # no long poll to pace us

    def run(self) -> None:
        """Run :attr:`concurrency` pollers until :attr:`stop` is set."""
        threads = [
            threading.Thread(target=self.poll, args=(n,), name=f"delivery-poller-{n}", daemon=True)
            for n in range(self.concurrency)
        ]
        for thread in threads:
            thread.start()
        try:
            for thread in threads:
                thread.join()
        finally:
            self.stop.set()
            for thread in threads:
                thread.join()


def app_handler(name: str = HANDLER_NAME) -> Handler:
    """The handler ``app.py`` registers as ``name`` with ``on_sqs_message`` (chalice's wrapper
    included)."""
    module = importlib.import_module("app")
    queue_handlers = {s.name for s in module.app.event_sources if isinstance(s, SQSEventConfig)}
    if name not in queue_handlers:
        known = ", ".join(sorted(queue_handlers)) or "none"
        raise SystemExit(f"app.py registers no SQS handler {name!r} (known: {known})")
    wrapped = getattr(module, name)
    return lambda event: wrapped(event, None)


def build(settings: Settings, handler: Handler, **options: Any) -> DeliveryWorker:
    if not os.environ.get("AWS_ENDPOINT_URL_SQS"):
        raise SystemExit("no SQS endpoint: run `make run`, or set AWS_ENDPOINT_URL_SQS")
    if not settings.webhook_queue_url:
        raise SystemExit("no delivery queue: run `make run`, or set WEBHOOK_QUEUE_URL")
    return DeliveryWorker(sqs_client(settings), settings.webhook_queue_url, handler, **options)


def _at_least_one(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", default="local")
    parser.add_argument("--handler", default=HANDLER_NAME)
    parser.add_argument("--concurrency", type=_at_least_one, default=CONCURRENCY)
    parser.add_argument("--batch-size", type=int, choices=range(1, 11), default=BATCH_SIZE)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    settings = worker_settings(args.stage, "delivery worker")
    worker = build(
        settings,
        app_handler(args.handler),
        concurrency=args.concurrency,
        batch_size=args.batch_size,
    )
    stop_on_signals(worker.stop)
    logger.info(
        "delivery worker started",
        extra={"queue_url": worker.queue_url, "concurrency": worker.concurrency},
    )
    worker.run()
    counts = worker.counts
    logger.info(
        "delivery worker stopped",
        extra={
            "batches": counts.batches,
            "deleted": counts.deleted,
            "failed": counts.failed,
            "handler_errors": counts.handler_errors,
        },
    )
    if worker.crashed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
