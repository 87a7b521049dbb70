"""Table definitions: the single source for scripts/create_tables.py, the tests and infra docs."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.inbox import INBOX_INDEXES, SORT_KEY
from chalicelib.settings import Settings

EVENT_ID_INDEX = "event-id-index"
KEY_ID_INDEX = "key-id-index"
TENANT_INDEX = "tenant-index"


def _gsi(
    name: str, hash_key: str, range_key: str | None = None, projection: str = "ALL"
) -> dict[str, Any]:
    schema = [{"AttributeName": hash_key, "KeyType": "HASH"}]
    if range_key:
        schema.append({"AttributeName": range_key, "KeyType": "RANGE"})
    return {"IndexName": name, "KeySchema": schema, "Projection": {"ProjectionType": projection}}


def events_table(settings: Settings, with_event_id_index: bool = True) -> dict[str, Any]:
    attrs = {"pk": "S", SORT_KEY: "S"}
    gsis = []
    for index_name, (attr, _) in INBOX_INDEXES.items():
        attrs[attr] = "S"
        gsis.append(_gsi(index_name, attr, SORT_KEY))
    if with_event_id_index:
        attrs["event_id"] = "S"
        gsis.append(_gsi(EVENT_ID_INDEX, "event_id", projection="KEYS_ONLY"))
    return {
        "TableName": settings.events_table,
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [
            {"AttributeName": k, "AttributeType": v} for k, v in attrs.items()
        ],
        "GlobalSecondaryIndexes": gsis,
        "BillingMode": "PAY_PER_REQUEST",
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        "ttl_attribute": "expires_at",
    }


def idempotency_table(settings: Settings) -> dict[str, Any]:
    return {
        "TableName": settings.idempotency_table,
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
        "ttl_attribute": "expires_at",
    }


def api_keys_table(settings: Settings) -> dict[str, Any]:
    return {
        "TableName": settings.api_keys_table,
        "KeySchema": [{"AttributeName": "key_hash", "KeyType": "HASH"}],
        "AttributeDefinitions": [
            {"AttributeName": "key_hash", "AttributeType": "S"},
            {"AttributeName": "key_id", "AttributeType": "S"},
            {"AttributeName": "tenant_id", "AttributeType": "S"},
        ],
        "GlobalSecondaryIndexes": [
            _gsi(KEY_ID_INDEX, "key_id"),
            _gsi(TENANT_INDEX, "tenant_id", "key_id"),
        ],
        "BillingMode": "PAY_PER_REQUEST",
        "ttl_attribute": "expires_at",
    }


def rate_limits_table(settings: Settings) -> dict[str, Any]:
    return {
        "TableName": settings.rate_limits_table,
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
        "ttl_attribute": "expires_at",
    }


def analytics_table(settings: Settings) -> dict[str, Any]:
    return {
        "TableName": settings.analytics_table,
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        "BillingMode": "PAY_PER_REQUEST",
        "ttl_attribute": "expires_at",
    }


def all_tables(settings: Settings) -> list[dict[str, Any]]:
    return [
        events_table(settings),
        idempotency_table(settings),
        api_keys_table(settings),
        rate_limits_table(settings),
        analytics_table(settings),
    ]
