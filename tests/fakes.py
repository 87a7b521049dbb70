"""In-memory fakes of the stores, one per Protocol in ``chalicelib/stores/protocols.py``.

Unit tests use them instead of DynamoDB Local; ``tests/integration/test_store_contracts.py``
runs the same contract tests against each fake and its DynamoDB store, so a fake cannot drift
from the real one (conditional writes, expiry, what a refused write hands back).
"""

from __future__ import annotations

import dataclasses
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from chalicelib.domain import webhooks as hooks
from chalicelib.domain.analytics import (
    COUNTERS,
    RETENTION_SECONDS,
    CounterRow,
    CounterUpdate,
    KeyRange,
)
from chalicelib.domain.events import STATUS_ACKNOWLEDGED, STATUS_PENDING, Event
from chalicelib.domain.inbox import InboxItem, IndexPlan, inbox_keys, replay_partition, sort_key
from chalicelib.domain.keys import ApiKey, SecretEntry
from chalicelib.domain.latency_sketch import bin_index
from chalicelib.domain.token_bucket import Branch
from chalicelib.domain.webhooks import (
    DELIVERY_PENDING,
    DELIVERY_RETENTION_SECONDS,
    Attempt,
    Delivery,
    DeliveryMessage,
    Webhook,
)
from chalicelib.services.outbound_http import HttpResult
from chalicelib.stores.errors import (
    AlreadyCounted,
    ClaimRefused,
    ConditionFailed,
    EventNotPending,
    StorageUnavailable,
)
from chalicelib.stores.protocols import (
    BATCH_WRITE_ATTEMPTS,
    BATCH_WRITE_MAX_ITEMS,
    MAX_TRANSACTION_ITEMS,
    STATUS_ACTIVE,
    DeliveryPage,
    IdempotencyRecord,
    InboxPage,
    KeyPage,
    KeyRecord,
    NewEvent,
    ReplayRef,
    WebhookPage,
    WriteResult,
    legacy_key,
)
from chalicelib.stores.webhooks import EDITABLE


# -- api keys ----------------------------------------------------------------------------------
class FakeKeyStore:
    """:class:`ApiKeyStorage` over dicts; counts lookups. ``secrets`` holds the secret items by
    digest, ``keys`` the key items by key id."""

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self.records: dict[str, KeyRecord] = {}
        self.keys: dict[str, ApiKey] = {}
        self.managed: set[str] = set()  # digests of secrets that belong to a key item
        self.lookups = 0
        self._now = now

    def put(self, record: KeyRecord) -> None:
        if record.key_hash in self.records:
            raise ConditionFailed()
        self.records[record.key_hash] = record

    def find_active(self, key_hash: str) -> KeyRecord | None:
        self.lookups += 1
        record = self.records.get(key_hash)
        if record is None or record.status != STATUS_ACTIVE:
            return None
        if record.expires_at is not None and record.expires_at <= self._now():
            return None
        return record

    def create(self, key: ApiKey, secret: KeyRecord) -> None:
        if key.key_id in self.keys or secret.key_hash in self.records:
            raise ConditionFailed()
        self.keys[key.key_id] = key
        self.records[secret.key_hash] = secret
        self.managed.add(secret.key_hash)

    def _legacy(self, tenant_id: str, key_id: str | None = None) -> list[KeyRecord]:
        return [
            r
            for r in self.records.values()
            if r.key_hash not in self.managed
            and r.tenant_id == tenant_id
            and (key_id is None or r.key_id == key_id)
        ]

    def get_key(self, tenant_id: str, key_id: str) -> ApiKey | None:
        key = self.keys.get(key_id)
        if key is None:
            legacy = self._legacy(tenant_id, key_id)
            if not legacy:
                return None
            key = self.keys[key_id] = legacy_key(legacy)
            self.managed.update(r.key_hash for r in legacy)
        return key if key.tenant_id == tenant_id else None

    def list_keys(self, tenant_id: str, after: str | None, limit: int) -> KeyPage:
        found = {k: key for k, key in self.keys.items() if key.tenant_id == tenant_id}
        for record in self._legacy(tenant_id):
            found.setdefault(record.key_id, legacy_key([record]))
        ids = sorted(k for k in found if after is None or k > after)
        page = [found[k] for k in ids[:limit]]
        return KeyPage(page, page[-1].key_id if len(ids) > limit else None)

    def save(
        self,
        key: ApiKey,
        expected_version: int,
        secrets: Sequence[SecretEntry],
        new_secret: KeyRecord | None = None,
    ) -> None:
        stored = self.keys.get(key.key_id)
        if stored is None or stored.version != expected_version:
            raise ConditionFailed()
        for entry in secrets:
            record = self.records.get(entry.key_hash)
            if record is None or record.key_id != key.key_id:
                raise ConditionFailed()
        if new_secret is not None and new_secret.key_hash in self.records:
            raise ConditionFailed()
        self.keys[key.key_id] = dataclasses.replace(key, last_used_at=stored.last_used_at)
        for entry in secrets:
            self.records[entry.key_hash] = dataclasses.replace(
                self.records[entry.key_hash],
                name=key.name,
                scopes=key.scopes,
                rate_limit_per_minute=key.rate_limit_per_minute,
                allowed_ips=key.allowed_ips,
                status=key.status,
                expires_at=key.secret_expiry(entry),
            )
        if new_secret is not None:
            self.records[new_secret.key_hash] = new_secret
            self.managed.add(new_secret.key_hash)

    def touch(self, key_id: str, at: str, if_not_after: str) -> bool:
        key = self.keys.get(key_id)
        if key is None or (key.last_used_at is not None and key.last_used_at > if_not_after):
            return False
        self.keys[key_id] = dataclasses.replace(key, last_used_at=at)
        return True


