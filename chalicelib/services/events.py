"""Creating, reading, acknowledging and deleting events (single-item use cases)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from chalicelib import errors
from chalicelib.domain.clock import format_ts
from chalicelib.domain.events import (
    STATUS_PENDING,
    Event,
    EventDraft,
    canonical_json,
    is_event_id,
)
from chalicelib.domain.idempotency import request_fingerprint
from chalicelib.domain.inbox import shard_of
from chalicelib.domain.ulid import UlidGenerator, decode_timestamp_ms
from chalicelib.services.storage_errors import storage_unavailable_as_503
from chalicelib.stores.errors import EventNotPending
from chalicelib.stores.protocols import EventStorage, IdempotencyRecord, NewEvent


@dataclass(frozen=True)
class CreateResult:
    event: dict[str, object]  # the public representation
    replayed: bool


class EventService:
    def __init__(
        self,
        store: EventStorage,
        shards: int,
        retention_days: int,
        idempotency_ttl_seconds: int,
        now: Callable[[], float] = time.time,
        ids: UlidGenerator | None = None,
    ) -> None:
        self._store = store
        self._shards = shards
        self._retention_seconds = retention_days * 86400
        self._idem_ttl = idempotency_ttl_seconds
        self._now = now
        self._ids = ids or UlidGenerator()

    def new_event(self, tenant_id: str, draft: EventDraft) -> Event:
        ulid = self._ids.new(int(self._now() * 1000))
        # The id's timestamp, not the clock's: the generator stays monotonic when the clock
        # steps back, and created_at must sort the same way (it leads the inbox sort key).
        ms = decode_timestamp_ms(ulid)
        return Event(
            event_id="evt_" + ulid,
            tenant_id=tenant_id,
            source=draft.source,
            event_type=draft.event_type,
            payload_json=draft.payload_json,
            metadata=draft.metadata,
            status=STATUS_PENDING,
            created_at=format_ts(ms / 1000),
            acknowledged_at=None,
            idempotency_key=draft.idempotency_key,
        )

    def placed(self, event: Event, request_id: str | None = None) -> NewEvent:
        """A new event with where it is stored: its inbox shard and retention expiry. Tools
        that write events straight into the table build the item from this with
        ``chalicelib.stores.events.new_event_item``."""
        return NewEvent(
            event,
            shard_of(event.event_id, self._shards),
            int(self._now()) + self._retention_seconds,
            request_id,
        )

    def create(
        self, tenant_id: str, draft: EventDraft, request_id: str | None = None
    ) -> CreateResult:
        event = self.new_event(tenant_id, draft)
        new = self.placed(event, request_id)
        public = event.to_public()
        with storage_unavailable_as_503():
            if draft.idempotency_key is None:
                self._store.put_new(new)
                return CreateResult(public, replayed=False)
            fingerprint = request_fingerprint(draft)
            record = IdempotencyRecord(fingerprint, event.event_id, canonical_json(public))
            holder = self._store.put_new_idempotent(
                new, tenant_id, draft.idempotency_key, record, self._idem_ttl
            )
        if holder is None:
            return CreateResult(public, replayed=False)
        if holder.request_hash != fingerprint:
            raise errors.IdempotencyConflict(
                "This Idempotency-Key was already used with a different request body.",
                details=[{"field": "idempotency_key", "message": "reused with another body"}],
            )
        original = json.loads(holder.response_json)
        return CreateResult(original, replayed=True)

    def get(self, tenant_id: str, event_id: str) -> Event:
        if not is_event_id(event_id):
            raise errors.NotFound("No event with that id.")
        with storage_unavailable_as_503():
            event = self._store.get(tenant_id, event_id)
        if event is None:
            raise errors.NotFound("No event with that id.")
        return event

    def acknowledge(self, tenant_id: str, event_id: str) -> Event:
        if not is_event_id(event_id):
            raise errors.NotFound("No event with that id.")
        with storage_unavailable_as_503():
            try:
                return self._store.acknowledge(tenant_id, event_id, format_ts(self._now()))
            except EventNotPending as exc:
                if exc.current is None:
                    raise errors.NotFound("No event with that id.") from exc
                raise errors.AlreadyAcknowledged(
                    f"The event was already acknowledged at {exc.current.acknowledged_at}."
                ) from exc

    def delete(self, tenant_id: str, event_id: str) -> None:
        if not is_event_id(event_id):
            raise errors.NotFound("No event with that id.")
        with storage_unavailable_as_503():
            deleted = self._store.delete(tenant_id, event_id)
        if not deleted:
            raise errors.NotFound("No event with that id.")
