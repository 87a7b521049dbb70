"""What services may ask of storage: one Protocol per store, and the plain values they trade.

Services depend on these Protocols only; the DynamoDB stores (and the in-memory fakes in
``tests/fakes.py``) implement them, and ``chalicelib/runtime.py`` picks the concrete classes.
Nothing here is in DynamoDB's wire format: the stores convert items to and from these values.
Every method may raise :class:`chalicelib.stores.errors.StoreError` (unreachable, throttled,
rejected); the conditions each method documents are normal outcomes, not errors, unless it says
which :class:`~chalicelib.stores.errors.ConditionFailed` subclass it raises.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from chalicelib.domain.analytics import CounterRow, CounterUpdate, KeyRange
from chalicelib.domain.events import Event
from chalicelib.domain.inbox import InboxItem, IndexPlan
from chalicelib.domain.keys import (
    SCOPE_EVENTS,
    STATUS_ACTIVE,
    ApiKey,
    Principal,
    SecretEntry,
)
from chalicelib.domain.token_bucket import Branch
from chalicelib.domain.webhooks import Attempt, Delivery, DeliveryMessage, Webhook

# -- events ------------------------------------------------------------------------------------
BATCH_WRITE_MAX_ITEMS = 25
BATCH_WRITE_ATTEMPTS = 5


@dataclass(frozen=True)
class NewEvent:
    """An event about to be stored, with where it goes: its inbox shard and when it expires."""

    event: Event
    shard: int
    expires_at: int  # epoch seconds; reads treat the event as gone from then on
    request_id: str | None = None  # of the POST that created it: the stream handlers log it


@dataclass(frozen=True)
class IdempotencyRecord:
    request_hash: str
    event_id: str
    response_json: str


@dataclass(frozen=True)
class ReplayRef:
    """An event as the replay index knows it: enough to match a webhook's filters."""

    event_id: str
    source: str
    event_type: str
    created_at: str


@dataclass(frozen=True)
class InboxPage:
    items: list[InboxItem]
    last_evaluated: str | None  # sort key the read stopped at; None when the range is exhausted


class EventStorage(Protocol):
    def put_new(self, new: NewEvent) -> None:
        """Create the event; :class:`ConditionFailed` when its id is already stored."""

    def batch_put_new(
        self, news: Sequence[NewEvent], max_attempts: int = BATCH_WRITE_ATTEMPTS
    ) -> list[NewEvent]:
        """Create up to 25 events (fresh ids, so no condition); return those never written."""
        ...

    def put_new_idempotent(
        self,
        new: NewEvent,
        tenant_id: str,
        key: str,
        record: IdempotencyRecord,
        ttl_seconds: int,
    ) -> IdempotencyRecord | None:
        """Create the event and the key's record together; ``None`` when this call did, else
        the live record that already holds the key (nothing written)."""
        ...

    def get_idempotency(self, tenant_id: str, key: str) -> IdempotencyRecord | None:
        """The live record holding the key, or ``None``."""
        ...

    def get(self, tenant_id: str, event_id: str) -> Event | None:
        """The live (not expired) event, or ``None``."""
        ...

    def acknowledge(self, tenant_id: str, event_id: str, acknowledged_at: str) -> Event:
        """pending -> acknowledged, off the inbox; :class:`EventNotPending` otherwise."""
        ...

    def delete(self, tenant_id: str, event_id: str) -> bool:
        """Delete the live event; ``False`` when there was none."""
        ...

    def query_replay_partition(
        self, partition: str, lower: str, upper: str, limit: int
    ) -> list[ReplayRef]:
        """Live events of one replay partition between two sort keys, oldest first; at most
        ``limit + 1`` (one more says the range holds more)."""
        ...

    def query_inbox_partition(
        self,
        plan: IndexPlan,
        partition_value: str,
        limit: int,
        filter_expression: str | None = None,
        names: dict[str, str] | None = None,
        values: dict[str, str] | None = None,
        lower: str | None = None,
    ) -> InboxPage:
        """Up to ``limit`` evaluated pending items of one inbox partition, in sort-key order,
        from ``lower``; ``filter_expression`` uses ``names``/``values`` placeholders (plain
        strings)."""
        ...


class HealthProbe(Protocol):
    def ping(self) -> None:
        """Return when storage answers; raise StoreError when it does not."""


