"""The inbox: a tenant's pending events, oldest first, paged by an opaque cursor."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from chalicelib import errors
from chalicelib.domain.clock import format_ts, parse_ts
from chalicelib.domain.cursor import CursorCodec, CursorPosition, InvalidCursor, scope_digest
from chalicelib.domain.events import (
    MAX_METADATA_KEY_CHARS,
    MAX_METADATA_KEYS,
    MAX_METADATA_VALUE_CHARS,
    NAME_PATTERN,
    PRIORITIES,
)
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
KNOWN_PARAMS = frozenset(
    {"limit", "cursor", "source", "event_type", "created_after", "created_before", "priority"}
)
METADATA_PARAM_PREFIX = "metadata."


@dataclass(frozen=True)
class InboxRequest:
    filters: InboxFilters
    limit: int
    cursor: str | None


def _bad(param: str, message: str) -> errors.ValidationError:
    return errors.ValidationError(
        f"Query parameter {param!r} {message}.", details=[{"field": param, "message": message}]
    )


def _floor_ms(seconds: float) -> float:
    return int(seconds * 1000) / 1000


def _ceil_ms(seconds: float) -> float:
    ms = seconds * 1000
    return (int(ms) + (0 if ms == int(ms) else 1)) / 1000


def parse_inbox_query(params: Mapping[str, str]) -> InboxRequest:
    """Validate the query string of GET /v1/inbox; errors name the parameter."""
    for name in params:
        if name not in KNOWN_PARAMS and not name.startswith(METADATA_PARAM_PREFIX):
            raise _bad(name, "is not a supported parameter")
    limit = DEFAULT_LIMIT
    if "limit" in params:
        raw = params["limit"]
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
            raise _bad("limit", f"must be an integer from 1 to {MAX_LIMIT}")
        limit = int(raw)
    for name in ("source", "event_type"):
        if name in params and not NAME_PATTERN.match(params[name]):
            raise _bad(name, "must be 1-128 characters of letters, digits and ._:/-")
    after = before = None
    if "created_after" in params:
        try:
            after = parse_ts(params["created_after"])
        except ValueError:
            raise _bad("created_after", "must be an RFC 3339 timestamp") from None
    if "created_before" in params:
        try:
            before = parse_ts(params["created_before"])
        except ValueError:
            raise _bad("created_before", "must be an RFC 3339 timestamp") from None
    if after is not None and before is not None and not after < before:
        raise _bad("created_after", "must be earlier than created_before")
    cursor = params.get("cursor")
    if cursor is not None and not cursor:
        raise _bad("cursor", "must not be empty")
    priority = params.get("priority")
    if priority is not None and priority not in PRIORITIES:
        raise _bad("priority", "must be one of " + ", ".join(PRIORITIES))
    metadata = _metadata_filters(params)
    filters = InboxFilters(
        source=params.get("source"),
        event_type=params.get("event_type"),
        # Event times have millisecond resolution: "after x" is "after floor(x)", and
        # "before x" is "before ceil(x)".
        created_after=format_ts(_floor_ms(after)) if after is not None else None,
        created_before=format_ts(_ceil_ms(before)) if before is not None else None,
        priority=priority,
        metadata=metadata,
    )
    return InboxRequest(filters, limit, cursor)


def _metadata_filters(params: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """``metadata.<key>=<value>`` parameters (exact match, ANDed), sorted by key."""
    pairs = []
    for name, value in params.items():
        if not name.startswith(METADATA_PARAM_PREFIX):
            continue
        key = name[len(METADATA_PARAM_PREFIX) :]
        if not key or len(key) > MAX_METADATA_KEY_CHARS or not key.isprintable():
            raise _bad(name, f"needs a metadata key of 1-{MAX_METADATA_KEY_CHARS} characters")
        if len(value) > MAX_METADATA_VALUE_CHARS or not value.isprintable():
            raise _bad(name, f"must be at most {MAX_METADATA_VALUE_CHARS} printable characters")
        pairs.append((key, value))
    if len(pairs) > MAX_METADATA_KEYS:
        raise _bad("metadata", f"at most {MAX_METADATA_KEYS} metadata filters")
    return tuple(sorted(pairs))


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
                raise _bad("cursor", "is not a valid cursor") from exc
            if position.tenant_id != tenant_id or position.scope != scope:
                raise _bad("cursor", "belongs to a different query; keep the same filters")
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
            futures = [pool.submit(read, *request) for request in requests]
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
