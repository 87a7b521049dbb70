"""The webhook fan-out: events-table stream records -> one queued delivery per (event, webhook).

Lambda calls it through its own event-source mapping on the events stream (beside the analytics
handler, so neither holds the other back); locally a second stream worker does. For every new
event (an INSERT) it reads the tenant's active webhooks (one Query per tenant per batch), keeps
those whose filters pass, and for each stores a delivery whose id is fixed by the event
(``msg_`` + its ULID) with a conditional put, then queues a message for it.

Once the queue has taken a delivery's message, the delivery is marked ``queued_at``. Redelivered
records (Lambda retries, bisect) find their delivery stored: it is queued again only when it was
never marked queued and never attempted (its message was refused, or the fan-out stopped before
marking it); should that make a second message, the delivery worker's claim lets only one copy
attempt it. A record whose work fails (storage or SQS) is reported, with every record after it,
for Lambda to deliver again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain.analytics import PoisonRecord
from chalicelib.domain.webhooks import (
    DELIVERY_PENDING,
    KIND_EVENT,
    Delivery,
    DeliveryMessage,
    Webhook,
    delivery_id_for_event,
)
from chalicelib.observability import metrics
from chalicelib.observability.logging import logger
from chalicelib.stores.errors import StoreError
from chalicelib.stores.protocols import DeliveryQueuing, DeliveryStorage, WebhookStorage
from chalicelib.stores.stream_records import sequence_number_of, stream_change


@dataclass(frozen=True)
class NewEventRef:
    """What the fan-out needs of a new event, read from the stream record's new image."""

    tenant_id: str
    event_id: str
    source: str
    event_type: str
    request_id: str | None


def new_event_of(record: Any) -> NewEventRef | None:
    """The new event an INSERT record carries; ``None`` for every other change (acks, deletes,
    expiry). Raises PoisonRecord for a record that is not a stream record."""
    change = stream_change(record)
    if change.event_name != "INSERT" or change.new_image is None:
        return None
    image = change.new_image
    values = {name: image.get(name) for name in ("tenant_id", "event_id", "source", "event_type")}
    if not all(isinstance(v, str) and v for v in values.values()):
        return None  # not an event item (nothing else is written to this table today)
    if not str(values["event_id"]).startswith("evt_"):
        return None
    request_id = image.get("request_id")
    return NewEventRef(
        tenant_id=str(values["tenant_id"]),
        event_id=str(values["event_id"]),
        source=str(values["source"]),
        event_type=str(values["event_type"]),
        request_id=request_id if isinstance(request_id, str) else None,
    )


@dataclass
class FanoutOutcome:
    events: int = 0
    queued: int = 0
    already_queued: int = 0
    failed_from: int | None = None
    pending: list[tuple[int, DeliveryMessage]] = field(default_factory=list)
    request_ids: set[str] = field(default_factory=set)  # of the events that matched a webhook


