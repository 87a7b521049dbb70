"""Managing webhooks (`/v1/webhooks`): create, list, read, edit, delete, rotate the secret, send a
test, replay a time range, list deliveries.

A URL is checked against the SSRF rules when it is set (create and edit: 400 with the reason)
and again by the delivery worker before every attempt. Test sends and replays make deliveries
with fresh ids and put them on the delivery queue; the worker sends them like any other.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from chalicelib import errors
from chalicelib.domain.clock import format_ts
from chalicelib.domain.inbox import HIGHEST, LOWEST, replay_partition, sort_key
from chalicelib.domain.ssrf import TargetRefused, check_url
from chalicelib.domain.ulid import UlidGenerator
from chalicelib.domain.webhook_signing import new_webhook_secret
from chalicelib.domain.webhooks import (
    DELIVERY_FAILED,
    DELIVERY_PENDING,
    KIND_REPLAY,
    KIND_TEST,
    MAX_WEBHOOKS_PER_TENANT,
    STATUS_ACTIVE,
    STATUS_DISABLED,
    TEST_EVENT_TYPE,
    Delivery,
    DeliveryMessage,
    Webhook,
    WebhookSecret,
    new_webhook_id,
    plan_secret_rotation,
)
from chalicelib.observability.logging import logger
from chalicelib.services.storage_errors import storage_unavailable_as_503
from chalicelib.stores.errors import ConditionFailed, StoreError
from chalicelib.stores.protocols import (
    DeliveryPage,
    DeliveryQueuing,
    DeliveryStorage,
    EventStorage,
    ReplayRef,
    WebhookPage,
    WebhookStorage,
)

MAX_REPLAY_EVENTS = 1000  # matching events queued by one replay
MAX_REPLAY_READ = 20 * MAX_REPLAY_EVENTS  # events read by one replay, matching or not
EDIT_ATTEMPTS = 3
DISABLED_BY_ADMIN = "Disabled through the API."
Resolver = Callable[[str, int], list[str]]


@dataclass(frozen=True)
class WebhookSpec:
    url: str
    event_types: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    description: str = ""
    rate_limit_per_second: int | None = None


@dataclass(frozen=True)
class IssuedWebhook:
    webhook: Webhook
    secret: str
    previous_secret_expires_at: float | None = None


@dataclass(frozen=True)
class ReplayResult:
    queued: int
    matched_events: int


class WebhookService:
    def __init__(
        self,
        webhooks: WebhookStorage,
        deliveries: DeliveryStorage,
        events: EventStorage,
        queue: DeliveryQueuing,
        *,
        shards: int,
        allow_private_targets: bool,
        resolve: Resolver,
        now: Callable[[], float] = time.time,
        ids: UlidGenerator | None = None,
    ) -> None:
        self._webhooks = webhooks
        self._deliveries = deliveries
        self._events = events
        self._queue = queue
        self._shards = shards
        self._allow_private = allow_private_targets
        self._resolve = resolve
        self._now = now
        self._ids = ids or UlidGenerator()

    # -- the resource ------------------------------------------------------------------------
    def check_url(self, url: str) -> None:
        try:
            check_url(url, self._allow_private, self._resolve)
        except TargetRefused as exc:
            raise errors.ValidationError(
                f"The webhook URL is not allowed: {exc.reason}",
                details=[{"field": "url", "message": exc.reason}],
            ) from exc

    def create(self, tenant_id: str, spec: WebhookSpec) -> IssuedWebhook:
        self.check_url(spec.url)
        now = self._now()
        secret = new_webhook_secret()
        webhook = Webhook(
            tenant_id=tenant_id,
            webhook_id=new_webhook_id(),
            url=spec.url,
            event_types=spec.event_types,
            sources=spec.sources,
            description=spec.description,
            status=STATUS_ACTIVE,
            created_at=now,
            updated_at=now,
            secrets=(WebhookSecret(secret, now),),
            rate_limit_per_second=spec.rate_limit_per_second,
        )
        with storage_unavailable_as_503():
            if self._webhooks.count(tenant_id) >= MAX_WEBHOOKS_PER_TENANT:
                raise errors.Conflict(
                    f"A tenant can have at most {MAX_WEBHOOKS_PER_TENANT} webhooks; "
                    "delete one first."
                )
            self._webhooks.create(webhook)
        logger.info(
            "webhook created", extra={"webhook_id": webhook.webhook_id, "tenant": tenant_id}
        )
        return IssuedWebhook(webhook, secret)

    def list(self, tenant_id: str, after: str | None, limit: int) -> WebhookPage:
        with storage_unavailable_as_503():
            return self._webhooks.page(tenant_id, after, limit)

    def get(self, tenant_id: str, webhook_id: str) -> Webhook:
        with storage_unavailable_as_503():
            webhook = self._webhooks.get(tenant_id, webhook_id)
        if webhook is None:
            raise errors.NotFound("No webhook with that id.")
        return webhook

    def update(self, tenant_id: str, webhook_id: str, changes: Mapping[str, Any]) -> Webhook:
        """Apply ``changes`` (any of url, event_types, sources, description, status,
        rate_limit_per_second). Setting ``status`` to active re-enables a paused or disabled
        endpoint and starts its failure count afresh."""
        if "url" in changes:
            self.check_url(changes["url"])
        for _ in range(EDIT_ATTEMPTS):
            current = self.get(tenant_id, webhook_id)
            edited = replace(current, **dict(changes), updated_at=self._now())
            fields = tuple(changes)
            if "status" in changes and changes["status"] != current.status:
                edited = self._status_change(edited)
                fields += (
                    "disabled_reason",
                    "consecutive_failures",
                    "failing_since",
                    "breaker_open_until",
                )
            with storage_unavailable_as_503():
                try:
                    self._webhooks.save(edited, fields, current.updated_at)
                except ConditionFailed:
                    continue  # changed (or deleted) since we read it: read again
            logger.info(
                "webhook updated",
                extra={
                    "webhook_id": webhook_id,
                    "fields": sorted(changes),
                    "status": edited.status,
                },
            )
            return edited
        raise errors.Conflict("The webhook was changed by another request; try again.")

    @staticmethod
    def _status_change(webhook: Webhook) -> Webhook:
        reason = DISABLED_BY_ADMIN if webhook.status == STATUS_DISABLED else None
        return replace(
            webhook,
            disabled_reason=reason,
            consecutive_failures=0,
            failing_since=None,
            breaker_open_until=None,
        )

    def delete(self, tenant_id: str, webhook_id: str) -> None:
        with storage_unavailable_as_503():
            deleted = self._webhooks.delete(tenant_id, webhook_id)
        if not deleted:
            raise errors.NotFound("No webhook with that id.")
        logger.info("webhook deleted", extra={"webhook_id": webhook_id, "tenant": tenant_id})

    def rotate_secret(self, tenant_id: str, webhook_id: str, grace_seconds: float) -> IssuedWebhook:
        secret = new_webhook_secret()
        for _ in range(EDIT_ATTEMPTS):
            current = self.get(tenant_id, webhook_id)
            now = self._now()
            secrets = plan_secret_rotation(current, secret, now, grace_seconds)
            rotated = replace(current, secrets=secrets, updated_at=now)
            with storage_unavailable_as_503():
                try:
                    self._webhooks.save(rotated, ("secrets",), current.updated_at)
                except ConditionFailed:
                    continue  # changed (or deleted) since we read it: read again
            previous = [s.expires_at for s in secrets[1:] if s.expires_at is not None]
            logger.info("webhook secret rotated", extra={"webhook_id": webhook_id})
            return IssuedWebhook(rotated, secret, max(previous) if previous else None)
        raise errors.Conflict("The webhook was changed by another request; try again.")

    # -- sending -----------------------------------------------------------------------------
    def _require_active(self, webhook: Webhook) -> None:
        if webhook.status != STATUS_ACTIVE:
            raise errors.Conflict(
                f"The webhook is {webhook.status}; set its status to active first.",
                details=[{"field": "status", "message": webhook.status}],
            )

    def _new_delivery(
        self, webhook: Webhook, kind: str, event_id: str, event_type: str, **more: Any
    ) -> Delivery:
        now = self._now()
        return Delivery(
            webhook_id=webhook.webhook_id,
            delivery_id="msg_" + self._ids.new(int(now * 1000)),
            tenant_id=webhook.tenant_id,
            event_id=event_id,
            event_type=event_type,
            kind=kind,
            status=DELIVERY_PENDING,
            created_at=now,
            updated_at=now,
            **more,
        )

    def _enqueue(self, deliveries: Sequence[Delivery], request_id: str | None) -> None:
        """Store the deliveries, then queue one message each. A delivery whose message SQS
        refused is marked failed (it would never be sent) and the request answers 503; so is
        every one when the send fails as a whole (a message of those that got through finds its
        delivery failed and is dropped)."""
        with storage_unavailable_as_503():
            self._deliveries.create_many(deliveries)
            messages = [
                DeliveryMessage(d.tenant_id, d.webhook_id, d.delivery_id, request_id)
                for d in deliveries
            ]
            try:
                refused = {m.delivery_id for m in self._queue.send(messages)}
            except StoreError as exc:
                logger.warning("webhook queue refused a send", extra={"error": str(exc)})
                refused = {m.delivery_id for m in messages}
            if not refused:
                return
            now = self._now()
            for delivery in deliveries:
                if delivery.delivery_id in refused:
                    self._deliveries.record_attempt(
                        delivery, None, DELIVERY_FAILED, now, failure_reason="could not be queued"
                    )
        raise errors.ServiceUnavailable(
            f"{len(refused)} of {len(deliveries)} deliveries could not be queued; "
            "they are marked failed: retry the request."
        )

    def send_test(self, tenant_id: str, webhook_id: str, request_id: str | None) -> Delivery:
        webhook = self.get(tenant_id, webhook_id)
        self._require_active(webhook)
        now = self._now()
        payload = json.dumps(
            {"webhook_id": webhook_id, "message": "A test delivery from Triggers API."},
            separators=(",", ":"),
        )
        delivery = self._new_delivery(
            webhook, KIND_TEST, "", TEST_EVENT_TYPE, test_payload=payload, request_id=request_id
        )
        self._enqueue([delivery], request_id)
        logger.info(
            "webhook test queued",
            extra={"webhook_id": webhook_id, "delivery_id": delivery.delivery_id, "at": now},
        )
        return delivery

    def replay(
        self,
        tenant_id: str,
        webhook_id: str,
        since: float,
        until: float,
        request_id: str | None,
    ) -> ReplayResult:
        """Queue a new delivery of every live event of the tenant created in [since, until]
        that passes the webhook's filters (acknowledged ones too). At most
        ``MAX_REPLAY_EVENTS`` matching events, found among at most ``MAX_REPLAY_READ``: a wider
        range is refused whole, nothing queued."""
        webhook = self.get(tenant_id, webhook_id)
        self._require_active(webhook)
        refs = self._replay_refs(webhook, format_ts(since) + LOWEST, format_ts(until) + HIGHEST)
        deliveries = [
            self._new_delivery(
                webhook,
                KIND_REPLAY,
                r.event_id,
                r.event_type,
                request_id=request_id,
                source=r.source,
            )
            for r in refs
        ]
        if deliveries:
            self._enqueue(deliveries, request_id)
        logger.info(
            "webhook replay queued",
            extra={"webhook_id": webhook_id, "queued": len(deliveries), "since": since},
        )
        return ReplayResult(queued=len(deliveries), matched_events=len(refs))

    def _replay_refs(self, webhook: Webhook, lower: str, upper: str) -> Sequence[ReplayRef]:
        """The events of the range that pass the webhook's filters, oldest first, read a page at
        a time from every shard: the filters are applied after the read, so a page full of
        events that do not match must not end the shard's read."""
        refs: list[ReplayRef] = []
        read = 0
        with storage_unavailable_as_503():
            for shard in range(self._shards):
                partition = replay_partition(webhook.tenant_id, shard)
                low = lower
                while True:
                    part = self._events.query_replay_partition(
                        partition, low, upper, MAX_REPLAY_EVENTS
                    )
                    read += len(part)
                    refs.extend(r for r in part if webhook.matches(r.source, r.event_type))
                    if len(refs) > MAX_REPLAY_EVENTS or read > MAX_REPLAY_READ:
                        raise errors.ValidationError(
                            f"The range holds more than {MAX_REPLAY_EVENTS} matching events "
                            f"(or more than {MAX_REPLAY_READ} events); replay a narrower range.",
                            details=[{"field": "since", "message": "range too wide"}],
                        )
                    if len(part) <= MAX_REPLAY_EVENTS:
                        break  # the shard's range is read to its end
                    last = part[-1]  # sort keys have one width: "!" sorts before any next one
                    low = sort_key(last.created_at, last.event_id) + "!"
        return sorted(refs, key=lambda r: (r.created_at, r.event_id))

    def deliveries(
        self, tenant_id: str, webhook_id: str, status: str | None, after: str | None, limit: int
    ) -> DeliveryPage:
        self.get(tenant_id, webhook_id)  # 404 for another tenant's webhook
        with storage_unavailable_as_503():
            return self._deliveries.page(webhook_id, status, after, limit)