# -- rate limits -------------------------------------------------------------------------------
class FakeRateLimitStore:
    """:class:`RateLimitStorage`: the table's conditional writes, in memory. ``down`` makes every
    write fail as an unreachable table does; ``calls`` records the branches written."""

    def __init__(self) -> None:
        self.tat: dict[str, int] = {}
        self.calls: list[Branch] = []
        self.down = False
        self._lock = threading.Lock()  # a conditional write is atomic (callers use threads)

    def take(
        self, key_id: str, branch: Branch, now_us: int, interval_us: int, tat_limit_us: int
    ) -> WriteResult:
        if branch not in (Branch.IDLE, Branch.BUSY):
            raise ValueError("only the IDLE and BUSY branches write")
        with self._lock:
            self.calls.append(branch)
            if self.down:
                raise StorageUnavailable("UpdateItem rate-limits: ConnectTimeoutError")
            current = self.tat.get(key_id)
            if branch is Branch.IDLE and (current is None or current <= now_us):
                self.tat[key_id] = now_us + interval_us
                return WriteResult(True, self.tat[key_id])
            if branch is Branch.BUSY and current is not None and now_us < current <= tat_limit_us:
                self.tat[key_id] = current + interval_us
                return WriteResult(True, self.tat[key_id])
            return WriteResult(False, current)

    def read(self, key_id: str) -> int | None:
        return self.tat.get(key_id)


# -- events ------------------------------------------------------------------------------------
_CLAUSE = re.compile(r"^(#[A-Za-z0-9_]+(?:\.#[A-Za-z0-9_]+)*) = (:[A-Za-z0-9_]+)$")


def _matches(
    attributes: dict[str, Any], expression: str, names: dict[str, str], values: dict[str, str]
) -> bool:
    """Evaluate the filters ``domain/filters.py`` builds: ``#a.#b = :v AND ...``, nothing else."""
    for clause in expression.split(" AND "):
        match = _CLAUSE.match(clause)
        if match is None:
            raise ValueError(f"the fake cannot evaluate {clause!r}")
        value: Any = attributes
        for placeholder in match.group(1).split("."):
            value = value.get(names[placeholder]) if isinstance(value, dict) else None
        if value != values[match.group(2)]:
            return False
    return True


