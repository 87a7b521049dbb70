"""The raw engine's figure: boto3 PutItem straight into DynamoDB Local, no API in between.

Measured in the same run and on the same engine as the API, in a private database of its own
(another access key) holding the same events table definition (stream and indexes included),
with items shaped exactly as the API writes them. DynamoDB Local, not the API, is the local
ceiling, so the API's single-event throughput is judged against this number.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass

import boto3

from chalicelib.domain.events import EventDraft, canonical_json
from chalicelib.services.events import EventService
from chalicelib.settings import Settings
from chalicelib.stores.aws import dynamodb_client
from chalicelib.stores.events import EventStore, new_event_item
from chalicelib.stores.schema import create_table
from chalicelib.stores.tables import events_table


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


def measure_put_item(endpoint: str, settings: Settings, threads: int, seconds: float) -> RawFigure:
    """PutItem (conditional, like the API's) from ``threads`` threads for ``seconds``."""
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
    draft = EventDraft(
        "billing",
        "invoice.paid",
        canonical_json({"amount_cents": 1299}),
        {"priority": "normal"},
        None,
    )
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def work() -> None:
        mine = []
        while time.monotonic() < deadline:
            item = new_event_item(service.placed(service.new_event("raw", draft)))
            started = time.perf_counter()
            client.put_item(
                TableName=settings.events_table,
                Item=item,
                ConditionExpression="attribute_not_exists(pk)",
            )
            mine.append((time.perf_counter() - started) * 1000)
        with lock:
            latencies.extend(mine)

    started = time.monotonic()
    workers = [threading.Thread(target=work) for _ in range(max(1, threads))]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.monotonic() - started
    ordered = sorted(latencies) or [0.0]
    return RawFigure(
        threads=max(1, threads),
        seconds=elapsed,
        items=len(latencies),
        p50_ms=ordered[len(ordered) // 2],
        p95_ms=ordered[max(0, int(len(ordered) * 0.95) - 1)],
    )
