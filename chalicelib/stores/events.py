"""The events table and its idempotency companion.

Item: ``pk = {tenant}#{event_id}`` (a tenant can only ever address its own items), the event's
fields, ``expires_at`` (retention TTL) and, while pending, the sparse inbox index attributes.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.domain.backoff import full_jitter
from chalicelib.domain.events import STATUS_ACKNOWLEDGED, STATUS_PENDING, Event
from chalicelib.domain.inbox import (
    INBOX_ATTRIBUTES,
    SORT_KEY,
    InboxItem,
    IndexPlan,
    inbox_keys,
    replay_partition,
    sort_key,
)
from chalicelib.stores import codec, deadline_hook
from chalicelib.stores.aws import error_code, translate_errors
from chalicelib.stores.batch_write import write_batch
from chalicelib.stores.errors import (
    ConditionFailed,
    DeadlineExceeded,
    EventNotPending,
    StorageUnavailable,
    StoreError,
)
from chalicelib.stores.protocols import (
    BATCH_WRITE_ATTEMPTS,
    BATCH_WRITE_MAX_ITEMS,
    IdempotencyRecord,
    InboxPage,
    NewEvent,
    ReplayRef,
)
from chalicelib.stores.tables import REPLAY_INDEX, REPLAY_PK, REPLAY_SK

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = [
    "BATCH_WRITE_ATTEMPTS",
    "BATCH_WRITE_MAX_ITEMS",
    "EventStore",
    "IdempotencyRecord",
    "InboxPage",
    "event_to_item",
    "item_to_event",
    "new_event_item",
]

TRANSACTION_CONFLICT_RETRIES = 5
# Full-jitter backoff (seconds) between idempotency transaction conflicts.
CONFLICT_RETRY_BASE = 0.01
CONFLICT_RETRY_CAP = CONFLICT_RETRY_BASE * 2**TRANSACTION_CONFLICT_RETRIES


def event_pk(tenant_id: str, event_id: str) -> str:
    return f"{tenant_id}#{event_id}"


def idempotency_pk(tenant_id: str, key: str) -> str:
    return f"{tenant_id}#{key}"


def item_to_event(item: dict[str, Any]) -> Event:
    return Event(
        event_id=codec.get_s(item, "event_id") or "",
        tenant_id=codec.get_s(item, "tenant_id") or "",
        source=codec.get_s(item, "source") or "",
        event_type=codec.get_s(item, "event_type") or "",
        payload_json=codec.get_s(item, "payload") or "{}",
        metadata=codec.get_str_map(item, "metadata"),
        status=codec.get_s(item, "status") or STATUS_PENDING,
        created_at=codec.get_s(item, "created_at") or "",
        acknowledged_at=codec.get_s(item, "acknowledged_at"),
        idempotency_key=codec.get_s(item, "idempotency_key"),
    )


def event_to_item(event: Event, shard: int, expires_at: int) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": codec.s(event_pk(event.tenant_id, event.event_id)),
        "event_id": codec.s(event.event_id),
        "tenant_id": codec.s(event.tenant_id),
        "source": codec.s(event.source),
        "event_type": codec.s(event.event_type),
        "payload": codec.s(event.payload_json),
        "metadata": codec.str_map(event.metadata),
        "status": codec.s(event.status),
        "created_at": codec.s(event.created_at),
        "expires_at": codec.n(expires_at),
    }
    if event.idempotency_key is not None:
        item["idempotency_key"] = codec.s(event.idempotency_key)
    if event.status == STATUS_PENDING:
        keys = inbox_keys(
            event.tenant_id, shard, event.source, event.event_type, event.created_at, event.event_id
        )
        item.update({name: codec.s(value) for name, value in keys.items()})
    return item


def new_event_item(new: NewEvent) -> dict[str, Any]:
    """The item ``POST /v1/events`` stores for ``new``: what tools that write events straight
    into the table (preloading, the raw-engine benchmarks) must write too. Beside the event it
    carries the replay index keys (every event, by tenant shard and time) and the request id."""
    event = new.event
    item = event_to_item(event, new.shard, new.expires_at)
    item[REPLAY_PK] = codec.s(replay_partition(event.tenant_id, new.shard))
    item[REPLAY_SK] = codec.s(sort_key(event.created_at, event.event_id))
    if new.request_id:
        item["request_id"] = codec.s(new.request_id)
    return item


HEALTH_PROBE_KEY = "__health__#probe"  # no event has this pk: a GetItem on it finds nothing


class EventStore:
    def __init__(
        self,
        client: DynamoDBClient,
        events_table: str,
        idempotency_table: str,
        now: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._client = client
        self._events = events_table
        self._idempotency = idempotency_table
        self._now = now
        self._sleep = sleep
        self._rng = rng or random.Random()

    # -- create ------------------------------------------------------------------------------
    def ping(self) -> None:
        """One GetItem on a key that never exists: cheap, and it proves the table answers."""
        with translate_errors("GetItem health"):
            self._client.get_item(TableName=self._events, Key={"pk": codec.s(HEALTH_PROBE_KEY)})

    def put_new(self, new: NewEvent) -> None:
        with translate_errors("PutItem events"):
            self._client.put_item(
                TableName=self._events,
                Item=new_event_item(new),
                ConditionExpression="attribute_not_exists(pk)",
            )

    def batch_put_new(
        self, news: Sequence[NewEvent], max_attempts: int = BATCH_WRITE_ATTEMPTS
    ) -> list[NewEvent]:
        """Write up to 25 new events with one BatchWriteItem; return those never written.

        Unprocessed items are sent again (``stores/batch_write.py``), at most ``max_attempts``
        calls in all. BatchWriteItem takes no conditions, which is fine here: every item has a
        fresh ULID event id, so a put never overwrites an existing event.
        """
        by_pk = {event_pk(n.event.tenant_id, n.event.event_id): n for n in news}
        requests = [{"PutRequest": {"Item": new_event_item(new)}} for new in news]
        pending = write_batch(
            self._client,
            self._events,
            requests,
            sleep=self._sleep,
            rng=self._rng,
            max_attempts=max_attempts,
        )
        return [by_pk[str(request["PutRequest"]["Item"]["pk"]["S"])] for request in pending]

    def put_new_idempotent(
        self,
        new: NewEvent,
        tenant_id: str,
        key: str,
        record: IdempotencyRecord,
        ttl_seconds: int,
    ) -> IdempotencyRecord | None:
        """Write the event and its idempotency record in one transaction.

        Returns ``None`` when this call created the event, or the record that already holds the
        key (a replay or a conflict, for the caller to tell apart by the hash).
        """
        pk = idempotency_pk(tenant_id, key)
        for attempt in range(TRANSACTION_CONFLICT_RETRIES + 1):
            now = int(self._now())
            try:
                self._client.transact_write_items(
                    TransactItems=[
                        {
                            "Put": {
                                "TableName": self._idempotency,
                                "Item": {
                                    "pk": codec.s(pk),
                                    "request_hash": codec.s(record.request_hash),
                                    "event_id": codec.s(record.event_id),
                                    "response": codec.s(record.response_json),
                                    "expires_at": codec.n(now + ttl_seconds),
                                },
                                # An expired record (TTL not yet swept) may be replaced.
                                "ConditionExpression": (
                                    "attribute_not_exists(pk) OR expires_at <= :now"
                                ),
                                "ExpressionAttributeValues": {":now": codec.n(now)},
                                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                            }
                        },
                        {
                            "Put": {
                                "TableName": self._events,
                                "Item": new_event_item(new),
                                "ConditionExpression": "attribute_not_exists(pk)",
                            }
                        },
                    ]
                )
                return None
            except BotoCoreError:
                # Unreachable, timed out or a corrupt response: not a ClientError, same answer.
                with translate_errors("TransactWriteItems events"):
                    raise
            except ClientError as exc:
                code = error_code(exc)
                if code != "TransactionCanceledException":
                    with translate_errors("TransactWriteItems events"):
                        raise
                reasons = exc.response.get("CancellationReasons", [])
                first = reasons[0] if reasons else {}
                codes = {r.get("Code") for r in reasons}
                if first.get("Code") == "ConditionalCheckFailed":
                    existing = self._record_from_item(
                        dict(first.get("Item") or {})
                    ) or self.get_idempotency(tenant_id, key)
                    if existing is not None:
                        return existing
                    # The holder expired between our write and the read: try again.
                elif not codes & {"TransactionConflict", "ThrottlingError", None, "None"}:
                    raise StoreError(f"TransactWriteItems cancelled: {codes}") from exc
                elif "ThrottlingError" in codes and attempt == TRANSACTION_CONFLICT_RETRIES:
                    raise StorageUnavailable("TransactWriteItems throttled") from exc
            # Another request holds the key right now: back off with full jitter and look again
            # (the transaction was cancelled, nothing written: out of time, stopping is safe).
            delay = full_jitter(attempt, CONFLICT_RETRY_BASE, CONFLICT_RETRY_CAP, self._rng)
            if not deadline_hook.time_for(self._client, delay):
                raise DeadlineExceeded("TransactWriteItems events: no time left to try again")
            self._sleep(delay)
        existing = self.get_idempotency(tenant_id, key)
        if existing is None:
            raise StorageUnavailable("idempotency record contended")
        return existing

    @staticmethod
    def _record_from_item(item: dict[str, Any] | None) -> IdempotencyRecord | None:
        if not item or "request_hash" not in item:
            return None
        return IdempotencyRecord(
            request_hash=codec.get_s(item, "request_hash") or "",
            event_id=codec.get_s(item, "event_id") or "",
            response_json=codec.get_s(item, "response") or "{}",
        )

    def get_idempotency(self, tenant_id: str, key: str) -> IdempotencyRecord | None:
        with translate_errors("GetItem idempotency"):
            resp = self._client.get_item(
                TableName=self._idempotency,
                Key={"pk": codec.s(idempotency_pk(tenant_id, key))},
                ConsistentRead=True,
            )
        item = resp.get("Item")
        if item is None or codec.is_expired(item, self._now()):
            return None
        return self._record_from_item(item)

    # -- read --------------------------------------------------------------------------------
    def get(self, tenant_id: str, event_id: str) -> Event | None:
        with translate_errors("GetItem events"):
            resp = self._client.get_item(
                TableName=self._events,
                Key={"pk": codec.s(event_pk(tenant_id, event_id))},
                ConsistentRead=True,
            )
        item = resp.get("Item")
        if item is None or self._expired(item):
            return None
        return item_to_event(item)

    def _expired(self, item: dict[str, Any]) -> bool:
        return codec.is_expired(item, self._now())

    # -- ack / delete ------------------------------------------------------------------------
    def acknowledge(self, tenant_id: str, event_id: str, acknowledged_at: str) -> Event:
        """Mark pending -> acknowledged and drop it from the inbox indexes.

        Raises :class:`EventNotPending` carrying the current event (``None`` when there is no
        live one) when the event is not pending.
        """
        now = int(self._now())
        try:
            with translate_errors("UpdateItem events ack"):
                resp = self._client.update_item(
                    TableName=self._events,
                    Key={"pk": codec.s(event_pk(tenant_id, event_id))},
                    UpdateExpression="SET #status = :acked, acknowledged_at = :at REMOVE "
                    + ", ".join(INBOX_ATTRIBUTES),
                    ConditionExpression="attribute_exists(pk) AND #status = :pending "
                    "AND expires_at > :now",
                    ExpressionAttributeNames={"#status": "status"},
                    ExpressionAttributeValues={
                        ":acked": codec.s(STATUS_ACKNOWLEDGED),
                        ":pending": codec.s(STATUS_PENDING),
                        ":at": codec.s(acknowledged_at),
                        ":now": codec.n(now),
                    },
                    ReturnValues="ALL_NEW",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
        except ConditionFailed as exc:
            item = exc.item if exc.item and not self._expired(exc.item) else None
            raise EventNotPending(item_to_event(item) if item else None) from exc
        return item_to_event(resp["Attributes"])

    def delete(self, tenant_id: str, event_id: str) -> bool:
        """Delete a live event; False when there was none."""
        try:
            with translate_errors("DeleteItem events"):
                self._client.delete_item(
                    TableName=self._events,
                    Key={"pk": codec.s(event_pk(tenant_id, event_id))},
                    ConditionExpression="attribute_exists(pk) AND expires_at > :now",
                    ExpressionAttributeValues={":now": codec.n(int(self._now()))},
                )
        except ConditionFailed:
            return False
        return True

    # -- replay ------------------------------------------------------------------------------
    def query_replay_partition(
        self, partition: str, lower: str, upper: str, limit: int
    ) -> list[ReplayRef]:
        """Up to ``limit`` live events of one replay partition (``tenant#shard``) whose sort key
        (``created_at#event_id``) is between ``lower`` and ``upper``, oldest first; more than
        ``limit`` are read only to say that there are more (the caller refuses then)."""
        out: list[ReplayRef] = []
        start: dict[str, Any] | None = None
        now = int(self._now())
        while len(out) <= limit:
            kwargs: dict[str, Any] = {
                "TableName": self._events,
                "IndexName": REPLAY_INDEX,
                "KeyConditionExpression": "#pk = :pk AND #sk BETWEEN :lo AND :hi",
                "FilterExpression": "expires_at > :now",
                "ExpressionAttributeNames": {"#pk": REPLAY_PK, "#sk": REPLAY_SK},
                "ExpressionAttributeValues": {
                    ":pk": codec.s(partition),
                    ":lo": codec.s(lower),
                    ":hi": codec.s(upper),
                    ":now": codec.n(now),
                },
                "Limit": limit + 1 - len(out),
            }
            if start:
                kwargs["ExclusiveStartKey"] = start
            with translate_errors("Query replay"):
                resp = self._client.query(**kwargs)
            for item in resp.get("Items", []):
                created_at, _, event_id = str(item[REPLAY_SK]["S"]).partition("#")
                out.append(
                    ReplayRef(
                        event_id=event_id,
                        source=codec.get_s(item, "source") or "",
                        event_type=codec.get_s(item, "event_type") or "",
                        created_at=created_at,
                    )
                )
            start = resp.get("LastEvaluatedKey")
            if not start:
                break
        return out

    # -- inbox -------------------------------------------------------------------------------
    def query_inbox_partition(
        self,
        plan: IndexPlan,
        partition_value: str,
        limit: int,
        filter_expression: str | None = None,
        names: dict[str, str] | None = None,
        values: dict[str, str] | None = None,
        lower: str | None = None,
    ) -> InboxPage:
        """Read up to ``limit`` items of one inbox partition in sort-key order.

        ``limit`` is DynamoDB's: items *evaluated*; with a filter fewer may come back.
        """
        expr_names = {"#pk": plan.partition_attr, "#sk": SORT_KEY, **(names or {})}
        expr_values = {
            ":pk": codec.s(partition_value),
            ":lo": codec.s(lower if lower is not None else plan.lower),
            ":hi": codec.s(plan.upper),
            ":now": codec.n(int(self._now())),
            **{placeholder: codec.s(value) for placeholder, value in (values or {}).items()},
        }
        live = "expires_at > :now"
        filt = live if not filter_expression else f"({filter_expression}) AND {live}"
        with translate_errors("Query inbox"):
            resp = self._client.query(
                TableName=self._events,
                IndexName=plan.index_name,
                KeyConditionExpression="#pk = :pk AND #sk BETWEEN :lo AND :hi",
                FilterExpression=filt,
                ExpressionAttributeNames=expr_names,
                ExpressionAttributeValues=expr_values,
                Limit=limit,
                ScanIndexForward=True,
            )
        lek = resp.get("LastEvaluatedKey")
        return InboxPage(
            items=[
                InboxItem(codec.get_s(item, SORT_KEY) or "", item_to_event(item))
                for item in resp.get("Items", [])
            ],
            last_evaluated=codec.get_s(lek, SORT_KEY) if lek else None,
        )