class FakeEventStore:
    """:class:`EventStorage` and :class:`HealthProbe` over dicts, with the same conditions as
    ``stores/events.py``: expired items (TTL not yet swept) still occupy their key but read as
    gone, the inbox holds pending events only, and a read evaluates ``limit`` items before the
    filter and reports where it stopped."""

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self.events: dict[tuple[str, str], NewEvent] = {}
        self.idempotency: dict[tuple[str, str], tuple[IdempotencyRecord, int]] = {}
        self._now = now

    def _live(self, tenant_id: str, event_id: str) -> NewEvent | None:
        new = self.events.get((tenant_id, event_id))
        return new if new is not None and new.expires_at > self._now() else None

    def ping(self) -> None:
        return None

    def put_new(self, new: NewEvent) -> None:
        key = (new.event.tenant_id, new.event.event_id)
        if key in self.events:
            raise ConditionFailed()
        self.events[key] = new

    def batch_put_new(
        self, news: Sequence[NewEvent], max_attempts: int = BATCH_WRITE_ATTEMPTS
    ) -> list[NewEvent]:
        if len(news) > BATCH_WRITE_MAX_ITEMS:
            raise ValueError(f"at most {BATCH_WRITE_MAX_ITEMS} items per BatchWriteItem")
        for new in news:  # no condition: a batch write overwrites, as BatchWriteItem does
            self.events[(new.event.tenant_id, new.event.event_id)] = new
        return []

    def put_new_idempotent(
        self,
        new: NewEvent,
        tenant_id: str,
        key: str,
        record: IdempotencyRecord,
        ttl_seconds: int,
    ) -> IdempotencyRecord | None:
        holder = self.get_idempotency(tenant_id, key)
        if holder is not None:
            return holder
        if (new.event.tenant_id, new.event.event_id) in self.events:
            raise StorageUnavailable("idempotency record contended")
        self.idempotency[(tenant_id, key)] = (record, int(self._now()) + ttl_seconds)
        self.events[(new.event.tenant_id, new.event.event_id)] = new
        return None

    def get_idempotency(self, tenant_id: str, key: str) -> IdempotencyRecord | None:
        held = self.idempotency.get((tenant_id, key))
        if held is None or held[1] <= self._now():
            return None
        return held[0]

    def get(self, tenant_id: str, event_id: str) -> Event | None:
        new = self._live(tenant_id, event_id)
        return new.event if new is not None else None

    def acknowledge(self, tenant_id: str, event_id: str, acknowledged_at: str) -> Event:
        new = self._live(tenant_id, event_id)
        if new is None:
            raise EventNotPending(None)
        if new.event.status != STATUS_PENDING:
            raise EventNotPending(new.event)
        acked = dataclasses.replace(
            new.event, status=STATUS_ACKNOWLEDGED, acknowledged_at=acknowledged_at
        )
        self.events[(tenant_id, event_id)] = dataclasses.replace(new, event=acked)
        return acked

    def delete(self, tenant_id: str, event_id: str) -> bool:
        if self._live(tenant_id, event_id) is None:
            return False
        del self.events[(tenant_id, event_id)]
        return True

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
        low = lower if lower is not None else plan.lower
        indexed = []
        for new in self.events.values():
            event = new.event
            if event.status != STATUS_PENDING:
                continue  # acknowledging removes the inbox attributes
            keys = inbox_keys(
                event.tenant_id,
                new.shard,
                event.source,
                event.event_type,
                event.created_at,
                event.event_id,
            )
            sort_key = keys["inbox_sk"]
            if keys[plan.partition_attr] == partition_value and low <= sort_key <= plan.upper:
                indexed.append((sort_key, new))
        indexed.sort(key=lambda entry: entry[0])
        evaluated = indexed[:limit]
        items = [
            InboxItem(sort_key, new.event)
            for sort_key, new in evaluated
            if new.expires_at > self._now()
            and (
                filter_expression is None
                or _matches(
                    dataclasses.asdict(new.event), filter_expression, names or {}, values or {}
                )
            )
        ]
        stopped = evaluated[-1][0] if len(evaluated) == limit else None
        return InboxPage(items, stopped)

    def query_replay_partition(
        self, partition: str, lower: str, upper: str, limit: int
    ) -> list[ReplayRef]:
        """Every live event (pending or acknowledged) of the partition in the inclusive range,
        oldest first; at most ``limit + 1``."""
        found = []
        for new in self.events.values():
            event = new.event
            key = sort_key(event.created_at, event.event_id)
            if (
                replay_partition(event.tenant_id, new.shard) == partition
                and lower <= key <= upper
                and new.expires_at > self._now()
            ):
                ref = ReplayRef(event.event_id, event.source, event.event_type, event.created_at)
                found.append((key, ref))
        found.sort(key=lambda entry: entry[0])
        return [ref for _, ref in found[: limit + 1]]


