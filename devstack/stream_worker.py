"""The local stand-in for Lambda's DynamoDB stream event-source mapping (``make run`` starts it).

``python -m devstack.stream_worker [--stage local] [--handler NAME]`` reads the events table's
stream from DynamoDB Local and calls the app's handler NAME (default ``events_stream``; the very
function Lambda calls in AWS) with Lambda-shaped events, one shard's records at a time. Each
instance is one event-source mapping: ``--handler webhook_fanout`` in a second process reads the
same stream independently, with its own position, as the fan-out's own mapping does in AWS.

* every shard of the table's latest stream, from TRIM_HORIZON; a child shard is read only once
  its parent is finished (parents before children, as Lambda does);
* ``batchItemFailures`` are honoured: the batch is re-delivered from the lowest failed sequence
  number, with backoff; after ``--max-retries`` the failing record is logged as dead-lettered
  and skipped, as bisect-on-error + a retry limit + an on-failure destination do in AWS;
* it survives DynamoDB Local restarts: on connection errors it backs off and, once the engine
  answers, re-discovers the table's ``LatestStreamArn`` and its shards (resuming after the last
  delivered sequence number when the stream is the same, from TRIM_HORIZON when it is new);
* SIGTERM/SIGINT stop it between two polls; it logs JSON lines.
"""

from __future__ import annotations

import argparse
import importlib
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError
from chalice.app import DynamoDBEventConfig

from chalicelib.observability.logging import logger
from chalicelib.settings import Settings
from chalicelib.stores.aws import dynamodb_client, dynamodb_streams_client, error_code
from devstack.stage_env import stop_on_signals, worker_settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient

Handler = Callable[[dict[str, Any]], Any]

HANDLER_NAME = "events_stream"  # the default handler
SHARD_REFRESH_SECONDS = 5.0
# Iterator problems that a fresh iterator from our last position fixes.
ITERATOR_ERRORS = frozenset(
    {"ExpiredIteratorException", "TrimmedDataAccessException", "ValidationException"}
)


@dataclass
class Shard:
    shard_id: str
    parent_id: str | None
    iterator: str | None = None
    last_sequence: str | None = None  # last record delivered (or dead-lettered)
    finished: bool = False


def lambda_record(record: Mapping[str, Any], stream_arn: str) -> dict[str, Any]:
    """A GetRecords record in the shape Lambda delivers it (epoch-seconds timestamps,
    ``eventSourceARN`` added)."""
    dynamodb = dict(record.get("dynamodb", {}))
    created = dynamodb.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        dynamodb["ApproximateCreationDateTime"] = created.timestamp()
    out: dict[str, Any] = {
        "eventID": record.get("eventID"),
        "eventName": record.get("eventName"),
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": record.get("eventSource", "aws:dynamodb"),
        "awsRegion": record.get("awsRegion"),
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    }
    if record.get("userIdentity"):
        out["userIdentity"] = dict(record["userIdentity"])
    return out


def _failed_from(response: Any, records: list[dict[str, Any]]) -> int | None:
    """Index of the first record to re-deliver according to ``batchItemFailures``."""
    if not isinstance(response, Mapping):
        return None
    failures = response.get("batchItemFailures") or []
    if not failures:
        return None
    sequences = [r["dynamodb"]["SequenceNumber"] for r in records]
    indexes = []
    for failure in failures:
        ident = failure.get("itemIdentifier") if isinstance(failure, Mapping) else None
        if ident not in sequences:
            return 0  # an empty or unknown identifier fails the whole batch, as in Lambda
        indexes.append(sequences.index(ident))
    return min(indexes)


