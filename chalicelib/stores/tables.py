"""Table definitions: the single source for scripts/create_tables.py, the tests and infra docs."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.inbox import INBOX_INDEXES, SORT_KEY
from chalicelib.settings import Settings

EVENT_ID_INDEX = "event-id-index"
KEY_ID_INDEX = "key-id-index"
TENANT_INDEX = "tenant-index"
# Every event (pending or not) by tenant shard and time: webhook replay reads a time range here.
REPLAY_INDEX = "replay-index"
REPLAY_PK, REPLAY_SK = "replay_pk", "replay_sk"
REPLAY_PROJECTED = ("source", "event_type", "expires_at")


def _gsi(
    name: str,
    hash_key: str,
    range_key: str | None = None,
    projection: str = "ALL",
    include: tuple[str, ...] = (),
) -> dict[str, Any]:
    schema = [{"AttributeName": hash_key, "KeyType": "HASH"}]
    if range_key:
        schema.append({"AttributeName": range_key, "KeyType": "RANGE"})
    spec: dict[str, Any] = {"ProjectionType": "INCLUDE" if include else projection}
    if include:
        spec["NonKeyAttributes"] = list(include)
    return {"IndexName": name, "KeySchema": schema, "Projection": spec}


def replay_index() -> dict[str, Any]:
    return _gsi(REPLAY_INDEX, REPLAY_PK, REPLAY_SK, include=REPLAY_PROJECTED)


def events_table(
    settings: Settings, with_event_id_index: bool = True, with_replay_index: bool = True
) -> dict[str, Any]:
    attrs = {"pk": "S", SORT_KEY: "S"}
    gsis = []
    for index_name, (attr, _) in INBOX_INDEXES.items():
        attrs[attr] = "S"
        gsis.append(_gsi(index_name, attr, SORT_KEY))
    if with_event_id_index:
        attrs["event_id"] = "S"
        gsis.append(_gsi(EVENT_ID_INDEX, "event_id", projection="KEYS_ONLY"))
    if with_replay_index:
        attrs[REPLAY_PK] = attrs[REPLAY_SK] = "S"
        gsis.append(replay_index())
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


def webhooks_table(settings: Settings) -> dict[str, Any]:
    """One item per webhook: ``tenant_id`` + ``webhook_id`` (fan-out Queries a tenant's)."""
    return {
        "TableName": settings.webhooks_table,
        "KeySchema": [
            {"AttributeName": "tenant_id", "KeyType": "HASH"},
            {"AttributeName": "webhook_id", "KeyType": "RANGE"},
        ],
        "AttributeDefinitions": [
            {"AttributeName": "tenant_id", "AttributeType": "S"},
            {"AttributeName": "webhook_id", "AttributeType": "S"},
        ],
        "BillingMode": "PAY_PER_REQUEST",
    }


def deliveries_table(settings: Settings) -> dict[str, Any]:
    """One item per (webhook, delivery), newest last; kept 30 days (``expires_at``)."""
    return {
        "TableName": settings.deliveries_table,
        "KeySchema": [
            {"AttributeName": "webhook_id", "KeyType": "HASH"},
            {"AttributeName": "delivery_id", "KeyType": "RANGE"},
        ],
        "AttributeDefinitions": [
            {"AttributeName": "webhook_id", "AttributeType": "S"},
            {"AttributeName": "delivery_id", "AttributeType": "S"},
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
        webhooks_table(settings),
        deliveries_table(settings),
    ]
