"""The raw engine's figures: boto3 PutItem (and BatchWriteItem of 25) straight into DynamoDB
Local, no API in between.

Measured in the same run and on the same engine as the API, in a private database of its own
(another access key) holding the same events table definition (stream and indexes included),
with items shaped exactly as the API writes them. DynamoDB Local, not the API, is the local
ceiling, so the API's single-event throughput is judged against this number.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3

from chalicelib.domain.events import EventDraft, canonical_json
from chalicelib.services.events import EventService
from chalicelib.settings import Settings
from chalicelib.stores.aws import dynamodb_client
from chalicelib.stores.events import EventStore, new_event_item
from chalicelib.stores.schema import create_table
from chalicelib.stores.tables import events_table

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

DRAFT = EventDraft(
    "billing",
    "invoice.paid",
    canonical_json({"amount_cents": 1299}),
    {"priority": "normal"},
    None,
)


@dataclass(frozen=True)
class RawFigure:
    threads: int
    seconds: float
    items: int
    p50_ms: float
    p95_ms: float

    @property
    def items_per_second(self) -> float:
        return self.items / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, float]:
        return {
            "threads": self.threads,
            "seconds": round(self.seconds, 2),
            "items": self.items,
            "items_per_second": round(self.items_per_second, 1),
            "p50_ms": round(self.p50_ms, 2),
            "p95_ms": round(self.p95_ms, 2),
        }


BATCH_SIZE = 25  # BatchWriteItem's limit, and the API's bulk request's


def _private_events(endpoint: str, settings: Settings) -> tuple[DynamoDBClient, EventService]:
    """A client on a private database (another access key) holding the events table, and the
    service that shapes items exactly as the API writes them."""
    session = boto3.Session(
        aws_access_key_id="raw" + uuid.uuid4().hex[:12],
        aws_secret_access_key="local",
        region_name=settings.region,
    )
    client = dynamodb_client(settings, session=session, endpoint_url=endpoint)
    create_table(client, events_table(settings))
    service = EventService(
        EventStore(client, settings.events_table, settings.idempotency_table),
        settings.inbox_shards,
        settings.event_retention_days,
        settings.idempotency_ttl_seconds,
    )
    return client, service


def _run(threads: int, seconds: float, call: Callable[[], int]) -> RawFigure:
    """``call`` (which returns how many items it wrote) in a loop on ``threads`` threads for
    ``seconds``; each call's time is a latency sample."""
    latencies: list[float] = []
    counts: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def work() -> None:
        mine: list[float] = []
        written = 0
        try:
            while time.monotonic() < deadline:
                started = time.perf_counter()
                written += call()
                mine.append((time.perf_counter() - started) * 1000)
        except BaseException as exc:
            errors.append(exc)
        with lock:
            latencies.extend(mine)
            counts.append(written)

    started = time.monotonic()
    workers = [threading.Thread(target=work) for _ in range(max(1, threads))]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.monotonic() - started
    if errors:
        raise errors[0]
    ordered = sorted(latencies) or [0.0]
    return RawFigure(
        threads=max(1, threads),
        seconds=elapsed,
        items=sum(counts),
        p50_ms=ordered[len(ordered) // 2],
        p95_ms=ordered[max(0, int(len(ordered) * 0.95) - 1)],
    )


def measure_put_item(endpoint: str, settings: Settings, threads: int, seconds: float) -> RawFigure:
    """PutItem (conditional, like the API's) from ``threads`` threads for ``seconds``."""
    client, service = _private_events(endpoint, settings)

    def put() -> int:
        item = new_event_item(service.placed(service.new_event("raw", DRAFT)))
        client.put_item(
            TableName=settings.events_table,
            Item=item,
            ConditionExpression="attribute_not_exists(pk)",
        )
        return 1

    return _run(threads, seconds, put)


def measure_batch_write(
    endpoint: str, settings: Settings, threads: int, seconds: float
) -> RawFigure:
    """BatchWriteItem of 25 new API-shaped event items per call (the bulk create's one call),
    from ``threads`` threads for ``seconds``; unprocessed items are sent again at once (counted
    only when written). ``items`` counts items written; a latency sample is one 25-item batch."""
    client, service = _private_events(endpoint, settings)
    table = settings.events_table

    def batch() -> int:
        requests: list[Any] = [
            {
                "PutRequest": {
                    "Item": new_event_item(service.placed(service.new_event("raw", DRAFT)))
                }
            }
            for _ in range(BATCH_SIZE)
        ]
        written = 0
        while requests:
            resp = client.batch_write_item(RequestItems={table: requests})
            left = resp.get("UnprocessedItems", {}).get(table, [])
            written += len(requests) - len(left)
            requests = list(left)
        return written

    return _run(threads, seconds, batch)
