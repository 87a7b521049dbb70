"""The analytics table: per-minute/hour/day counters and stream-record dedup markers.

Counter item: ``pk = {tenant}#{granularity}#{partition}``, ``sk = {bucket}#{source}#{event_type}``,
and roll-up items (``pk`` + ``#total`` / ``#source#{s}`` / ``#event_type#{t}``, ``sk = {bucket}``;
see :mod:`chalicelib.domain.analytics`): numeric counters and latency-histogram bins updated with
``ADD``, ``expires_at`` set once. Marker item: ``pk = #stream-record#{eventID}``, ``sk = "-"``,
TTL 48 h.

A batch of stream records is counted by one TransactWriteItems: a conditional Put of each
record's marker plus the ADDs. A record whose marker already exists (a redelivery) cancels the
transaction; the store reports which records were already counted and the caller retries
without them, so every record is counted exactly once.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.domain.analytics import (
    COUNTERS,
    MARKER_TTL_SECONDS,
    RETENTION_SECONDS,
    CounterRow,
    CounterUpdate,
    KeyRange,
    marker_pk,
)
from chalicelib.domain.backoff import full_jitter
from chalicelib.domain.latency_sketch import bin_index
from chalicelib.stores import codec
from chalicelib.stores.aws import error_code, translate_errors
from chalicelib.stores.errors import AlreadyCounted, StorageUnavailable, StoreError
from chalicelib.stores.protocols import MAX_TRANSACTION_ITEMS

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["MAX_TRANSACTION_ITEMS", "AlreadyCounted", "AnalyticsStore"]

MARKER_SK = "-"
CONFLICT_RETRIES = 5
MAX_QUERY_PAGES = 200
# Full-jitter backoff (seconds) between transactions that conflicted on the same counters.
CONFLICT_RETRY_BASE = 0.02
CONFLICT_RETRY_CAP = CONFLICT_RETRY_BASE * 2**CONFLICT_RETRIES


class AnalyticsStore:
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

    # -- writes ------------------------------------------------------------------------------
    def _marker_put(self, record_id: str, now: int) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self._table,
                "Item": {
                    "pk": codec.s(marker_pk(record_id)),
                    "sk": codec.s(MARKER_SK),
                    "expires_at": codec.n(now + MARKER_TTL_SECONDS),
                },
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def _counter_update(self, update: CounterUpdate, now: int) -> dict[str, Any]:
        key = update.key
        names = {f"#c{i}": name for i, name in enumerate(update.counts)}
        values: dict[str, Any] = {
            f":c{i}": codec.n(value) for i, value in enumerate(update.counts.values())
        }
        values.update(
            {
                ":tenant": codec.s(key.tenant_id),
                ":source": codec.s(key.source),
                ":type": codec.s(key.event_type),
                ":gran": codec.s(key.granularity),
                ":bucket": codec.s(key.bucket),
                ":exp": codec.n(key.start + RETENTION_SECONDS[key.granularity]),
            }
        )
        adds = ", ".join(f"#c{i} :c{i}" for i in range(len(update.counts)))
        return {
            "Update": {
                "TableName": self._table,
                "Key": {"pk": codec.s(key.pk), "sk": codec.s(key.sk)},
                "UpdateExpression": f"ADD {adds} SET tenant_id = :tenant, #source = :source, "
                "event_type = :type, granularity = :gran, #bucket = :bucket, "
                "expires_at = if_not_exists(expires_at, :exp)",
                "ExpressionAttributeNames": {**names, "#source": "source", "#bucket": "bucket"},
                "ExpressionAttributeValues": values,
            }
        }

    def count(self, record_ids: Sequence[str], updates: Sequence[CounterUpdate]) -> None:
        """Write the markers of ``record_ids`` and the counter ``updates`` atomically.

        Raises :class:`AlreadyCounted` (nothing written) when some markers exist,
        :class:`StorageUnavailable` when throttled or contended past the retries.
        """
        if len(record_ids) + len(updates) > MAX_TRANSACTION_ITEMS:
            raise ValueError("too many items for one transaction; split the batch")
        if not record_ids and not updates:
            return
        for attempt in range(CONFLICT_RETRIES + 1):
            now = int(self._now())
            items = [self._marker_put(r, now) for r in record_ids]
            items += [self._counter_update(u, now) for u in updates]
            try:
                self._client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
                return
            except ClientError as exc:
                if error_code(exc) != "TransactionCanceledException":
                    with translate_errors("TransactWriteItems analytics"):
                        raise
                reasons = exc.response.get("CancellationReasons", [])
                seen = [
                    record_ids[i]
                    for i, reason in enumerate(reasons[: len(record_ids)])
                    if reason.get("Code") == "ConditionalCheckFailed"
                ]
                if seen:
                    raise AlreadyCounted(seen) from exc
                codes = {r.get("Code") for r in reasons} - {None, "None"}
                if not codes <= {"TransactionConflict", "ThrottlingError"}:
                    raise StoreError(f"TransactWriteItems analytics cancelled: {codes}") from exc
                if attempt == CONFLICT_RETRIES:
                    raise StorageUnavailable(f"analytics counters contended: {codes}") from exc
            # Another batch is updating the same counters: back off with full jitter.
            self._sleep(full_jitter(attempt, CONFLICT_RETRY_BASE, CONFLICT_RETRY_CAP, self._rng))

    # -- reads -------------------------------------------------------------------------------
    def read(self, key_range: KeyRange, limit: int | None = None) -> list[CounterRow]:
        """The live counter items of one partition between two sort keys (all pages; with
        ``limit``, it stops once it has more than ``limit`` rows)."""
        rows: list[CounterRow] = []
        start_key: dict[str, Any] | None = None
        for _ in range(MAX_QUERY_PAGES):
            kwargs: dict[str, Any] = {
                "TableName": self._table,
                "KeyConditionExpression": "pk = :pk AND sk BETWEEN :lo AND :hi",
                "FilterExpression": "attribute_not_exists(expires_at) OR expires_at > :now",
                "ExpressionAttributeValues": {
                    ":pk": codec.s(key_range.pk),
                    ":lo": codec.s(key_range.lower),
                    ":hi": codec.s(key_range.upper),
                    ":now": codec.n(int(self._now())),
                },
            }
            if start_key is not None:
                kwargs["ExclusiveStartKey"] = start_key
            with translate_errors("Query analytics"):
                resp = self._client.query(**kwargs)
            rows.extend(_row(item) for item in resp.get("Items", []))
            start_key = resp.get("LastEvaluatedKey")
            if not start_key or (limit is not None and len(rows) > limit):
                return rows
        raise StorageUnavailable("analytics query did not finish within the page budget")


def _row(item: dict[str, Any]) -> CounterRow:
    counts = {name: int(codec.get_n(item, name) or 0) for name in COUNTERS}
    latency: dict[int, int] = {}
    for name in item:
        index = bin_index(name)
        if index is not None:
            latency[index] = int(codec.get_n(item, name) or 0)
    return CounterRow(
        codec.get_s(item, "source") or "",
        codec.get_s(item, "event_type") or "",
        counts,
        latency,
        codec.get_s(item, "bucket") or "",
    )