# -- analytics ---------------------------------------------------------------------------------
class FakeAnalyticsStore:
    """:class:`AnalyticsStorage`: dedup markers and summed counters, all or nothing."""

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self.markers: set[str] = set()
        self.counters: dict[tuple[str, str], tuple[str, str, dict[str, int], int, str]] = {}
        self._now = now

    def count(self, record_ids: Sequence[str], updates: Sequence[CounterUpdate]) -> None:
        if len(record_ids) + len(updates) > MAX_TRANSACTION_ITEMS:
            raise ValueError("too many items for one transaction; split the batch")
        seen = [r for r in record_ids if r in self.markers]
        if seen:
            raise AlreadyCounted(seen)
        self.markers.update(record_ids)
        for update in updates:
            key = update.key
            expires = key.start + RETENTION_SECONDS[key.granularity]
            source, event_type, counts, expires, bucket = self.counters.get(
                (key.pk, key.sk), (key.source, key.event_type, {}, expires, key.bucket)
            )
            for name, value in update.counts.items():
                counts[name] = counts.get(name, 0) + value
            self.counters[(key.pk, key.sk)] = (source, event_type, counts, expires, bucket)

    def read(self, key_range: KeyRange, limit: int | None = None) -> list[CounterRow]:
        rows = []
        for (pk, sk), (source, event_type, counts, expires, bucket) in sorted(
            self.counters.items()
        ):
            in_range = pk == key_range.pk and key_range.lower <= sk <= key_range.upper
            if in_range and expires > self._now():
                latency = {
                    index: value
                    for name, value in counts.items()
                    if (index := bin_index(name)) is not None
                }
                plain = {n: counts.get(n, 0) for n in COUNTERS}
                rows.append(CounterRow(source, event_type, plain, latency, bucket))
            if limit is not None and len(rows) > limit:
                break
        return rows


# -- webhooks ----------------------------------------------------------------------------------
class FakeWebhookStore:
    """:class:`WebhookStorage` over a dict, with the table's conditions: ``create`` of a new id
    only, ``save`` only over the version read, health counters only on a webhook that exists
    (``open_breaker`` on a gone one raises, as the conditional UpdateItem does), ``disable``
    once. ``saves`` counts the saves that wrote."""

    def __init__(self) -> None:
        self.webhooks: dict[tuple[str, str], Webhook] = {}
        self.saves = 0
        self._lock = threading.Lock()

    def create(self, webhook: Webhook) -> None:
        with self._lock:
            key = (webhook.tenant_id, webhook.webhook_id)
            if key in self.webhooks:
                raise ConditionFailed()
            self.webhooks[key] = webhook

    def count(self, tenant_id: str) -> int:
        return sum(1 for tenant, _ in self.webhooks if tenant == tenant_id)

    def get(self, tenant_id: str, webhook_id: str) -> Webhook | None:
        return self.webhooks.get((tenant_id, webhook_id))

    def page(self, tenant_id: str, after: str | None, limit: int) -> WebhookPage:
        ids = sorted(w for t, w in self.webhooks if t == tenant_id and (after is None or w > after))
        hooks = [self.webhooks[(tenant_id, w)] for w in ids[:limit]]
        # A cursor only when a next page exists (the store reads one item more than asked).
        return WebhookPage(hooks, hooks[-1].webhook_id if len(ids) > limit else None)

    def receiving(self, tenant_id: str) -> list[Webhook]:
        return [
            dataclasses.replace(self.webhooks[(tenant_id, w)], secrets=())
            for t, w in sorted(self.webhooks)
            if t == tenant_id and self.webhooks[(t, w)].receives
        ]

    def save(self, webhook: Webhook, fields: tuple[str, ...], read_updated_at: float) -> None:
        with self._lock:
            key = (webhook.tenant_id, webhook.webhook_id)
            stored = self.webhooks.get(key)
            if stored is None or stored.updated_at != read_updated_at:
                raise ConditionFailed()
            names = tuple(dict.fromkeys((*fields, "updated_at")))
            unknown = [name for name in names if name not in EDITABLE and name != "secrets"]
            if unknown:
                raise KeyError(unknown[0])  # the store has no way to write it either
            changes = {name: getattr(webhook, name) for name in names}
            self.webhooks[key] = dataclasses.replace(stored, **changes)
            self.saves += 1

    def delete(self, tenant_id: str, webhook_id: str) -> bool:
        with self._lock:
            return self.webhooks.pop((tenant_id, webhook_id), None) is not None

    def record_failure(self, tenant_id: str, webhook_id: str, at: float) -> Webhook | None:
        with self._lock:
            stored = self.webhooks.get((tenant_id, webhook_id))
            if stored is None:
                return None
            since = stored.failing_since if stored.failing_since is not None else at
            updated = dataclasses.replace(
                stored, consecutive_failures=stored.consecutive_failures + 1, failing_since=since
            )
            self.webhooks[(tenant_id, webhook_id)] = updated
            return updated

    def open_breaker(self, tenant_id: str, webhook_id: str, until: float) -> None:
        with self._lock:
            stored = self.webhooks.get((tenant_id, webhook_id))
            if stored is None:
                raise ConditionFailed()
            updated = dataclasses.replace(stored, breaker_open_until=until)
            self.webhooks[(tenant_id, webhook_id)] = updated

    def take_probe(self, tenant_id: str, webhook_id: str, now: float, until: float) -> bool:
        with self._lock:
            stored = self.webhooks.get((tenant_id, webhook_id))
            held = stored is not None and stored.breaker_open_until is not None
            if stored is None or (held and (stored.breaker_open_until or 0.0) > now):
                return False
            updated = dataclasses.replace(stored, breaker_open_until=until)
            self.webhooks[(tenant_id, webhook_id)] = updated
            return True

    def record_success(self, tenant_id: str, webhook_id: str) -> None:
        with self._lock:
            stored = self.webhooks.get((tenant_id, webhook_id))
            if stored is None or (
                stored.consecutive_failures <= 0 and stored.failing_since is None
            ):
                return
            self.webhooks[(tenant_id, webhook_id)] = dataclasses.replace(
                stored, consecutive_failures=0, failing_since=None, breaker_open_until=None
            )

    def disable(self, tenant_id: str, webhook_id: str, reason: str, at: float) -> bool:
        with self._lock:
            stored = self.webhooks.get((tenant_id, webhook_id))
            if stored is None or stored.status == hooks.STATUS_DISABLED:
                return False
            self.webhooks[(tenant_id, webhook_id)] = dataclasses.replace(
                stored,
                status=hooks.STATUS_DISABLED,
                disabled_reason=reason,
                updated_at=at,
                breaker_open_until=None,
            )
            return True