class StreamWorker:
    def __init__(
        self,
        dynamodb: DynamoDBClient,
        streams: DynamoDBStreamsClient,
        table: str,
        handler: Handler,
        batch_size: int = 100,
        max_retries: int = 3,
        poll_interval: float = 0.25,
        retry_base: float = 0.2,
        stop: threading.Event | None = None,
    ) -> None:
        self._dynamodb = dynamodb
        self._streams = streams
        self._table = table
        self._handler = handler
        self._batch_size = batch_size
        self._max_retries = max_retries
        self._poll_interval = poll_interval
        self._retry_base = retry_base
        self.stop = stop or threading.Event()
        self.stream_arn: str | None = None
        self.shards: dict[str, Shard] = {}
        self.delivered = 0
        self.dead_lettered = 0
        self._last_refresh = 0.0

    # -- discovery ---------------------------------------------------------------------------
    def discover(self) -> bool:
        """Find the table's latest stream; reset the shards when it is a new one."""
        try:
            table = self._dynamodb.describe_table(TableName=self._table)["Table"]
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return False
            raise
        arn = table.get("LatestStreamArn")
        if not arn:
            return False
        if arn != self.stream_arn:
            if self.stream_arn is not None:
                logger.warning("stream changed", extra={"old": self.stream_arn, "new": arn})
            self.stream_arn, self.shards = arn, {}
            logger.info("reading stream", extra={"stream_arn": arn, "table": self._table})
        self.refresh_shards()
        return True

    def refresh_shards(self) -> None:
        assert self.stream_arn is not None
        start: str | None = None
        while True:
            kwargs: dict[str, Any] = {"StreamArn": self.stream_arn}
            if start:
                kwargs["ExclusiveStartShardId"] = start
            description = self._streams.describe_stream(**kwargs)["StreamDescription"]
            for shard in description.get("Shards", []):
                shard_id = shard["ShardId"]
                if shard_id not in self.shards:
                    self.shards[shard_id] = Shard(shard_id, shard.get("ParentShardId"))
                    logger.info("new shard", extra={"shard_id": shard_id})
            start = description.get("LastEvaluatedShardId")
            if not start:
                break
        self._last_refresh = time.monotonic()

    def _ready(self, shard: Shard) -> bool:
        parent = self.shards.get(shard.parent_id or "")
        return not shard.finished and (parent is None or parent.finished)

    def _iterator(self, shard: Shard) -> str | None:
        assert self.stream_arn is not None
        kwargs: dict[str, Any] = {"StreamArn": self.stream_arn, "ShardId": shard.shard_id}
        if shard.last_sequence is None:
            kwargs["ShardIteratorType"] = "TRIM_HORIZON"
        else:
            kwargs["ShardIteratorType"] = "AFTER_SEQUENCE_NUMBER"
            kwargs["SequenceNumber"] = shard.last_sequence
        try:
            return self._streams.get_shard_iterator(**kwargs).get("ShardIterator")
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                shard.finished = True  # trimmed away: nothing left to read
                return None
            raise

    # -- reading and delivering --------------------------------------------------------------
    def poll_once(self) -> int:
        """One pass over the ready shards; returns how many records were read."""
        due = (
            self.stream_arn is None or time.monotonic() - self._last_refresh > SHARD_REFRESH_SECONDS
        )
        if due and not self.discover():
            return 0
        read = 0
        for shard in list(self.shards.values()):
            if self.stop.is_set():
                break
            if not self._ready(shard):
                continue
            read += self._poll_shard(shard)
        return read

    def _poll_shard(self, shard: Shard) -> int:
        if shard.iterator is None:
            shard.iterator = self._iterator(shard)
            if shard.iterator is None:
                return 0
        try:
            resp = self._streams.get_records(ShardIterator=shard.iterator, Limit=self._batch_size)
        except ClientError as exc:
            if error_code(exc) in ITERATOR_ERRORS:
                shard.iterator = None  # take a fresh one after the last delivered record
                return 0
            raise
        records = [lambda_record(r, self.stream_arn or "") for r in resp.get("Records", [])]
        if records:
            self.deliver(records, shard)
        shard.iterator = resp.get("NextShardIterator")
        if shard.iterator is None:
            shard.finished = True
            logger.info("shard finished", extra={"shard_id": shard.shard_id})
        return len(records)

    def deliver(self, records: list[dict[str, Any]], shard: Shard) -> None:
        """Call the handler until every record is accepted or dead-lettered."""
        attempts = 0
        while records and not self.stop.is_set():
            response = self._handler({"Records": records})
            failed = _failed_from(response, records)
            done = records if failed is None else records[:failed]
            if done:
                self.delivered += len(done)
                shard.last_sequence = done[-1]["dynamodb"]["SequenceNumber"]
                attempts = 0
            if failed is None:
                return
            records = records[failed:]
            attempts += 1
            if attempts > self._max_retries:
                poison = records.pop(0)
                self.dead_lettered += 1
                shard.last_sequence = poison["dynamodb"]["SequenceNumber"]
                logger.error(
                    "stream record dead-lettered after retries",
                    extra={
                        "shard_id": shard.shard_id,
                        "sequence_number": shard.last_sequence,
                        "event_id": poison.get("eventID"),
                        "event_name": poison.get("eventName"),
                        "attempts": attempts,
                    },
                )
                attempts = 0
                continue
            self.stop.wait(self._retry_base * 2 ** (attempts - 1))

    def forget_iterators(self) -> None:
        """Iterators die with the engine: re-discover, then resume after each shard's position."""
        for shard in self.shards.values():
            shard.iterator = None
        self._last_refresh = 0.0

    def run(self) -> None:
        backoff = self._poll_interval
        while not self.stop.is_set():
            try:
                read = self.poll_once()
                backoff = self._poll_interval
            except (BotoCoreError, ClientError) as exc:
                # DynamoDB Local restarting, or the table being recreated: look again later.
                logger.warning(
                    "stream read failed; retrying", extra={"error": f"{type(exc).__name__}: {exc}"}
                )
                self.forget_iterators()
                self.stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            if read == 0:
                self.stop.wait(self._poll_interval)


