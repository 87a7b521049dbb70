"""The api-keys table: one item per secret, keyed by the secret's SHA-256.

A key (``key_id``) may have several secrets during a rotation; each item has its own
``expires_at``. Revocation sets ``status = revoked`` on every item of the key.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalicelib.domain.keys import SCOPE_EVENTS
from chalicelib.stores import codec
from chalicelib.stores.aws import translate_errors
from chalicelib.stores.protocols import STATUS_ACTIVE, STATUS_REVOKED, KeyRecord

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = [
    "STATUS_ACTIVE",
    "STATUS_REVOKED",
    "ApiKeyStore",
    "KeyRecord",
    "item_to_record",
    "record_to_item",
]


def record_to_item(record: KeyRecord) -> dict[str, Any]:
    item: dict[str, Any] = {
        "key_hash": codec.s(record.key_hash),
        "key_id": codec.s(record.key_id),
        "tenant_id": codec.s(record.tenant_id),
        "name": codec.s(record.name),
        "created_at": codec.s(record.created_at),
        "scopes": {"SS": sorted(record.scopes)},
        "status": codec.s(record.status),
    }
    if record.rate_limit_per_minute is not None:
        item["rate_limit"] = codec.n(record.rate_limit_per_minute)
    if record.allowed_ips:
        item["allowed_ips"] = {"L": [codec.s(ip) for ip in record.allowed_ips]}
    if record.signing_secret:
        item["signing_secret"] = codec.s(record.signing_secret)
    if record.expires_at is not None:
        item["expires_at"] = codec.n(record.expires_at)
    return item


def item_to_record(item: dict[str, Any]) -> KeyRecord:
    rate = codec.get_n(item, "rate_limit")
    expires = codec.get_n(item, "expires_at")
    return KeyRecord(
        key_hash=codec.get_s(item, "key_hash") or "",
        key_id=codec.get_s(item, "key_id") or "",
        tenant_id=codec.get_s(item, "tenant_id") or "",
        name=codec.get_s(item, "name") or "",
        created_at=codec.get_s(item, "created_at") or "",
        scopes=frozenset(codec.get_str_list(item, "scopes") or [SCOPE_EVENTS]),
        rate_limit_per_minute=int(rate) if rate is not None else None,
        allowed_ips=tuple(codec.get_str_list(item, "allowed_ips")),
        signing_secret=codec.get_s(item, "signing_secret"),
        status=codec.get_s(item, "status") or STATUS_ACTIVE,
        expires_at=int(expires) if expires is not None else None,
    )


class ApiKeyStore:
    def __init__(
        self, client: DynamoDBClient, table: str, now: Callable[[], float] = time.time
    ) -> None:
        self._client = client
        self._table = table
        self._now = now

    def put(self, record: KeyRecord) -> None:
        with translate_errors("PutItem api-keys"):
            self._client.put_item(
                TableName=self._table,
                Item=record_to_item(record),
                ConditionExpression="attribute_not_exists(key_hash)",
            )

    def find_active(self, key_hash: str) -> KeyRecord | None:
        """The usable key for this secret digest, or None (unknown, revoked or expired)."""
        with translate_errors("GetItem api-keys"):
            resp = self._client.get_item(TableName=self._table, Key={"key_hash": codec.s(key_hash)})
        item = resp.get("Item")
        if item is None:
            return None
        record = item_to_record(item)
        if record.status != STATUS_ACTIVE:
            return None
        if record.expires_at is not None and record.expires_at <= self._now():
            return None
        return record
