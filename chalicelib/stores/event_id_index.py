"""The events table's ``event-id-index`` GSI: lookups by event id alone, and the migration that
adds the index to a table created before it existed.

The API never needs this index: ``GET /v1/events/{id}`` knows the caller's tenant and reads the
item by primary key (``pk = {tenant}#{event_id}``, one GetItem), which works whether the index
exists or not. That is the documented fallback. The index serves operator tooling that has an
event id and no tenant (support tickets, stream records, dead-lettered deliveries). While it is
missing or backfilling the lookup answers :data:`UNKNOWN` and logs a warning: never a Scan.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import ClientError

from chalicelib.observability.logging import logger
from chalicelib.settings import Settings
from chalicelib.stores import codec
from chalicelib.stores.aws import error_code, translate_errors
from chalicelib.stores.tables import EVENT_ID_INDEX, events_table

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class _Unknown:
    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Final = _Unknown()
"""The index cannot answer yet (missing or backfilling): the tenant is unknown, not absent."""


def _index_unavailable(exc: ClientError) -> bool:
    """DynamoDB's answer for a Query on an index that does not exist or is still backfilling."""
    message = str(exc.response.get("Error", {}).get("Message", "")).lower()
    return error_code(exc) == "ValidationException" and "index" in message


class EventIdLookup:
    def __init__(
        self, client: DynamoDBClient, events_table: str, now: Callable[[], float] = time.time
    ) -> None:
        self._client = client
        self._table = events_table
        self._now = now

    def find_tenant_of(self, event_id: str) -> str | _Unknown | None:
        """The tenant owning a live event, None when there is none, UNKNOWN while the index
        cannot answer. One Query on the index, then one consistent GetItem (the index is
        eventually consistent and keeps only keys)."""
        try:
            resp = self._client.query(
                TableName=self._table,
                IndexName=EVENT_ID_INDEX,
                KeyConditionExpression="event_id = :id",
                ExpressionAttributeValues={":id": codec.s(event_id)},
                Limit=2,
            )
        except ClientError as exc:
            if _index_unavailable(exc):
                logger.warning(
                    "event-id-index unavailable: tenant lookup answered unknown",
                    extra={"event_id": event_id, "table": self._table, "error": error_code(exc)},
                )
                return UNKNOWN
            with translate_errors("Query event-id-index"):
                raise
        for key in resp.get("Items", []):
            pk = codec.get_s(key, "pk") or ""
            with translate_errors("GetItem events"):
                item = self._client.get_item(
                    TableName=self._table, Key={"pk": codec.s(pk)}, ConsistentRead=True
                ).get("Item")
            if item is None or codec.is_expired(item, self._now()):
                continue
            return codec.get_s(item, "tenant_id") or pk.rsplit("#", 1)[0]
        return None


# -- migration --------------------------------------------------------------------------------


@dataclass(frozen=True)
class MigrationResult:
    action: str  # "created", "already-active", "waited", "would-create"
    index_status: str | None


def _index_definition(
    settings: Settings, index_name: str = EVENT_ID_INDEX
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The index and its attribute definitions, from the table definition (single source)."""
    table = events_table(settings)
    index = next(g for g in table["GlobalSecondaryIndexes"] if g["IndexName"] == index_name)
    keys = {k["AttributeName"] for k in index["KeySchema"]}
    attrs = [a for a in table["AttributeDefinitions"] if a["AttributeName"] in keys]
    return index, attrs


def index_status(
    client: DynamoDBClient, table_name: str, index_name: str = EVENT_ID_INDEX
) -> str | None:
    """``CREATING`` / ``ACTIVE`` / ... (``BACKFILLING`` while filling), or None when absent."""
    table = client.describe_table(TableName=table_name)["Table"]
    for gsi in table.get("GlobalSecondaryIndexes", []):
        if gsi["IndexName"] == index_name:
            if gsi.get("Backfilling"):
                return "BACKFILLING"
            return str(gsi.get("IndexStatus"))
    return None


def add_event_id_index(
    client: DynamoDBClient,
    settings: Settings,
    *,
    dry_run: bool = False,
    timeout: float = 3600.0,
    poll: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
    report: Callable[[str], None] = print,
    index_name: str = EVENT_ID_INDEX,
) -> MigrationResult:
    """Add ``index_name`` (default ``event-id-index``) to the events table if it lacks it and
    wait until it is ACTIVE.

    Safe to run twice (or twice at once): an index that exists is only waited for.
    """
    table_name = settings.events_table
    status = index_status(client, table_name, index_name)
    if status == "ACTIVE":
        report(f"{index_name} on {table_name} is already ACTIVE: nothing to do")
        return MigrationResult("already-active", status)
    index, attrs = _index_definition(settings, index_name)
    if status is None:
        if dry_run:
            report(f"would add {index_name} to {table_name}: {index}")
            return MigrationResult("would-create", None)
        create: dict[str, Any] = dict(index)
        table = client.describe_table(TableName=table_name)["Table"]
        if table.get("BillingModeSummary", {}).get("BillingMode") != "PAY_PER_REQUEST":
            throughput = table.get("ProvisionedThroughput", {})
            create["ProvisionedThroughput"] = {
                "ReadCapacityUnits": throughput.get("ReadCapacityUnits") or 5,
                "WriteCapacityUnits": throughput.get("WriteCapacityUnits") or 5,
            }
        try:
            client.update_table(
                TableName=table_name,
                AttributeDefinitions=attrs,  # type: ignore[arg-type]
                GlobalSecondaryIndexUpdates=[{"Create": create}],  # type: ignore[typeddict-item]
            )
            action = "created"
            report(f"adding {index_name} to {table_name}")
        except ClientError as exc:
            # Someone else's run got there first: fall through and wait for it.
            if error_code(exc) not in ("ResourceInUseException", "ValidationException"):
                raise
            if index_status(client, table_name, index_name) is None:
                raise
            action = "waited"
    else:
        if dry_run:
            report(f"{index_name} on {table_name} is {status}; would wait for ACTIVE")
            return MigrationResult("waited", status)
        action = "waited"
    deadline = time.monotonic() + timeout
    while True:
        status = index_status(client, table_name, index_name)
        if status == "ACTIVE":
            report(f"{index_name} on {table_name} is ACTIVE")
            return MigrationResult(action, status)
        if time.monotonic() > deadline:
            raise TimeoutError(f"{index_name} on {table_name} is {status} after {timeout:.0f} s")
        report(f"{index_name} on {table_name} is {status}; waiting")
        sleep(poll)
