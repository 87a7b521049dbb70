"""The events table's ``replay-index``, and the migration that adds it to an existing table.

Every event written since webhooks exist carries ``replay_pk`` (``{tenant}#{shard}``) and
``replay_sk`` (``{created_at}#{event_id}``): webhook replay Queries that index by tenant shard
and time, never a Scan. A table created before then needs the index (created like
``event-id-index``) and its older events need the two attributes: :func:`backfill` adds them
with a parallel Scan of the table (an operator's one-off, never a request path) and one
conditional UpdateItem per event that lacks them. Safe to run twice, or while the API writes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.domain.inbox import replay_partition, shard_of, sort_key
from chalicelib.settings import Settings
from chalicelib.stores import codec
from chalicelib.stores.aws import translate_errors
from chalicelib.stores.errors import ConditionFailed
from chalicelib.stores.event_id_index import MigrationResult, add_event_id_index
from chalicelib.stores.tables import REPLAY_INDEX, REPLAY_PK, REPLAY_SK

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


@dataclass(frozen=True)
class BackfillResult:
    scanned: int
    updated: int
    skipped: int  # not an event item, or changed/removed while the backfill ran


def add_replay_index(
    client: DynamoDBClient, settings: Settings, *, dry_run: bool = False, **options: Any
) -> MigrationResult:
    """Create ``replay-index`` if missing and wait until it is ACTIVE."""
    return add_event_id_index(client, settings, dry_run=dry_run, index_name=REPLAY_INDEX, **options)


def backfill(
    client: DynamoDBClient,
    settings: Settings,
    *,
    dry_run: bool = False,
    page_size: int = 500,
    report: Callable[[str], None] = print,
    sleep: Callable[[float], None] = time.sleep,
    pause: float = 0.0,
) -> BackfillResult:
    """Give every event without ``replay_pk`` its replay keys (its inbox shard, as written)."""
    scanned = updated = skipped = 0
    start: dict[str, Any] | None = None
    while True:
        kwargs: dict[str, Any] = {
            "TableName": settings.events_table,
            "FilterExpression": "attribute_not_exists(#rpk) AND begins_with(event_id, :evt)",
            "ProjectionExpression": "pk, event_id, tenant_id, created_at",
            "ExpressionAttributeNames": {"#rpk": REPLAY_PK},
            "ExpressionAttributeValues": {":evt": codec.s("evt_")},
            "Limit": page_size,
        }
        if start:
            kwargs["ExclusiveStartKey"] = start
        with translate_errors("Scan events (replay backfill)"):
            resp = client.scan(**kwargs)
        scanned += int(resp.get("ScannedCount", 0))
        for item in resp.get("Items", []):
            event_id = codec.get_s(item, "event_id") or ""
            tenant_id = codec.get_s(item, "tenant_id")
            created_at = codec.get_s(item, "created_at")
            if not tenant_id or not created_at:
                skipped += 1
                continue
            if dry_run:
                updated += 1
                continue
            shard = shard_of(event_id, settings.inbox_shards)
            try:
                with translate_errors("UpdateItem events (replay backfill)"):
                    client.update_item(
                        TableName=settings.events_table,
                        Key={"pk": item["pk"]},
                        UpdateExpression="SET #rpk = :rpk, #rsk = :rsk",
                        ConditionExpression="attribute_exists(pk) AND attribute_not_exists(#rpk)",
                        ExpressionAttributeNames={"#rpk": REPLAY_PK, "#rsk": REPLAY_SK},
                        ExpressionAttributeValues={
                            ":rpk": codec.s(replay_partition(tenant_id, shard)),
                            ":rsk": codec.s(sort_key(created_at, event_id)),
                        },
                    )
                updated += 1
            except ConditionFailed:
                skipped += 1  # deleted meanwhile, or written by the API with its keys
        start = resp.get("LastEvaluatedKey")
        verb = "would update" if dry_run else "updated"
        report(f"scanned {scanned}, {verb} {updated}, skipped {skipped}")
        if not start:
            return BackfillResult(scanned, updated, skipped)
        if pause:
            sleep(pause)
