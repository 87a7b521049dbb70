"""The api-keys table: one item per secret, keyed by the secret's SHA-256, and one item per key.

* **Secret items** (``key_hash`` = the digest, ``kind = secret``) carry everything
  authentication needs: the key's id, tenant, scopes, limit, allowlist and status, the signing
  secret paired with this secret, and ``expires_at`` (the TTL attribute: the secret's own expiry
  or the key's, whichever is first). A request costs one GetItem.
* **Key items** (``key_hash`` = ``key#<key_id>``, ``kind = key``) hold the key's settings, its
  live secrets (digests and expiries, never a secret) and a ``version``; the admin API reads
  and writes them, and every change copies the settings onto the live secret items in the same
  transaction, conditional on the version it read. A key item has no ``expires_at``, so the TTL
  sweep never removes a key's history; it removes secret items once they have expired.
* Lists use the ``tenant-index`` GSI (``tenant_id``, ``key_id``), keeping the key items only.

Items written before key items existed (a secret item without ``kind``) still authenticate.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.domain.keys import (
    SCOPE_EVENTS,
    STATUS_ACTIVE,
    STATUS_REVOKED,
    ApiKey,
    SecretEntry,
)
from chalicelib.stores import codec
from chalicelib.stores.aws import error_code, translate_errors
from chalicelib.stores.errors import ConditionFailed, StorageUnavailable, StoreError
from chalicelib.stores.protocols import KeyPage, KeyRecord, legacy_key
from chalicelib.stores.tables import KEY_ID_INDEX, TENANT_INDEX

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

KIND_KEY = "key"
KIND_SECRET = "secret"  # noqa: S105 - an item kind, not a secret
KEY_ITEM_PREFIX = "key#"
LIST_PAGE_ITEMS = 100  # items read per Query page while listing (secret items are skipped)
LIST_MAX_PAGES = 20  # bound on Query calls per list request
# Attributes written only when set (a change that clears one removes it).
OPTIONAL_KEY_ATTRIBUTES = (
    "rate_limit",
    "allowed_ips",
    "created_by",
    "key_expires_at",
    "revoked_at",
)
OPTIONAL_SECRET_ATTRIBUTES = ("rate_limit", "allowed_ips", "expires_at")


def key_item_hash(key_id: str) -> str:
    return KEY_ITEM_PREFIX + key_id


def _settings_attributes(
    key_id: str,
    tenant_id: str,
    name: str,
    created_at: str,
    scopes: frozenset[str],
    status: str,
    rate_limit: int | None,
    allowed_ips: tuple[str, ...],
) -> dict[str, Any]:
    """What a key item and its secret items both hold (the secret items as a copy)."""
    item: dict[str, Any] = {
        "key_id": codec.s(key_id),
        "tenant_id": codec.s(tenant_id),
        "name": codec.s(name),
        "created_at": codec.s(created_at),
        "scopes": {"SS": sorted(scopes)},
        "status": codec.s(status),
    }
    if rate_limit is not None:
        item["rate_limit"] = codec.n(rate_limit)
    if allowed_ips:
        item["allowed_ips"] = {"L": [codec.s(ip) for ip in allowed_ips]}
    return item


def _set_and_remove(
    attributes: dict[str, Any], optional: Sequence[str]
) -> tuple[str, dict[str, str], dict[str, Any]]:
    """An UpdateExpression that sets ``attributes`` and removes the ``optional`` ones absent
    from them, with its ExpressionAttributeNames and ExpressionAttributeValues."""
    names = {f"#a{n}": name for n, name in enumerate(attributes)}
    values: dict[str, Any] = {f":a{n}": value for n, value in enumerate(attributes.values())}
    expression = "SET " + ", ".join(f"#a{n} = :a{n}" for n in range(len(attributes)))
    absent = [name for name in optional if name not in attributes]
    if absent:
        names.update({f"#r{n}": name for n, name in enumerate(absent)})
        expression += " REMOVE " + ", ".join(f"#r{n}" for n in range(len(absent)))
    return expression, names, values


def _settings_fields(item: dict[str, Any]) -> dict[str, Any]:
    """:func:`_settings_attributes` read back, as the dataclasses' keyword arguments."""
    rate = codec.get_n(item, "rate_limit")
    return {
        "key_id": codec.get_s(item, "key_id") or "",
        "tenant_id": codec.get_s(item, "tenant_id") or "",
        "name": codec.get_s(item, "name") or "",
        "created_at": codec.get_s(item, "created_at") or "",
        "scopes": frozenset(codec.get_str_list(item, "scopes") or [SCOPE_EVENTS]),
        "status": codec.get_s(item, "status") or STATUS_ACTIVE,
        "rate_limit_per_minute": int(rate) if rate is not None else None,
        "allowed_ips": tuple(codec.get_str_list(item, "allowed_ips")),
    }


