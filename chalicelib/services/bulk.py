"""Bulk create, acknowledge and delete: up to 25 items, partial success.

The request as a whole is rejected (400) only when its shape is wrong: not an object, unknown
fields, or a list that is empty or longer than 25. Everything about one item (validation,
a missing id, a second ack, an idempotency conflict, storage giving up) is a per-item failure
``{"index", "error": {"code", "message", "details"}}``; the rest still happens.

* **Create.** Items with an ``idempotency_key`` go through the single-create path
  (:meth:`EventService.create`: one TransactWriteItems with the idempotency record), with the
  same semantics: same key + same body is a replay (``"replayed": true``, the original event),
  same key + another body fails with ``idempotency_conflict``; two items with the same key in
  one request behave like two requests in order. Items without a key are written together with
  BatchWriteItem; unprocessed items are retried with backoff (bounded) and, if DynamoDB never
  takes them, fail with ``service_unavailable`` (retry them: without a key, a retry of an item
  whose write timed out may create it twice; send keys for exactly-once).
* **Ack / delete.** One conditional write per id (a batch write cannot carry the condition that
  tells "missing" and "already acknowledged" apart). **Duplicate ids** in one request: the first
  occurrence is processed; every later one fails with ``validation_error`` naming the index it
  duplicates, and costs no write. So a request's outcome never depends on the order in which
  duplicate writes race.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chalicelib import errors
from chalicelib.domain.events import (
    EventDraft,
    EventValidationError,
    PayloadTooLargeError,
    parse_event_create,
)
from chalicelib.services.events import EventService
from chalicelib.services.storage_errors import as_service_unavailable
from chalicelib.stores.errors import StoreError
from chalicelib.stores.protocols import EventStorage

MAX_BULK_ITEMS = 25


def _bad(field_name: str, message: str) -> errors.ValidationError:
    return errors.ValidationError(
        f"{field_name} {message}.", details=[{"field": field_name, "message": message}]
    )


def parse_bulk_body(body: Any, list_field: str) -> list[Any]:
    """``{list_field: [1..25 entries]}``; anything else is a 400 for the whole request."""
    if not isinstance(body, dict):
        raise _bad("body", "must be a JSON object")
    unknown = sorted(set(body) - {list_field})
    if unknown:
        raise _bad(unknown[0], f"is not a known field (send {{{list_field!r}: [...]}})")
    entries = body.get(list_field)
    if not isinstance(entries, list):
        raise _bad(list_field, "is required and must be an array")
    if not 1 <= len(entries) <= MAX_BULK_ITEMS:
        raise _bad(list_field, f"must have 1 to {MAX_BULK_ITEMS} entries, got {len(entries)}")
    return entries


def _error(code: str, message: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "details": details or []}


def _api_error(exc: errors.ApiError) -> dict[str, Any]:
    return _error(exc.code, exc.message, exc.details)


@dataclass
class BulkResult:
    successful: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)

    def succeed(self, index: int, **fields: Any) -> None:
        self.successful.append({"index": index, **fields})

    def fail(self, index: int, error: dict[str, Any]) -> None:
        self.failed.append({"index": index, "error": error})

    def body(self, request_id: str) -> dict[str, Any]:
        return {
            "successful": sorted(self.successful, key=lambda entry: entry["index"]),
            "failed": sorted(self.failed, key=lambda entry: entry["index"]),
            "request_id": request_id,
        }


class BulkService:
    def __init__(
        self,
        events: EventService,
        store: EventStorage,
        max_payload_bytes: int,
    ) -> None:
        self._events = events
        self._store = store
        self._max_payload = max_payload_bytes

    # -- create ------------------------------------------------------------------------------
    def create(self, tenant_id: str, items: list[Any]) -> BulkResult:
        result = BulkResult()
        unkeyed: list[tuple[int, EventDraft]] = []
        for index, body in enumerate(items):
            draft = self._parse(index, body, result)
            if draft is None:
                continue
            if draft.idempotency_key is None:
                unkeyed.append((index, draft))
                continue
            try:
                created = self._events.create(tenant_id, draft)
            except errors.ApiError as exc:
                result.fail(index, _api_error(exc))
                continue
            result.succeed(index, event=created.event, replayed=created.replayed)
        if unkeyed:
            self._create_unkeyed(tenant_id, unkeyed, result)
        return result

    def _parse(self, index: int, body: Any, result: BulkResult) -> EventDraft | None:
        try:
            return parse_event_create(body, max_payload_bytes=self._max_payload)
        except EventValidationError as exc:
            result.fail(index, _error("validation_error", "The event is not valid.", exc.details))
        except PayloadTooLargeError as exc:
            result.fail(
                index,
                _error(
                    "payload_too_large",
                    f"The payload is {exc.size} bytes serialized; the limit is {exc.limit}.",
                ),
            )
        return None

    def _create_unkeyed(
        self, tenant_id: str, drafts: list[tuple[int, EventDraft]], result: BulkResult
    ) -> None:
        by_id: dict[str, tuple[int, dict[str, Any]]] = {}
        news = []
        for index, draft in drafts:
            event = self._events.new_event(tenant_id, draft)
            by_id[event.event_id] = (index, event.to_public())
            news.append(self._events.placed(event))
        try:
            unwritten = self._store.batch_put_new(news)
        except StoreError as exc:
            # Per-item failures, not one raised error: the rest of the request still happens.
            error = _api_error(as_service_unavailable(exc))
            for index, _ in drafts:
                result.fail(index, error)
            return
        not_written = {new.event.event_id for new in unwritten}
        for event_id, (index, public) in by_id.items():
            if event_id in not_written:
                result.fail(
                    index,
                    _error(
                        "service_unavailable",
                        "Storage did not accept this item after several attempts; retry it.",
                    ),
                )
            else:
                result.succeed(index, event=public, replayed=False)

    # -- acknowledge / delete ----------------------------------------------------------------
    def acknowledge(self, tenant_id: str, event_ids: list[Any]) -> BulkResult:
        def ack(index: int, event_id: str, result: BulkResult) -> None:
            event = self._events.acknowledge(tenant_id, event_id)
            result.succeed(index, event=event.to_public())

        return self._each_id(event_ids, ack)

    def delete(self, tenant_id: str, event_ids: list[Any]) -> BulkResult:
        def delete(index: int, event_id: str, result: BulkResult) -> None:
            self._events.delete(tenant_id, event_id)
            result.succeed(index, event_id=event_id)

        return self._each_id(event_ids, delete)

    @staticmethod
    def _each_id(
        event_ids: list[Any], action: Callable[[int, str, BulkResult], None]
    ) -> BulkResult:
        result = BulkResult()
        first_index: dict[str, int] = {}
        for index, event_id in enumerate(event_ids):
            if not isinstance(event_id, str) or not event_id:
                result.fail(index, _error("validation_error", "An event id must be a string."))
                continue
            if event_id in first_index:
                result.fail(
                    index,
                    _error(
                        "validation_error",
                        f"Duplicate of index {first_index[event_id]} in this request; "
                        "each id is processed once.",
                    ),
                )
                continue
            first_index[event_id] = index
            try:
                action(index, event_id, result)
            except errors.ApiError as exc:
                result.fail(index, _api_error(exc))
        return result
