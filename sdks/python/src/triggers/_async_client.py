"""The asyncio client, :class:`AsyncTriggers` (httpx.AsyncClient), driving the shared core."""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Mapping, Sequence
from contextvars import ContextVar
from types import TracebackType
from typing import Any, TypeVar

import anyio
import httpx

from . import _models as m
from . import _operations as ops
from ._bulk import bulk_plan
from ._client import build_options
from ._core import (
    DEFAULT_BACKOFF_BASE,
    DEFAULT_BACKOFF_CAP,
    DEFAULT_DEADLINE,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    Command,
    Failed,
    Options,
    Outcome,
    ResponseInfo,
    Send,
    Sleep,
    outcome_of,
    plan,
    with_idempotency_keys,
)
from ._operations import NOT_GIVEN, Granularity, InboxFilter, NotGiven, Priority, TimeValue
from ._paging import walk_async as _walk
from ._results import BulkResult, HandlerFailure, ProcessResult

T = TypeVar("T")
R = TypeVar("R")
logger = logging.getLogger("triggers")


class AsyncTriggers:
    """Client of the Triggers API for asyncio (and trio, through httpx and anyio).

    ``api_key`` defaults to ``$TRIGGERS_API_KEY`` and ``base_url`` to ``$TRIGGERS_API_URL``
    (else ``http://127.0.0.1:8000``). ``signing_secret`` (one, or several mid-rotation) signs
    every request. ``timeout`` bounds each attempt, ``deadline`` the whole call with its
    retries; ``max_retries`` retries at most. ``transport``/``http_client``, ``clock``,
    ``monotonic``, ``random`` and ``sleep`` are injectable (tests).

    Task-safe: one client may be shared by any number of concurrent tasks of one event loop
    (httpx.AsyncClient is; the configuration never changes). ``last_response`` is per task.
    Every method takes the same arguments as :class:`Triggers`'s and is awaited.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        signing_secret: str | Sequence[str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        deadline: float = DEFAULT_DEADLINE,
        backoff_base: float = DEFAULT_BACKOFF_BASE,
        backoff_cap: float = DEFAULT_BACKOFF_CAP,
        user_agent: str | None = None,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] | None = None,
        monotonic: Callable[[], float] | None = None,
        random: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        idempotency_key_factory: Callable[[], str] | None = None,
    ) -> None:
        self._options = build_options(
            api_key,
            base_url,
            signing_secret,
            timeout,
            max_retries,
            deadline,
            backoff_base,
            backoff_cap,
            user_agent,
            {
                "clock": clock,
                "monotonic": monotonic,
                "random": random,
                "idempotency_key_factory": idempotency_key_factory,
            },
        )
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(transport=transport, follow_redirects=False)
        self._sleep = sleep or anyio.sleep
        self._last: ContextVar[ResponseInfo | None] = ContextVar("triggers_last", default=None)
        self.events = AsyncEvents(self)
        self.inbox = AsyncInbox(self)
        self.api_keys = AsyncApiKeys(self)
        self.webhooks = AsyncWebhooks(self)
        self.analytics = AsyncAnalytics(self)

    @property
    def options(self) -> Options:
        return self._options

    @property
    def last_response(self) -> ResponseInfo | None:
        """Status, request id, rate-limit state and attempts of this task's last success."""
        return self._last.get()

    async def health(self) -> m.Health:
        return await self._run(ops.health())

    async def close(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncTriggers:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def _send(self, command: Send) -> Outcome:
        request = self._http.build_request(
            command.method,
            command.url,
            headers=command.headers,
            content=command.content,
            timeout=command.timeout,
        )
        try:
            return outcome_of(await self._http.send(request))
        except httpx.TransportError as error:
            return Failed(error)

    async def _run(self, call: ops.Call[T]) -> T:
        result = await self._drive(plan(self._options, call.op))
        self._last.set(result.info)
        return call.parse(result)

    async def _drive(self, steps: Generator[Command, Outcome | None, R]) -> R:
        """Run a plan: make each attempt it asks for, sleep each wait, return its value."""
        try:
            command = next(steps)
            while True:
                if isinstance(command, Sleep):
                    await self._sleep(command.seconds)
                    command = steps.send(None)
                else:
                    command = steps.send(await self._send(command))
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]