class WebhookFanout:
    def __init__(
        self,
        webhooks: WebhookStorage,
        deliveries: DeliveryStorage,
        queue: DeliveryQueuing,
        now: Callable[[], float] = time.time,
        metrics_config: metrics.MetricsConfig = metrics.DEFAULT,
    ) -> None:
        self._webhooks = webhooks
        self._deliveries = deliveries
        self._queue = queue
        self._now = now
        self._metrics = metrics_config

    def handle(self, event: Mapping[str, Any]) -> dict[str, list[dict[str, str]]]:
        records = event.get("Records")
        if not isinstance(records, list):
            logger.error("fan-out event without a Records list")
            return {"batchItemFailures": []}
        outcome = self.process(records)
        failed = [] if outcome.failed_from is None else records[outcome.failed_from :]
        logger.info(
            "webhook fan-out batch",
            extra={
                "records": len(records),
                "events": outcome.events,
                "queued": outcome.queued,
                "already_queued": outcome.already_queued,
                "failed": len(failed),
                "request_ids": sorted(outcome.request_ids),
            },
        )
        with metrics.request_scope(self._metrics):
            if outcome.queued:
                metrics.record_metric("WebhookDeliveriesQueued", "Count", outcome.queued)
            if failed:
                metrics.record_metric("WebhookFanoutRecordsFailed", "Count", len(failed))
        return {"batchItemFailures": [{"itemIdentifier": sequence_number_of(r)} for r in failed]}

    def process(self, records: Sequence[Any]) -> FanoutOutcome:
        outcome = FanoutOutcome()
        hooks: dict[str, list[Webhook]] = {}
        for index, record in enumerate(records):
            if outcome.failed_from is not None:
                break  # a send failed: this record and the rest come again
            try:
                ref = new_event_of(record)
            except (PoisonRecord, KeyError, TypeError, ValueError) as exc:
                logger.error(
                    "poison stream record (fan-out)",
                    extra={"sequence_number": sequence_number_of(record), "reason": str(exc)},
                )
                outcome.failed_from = index
                break
            if ref is None:
                continue
            outcome.events += 1
            try:
                if ref.tenant_id not in hooks:
                    hooks[ref.tenant_id] = self._webhooks.receiving(ref.tenant_id)
                self._fan_out(index, ref, hooks[ref.tenant_id], outcome)
            except StoreError as exc:
                logger.warning(
                    "fan-out failed; reporting the record for redelivery",
                    extra={
                        "event_id": ref.event_id,
                        "request_id": ref.request_id,
                        "error": str(exc),
                    },
                )
                outcome.failed_from = index
                break
        self._flush(outcome)
        return outcome

    def _fan_out(
        self, index: int, ref: NewEventRef, webhooks: list[Webhook], outcome: FanoutOutcome
    ) -> None:
        now = self._now()
        delivery_id = delivery_id_for_event(ref.event_id)
        for webhook in webhooks:
            if not webhook.matches(ref.source, ref.event_type):
                continue
            delivery = Delivery(
                webhook_id=webhook.webhook_id,
                delivery_id=delivery_id,
                tenant_id=ref.tenant_id,
                event_id=ref.event_id,
                event_type=ref.event_type,
                kind=KIND_EVENT,
                status=DELIVERY_PENDING,
                created_at=now,
                updated_at=now,
                request_id=ref.request_id,
                source=ref.source,
            )
            existing = self._deliveries.create(delivery)
            if existing is not None and (
                existing.queued_at is not None
                or existing.finished
                or existing.attempts
                or existing.lease_until is not None
            ):
                outcome.already_queued += 1
                continue  # its message was queued (and may have been worked on)
            message = DeliveryMessage(
                ref.tenant_id, webhook.webhook_id, delivery_id, ref.request_id
            )
            outcome.pending.append((index, message))
            if ref.request_id:
                outcome.request_ids.add(ref.request_id)
            logger.debug(
                "webhook delivery created",
                extra={
                    "event_id": ref.event_id,
                    "webhook_id": webhook.webhook_id,
                    "delivery_id": delivery_id,
                    "request_id": ref.request_id,
                },
            )
        if len(outcome.pending) >= 10:
            self._flush(outcome)

    def _flush(self, outcome: FanoutOutcome) -> None:
        """Send the collected messages; on a refusal, fail from the earliest record affected."""
        if not outcome.pending:
            return
        pending, outcome.pending = outcome.pending, []
        index_of = {id(message): index for index, message in pending}
        try:
            refused = self._queue.send([message for _, message in pending])
        except StoreError as exc:
            logger.warning("webhook queue refused a batch", extra={"error": str(exc)})
            refused = [message for _, message in pending]
        outcome.queued += len(pending) - len(refused)
        if refused:
            first = min(index_of[id(m)] for m in refused)
            if outcome.failed_from is None or first < outcome.failed_from:
                outcome.failed_from = first
        taken = {id(m) for _, m in pending} - {id(m) for m in refused}
        self._mark_queued([m for _, m in pending if id(m) in taken])

    def _mark_queued(self, messages: Sequence[DeliveryMessage]) -> None:
        """Mark the deliveries whose messages the queue took, so that a redelivered record does
        not queue them again. A failure here only costs a duplicate message should the record
        come back (the worker's claim attempts one copy): it does not fail the record."""
        at = self._now()
        for message in messages:
            try:
                self._deliveries.mark_queued(message.webhook_id, message.delivery_id, at)
            except StoreError as exc:
                logger.warning(
                    "could not mark a webhook delivery queued",
                    extra={"delivery_id": message.delivery_id, "error": str(exc)},
                )
                return