def streams_endpoint(env: Mapping[str, str]) -> str | None:
    """boto3 reads ``AWS_ENDPOINT_URL_DYNAMODB_STREAMS``; accept the unseparated spelling
    ``AWS_ENDPOINT_URL_DYNAMODBSTREAMS`` too (checked second), and fall back to the DynamoDB
    endpoint (DynamoDB Local serves streams on the same port)."""
    for name in (
        "AWS_ENDPOINT_URL_DYNAMODB_STREAMS",
        "AWS_ENDPOINT_URL_DYNAMODBSTREAMS",
        "AWS_ENDPOINT_URL_DYNAMODB",
    ):
        if env.get(name):
            return env[name]
    return None


def app_handler(name: str = HANDLER_NAME) -> Handler:
    """The handler ``app.py`` registers as ``name`` with ``on_dynamodb_record`` (chalice's
    wrapper included)."""
    module = importlib.import_module("app")
    stream_handlers = {
        source.name
        for source in module.app.event_sources
        if isinstance(source, DynamoDBEventConfig)
    }
    if name not in stream_handlers:
        known = ", ".join(sorted(stream_handlers)) or "none"
        raise SystemExit(f"app.py registers no stream handler {name!r} (known: {known})")
    wrapped = getattr(module, name)
    return lambda event: wrapped(event, None)


def build(settings: Settings, handler: Handler, **options: Any) -> StreamWorker:
    endpoint = streams_endpoint(os.environ)
    if endpoint is None:
        raise SystemExit("no DynamoDB endpoint: run `make run`, or set AWS_ENDPOINT_URL_DYNAMODB")
    return StreamWorker(
        dynamodb_client(settings),
        dynamodb_streams_client(settings, endpoint_url=endpoint),
        settings.events_table,
        handler,
        **options,
    )


def _handler_name(value: str) -> str:
    if not value.isidentifier():
        raise argparse.ArgumentTypeError(f"{value!r} is not a handler name (a Python identifier)")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", default="local")
    parser.add_argument(
        "--handler",
        type=_handler_name,
        default=HANDLER_NAME,
        help=f"the app.py stream handler to call (default {HANDLER_NAME})",
    )
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--max-retries", type=int, default=3)
    parser.add_argument("--poll-interval", type=float, default=0.25)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    settings = worker_settings(args.stage, "stream worker")
    worker = build(
        settings,
        app_handler(args.handler),
        batch_size=args.batch_size,
        max_retries=args.max_retries,
        poll_interval=args.poll_interval,
    )
    stop_on_signals(worker.stop)
    logger.info(
        "stream worker started", extra={"table": settings.events_table, "handler": args.handler}
    )
    worker.run()
    logger.info(
        "stream worker stopped",
        extra={
            "handler": args.handler,
            "delivered": worker.delivered,
            "dead_lettered": worker.dead_lettered,
        },
    )


if __name__ == "__main__":
    main()
