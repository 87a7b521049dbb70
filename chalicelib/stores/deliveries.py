"""The deliveries table: one item per (webhook, delivery), with every attempt; kept 30 days.

Keys: ``webhook_id`` + ``delivery_id`` (``msg_`` + a ULID, so newest-first is a reverse Query).

Who may attempt a delivery is decided here, not by the queue: SQS may hand the same message to
two workers, and a fan-out that stopped between queueing a message and :meth:`mark_queued`
queues it again when its stream record comes back. :meth:`claim` takes a
short lease with one conditional write, and only while the delivery is pending and due; the
holder records the attempt (:meth:`record_attempt`), which releases the lease and says when the
next attempt is due. A second copy of the message finds the lease held or the attempt not yet
due and waits, or finds the delivery finished and is dropped.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from chalicelib.domain.webhooks import (
    DELIVERY_PENDING,
    DELIVERY_RETENTION_SECONDS,
    Attempt,
    Delivery,
)
from chalicelib.stores import codec
from chalicelib.stores.aws import translate_errors
from chalicelib.stores.batch_write import write_batch
from chalicelib.stores.errors import ClaimRefused, ConditionFailed, StorageUnavailable
from chalicelib.stores.protocols import BATCH_WRITE_MAX_ITEMS, DeliveryPage

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

LIST_MAX_PAGES = 10  # bound on Query calls per listing (a status filter can skip many)


def _opt_n(fields: Mapping[str, Any], name: str) -> float | None:
    value = fields.get(name)
    if value is None or "NULL" in value:
        return None
    return float(value["N"])


def _opt_s(fields: Mapping[str, Any], name: str) -> str | None:
    value = fields.get(name)
    if value is None or "NULL" in value:
        return None
    return str(value["S"])


def attempt_value(attempt: Attempt) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "at": codec.n(attempt.attempted_at),
        "ms": codec.n(round(attempt.latency_ms, 1)),
        "code": {"NULL": True} if attempt.status_code is None else codec.n(attempt.status_code),
    }
    if attempt.error is not None:
        fields["error"] = codec.s(attempt.error)
    if attempt.error_detail:
        fields["detail"] = codec.s(attempt.error_detail[:300])
    return {"M": fields}


def _attempt(value: Mapping[str, Any]) -> Attempt:
    fields = value["M"]
    code = _opt_n(fields, "code")
    return Attempt(
        attempted_at=float(fields["at"]["N"]),
        status_code=None if code is None else int(code),
        latency_ms=float(fields["ms"]["N"]),
        error=_opt_s(fields, "error"),
        error_detail=_opt_s(fields, "detail"),
    )


def item_to_delivery(item: Mapping[str, Any]) -> Delivery:
    return Delivery(
        webhook_id=str(item["webhook_id"]["S"]),
        delivery_id=str(item["delivery_id"]["S"]),
        tenant_id=_opt_s(item, "tenant_id") or "",
        event_id=_opt_s(item, "event_id") or "",
        event_type=_opt_s(item, "event_type") or "",
        kind=_opt_s(item, "kind") or "",
        status=_opt_s(item, "status") or DELIVERY_PENDING,
        created_at=_opt_n(item, "created_at") or 0.0,
        updated_at=_opt_n(item, "updated_at") or 0.0,
        attempts=tuple(_attempt(a) for a in item.get("attempts", {}).get("L", [])),
        next_attempt_at=_opt_n(item, "next_attempt_at"),
        lease_until=_opt_n(item, "lease_until"),
        request_id=_opt_s(item, "request_id"),
        test_payload=_opt_s(item, "test_payload"),
        failure_reason=_opt_s(item, "failure_reason"),
        source=_opt_s(item, "source") or "",
        queued_at=_opt_n(item, "queued_at"),
    )


def delivery_to_item(delivery: Delivery) -> dict[str, Any]:
    item: dict[str, Any] = {
        "webhook_id": codec.s(delivery.webhook_id),
        "delivery_id": codec.s(delivery.delivery_id),
        "tenant_id": codec.s(delivery.tenant_id),
        "event_id": codec.s(delivery.event_id),
        "event_type": codec.s(delivery.event_type),
        "kind": codec.s(delivery.kind),
        "status": codec.s(delivery.status),
        "created_at": codec.n(delivery.created_at),
        "updated_at": codec.n(delivery.updated_at),
        "attempts": {"L": [attempt_value(a) for a in delivery.attempts]},
        "expires_at": codec.n(int(delivery.created_at) + DELIVERY_RETENTION_SECONDS),
    }
    if delivery.source:
        item["source"] = codec.s(delivery.source)
    for name in ("request_id", "test_payload", "failure_reason"):
        value = getattr(delivery, name)
        if value is not None:
            item[name] = codec.s(value)
    for number in ("next_attempt_at", "queued_at"):
        value = getattr(delivery, number)
        if value is not None:
            item[number] = codec.n(value)
    return item


class DeliveryStore:
    def __init__(
        self,
        client: DynamoDBClient,
        table: str,
        now: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._client = client
        self._table = table
        self._now = now
        self._sleep = sleep
        self._rng = rng or random.Random()

    @staticmethod
    def _key(webhook_id: str, delivery_id: str) -> dict[str, Any]:
        return {"webhook_id": codec.s(webhook_id), "delivery_id": codec.s(delivery_id)}

    def _live(self, item: Mapping[str, Any] | None) -> Delivery | None:
        if item is None or codec.is_expired(dict(item), self._now()):
            return None
        return item_to_delivery(item)

    def create(self, delivery: Delivery) -> Delivery | None:
        """Store a new delivery; when one with its id exists already, return that one instead
        (a redelivered stream record) and write nothing."""
        try:
            with translate_errors("PutItem deliveries"):
                self._client.put_item(
                    TableName=self._table,
                    Item=delivery_to_item(delivery),
                    ConditionExpression="attribute_not_exists(delivery_id)",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
        except ConditionFailed as exc:
            return item_to_delivery(exc.item) if exc.item else delivery
        return None

    def create_many(self, deliveries: Sequence[Delivery]) -> None:
        """Store deliveries with fresh ids (replay, test) in batches of 25; unconditional, as no
        two share an id. Raises :class:`StorageUnavailable` if some stay unwritten."""
        for start in range(0, len(deliveries), BATCH_WRITE_MAX_ITEMS):
            requests = [
                {"PutRequest": {"Item": delivery_to_item(d)}}
                for d in deliveries[start : start + BATCH_WRITE_MAX_ITEMS]
            ]
            pending = write_batch(
                self._client, self._table, requests, sleep=self._sleep, rng=self._rng
            )
            if pending:
                raise StorageUnavailable("BatchWriteItem deliveries: items left unprocessed")

    def mark_queued(self, webhook_id: str, delivery_id: str, at: float) -> None:
        """Set ``queued_at`` (the first one stays): a redelivered stream record then knows the
        message exists and does not queue another."""
        try:
            with translate_errors("UpdateItem deliveries queued"):
                self._client.update_item(
                    TableName=self._table,
                    Key=self._key(webhook_id, delivery_id),
                    UpdateExpression="SET queued_at = if_not_exists(queued_at, :at)",
                    ConditionExpression="attribute_exists(delivery_id)",
                    ExpressionAttributeValues={":at": codec.n(at)},
                )
        except ConditionFailed:
            pass  # gone: nothing to mark

    def get(self, webhook_id: str, delivery_id: str) -> Delivery | None:
        with translate_errors("GetItem deliveries"):
            resp = self._client.get_item(
                TableName=self._table, Key=self._key(webhook_id, delivery_id), ConsistentRead=True
            )
        return self._live(resp.get("Item"))

    def claim(
        self, webhook_id: str, delivery_id: str, now: float, lease_seconds: float
    ) -> Delivery:
        """Take the attempt lease: only a pending delivery whose lease is free and whose next
        attempt is due (within a second). Raises :class:`ClaimRefused`."""
        try:
            with translate_errors("UpdateItem deliveries claim"):
                resp = self._client.update_item(
                    TableName=self._table,
                    Key=self._key(webhook_id, delivery_id),
                    UpdateExpression="SET lease_until = :lease",
                    ConditionExpression="#status = :pending "
                    "AND (attribute_not_exists(lease_until) OR lease_until <= :now) "
                    "AND (attribute_not_exists(next_attempt_at) OR next_attempt_at <= :due)",
                    ExpressionAttributeNames={"#status": "status"},
                    ExpressionAttributeValues={
                        ":pending": codec.s(DELIVERY_PENDING),
                        ":now": codec.n(now),
                        ":due": codec.n(now + 1.0),
                        ":lease": codec.n(now + lease_seconds),
                    },
                    ReturnValues="ALL_NEW",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
        except ConditionFailed as exc:
            raise ClaimRefused(self._live(exc.item)) from exc
        delivery = self._live(resp["Attributes"])
        if delivery is None:
            raise ClaimRefused(None)
        return delivery

    def record_attempt(
        self,
        delivery: Delivery,
        attempt: Attempt | None,
        status: str,
        at: float,
        next_attempt_at: float | None = None,
        failure_reason: str | None = None,
    ) -> None:
        """Append ``attempt`` (if any), set the status and when the next attempt is due, and
        release the lease; only while the delivery is still pending."""
        sets = ["#status = :status", "updated_at = :at"]
        removes = ["lease_until"]
        values: dict[str, Any] = {
            ":status": codec.s(status),
            ":at": codec.n(at),
            ":pending": codec.s(DELIVERY_PENDING),
        }
        if attempt is not None:
            sets.append("attempts = list_append(if_not_exists(attempts, :none), :attempt)")
            values[":attempt"] = {"L": [attempt_value(attempt)]}
            values[":none"] = {"L": []}
        if next_attempt_at is None:
            removes.append("next_attempt_at")
        else:
            sets.append("next_attempt_at = :next")
            values[":next"] = codec.n(next_attempt_at)
        if failure_reason is not None:
            sets.append("failure_reason = :reason")
            values[":reason"] = codec.s(failure_reason)
        with translate_errors("UpdateItem deliveries attempt"):
            self._client.update_item(
                TableName=self._table,
                Key=self._key(delivery.webhook_id, delivery.delivery_id),
                UpdateExpression="SET " + ", ".join(sets) + " REMOVE " + ", ".join(removes),
                ConditionExpression="#status = :pending",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=values,
            )

    def page(
        self, webhook_id: str, status: str | None, after: str | None, limit: int
    ) -> DeliveryPage:
        """Newest first; ``after``: the last delivery id of the previous page."""
        found: list[Delivery] = []
        start = self._key(webhook_id, after) if after else None
        now = self._now()
        for _ in range(LIST_MAX_PAGES):
            kwargs: dict[str, Any] = {
                "TableName": self._table,
                "KeyConditionExpression": "webhook_id = :w",
                "ExpressionAttributeValues": {":w": codec.s(webhook_id), ":now": codec.n(now)},
                "FilterExpression": "expires_at > :now",
                "ScanIndexForward": False,
                # One more than asked: a cursor only when a next page exists.
                "Limit": limit + 1 - len(found) if status is None else max(limit + 1, 25),
                "ConsistentRead": True,
            }
            if status is not None:
                kwargs["FilterExpression"] += " AND #status = :status"
                kwargs["ExpressionAttributeNames"] = {"#status": "status"}
                kwargs["ExpressionAttributeValues"][":status"] = codec.s(status)
            if start:
                kwargs["ExclusiveStartKey"] = start
            with translate_errors("Query deliveries"):
                resp = self._client.query(**kwargs)
            for item in resp.get("Items", []):
                found.append(item_to_delivery(item))
                if len(found) > limit:
                    return DeliveryPage(found[:limit], found[limit - 1].delivery_id)
            start = resp.get("LastEvaluatedKey")
            if not start:
                return DeliveryPage(found, None)
        # The page bound was reached with fewer matches than asked: continue from there.
        return DeliveryPage(found, str(start["delivery_id"]["S"]) if start else None)