def _as_stored(attempt: Attempt) -> Attempt:
    """An attempt as the table keeps it: latency to 0.1 ms, at most 300 characters of detail."""
    detail = attempt.error_detail[:300] if attempt.error_detail else None
    return dataclasses.replace(
        attempt, latency_ms=round(attempt.latency_ms, 1), error_detail=detail
    )


class FakeDeliveryStore:
    """:class:`DeliveryStorage` over a dict, with the table's rules: ``create`` never
    overwrites (it hands back what is stored), ``claim`` takes the lease only of a pending,
    due delivery whose lease is free, ``record_attempt`` only while pending, and a delivery
    past its retention (``created_at`` + 30 days) still holds its id but reads as gone."""

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self.deliveries: dict[tuple[str, str], Delivery] = {}
        self._now = now
        self._lock = threading.Lock()

    def _live(self, delivery: Delivery | None) -> Delivery | None:
        if delivery is None:
            return None
        expires_at = int(delivery.created_at) + DELIVERY_RETENTION_SECONDS
        return delivery if expires_at > self._now() else None

    @staticmethod
    def _stored(delivery: Delivery) -> Delivery:
        attempts = tuple(_as_stored(a) for a in delivery.attempts)
        return dataclasses.replace(delivery, attempts=attempts, lease_until=None)

    def create(self, delivery: Delivery) -> Delivery | None:
        with self._lock:
            key = (delivery.webhook_id, delivery.delivery_id)
            stored = self.deliveries.get(key)
            if stored is not None:
                return stored
            self.deliveries[key] = self._stored(delivery)
            return None

    def create_many(self, deliveries: Sequence[Delivery]) -> None:
        with self._lock:  # BatchWriteItem: unconditional puts
            for delivery in deliveries:
                key = (delivery.webhook_id, delivery.delivery_id)
                self.deliveries[key] = self._stored(delivery)

    def mark_queued(self, webhook_id: str, delivery_id: str, at: float) -> None:
        with self._lock:
            stored = self.deliveries.get((webhook_id, delivery_id))
            if stored is not None and stored.queued_at is None:
                self.deliveries[(webhook_id, delivery_id)] = dataclasses.replace(
                    stored, queued_at=at
                )

    def get(self, webhook_id: str, delivery_id: str) -> Delivery | None:
        return self._live(self.deliveries.get((webhook_id, delivery_id)))

    def claim(
        self, webhook_id: str, delivery_id: str, now: float, lease_seconds: float
    ) -> Delivery:
        with self._lock:
            stored = self.deliveries.get((webhook_id, delivery_id))
            if (
                stored is None
                or stored.status != DELIVERY_PENDING
                or (stored.lease_until is not None and stored.lease_until > now)
                or (stored.next_attempt_at is not None and stored.next_attempt_at > now + 1.0)
            ):
                raise ClaimRefused(self._live(stored))
            claimed = dataclasses.replace(stored, lease_until=now + lease_seconds)
            self.deliveries[(webhook_id, delivery_id)] = claimed
            if self._live(claimed) is None:
                raise ClaimRefused(None)
            return claimed

    def record_attempt(
        self,
        delivery: Delivery,
        attempt: Attempt | None,
        status: str,
        at: float,
        next_attempt_at: float | None = None,
        failure_reason: str | None = None,
    ) -> None:
        with self._lock:
            key = (delivery.webhook_id, delivery.delivery_id)
            stored = self.deliveries.get(key)
            if stored is None or stored.status != DELIVERY_PENDING:
                raise ConditionFailed()
            added = () if attempt is None else (_as_stored(attempt),)
            self.deliveries[key] = dataclasses.replace(
                stored,
                attempts=stored.attempts + added,
                status=status,
                updated_at=at,
                lease_until=None,
                next_attempt_at=next_attempt_at,
                failure_reason=stored.failure_reason if failure_reason is None else failure_reason,
            )

    def page(
        self, webhook_id: str, status: str | None, after: str | None, limit: int
    ) -> DeliveryPage:
        found = sorted(
            (
                d
                for (w, delivery_id), d in self.deliveries.items()
                if w == webhook_id
                and self._live(d) is not None
                and (status is None or d.status == status)
                and (after is None or delivery_id < after)
            ),
            key=lambda d: d.delivery_id,
            reverse=True,
        )
        page = found[:limit]
        return DeliveryPage(page, page[-1].delivery_id if len(found) > limit else None)