# -- api keys ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyRecord:
    key_hash: str
    key_id: str
    tenant_id: str
    name: str
    created_at: str
    scopes: frozenset[str] = field(default_factory=lambda: frozenset({SCOPE_EVENTS}))
    rate_limit_per_minute: int | None = None
    allowed_ips: tuple[str, ...] = ()
    signing_secret: str | None = field(default=None, repr=False)
    status: str = STATUS_ACTIVE
    expires_at: int | None = None

    @classmethod
    def of_secret(
        cls, key: ApiKey, entry: SecretEntry, signing_secret: str | None = None
    ) -> KeyRecord:
        """The record of one of ``key``'s secrets: the key's settings, the signing secret paired
        with it, and its expiry (its own or the key's, whichever is first)."""
        return cls(
            key_hash=entry.key_hash,
            key_id=key.key_id,
            tenant_id=key.tenant_id,
            name=key.name,
            created_at=key.created_at,
            scopes=key.scopes,
            rate_limit_per_minute=key.rate_limit_per_minute,
            allowed_ips=key.allowed_ips,
            signing_secret=signing_secret,
            status=key.status,
            expires_at=key.secret_expiry(entry),
        )

    def principal(self) -> Principal:
        return Principal(
            key_id=self.key_id,
            tenant_id=self.tenant_id,
            name=self.name,
            scopes=self.scopes,
            rate_limit_per_minute=self.rate_limit_per_minute,
            allowed_ips=self.allowed_ips,
            signing_secrets=(self.signing_secret,) if self.signing_secret else (),
        )


def legacy_key(records: Sequence[KeyRecord]) -> ApiKey:
    """The key of a key made before key items existed, from its secrets' records (one each)."""
    first = records[0]
    return ApiKey(
        key_id=first.key_id,
        tenant_id=first.tenant_id,
        name=first.name,
        created_at=first.created_at,
        updated_at=first.created_at,
        scopes=first.scopes,
        rate_limit_per_minute=first.rate_limit_per_minute,
        allowed_ips=first.allowed_ips,
        signing=any(r.signing_secret for r in records),
        status=first.status,
        expires_at=first.expires_at,
        secrets=tuple(SecretEntry(r.key_hash, r.created_at) for r in records),
    )


@dataclass(frozen=True)
class KeyPage:
    keys: list[ApiKey]  # ordered by key_id
    next_after: str | None  # the key_id to continue after; None when there are no more


class ApiKeyStorage(Protocol):
    """One item per secret (the digest is its key; what authentication reads) and one item per
    key (its settings and live secrets; what the admin API reads and writes)."""

    def put(self, record: KeyRecord) -> None:
        """Store one secret's record alone, as keys were stored before key items existed (tests
        and old data); :class:`ConditionFailed` when its hash is taken."""

    def find_active(self, key_hash: str) -> KeyRecord | None:
        """The usable record for a digest, or ``None`` (unknown, revoked or expired)."""
        ...

    def create(self, key: ApiKey, secret: KeyRecord) -> None:
        """The key and its first secret, in one transaction; :class:`ConditionFailed` when
        either exists."""

    def get_key(self, tenant_id: str, key_id: str) -> ApiKey | None:
        """The key (strongly consistent), or ``None`` when it does not exist in this tenant. A
        key stored before key items existed (only :meth:`put` records) is adopted: its key is
        written then, so it can be changed like any other."""
        ...

    def list_keys(self, tenant_id: str, after: str | None, limit: int) -> KeyPage:
        """Up to ``limit`` keys of the tenant with ``key_id`` greater than ``after`` (keys stored
        before key items existed included, as :func:`legacy_key` reads them)."""
        ...

    def save(
        self,
        key: ApiKey,
        expected_version: int,
        secrets: Sequence[SecretEntry],
        new_secret: KeyRecord | None = None,
    ) -> None:
        """In one transaction: write ``key`` (:class:`ConditionFailed` unless the stored
        version is ``expected_version``), copy its settings onto the items of ``secrets`` with
        each one's expiry, and put ``new_secret`` when given."""

    def touch(self, key_id: str, at: str, if_not_after: str) -> bool:
        """Set the key's ``last_used_at`` to ``at`` when it is absent or not after
        ``if_not_after``; whether it wrote (a missing key: False)."""
        ...


# -- rate limits -------------------------------------------------------------------------------
@dataclass(frozen=True)
class WriteResult:
    written: bool
    tat_us: int | None  # after the write, or the current state when the condition failed


class RateLimitStorage(Protocol):
    def take(
        self, key_id: str, branch: Branch, now_us: int, interval_us: int, tat_limit_us: int
    ) -> WriteResult:
        """One conditional write of the key's GCRA state (see ``stores/rate_limits.py``)."""
        ...

    def read(self, key_id: str) -> int | None:
        """The stored theoretical arrival time (microseconds), or ``None``."""
        ...


# -- analytics ---------------------------------------------------------------------------------
MAX_TRANSACTION_ITEMS = 100


class AnalyticsStorage(Protocol):
    def count(self, record_ids: Sequence[str], updates: Sequence[CounterUpdate]) -> None:
        """Mark ``record_ids`` counted and apply ``updates``, all or nothing; at most
        ``MAX_TRANSACTION_ITEMS`` items. :class:`AlreadyCounted` (nothing written) when some
        records were counted before."""

    def read(self, key_range: KeyRange, limit: int | None = None) -> list[CounterRow]:
        """The live counter rows of one partition between two sort keys (with ``limit``: it
        may stop once it has more than ``limit`` rows)."""
        ...


