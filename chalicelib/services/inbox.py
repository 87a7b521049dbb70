"""The inbox: a tenant's pending events, oldest first, paged by an opaque cursor."""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from chalicelib import errors
from chalicelib.domain.cursor import CursorCodec, CursorPosition, InvalidCursor, scope_digest
from chalicelib.domain.filters import MetadataFilters, build_filter
from chalicelib.domain.inbox import (
    InboxFilters,
    InboxItem,
    IndexPlan,
    ReadRequest,
    ReadResult,
    collect_page,
    first_read_size,
    plan_query,
)
from chalicelib.services.storage_errors import storage_unavailable_as_503
from chalicelib.stores.protocols import EventStorage

DEFAULT_LIMIT = 50
MAX_LIMIT = 100


@dataclass(frozen=True)
class InboxRequest:
    """A validated inbox query (parsed at the edge: ``chalicelib/api/models/inbox.py``)."""

    filters: InboxFilters
    limit: int
    cursor: str | None


def _in_context(
    ctx: contextvars.Context,
    read: Callable[[str, str, int], ReadResult[InboxItem]],
    request: ReadRequest,
) -> ReadResult[InboxItem]:
    partition, lower, size = request
    return ctx.run(read, partition, lower, size)


class InboxService:
    def __init__(
        self, store: EventStorage, codec: CursorCodec, shards: int, max_reads: int = 24
    ) -> None:
        self._store = store
        self._codec = codec
        self._shards = shards
        self._max_reads = max(max_reads, shards * 2)
        # A round of shard reads runs concurrently: a page costs one Query's latency, not one
        # per shard. boto3 clients are thread-safe; the pool lives as long as the process.
        self._pool = (
            ThreadPoolExecutor(max_workers=shards, thread_name_prefix="inbox-shard")
            if shards > 1
            else None
        )

    def list_pending(self, tenant_id: str, request: InboxRequest) -> dict[str, Any]:
        scope = scope_digest(request.filters.scope_parts())
        after = None
        if request.cursor is not None:
            try:
                position = self._codec.decode(request.cursor)
            except InvalidCursor as exc:
                raise errors.invalid_parameter("cursor", "is not a valid cursor") from exc
            if position.tenant_id != tenant_id or position.scope != scope:
                raise errors.invalid_parameter(
                    "cursor", "belongs to a different query; keep the same filters"
                )
            after = position.after
        plan = plan_query(tenant_id, self._shards, request.filters, after)
        read = self._reader(plan, request.filters)
        with storage_unavailable_as_503():
            page = collect_page(
                plan,
                request.limit,
                read,
                self._max_reads,
                read_size=first_read_size(request.limit, self._shards),
                read_many=self._read_many(read),
            )
        events = [item.event.to_public() for item in page.items]
        next_cursor = None
        if page.resume_after is not None:
            next_cursor = self._codec.encode(CursorPosition(tenant_id, scope, page.resume_after))
        return {"events": events, "next_cursor": next_cursor}

    def _read_many(
        self, read: Callable[[str, str, int], ReadResult[InboxItem]]
    ) -> Callable[[list[ReadRequest]], list[ReadResult[InboxItem]]] | None:
        pool = self._pool
        if pool is None:
            return None

        def read_many(requests: list[ReadRequest]) -> list[ReadResult[InboxItem]]:
            # Each read runs in a copy of the request's context: the time budget (and the log
            # fields) follow it onto the pool's threads.
            futures = [
                pool.submit(_in_context, contextvars.copy_context(), read, r) for r in requests
            ]
            return [future.result() for future in futures]

        return read_many

    def _reader(
        self, plan: IndexPlan, filters: InboxFilters
    ) -> Callable[[str, str, int], ReadResult[InboxItem]]:
        # Key conditions (time range, source, event type) are in the plan; the rest is a filter.
        expression, names, values = build_filter(
            MetadataFilters(priority=filters.priority, metadata=filters.metadata)
        )

        def read(partition: str, lower: str, size: int) -> ReadResult[InboxItem]:
            result = self._store.query_inbox_partition(
                plan, partition, size, expression, names, values, lower=lower
            )
            return result.items, result.last_evaluated

        return read
