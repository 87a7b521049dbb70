"""The webhooks table: one item per webhook, keyed by ``tenant_id`` and ``webhook_id``.

A tenant's webhooks are one Query (the fan-out reads them for every stream batch); a webhook is
one GetItem. Every change is conditional on the item existing, and the changes that replace a
list (filters, secrets) are conditional on ``updated_at`` being the one read, so two admins
rotating at once cannot lose a secret. The delivery worker's health counters are atomic ADDs.

HMAC needs the signing secret itself, so it cannot be stored hashed: the store seals each one
with the stage's key (``stores/secret_box.py``, AES-256-GCM bound to the webhook) before it
writes and opens it when it reads. Only the API and the delivery function may read the table,
and no answer other than create and rotate-secret ever carries a secret.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from chalicelib.domain.webhooks import STATUS_ACTIVE, STATUS_DISABLED, Webhook, WebhookSecret
from chalicelib.observability.logging import logger
from chalicelib.stores import codec
from chalicelib.stores.aws import translate_errors
from chalicelib.stores.errors import ConditionFailed
from chalicelib.stores.protocols import WebhookPage
from chalicelib.stores.secret_box import SecretBox, SecretUnreadable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

LIST_PAGE_ITEMS = 100
# What the fan-out reads of a webhook: everything item_to_webhook reads but the secrets.
FANOUT_ATTRIBUTES = (
    "tenant_id",
    "webhook_id",
    "url",
    "event_types",
    "sources",
    "description",
    "status",
    "created_at",
    "updated_at",
    "disabled_reason",
    "rate_limit_per_second",
    "consecutive_failures",
    "failing_since",
    "breaker_open_until",
)
MAX_TENANT_PAGES = 10  # bound on Query calls when reading all of a tenant's webhooks


def _opt_n(item: Mapping[str, Any], name: str) -> float | None:
    value = item.get(name)
    if value is None or "NULL" in value:
        return None
    return float(value["N"])


def _context(tenant_id: str, webhook_id: str) -> str:
    """The associated data a sealed secret is bound to: its webhook."""
    return f"{tenant_id}/{webhook_id}"


def _secrets(item: Mapping[str, Any], box: SecretBox | None) -> tuple[WebhookSecret, ...]:
    context = _context(str(item["tenant_id"]["S"]), str(item["webhook_id"]["S"]))
    out = []
    for entry in item.get("secrets", {}).get("L", []):
        fields = entry["M"]
        stored = str(fields["secret"]["S"])
        try:
            secret = box.open(stored, context) if box is not None else stored
        except SecretUnreadable as exc:
            # Sealed with another key (WEBHOOK_SECRETS_KEY changed): the webhook still reads,
            # lists and rotates (a rotation drops it); it cannot sign until then.
            logger.error(
                "webhook signing secret unreadable; rotate the webhook's secret",
                extra={"webhook_id": str(item["webhook_id"]["S"]), "reason": str(exc)},
            )
            continue
        out.append(
            WebhookSecret(
                secret=secret,
                created_at=float(fields["created_at"]["N"]),
                expires_at=_opt_n(fields, "expires_at"),
            )
        )
    return tuple(out)


def secrets_value(webhook: Webhook, box: SecretBox | None) -> dict[str, Any]:
    context = _context(webhook.tenant_id, webhook.webhook_id)
    entries = []
    for entry in webhook.secrets:
        sealed = box.seal(entry.secret, context) if box is not None else entry.secret
        fields: dict[str, Any] = {
            "secret": codec.s(sealed),
            "created_at": codec.n(entry.created_at),
        }
        if entry.expires_at is not None:
            fields["expires_at"] = codec.n(entry.expires_at)
        entries.append({"M": fields})
    return {"L": entries}


def item_to_webhook(item: dict[str, Any], box: SecretBox | None = None) -> Webhook:
    rate = _opt_n(item, "rate_limit_per_second")
    return Webhook(
        tenant_id=codec.get_s(item, "tenant_id") or "",
        webhook_id=codec.get_s(item, "webhook_id") or "",
        url=codec.get_s(item, "url") or "",
        event_types=tuple(codec.get_str_list(item, "event_types")),
        sources=tuple(codec.get_str_list(item, "sources")),
        description=codec.get_s(item, "description") or "",
        status=codec.get_s(item, "status") or STATUS_ACTIVE,
        created_at=codec.get_n(item, "created_at") or 0.0,
        updated_at=codec.get_n(item, "updated_at") or 0.0,
        secrets=_secrets(item, box),
        disabled_reason=codec.get_s(item, "disabled_reason"),
        rate_limit_per_second=None if rate is None else int(rate),
        consecutive_failures=int(codec.get_n(item, "consecutive_failures") or 0),
        failing_since=_opt_n(item, "failing_since"),
        breaker_open_until=_opt_n(item, "breaker_open_until"),
    )


def _list(values: tuple[str, ...]) -> dict[str, Any]:
    return {"L": [codec.s(v) for v in values]}


def webhook_to_item(webhook: Webhook, box: SecretBox | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "tenant_id": codec.s(webhook.tenant_id),
        "webhook_id": codec.s(webhook.webhook_id),
        "url": codec.s(webhook.url),
        "event_types": _list(webhook.event_types),
        "sources": _list(webhook.sources),
        "description": codec.s(webhook.description),
        "status": codec.s(webhook.status),
        "created_at": codec.n(webhook.created_at),
        "updated_at": codec.n(webhook.updated_at),
        "secrets": secrets_value(webhook, box),
        "consecutive_failures": codec.n(webhook.consecutive_failures),
    }
    if webhook.disabled_reason is not None:
        item["disabled_reason"] = codec.s(webhook.disabled_reason)
    if webhook.rate_limit_per_second is not None:
        item["rate_limit_per_second"] = codec.n(webhook.rate_limit_per_second)
    for name in ("failing_since", "breaker_open_until"):
        value = getattr(webhook, name)
        if value is not None:
            item[name] = codec.n(value)
    return item


# The attributes an edit replaces (PATCH, pause/enable), and how each is written; ``secrets``
# (rotate) is sealed by the store's box.
EDITABLE: dict[str, Callable[[Webhook], dict[str, Any] | None]] = {
    "url": lambda w: codec.s(w.url),
    "event_types": lambda w: _list(w.event_types),
    "sources": lambda w: _list(w.sources),
    "description": lambda w: codec.s(w.description),
    "status": lambda w: codec.s(w.status),
    "disabled_reason": lambda w: None if w.disabled_reason is None else codec.s(w.disabled_reason),
    "rate_limit_per_second": lambda w: (
        None if w.rate_limit_per_second is None else codec.n(w.rate_limit_per_second)
    ),
    "updated_at": lambda w: codec.n(w.updated_at),
    "consecutive_failures": lambda w: codec.n(w.consecutive_failures),
    "failing_since": lambda w: None if w.failing_since is None else codec.n(w.failing_since),
    "breaker_open_until": lambda w: (
        None if w.breaker_open_until is None else codec.n(w.breaker_open_until)
    ),
}


class WebhookStore:
    def __init__(
        self,
        client: DynamoDBClient,
        table: str,
        now: Callable[[], float] = time.time,
        box: SecretBox | None = None,
    ) -> None:
        """``box``: seals signing secrets at rest (the runtime always gives one); without it
        they are stored and read as they are."""
        self._client = client
        self._table = table
        self._now = now
        self._box = box

    def _key(self, tenant_id: str, webhook_id: str) -> dict[str, Any]:
        return {"tenant_id": codec.s(tenant_id), "webhook_id": codec.s(webhook_id)}

    def create(self, webhook: Webhook) -> None:
        with translate_errors("PutItem webhooks"):
            self._client.put_item(
                TableName=self._table,
                Item=webhook_to_item(webhook, self._box),
                ConditionExpression="attribute_not_exists(webhook_id)",
            )

    def count(self, tenant_id: str) -> int:
        total, start = 0, None
        for _ in range(MAX_TENANT_PAGES):
            kwargs: dict[str, Any] = {
                "TableName": self._table,
                "KeyConditionExpression": "tenant_id = :t",
                "ExpressionAttributeValues": {":t": codec.s(tenant_id)},
                "Select": "COUNT",
            }
            if start:
                kwargs["ExclusiveStartKey"] = start
            with translate_errors("Query webhooks count"):
                resp = self._client.query(**kwargs)
            total += int(resp.get("Count", 0))
            start = resp.get("LastEvaluatedKey")
            if not start:
                break
        return total

    def get(self, tenant_id: str, webhook_id: str) -> Webhook | None:
        with translate_errors("GetItem webhooks"):
            resp = self._client.get_item(
                TableName=self._table, Key=self._key(tenant_id, webhook_id), ConsistentRead=True
            )
        item = resp.get("Item")
        return None if item is None else item_to_webhook(item, self._box)

    def page(self, tenant_id: str, after: str | None, limit: int) -> WebhookPage:
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "tenant_id = :t",
            "ExpressionAttributeValues": {":t": codec.s(tenant_id)},
            "Limit": limit + 1,  # one more than asked: a cursor only when a next page exists
            "ConsistentRead": True,
        }
        if after:
            kwargs["ExclusiveStartKey"] = self._key(tenant_id, after)
        with translate_errors("Query webhooks"):
            resp = self._client.query(**kwargs)
        hooks = [item_to_webhook(item, self._box) for item in resp.get("Items", [])]
        if len(hooks) > limit:
            return WebhookPage(hooks[:limit], hooks[limit - 1].webhook_id)
        return WebhookPage(hooks, None)

    def receiving(self, tenant_id: str) -> list[Webhook]:
        """The tenant's webhooks that receive new events (active), for the fan-out: without
        their secrets (it never signs), so no secret is opened on the stream's path."""
        out: list[Webhook] = []
        start = None
        names = {f"#a{i}": name for i, name in enumerate(FANOUT_ATTRIBUTES)}
        for _ in range(MAX_TENANT_PAGES):
            kwargs: dict[str, Any] = {
                "TableName": self._table,
                "KeyConditionExpression": "tenant_id = :t",
                "FilterExpression": "#status = :active",
                "ProjectionExpression": ", ".join(names),
                "ExpressionAttributeNames": {"#status": "status", **names},
                "ExpressionAttributeValues": {
                    ":t": codec.s(tenant_id),
                    ":active": codec.s(STATUS_ACTIVE),
                },
                "Limit": LIST_PAGE_ITEMS,
            }
            if start:
                kwargs["ExclusiveStartKey"] = start
            with translate_errors("Query webhooks receiving"):
                resp = self._client.query(**kwargs)
            out.extend(item_to_webhook(item, self._box) for item in resp.get("Items", []))
            start = resp.get("LastEvaluatedKey")
            if not start:
                break
        return out

    def save(self, webhook: Webhook, fields: tuple[str, ...], read_updated_at: float) -> None:
        """Write ``fields`` of ``webhook`` if the stored one is still the version read
        (:class:`ConditionFailed` otherwise, or when it is gone)."""
        sets, removes = [], []
        names: dict[str, str] = {"#updated": "updated_at"}
        values: dict[str, Any] = {":read": codec.n(read_updated_at)}
        for index, name in enumerate(dict.fromkeys((*fields, "updated_at"))):
            value = (
                secrets_value(webhook, self._box) if name == "secrets" else EDITABLE[name](webhook)
            )
            names[f"#f{index}"] = name
            if value is None:
                removes.append(f"#f{index}")
            else:
                sets.append(f"#f{index} = :v{index}")
                values[f":v{index}"] = value
        expression = "SET " + ", ".join(sets)
        if removes:
            expression += " REMOVE " + ", ".join(removes)
        with translate_errors("UpdateItem webhooks"):
            self._client.update_item(
                TableName=self._table,
                Key=self._key(webhook.tenant_id, webhook.webhook_id),
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(webhook_id) AND #updated = :read",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )

    def delete(self, tenant_id: str, webhook_id: str) -> bool:
        try:
            with translate_errors("DeleteItem webhooks"):
                self._client.delete_item(
                    TableName=self._table,
                    Key=self._key(tenant_id, webhook_id),
                    ConditionExpression="attribute_exists(webhook_id)",
                )
        except ConditionFailed:
            return False
        return True

    # -- health, written by the delivery worker ----------------------------------------------
    def record_failure(self, tenant_id: str, webhook_id: str, at: float) -> Webhook | None:
        """One more failed attempt in a row; ``failing_since`` is set by the first. Returns the
        webhook as it is now (``None`` when it no longer exists)."""
        try:
            with translate_errors("UpdateItem webhooks failure"):
                resp = self._client.update_item(
                    TableName=self._table,
                    Key=self._key(tenant_id, webhook_id),
                    UpdateExpression="ADD consecutive_failures :one "
                    "SET failing_since = if_not_exists(failing_since, :at)",
                    ConditionExpression="attribute_exists(webhook_id)",
                    ExpressionAttributeValues={":one": codec.n(1), ":at": codec.n(at)},
                    ReturnValues="ALL_NEW",
                )
        except ConditionFailed:
            return None
        return item_to_webhook(resp["Attributes"], self._box)

    def open_breaker(self, tenant_id: str, webhook_id: str, until: float) -> None:
        with translate_errors("UpdateItem webhooks breaker"):
            self._client.update_item(
                TableName=self._table,
                Key=self._key(tenant_id, webhook_id),
                UpdateExpression="SET breaker_open_until = :until",
                ConditionExpression="attribute_exists(webhook_id)",
                ExpressionAttributeValues={":until": codec.n(until)},
            )

    def take_probe(self, tenant_id: str, webhook_id: str, now: float, until: float) -> bool:
        """Half-open breaker: the one caller that moves an expired hold to ``until`` may send
        one attempt; everyone else finds the hold renewed (False)."""
        try:
            with translate_errors("UpdateItem webhooks probe"):
                self._client.update_item(
                    TableName=self._table,
                    Key=self._key(tenant_id, webhook_id),
                    UpdateExpression="SET breaker_open_until = :until",
                    ConditionExpression="attribute_exists(webhook_id) AND "
                    "(attribute_not_exists(breaker_open_until) OR breaker_open_until <= :now)",
                    ExpressionAttributeValues={":until": codec.n(until), ":now": codec.n(now)},
                )
        except ConditionFailed:
            return False
        return True

    def record_success(self, tenant_id: str, webhook_id: str) -> None:
        """Reset the failure run (written only when there is one to reset)."""
        try:
            with translate_errors("UpdateItem webhooks success"):
                self._client.update_item(
                    TableName=self._table,
                    Key=self._key(tenant_id, webhook_id),
                    UpdateExpression="SET consecutive_failures = :zero "
                    "REMOVE failing_since, breaker_open_until",
                    ConditionExpression="attribute_exists(webhook_id) AND "
                    "(consecutive_failures > :zero OR attribute_exists(failing_since))",
                    ExpressionAttributeValues={":zero": codec.n(0)},
                )
        except ConditionFailed:
            pass  # nothing to reset, or the webhook is gone

    def disable(self, tenant_id: str, webhook_id: str, reason: str, at: float) -> bool:
        """Disable an endpoint that is not disabled yet; True when this call disabled it."""
        try:
            with translate_errors("UpdateItem webhooks disable"):
                self._client.update_item(
                    TableName=self._table,
                    Key=self._key(tenant_id, webhook_id),
                    UpdateExpression="SET #status = :disabled, disabled_reason = :reason, "
                    "updated_at = :at REMOVE breaker_open_until",
                    ConditionExpression="attribute_exists(webhook_id) AND #status <> :disabled",
                    ExpressionAttributeNames={"#status": "status"},
                    ExpressionAttributeValues={
                        ":disabled": codec.s(STATUS_DISABLED),
                        ":reason": codec.s(reason),
                        ":at": codec.n(at),
                    },
                )
        except ConditionFailed:
            return False
        return True