# -- webhooks ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class WebhookPage:
    webhooks: list[Webhook]
    next_after: str | None


class WebhookStorage(Protocol):
    def create(self, webhook: Webhook) -> None:
        """Store a new webhook (its id is new)."""

    def count(self, tenant_id: str) -> int:
        """How many webhooks the tenant has."""
        ...

    def get(self, tenant_id: str, webhook_id: str) -> Webhook | None:
        """The tenant's webhook (consistent read), or ``None``."""
        ...

    def page(self, tenant_id: str, after: str | None, limit: int) -> WebhookPage:
        """The tenant's webhooks by id, after ``after``."""
        ...

    def receiving(self, tenant_id: str) -> list[Webhook]:
        """The tenant's active webhooks (the fan-out's one Query per tenant and batch), without
        their secrets (``secrets == ()``): the fan-out never signs."""
        ...

    def save(self, webhook: Webhook, fields: tuple[str, ...], read_updated_at: float) -> None:
        """Write ``fields``; :class:`ConditionFailed` when the stored ``updated_at`` is not
        ``read_updated_at`` or the webhook is gone."""

    def delete(self, tenant_id: str, webhook_id: str) -> bool:
        """Delete it; ``False`` when there was none."""
        ...

    def record_failure(self, tenant_id: str, webhook_id: str, at: float) -> Webhook | None:
        """Count one more failed attempt in a row (``failing_since`` set by the first); the
        webhook after the change, ``None`` when it is gone."""
        ...

    def open_breaker(self, tenant_id: str, webhook_id: str, until: float) -> None:
        """Hold new attempts to the endpoint until ``until``."""

    def take_probe(self, tenant_id: str, webhook_id: str, now: float, until: float) -> bool:
        """Renew an expired breaker hold to ``until``, conditionally: ``True`` for the one
        caller that did (it may send one attempt), ``False`` for the rest."""
        ...

    def record_success(self, tenant_id: str, webhook_id: str) -> None:
        """End a run of failures (no write when there is none)."""

    def disable(self, tenant_id: str, webhook_id: str, reason: str, at: float) -> bool:
        """Disable it unless it is disabled already; ``True`` when this call did."""
        ...


@dataclass(frozen=True)
class DeliveryPage:
    deliveries: list[Delivery]
    next_after: str | None


class DeliveryStorage(Protocol):
    def create(self, delivery: Delivery) -> Delivery | None:
        """Store a new delivery; when its id exists, write nothing and return the stored one."""
        ...

    def create_many(self, deliveries: Sequence[Delivery]) -> None:
        """Store deliveries whose ids are new; raises StorageUnavailable if some are not."""

    def mark_queued(self, webhook_id: str, delivery_id: str, at: float) -> None:
        """Note that the delivery's message was queued (its first ``queued_at`` is kept);
        nothing when the delivery is gone."""

    def get(self, webhook_id: str, delivery_id: str) -> Delivery | None:
        """The delivery (consistent read; none once expired)."""
        ...

    def claim(
        self, webhook_id: str, delivery_id: str, now: float, lease_seconds: float
    ) -> Delivery:
        """Take the attempt lease of a pending, due delivery whose lease is free; raises
        :class:`~chalicelib.stores.errors.ClaimRefused` with the delivery as it is otherwise."""
        ...

    def record_attempt(
        self,
        delivery: Delivery,
        attempt: Attempt | None,
        status: str,
        at: float,
        next_attempt_at: float | None = None,
        failure_reason: str | None = None,
    ) -> None:
        """Append the attempt, set status and next attempt, release the lease; only while it
        is pending (:class:`ConditionFailed` otherwise)."""

    def page(
        self, webhook_id: str, status: str | None, after: str | None, limit: int
    ) -> DeliveryPage:
        """Newest first, after the delivery id ``after``."""
        ...


class DeliveryQueuing(Protocol):
    """The webhook delivery queue (SQS) and its dead-letter queue."""

    def send(self, messages: Sequence[DeliveryMessage]) -> list[DeliveryMessage]:
        """Queue the messages; return those the queue did not take."""
        ...

    def delay(self, receipt_handle: str, seconds: float) -> None:
        """Make a received message visible again after ``seconds`` (at most 11 h 45 min: SQS
        allows 12 hours from the receive; a message back early waits again)."""

    def requeue(self, message: DeliveryMessage, seconds: float) -> None:
        """Send the message again as a new one, visible after ``seconds`` (at most 15 min)."""

    def dead_letter(self, message: DeliveryMessage | str, reason: str) -> None:
        """Copy the message to the dead-letter queue; a body that is not one of our messages
        (a string) is copied as it is, for someone to read."""