def record_to_item(record: KeyRecord, managed: bool = True) -> dict[str, Any]:
    """A secret item; ``managed=False`` writes it as keys were stored before key items existed
    (no ``kind``)."""
    item: dict[str, Any] = {
        "key_hash": codec.s(record.key_hash),
        **_settings_attributes(
            record.key_id,
            record.tenant_id,
            record.name,
            record.created_at,
            record.scopes,
            record.status,
            record.rate_limit_per_minute,
            record.allowed_ips,
        ),
    }
    if managed:
        item["kind"] = codec.s(KIND_SECRET)
    if record.signing_secret:
        item["signing_secret"] = codec.s(record.signing_secret)
    if record.expires_at is not None:
        item["expires_at"] = codec.n(record.expires_at)
    return item


def item_to_record(item: dict[str, Any]) -> KeyRecord:
    expires = codec.get_n(item, "expires_at")
    return KeyRecord(
        key_hash=codec.get_s(item, "key_hash") or "",
        signing_secret=codec.get_s(item, "signing_secret"),
        expires_at=int(expires) if expires is not None else None,
        **_settings_fields(item),
    )


def _secret_entry(value: dict[str, Any]) -> SecretEntry:
    fields = value["M"]
    expires = codec.get_n(fields, "expires_at")
    return SecretEntry(
        key_hash=codec.get_s(fields, "key_hash") or "",
        created_at=codec.get_s(fields, "created_at") or "",
        expires_at=int(expires) if expires is not None else None,
    )


def _entry_value(entry: SecretEntry) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "key_hash": codec.s(entry.key_hash),
        "created_at": codec.s(entry.created_at),
    }
    if entry.expires_at is not None:
        fields["expires_at"] = codec.n(entry.expires_at)
    return {"M": fields}


def key_to_item(key: ApiKey) -> dict[str, Any]:
    item: dict[str, Any] = {
        "key_hash": codec.s(key_item_hash(key.key_id)),
        "kind": codec.s(KIND_KEY),
        **_settings_attributes(
            key.key_id,
            key.tenant_id,
            key.name,
            key.created_at,
            key.scopes,
            key.status,
            key.rate_limit_per_minute,
            key.allowed_ips,
        ),
        "updated_at": codec.s(key.updated_at),
        "signing": {"BOOL": key.signing},
        "secrets": {"L": [_entry_value(e) for e in key.secrets]},
        "version": codec.n(key.version),
    }
    optional: dict[str, dict[str, Any] | None] = {
        "created_by": codec.s(key.created_by) if key.created_by else None,
        "key_expires_at": codec.n(key.expires_at) if key.expires_at is not None else None,
        "revoked_at": codec.s(key.revoked_at) if key.revoked_at else None,
        "last_used_at": codec.s(key.last_used_at) if key.last_used_at else None,
    }
    item.update({name: value for name, value in optional.items() if value is not None})
    return item


def item_to_key(item: dict[str, Any]) -> ApiKey:
    expires = codec.get_n(item, "key_expires_at")
    return ApiKey(
        updated_at=codec.get_s(item, "updated_at") or "",
        signing=bool(item.get("signing", {}).get("BOOL", False)),
        created_by=codec.get_s(item, "created_by"),
        expires_at=int(expires) if expires is not None else None,
        revoked_at=codec.get_s(item, "revoked_at"),
        last_used_at=codec.get_s(item, "last_used_at"),
        secrets=tuple(_secret_entry(v) for v in item.get("secrets", {}).get("L", [])),
        version=int(codec.get_n(item, "version") or 1),
        **_settings_fields(item),
    )


def legacy_to_key(items: Sequence[dict[str, Any]]) -> ApiKey:
    return legacy_key([item_to_record(item) for item in items])


