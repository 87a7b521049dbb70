"""Create the tables idempotently (local, tests and AWS alike) and enable their TTL."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.settings import Settings
from chalicelib.stores.aws import error_code
from chalicelib.stores.tables import all_tables

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def create_table(client: DynamoDBClient, definition: dict[str, Any]) -> bool:
    """Create one table if it does not exist; return True when it was created."""
    spec = dict(definition)
    ttl_attribute = spec.pop("ttl_attribute", None)
    name = spec["TableName"]
    created = False
    try:
        client.create_table(**spec)
        created = True
    except ClientError as exc:
        if error_code(exc) != "ResourceInUseException":
            raise
    wait_active(client, name)
    if ttl_attribute:
        described = client.describe_time_to_live(TableName=name)
        status = described.get("TimeToLiveDescription", {}).get("TimeToLiveStatus")
        if status not in ("ENABLED", "ENABLING"):
            client.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attribute},
            )
    return created


def wait_active(client: DynamoDBClient, name: str, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        table = client.describe_table(TableName=name)["Table"]
        indexes = table.get("GlobalSecondaryIndexes", [])
        if table["TableStatus"] == "ACTIVE" and all(
            gsi.get("IndexStatus") == "ACTIVE" for gsi in indexes
        ):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"table {name} is not ACTIVE after {timeout:.0f} s")
        time.sleep(0.5)


def create_all(client: DynamoDBClient, settings: Settings) -> list[str]:
    """Create every table the stage needs; return the names that were created now."""
    return [d["TableName"] for d in all_tables(settings) if create_table(client, d)]
