"""Bulk create, acknowledge and delete: up to 25 items, partial success.

The request as a whole is rejected (400) at the edge, before this service, only when its shape
is wrong (``chalicelib/api/models/bulk.py``); each entry reaches the service as a parse outcome:
a draft or an id, or an :class:`ItemError`. Everything about one item (validation, a missing id,
a second ack, an idempotency conflict, storage giving up) is a per-item failure
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

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from chalicelib import errors
from chalicelib.domain.events import EventDraft
from chalicelib.services.events import EventService
from chalicelib.services.storage_errors import as_service_unavailable
from chalicelib.stores.errors import StoreError
from chalicelib.stores.protocols import EventStorage

MAX_BULK_ITEMS = 25


def _error(code: str, message: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "details": details or []}


def _api_error(exc: errors.ApiError) -> dict[str, Any]:
    return _error(exc.code, exc.message, exc.details)


@dataclass(frozen=True)
class ItemError:
    """An entry that failed to parse: it fails alone, with this error body."""

    code: str
    message: str
    details: list[dict[str, str]] = field(default_factory=list)

    def body(self) -> dict[str, Any]:
        return _error(self.code, self.message, list(self.details))


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
    def __init__(self, events: EventService, store: EventStorage) -> None:
        self._events = events
        self._store = store

    # -- create ------------------------------------------------------------------------------
    def create(
        self,
        tenant_id: str,
        items: Sequence[EventDraft | ItemError],
        request_id: str | None = None,
    ) -> BulkResult:
        result = BulkResult()
        unkeyed: list[tuple[int, EventDraft]] = []
        for index, draft in enumerate(items):
            if isinstance(draft, ItemError):
                result.fail(index, draft.body())
                continue
            if draft.idempotency_key is None:
                unkeyed.append((index, draft))
                continue
            try:
                created = self._events.create(tenant_id, draft, request_id)
            except errors.ApiError as exc:
                result.fail(index, _api_error(exc))
                continue
            result.succeed(index, event=created.event, replayed=created.replayed)
        if unkeyed:
            self._create_unkeyed(tenant_id, unkeyed, result, request_id)
        return result

    def _create_unkeyed(
        self,
        tenant_id: str,
        drafts: list[tuple[int, EventDraft]],
        result: BulkResult,
        request_id: str | None,
    ) -> None:
        by_id: dict[str, tuple[int, dict[str, Any]]] = {}
        news = []
        for index, draft in drafts:
            event = self._events.new_event(tenant_id, draft)
            by_id[event.event_id] = (index, event.to_public())
            news.append(self._events.placed(event, request_id))
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
    def acknowledge(self, tenant_id: str, event_ids: Sequence[str | ItemError]) -> BulkResult:
        def ack(index: int, event_id: str, result: BulkResult) -> None:
            event = self._events.acknowledge(tenant_id, event_id)
            result.succeed(index, event=event.to_public())

        return self._each_id(event_ids, ack)

    def delete(self, tenant_id: str, event_ids: Sequence[str | ItemError]) -> BulkResult:
        def delete(index: int, event_id: str, result: BulkResult) -> None:
            self._events.delete(tenant_id, event_id)
            result.succeed(index, event_id=event_id)

        return self._each_id(event_ids, delete)

    @staticmethod
    def _each_id(
        event_ids: Sequence[str | ItemError], action: Callable[[int, str, BulkResult], None]
    ) -> BulkResult:
        result = BulkResult()
        first_index: dict[str, int] = {}
        for index, event_id in enumerate(event_ids):
            if isinstance(event_id, ItemError):
                result.fail(index, event_id.body())
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