class ApiKeyStore:
    def __init__(
        self, client: DynamoDBClient, table: str, now: Callable[[], float] = time.time
    ) -> None:
        self._client = client
        self._table = table
        self._now = now

    # -- secrets: what authentication reads ------------------------------------------------
    def put(self, record: KeyRecord) -> None:
        with translate_errors("PutItem api-keys"):
            self._client.put_item(
                TableName=self._table,
                Item=record_to_item(record, managed=False),
                ConditionExpression="attribute_not_exists(key_hash)",
            )

    def find_active(self, key_hash: str) -> KeyRecord | None:
        """The usable key for this secret digest, or None (unknown, revoked or expired)."""
        with translate_errors("GetItem api-keys"):
            # Strongly consistent: what is cached for the TTL is never older than a change that
            # had finished, so a revocation reaches every process within the TTL itself.
            resp = self._client.get_item(
                TableName=self._table, Key={"key_hash": codec.s(key_hash)}, ConsistentRead=True
            )
        item = resp.get("Item")
        if item is None or codec.get_s(item, "kind") == KIND_KEY:
            return None
        record = item_to_record(item)
        if record.status != STATUS_ACTIVE:
            return None
        if record.expires_at is not None and record.expires_at <= self._now():
            return None
        return record

    # -- keys: what the admin API reads and writes -----------------------------------------
    def create(self, key: ApiKey, secret: KeyRecord) -> None:
        absent = "attribute_not_exists(key_hash)"
        self._transact(
            "create",
            [
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": key_to_item(key),
                        "ConditionExpression": absent,
                    }
                },
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": record_to_item(secret),
                        "ConditionExpression": absent,
                    }
                },
            ],
        )

    def get_key(self, tenant_id: str, key_id: str) -> ApiKey | None:
        with translate_errors("GetItem api-keys"):
            resp = self._client.get_item(
                TableName=self._table,
                Key={"key_hash": codec.s(key_item_hash(key_id))},
                ConsistentRead=True,
            )
        item = resp.get("Item")
        if item is None:
            return self._adopt_legacy(tenant_id, key_id)
        if codec.get_s(item, "tenant_id") != tenant_id:
            return None
        return item_to_key(item)

    def _adopt_legacy(self, tenant_id: str, key_id: str) -> ApiKey | None:
        """A key made before key items existed (one secret item, no ``kind``): write its key
        item and mark the secret item, in one transaction, so it can be managed from now on."""
        with translate_errors("Query api-keys"):
            resp = self._client.query(
                TableName=self._table,
                IndexName=KEY_ID_INDEX,
                KeyConditionExpression="key_id = :key_id",
                ExpressionAttributeValues={":key_id": codec.s(key_id)},
            )
        legacy = [
            item
            for item in resp.get("Items", [])
            if codec.get_s(item, "kind") is None and codec.get_s(item, "tenant_id") == tenant_id
        ]
        if not legacy:
            return None
        key = legacy_to_key(legacy)
        absent = "attribute_not_exists(key_hash)"
        operations: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": key_to_item(key),
                    "ConditionExpression": absent,
                }
            }
        ]
        operations.extend(
            {
                "Update": {
                    "TableName": self._table,
                    "Key": {"key_hash": item["key_hash"]},
                    "UpdateExpression": "SET kind = :secret",
                    "ConditionExpression": "attribute_not_exists(kind) AND key_id = :key_id",
                    "ExpressionAttributeValues": {
                        ":secret": codec.s(KIND_SECRET),
                        ":key_id": codec.s(key_id),
                    },
                }
            }
            for item in legacy
        )
        try:
            self._transact("adopt", operations)
        except ConditionFailed:  # adopted by another request meanwhile: read what it wrote
            return self.get_key(tenant_id, key_id)
        return key

    def list_keys(self, tenant_id: str, after: str | None, limit: int) -> KeyPage:
        condition = "tenant_id = :tenant"
        values: dict[str, Any] = {":tenant": codec.s(tenant_id), ":key": codec.s(KIND_KEY)}
        seen: set[str] = set()
        if after is not None:
            condition += " AND key_id > :after"
            values[":after"] = codec.s(after)
        keys: list[ApiKey] = []
        start: dict[str, Any] | None = None
        for _ in range(LIST_MAX_PAGES):
            request: dict[str, Any] = {
                "TableName": self._table,
                "IndexName": TENANT_INDEX,
                "KeyConditionExpression": condition,
                # Key items, and the secret items of keys made before key items existed.
                "FilterExpression": "kind = :key OR attribute_not_exists(kind)",
                "ExpressionAttributeValues": values,
                "Limit": LIST_PAGE_ITEMS,
            }
            if start is not None:
                request["ExclusiveStartKey"] = start
            with translate_errors("Query api-keys"):
                resp = self._client.query(**request)
            for item in resp.get("Items", []):
                key = item_to_key(item) if codec.get_s(item, "kind") else legacy_to_key([item])
                if key.key_id not in seen:
                    seen.add(key.key_id)
                    keys.append(key)
            start = resp.get("LastEvaluatedKey")
            if len(keys) > limit or start is None:
                break
        if len(keys) > limit:
            return KeyPage(keys[:limit], keys[limit - 1].key_id)
        if start is not None:  # the page bound stopped the read: continue after the last key
            return KeyPage(keys, keys[-1].key_id if keys else codec.get_s(start, "key_id"))
        return KeyPage(keys, None)

    def save(
        self,
        key: ApiKey,
        expected_version: int,
        secrets: Sequence[SecretEntry],
        new_secret: KeyRecord | None = None,
    ) -> None:
        operations: list[dict[str, Any]] = [self._update_key_item(key, expected_version)]
        operations.extend(self._copy_settings(key, entry) for entry in secrets)
        if new_secret is not None:
            operations.append(
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": record_to_item(new_secret),
                        "ConditionExpression": "attribute_not_exists(key_hash)",
                    }
                }
            )
        self._transact("save", operations)

    def _update_key_item(self, key: ApiKey, expected_version: int) -> dict[str, Any]:
        """Every attribute of the key item but ``last_used_at`` (a background write that may
        land between our read and this write must not be undone), if the version still is
        ``expected_version``."""
        attributes = key_to_item(key)
        del attributes["key_hash"]
        attributes.pop("last_used_at", None)
        expression, names, values = _set_and_remove(attributes, OPTIONAL_KEY_ATTRIBUTES)
        names["#version"] = "version"
        values[":expected"] = codec.n(expected_version)
        return {
            "Update": {
                "TableName": self._table,
                "Key": {"key_hash": codec.s(key_item_hash(key.key_id))},
                "UpdateExpression": expression,
                "ConditionExpression": "#version = :expected",
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }

    def _copy_settings(self, key: ApiKey, entry: SecretEntry) -> dict[str, Any]:
        """The key's changeable settings and the secret's expiry onto one secret item."""
        attributes = _settings_attributes(
            key.key_id,
            key.tenant_id,
            key.name,
            key.created_at,
            key.scopes,
            key.status,
            key.rate_limit_per_minute,
            key.allowed_ips,
        )
        for fixed in ("key_id", "tenant_id", "created_at"):  # never change; key_id is checked
            del attributes[fixed]
        if (expiry := key.secret_expiry(entry)) is not None:
            attributes["expires_at"] = codec.n(expiry)
        expression, names, values = _set_and_remove(attributes, OPTIONAL_SECRET_ATTRIBUTES)
        values[":key_id"] = codec.s(key.key_id)
        return {
            "Update": {
                "TableName": self._table,
                "Key": {"key_hash": codec.s(entry.key_hash)},
                "UpdateExpression": expression,
                "ConditionExpression": "attribute_exists(key_hash) AND key_id = :key_id",
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }

    def touch(self, key_id: str, at: str, if_not_after: str) -> bool:
        try:
            with translate_errors("UpdateItem api-keys"):
                self._client.update_item(
                    TableName=self._table,
                    Key={"key_hash": codec.s(key_item_hash(key_id))},
                    UpdateExpression="SET last_used_at = :at",
                    ConditionExpression=(
                        "attribute_exists(key_hash) AND "
                        "(attribute_not_exists(last_used_at) OR last_used_at <= :since)"
                    ),
                    ExpressionAttributeValues={":at": codec.s(at), ":since": codec.s(if_not_after)},
                )
        except ConditionFailed:
            return False
        return True

    def _transact(self, operation: str, items: list[dict[str, Any]]) -> None:
        """One TransactWriteItems; a failed condition is :class:`ConditionFailed`, a conflict
        with another transaction or throttling :class:`StorageUnavailable` (retry later)."""
        with translate_errors(f"TransactWriteItems api-keys {operation}"):
            try:
                self._client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
            except ClientError as exc:
                if error_code(exc) != "TransactionCanceledException":
                    raise
                codes = {str(r.get("Code")) for r in exc.response.get("CancellationReasons", [])}
                if "ConditionalCheckFailed" in codes:
                    raise ConditionFailed() from exc
                if codes & {"TransactionConflict", "ThrottlingError"}:
                    raise StorageUnavailable(f"api-keys {operation}: {sorted(codes)}") from exc
                raise StoreError(f"api-keys {operation} cancelled: {sorted(codes)}") from exc