class FakeDeliveryQueue:
    """:class:`DeliveryQueuing` in memory. ``sent`` holds every message the queue took,
    ``delays`` the visibility changes asked for each receipt handle (as asked: the real queue
    rounds them and caps them at 12 hours), ``dead_letters`` the copies with their reasons.
    ``refuse`` refuses that many of the next messages (SQS's ``Failed`` entries),
    ``refuse_once`` the next message of each delivery id it holds, and ``down`` every send, as
    the real queue does when SQS is unreachable. Refused messages are handed back as given."""

    def __init__(self) -> None:
        self.sent: list[DeliveryMessage] = []
        self.delays: dict[str, list[float]] = {}
        self.dead_letters: list[tuple[DeliveryMessage | str, str]] = []
        self.requeued: list[tuple[DeliveryMessage, float]] = []
        self.refuse = 0
        self.refuse_once: set[str] = set()
        self.down = False
        self._lock = threading.Lock()

    def send(self, messages: Sequence[DeliveryMessage]) -> list[DeliveryMessage]:
        refused: list[DeliveryMessage] = []
        with self._lock:
            for message in messages:
                if self.down or self.refuse > 0 or message.delivery_id in self.refuse_once:
                    self.refuse = max(0, self.refuse - 1)
                    self.refuse_once.discard(message.delivery_id)
                    refused.append(message)
                else:
                    self.sent.append(message)
        return refused

    def delay(self, receipt_handle: str, seconds: float) -> None:
        with self._lock:
            self.delays.setdefault(receipt_handle, []).append(seconds)

    def requeue(self, message: DeliveryMessage, seconds: float) -> None:
        with self._lock:
            self.requeued.append((message, seconds))

    def dead_letter(self, message: DeliveryMessage | str, reason: str) -> None:
        with self._lock:
            self.dead_letters.append((message, reason))


# -- outbound webhook POSTs --------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class PostCall:
    url: str
    body: bytes
    headers: dict[str, str]
    allow_private: bool
    timeout: float


class FakePoster:
    """The delivery worker's ``post`` (``services/outbound_http.post``) without a network: it
    answers with ``answers`` in order (then ``default``) and records every call."""

    def __init__(self, *answers: HttpResult, default: HttpResult | None = None) -> None:
        self.answers = list(answers)
        self.default = default or HttpResult(200, latency_ms=20.0)
        self.calls: list[PostCall] = []
        self._lock = threading.Lock()

    def __call__(
        self,
        url: str,
        body: bytes,
        headers: Mapping[str, str],
        *,
        allow_private: bool,
        timeout: float,
        **_: object,
    ) -> HttpResult:
        with self._lock:
            self.calls.append(PostCall(url, body, dict(headers), allow_private, timeout))
            return self.answers.pop(0) if self.answers else self.default