class _AsyncResource:
    def __init__(self, client: AsyncTriggers) -> None:
        self._client = client


class AsyncEvents(_AsyncResource):
    async def create(
        self,
        *,
        source: str,
        event_type: str,
        payload: Mapping[str, Any],
        metadata: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> m.Event:
        """Create an event. Without ``idempotency_key`` one is generated, and every retry of
        this call sends the same one, so a retry never duplicates the event. A replay (same
        key, same body) answers the original event (``last_response.replayed``)."""
        return await self._client._run(
            ops.create_event(
                self._client.options,
                source=source,
                event_type=event_type,
                payload=payload,
                metadata=metadata,
                idempotency_key=idempotency_key,
            )
        )

    async def get(self, event_id: str) -> m.Event:
        return await self._client._run(ops.get_event(event_id))

    async def ack(self, event_id: str) -> m.Event:
        """Acknowledge; a second ack raises :class:`AlreadyAcknowledgedError` (unless it is
        this call's own retry after a lost answer: then the acknowledged event is returned)."""
        return await self._client._run(ops.ack_event(event_id))

    async def delete(self, event_id: str) -> None:
        """Delete; :class:`NotFoundError` if there is no such event (a retry of this call after
        a lost answer treats the 404 as done)."""
        await self._client._run(ops.delete_event(event_id))

    async def create_many(
        self, items: Sequence[m.EventCreate | Mapping[str, Any]]
    ) -> BulkResult[m.BulkCreated]:
        """Create any number of events in batches of 25 (each item without an
        ``idempotency_key`` gets one, so a retried batch never duplicates)."""
        prepared = with_idempotency_keys(
            [ops.create_item(i) for i in items], self._client.options.idempotency_key_factory
        )
        return await self._client._drive(bulk_plan(self._client.options, prepared, ops.bulk_create))

    async def ack_many(self, event_ids: Sequence[str]) -> BulkResult[m.BulkAcked]:
        """Acknowledge any number of events (batches of 25); see :class:`BulkResult`."""
        return await self._client._drive(bulk_plan(self._client.options, event_ids, ops.bulk_ack))

    async def delete_many(self, event_ids: Sequence[str]) -> BulkResult[m.BulkDeleted]:
        """Delete any number of events (batches of 25); see :class:`BulkResult`."""
        return await self._client._drive(
            bulk_plan(self._client.options, event_ids, ops.bulk_delete)
        )


class AsyncInbox(_AsyncResource):
    async def list(
        self,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        source: str | None = None,
        event_type: str | None = None,
        created_after: TimeValue | None = None,
        created_before: TimeValue | None = None,
        priority: Priority | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> m.InboxPage:
        """One page of pending events, oldest first. A short page with a ``next_cursor``
        means "keep going"; ``next_cursor is None`` means the pass is done."""
        filters = InboxFilter(source, event_type, created_after, created_before, priority, metadata)
        return await self._client._run(ops.list_inbox(filters, limit, cursor))

    async def pages(
        self,
        *,
        limit: int | None = None,
        source: str | None = None,
        event_type: str | None = None,
        created_after: TimeValue | None = None,
        created_before: TimeValue | None = None,
        priority: Priority | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> AsyncIterator[m.InboxPage]:
        """Every page of one pass (cursor to cursor until ``next_cursor`` is null)."""
        filters = InboxFilter(source, event_type, created_after, created_before, priority, metadata)
        async for page in _walk(
            lambda cursor: self._client._run(ops.list_inbox(filters, limit, cursor))
        ):
            yield page

    async def iter(
        self,
        *,
        limit: int | None = None,
        source: str | None = None,
        event_type: str | None = None,
        created_after: TimeValue | None = None,
        created_before: TimeValue | None = None,
        priority: Priority | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> AsyncIterator[m.Event]:
        """Every pending event matching the filters, fetching pages as needed."""
        async for page in self.pages(
            limit=limit,
            source=source,
            event_type=event_type,
            created_after=created_after,
            created_before=created_before,
            priority=priority,
            metadata=metadata,
        ):
            for item in page.events:
                yield item

    async def process(
        self,
        handler: Callable[[m.Event], object | Awaitable[object]],
        *,
        limit: int | None = None,
        max_events: int | None = None,
        source: str | None = None,
        event_type: str | None = None,
        created_after: TimeValue | None = None,
        created_before: TimeValue | None = None,
        priority: Priority | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> ProcessResult:
        """Poll, handle, ack: one pass over the pending events, ``handler(event)`` for each,
        then the handled ones acknowledged (bulk, batches of 25) page by page. An event whose
        handler raises stays un-acknowledged and is reported in ``handler_failures`` (and
        logged); call ``raise_for_failures()`` on the result to turn failures into an error."""
        result = ProcessResult()
        seen = 0
        async for page in self.pages(
            limit=limit,
            source=source,
            event_type=event_type,
            created_after=created_after,
            created_before=created_before,
            priority=priority,
            metadata=metadata,
        ):
            handled: list[str] = []
            for event in page.events:
                if max_events is not None and seen >= max_events:
                    break
                seen += 1
                try:
                    outcome = handler(event)
                    if inspect.isawaitable(outcome):
                        await outcome
                except Exception as error:  # noqa: BLE001 - reported in the result, not swallowed
                    logger.warning("handler failed for %s: %r", event.event_id, error)
                    result.handler_failures.append(HandlerFailure(event, error))
                    continue
                handled.append(event.event_id)
            if handled:
                result.add_acks(handled, await self._client.events.ack_many(handled))
            if max_events is not None and seen >= max_events:
                break
        return result


class AsyncApiKeys(_AsyncResource):
    """API keys of the caller's tenant (admin-scoped keys only)."""

    async def create(
        self,
        *,
        name: str,
        rate_limit: int | None = None,
        allowed_ips: Sequence[str] | None = None,
        admin: bool = False,
        signing: bool = False,
        expires_at: TimeValue | None = None,
    ) -> m.ApiKeyIssued:
        """Create a key; the answer holds its ``secret`` (and ``signing_secret``) once. Not
        retried once it may have reached the server: list keys to check after a lost answer."""
        return await self._client._run(
            ops.create_api_key(
                name=name,
                rate_limit=rate_limit,
                allowed_ips=allowed_ips,
                admin=admin,
                signing=signing,
                expires_at=expires_at,
            )
        )

    async def list(self, *, limit: int | None = None, cursor: str | None = None) -> m.ApiKeyList:
        return await self._client._run(ops.list_api_keys(limit, cursor))

    async def iter(self, *, limit: int | None = None) -> AsyncIterator[m.ApiKeyOut]:
        async for page in _walk(lambda cursor: self.list(limit=limit, cursor=cursor)):
            for item in page.api_keys:
                yield item

    async def get(self, key_id: str) -> m.ApiKeyOut:
        return await self._client._run(ops.get_api_key(key_id))

    async def update(
        self,
        key_id: str,
        *,
        name: str | NotGiven = NOT_GIVEN,
        rate_limit: int | NotGiven | None = NOT_GIVEN,
        allowed_ips: Sequence[str] | NotGiven = NOT_GIVEN,
    ) -> m.ApiKeyOut:
        """Change fields given (``rate_limit=None``: the default; ``allowed_ips=[]``: any)."""
        return await self._client._run(
            ops.update_api_key(key_id, name=name, rate_limit=rate_limit, allowed_ips=allowed_ips)
        )

    async def rotate(
        self, key_id: str, *, grace_period_seconds: int | None = None
    ) -> m.ApiKeyIssued:
        return await self._client._run(ops.rotate_api_key(key_id, grace_period_seconds))

    async def revoke(self, key_id: str) -> None:
        await self._client._run(ops.revoke_api_key(key_id))


class AsyncWebhooks(_AsyncResource):
    """Webhook endpoints of the caller's tenant (admin-scoped keys only)."""

    async def create(
        self,
        *,
        url: str,
        event_types: Sequence[str] | None = None,
        sources: Sequence[str] | None = None,
        description: str | None = None,
        rate_limit_per_second: int | None = None,
    ) -> m.WebhookIssued:
        """Register an endpoint; the answer holds its signing ``secret`` once."""
        return await self._client._run(
            ops.create_webhook(
                url=url,
                event_types=event_types,
                sources=sources,
                description=description,
                rate_limit_per_second=rate_limit_per_second,
            )
        )

    async def list(self, *, limit: int | None = None, cursor: str | None = None) -> m.WebhookList:
        return await self._client._run(ops.list_webhooks(limit, cursor))

    async def iter(self, *, limit: int | None = None) -> AsyncIterator[m.WebhookOut]:
        async for page in _walk(lambda cursor: self.list(limit=limit, cursor=cursor)):
            for item in page.webhooks:
                yield item

    async def get(self, webhook_id: str) -> m.WebhookOut:
        return await self._client._run(ops.get_webhook(webhook_id))

    async def update(
        self,
        webhook_id: str,
        *,
        url: str | NotGiven = NOT_GIVEN,
        event_types: Sequence[str] | NotGiven | None = NOT_GIVEN,
        sources: Sequence[str] | NotGiven | None = NOT_GIVEN,
        description: str | NotGiven | None = NOT_GIVEN,
        status: ops.WebhookStatus | NotGiven = NOT_GIVEN,
        rate_limit_per_second: int | NotGiven | None = NOT_GIVEN,
    ) -> m.WebhookOut:
        fields = {
            "url": url,
            "event_types": event_types,
            "sources": sources,
            "description": description,
            "status": status,
            "rate_limit_per_second": rate_limit_per_second,
        }
        return await self._client._run(ops.update_webhook(webhook_id, fields))

    async def delete(self, webhook_id: str) -> None:
        await self._client._run(ops.delete_webhook(webhook_id))

    async def rotate_secret(
        self, webhook_id: str, *, grace_period_seconds: int | None = None
    ) -> m.WebhookSecretRotated:
        return await self._client._run(ops.rotate_webhook_secret(webhook_id, grace_period_seconds))

    async def test(self, webhook_id: str) -> m.DeliveryOut:
        """Queue a ``webhook.test`` delivery (202); the answer is the delivery."""
        return await self._client._run(ops.test_webhook(webhook_id))

    async def replay(
        self, webhook_id: str, *, since: TimeValue, until: TimeValue | None = None
    ) -> m.ReplayAccepted:
        return await self._client._run(ops.replay_webhook(webhook_id, since, until))

    async def deliveries(
        self,
        webhook_id: str,
        *,
        status: ops.DeliveryStatus | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> m.DeliveryList:
        return await self._client._run(ops.list_deliveries(webhook_id, status, limit, cursor))

    async def iter_deliveries(
        self,
        webhook_id: str,
        *,
        status: ops.DeliveryStatus | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[m.DeliveryOut]:
        fetch = lambda cursor: self.deliveries(  # noqa: E731
            webhook_id, status=status, limit=limit, cursor=cursor
        )
        async for page in _walk(fetch):
            for item in page.deliveries:
                yield item


class AsyncAnalytics(_AsyncResource):
    async def summary(
        self, *, start: TimeValue | None = None, end: TimeValue | None = None
    ) -> m.AnalyticsSummary:
        """Counts over ``[start, end)`` (the API's ``from``/``to``; default: the last 24 h)."""
        return await self._client._run(ops.analytics_summary(start, end))

    async def timeseries(
        self,
        *,
        granularity: Granularity | None = None,
        start: TimeValue | None = None,
        end: TimeValue | None = None,
        source: str | None = None,
        event_type: str | None = None,
    ) -> m.AnalyticsTimeseries:
        return await self._client._run(
            ops.analytics_timeseries(granularity, start, end, source, event_type)
        )

    async def export_csv(
        self,
        *,
        granularity: Granularity | None = None,
        start: TimeValue | None = None,
        end: TimeValue | None = None,
    ) -> str:
        """The counters as CSV text (RFC 4180, header row, CRLF)."""
        return await self._client._run(ops.analytics_export_csv(granularity, start, end))

    async def export_json(
        self,
        *,
        granularity: Granularity | None = None,
        start: TimeValue | None = None,
        end: TimeValue | None = None,
    ) -> m.AnalyticsExport:
        return await self._client._run(ops.analytics_export_json(granularity, start, end))
