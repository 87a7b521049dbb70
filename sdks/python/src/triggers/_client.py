"""The synchronous client, :class:`Triggers` (httpx.Client), driving the shared core."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from contextvars import ContextVar
from types import TracebackType
from typing import Any, TypeVar

import httpx

from . import _models as m
from . import _operations as ops
from ._bulk import bulk_plan
from ._core import (
    DEFAULT_BACKOFF_BASE,
    DEFAULT_BACKOFF_CAP,
    DEFAULT_BASE_URL,
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
from ._paging import walk as _walk
from ._results import BulkResult, HandlerFailure, ProcessResult

T = TypeVar("T")
R = TypeVar("R")
logger = logging.getLogger("triggers")


def build_options(
    api_key: str | None,
    base_url: str | None,
    signing_secret: str | Sequence[str] | None,
    timeout: float,
    max_retries: int,
    deadline: float,
    backoff_base: float,
    backoff_cap: float,
    user_agent: str | None,
    overrides: Mapping[str, Any],
) -> Options:
    key = api_key if api_key is not None else os.environ.get("TRIGGERS_API_KEY", "")
    url = base_url or os.environ.get("TRIGGERS_API_URL") or DEFAULT_BASE_URL
    if signing_secret is None:
        secrets: tuple[str, ...] = ()
    elif isinstance(signing_secret, str):
        secrets = (signing_secret,)
    else:
        secrets = tuple(signing_secret)
    extra = {k: v for k, v in overrides.items() if v is not None}
    if user_agent is not None:
        extra["user_agent"] = user_agent
    return Options(
        api_key=key,
        base_url=url,
        signing_secrets=secrets,
        timeout=timeout,
        max_retries=max_retries,
        deadline=deadline,
        backoff_base=backoff_base,
        backoff_cap=backoff_cap,
        **extra,
    )


class Triggers:
    """Client of the Triggers API (blocking; see :class:`AsyncTriggers` for asyncio).

    ``api_key`` defaults to ``$TRIGGERS_API_KEY`` and ``base_url`` to ``$TRIGGERS_API_URL``
    (else ``http://127.0.0.1:8000``). ``signing_secret`` (one, or several mid-rotation) signs
    every request. ``timeout`` bounds each attempt, ``deadline`` the whole call with its
    retries; ``max_retries`` retries at most. ``transport``/``http_client``, ``clock``,
    ``monotonic``, ``random`` and ``sleep`` are injectable (tests).

    Thread-safe: one client may be shared by threads (httpx.Client is; the client's own
    configuration never changes). ``last_response`` is per thread.
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
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] | None = None,
        monotonic: Callable[[], float] | None = None,
        random: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
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
        self._http = http_client or httpx.Client(transport=transport, follow_redirects=False)
        self._sleep = sleep or time.sleep
        self._last: ContextVar[ResponseInfo | None] = ContextVar("triggers_last", default=None)
        self.events = Events(self)
        self.inbox = Inbox(self)
        self.api_keys = ApiKeys(self)
        self.webhooks = Webhooks(self)
        self.analytics = Analytics(self)

    @property
    def options(self) -> Options:
        return self._options

    @property
    def last_response(self) -> ResponseInfo | None:
        """Status, request id, rate-limit state and attempts of this thread's last success."""
        return self._last.get()

    def health(self) -> m.Health:
        return self._run(ops.health())

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Triggers:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _send(self, command: Send) -> Outcome:
        request = self._http.build_request(
            command.method,
            command.url,
            headers=command.headers,
            content=command.content,
            timeout=command.timeout,
        )
        try:
            return outcome_of(self._http.send(request))
        except httpx.TransportError as error:
            return Failed(error)

    def _run(self, call: ops.Call[T]) -> T:
        result = self._drive(plan(self._options, call.op))
        self._last.set(result.info)
        return call.parse(result)

    def _drive(self, steps: Generator[Command, Outcome | None, R]) -> R:
        """Run a plan: make each attempt it asks for, sleep each wait, return its value."""
        try:
            command = next(steps)
            while True:
                if isinstance(command, Sleep):
                    self._sleep(command.seconds)
                    command = steps.send(None)
                else:
                    command = steps.send(self._send(command))
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]


class _Resource:
    def __init__(self, client: Triggers) -> None:
        self._client = client


class Events(_Resource):
    def create(
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
        return self._client._run(
            ops.create_event(
                self._client.options,
                source=source,
                event_type=event_type,
                payload=payload,
                metadata=metadata,
                idempotency_key=idempotency_key,
            )
        )

    def get(self, event_id: str) -> m.Event:
        return self._client._run(ops.get_event(event_id))

    def ack(self, event_id: str) -> m.Event:
        """Acknowledge; a second ack raises :class:`AlreadyAcknowledgedError` (unless it is
        this call's own retry after a lost answer: then the acknowledged event is returned)."""
        return self._client._run(ops.ack_event(event_id))

    def delete(self, event_id: str) -> None:
        """Delete; :class:`NotFoundError` if there is no such event (a retry of this call after
        a lost answer treats the 404 as done)."""
        self._client._run(ops.delete_event(event_id))

    def create_many(
        self, items: Sequence[m.EventCreate | Mapping[str, Any]]
    ) -> BulkResult[m.BulkCreated]:
        """Create any number of events in batches of 25 (each item without an
        ``idempotency_key`` gets one, so a retried batch never duplicates)."""
        prepared = with_idempotency_keys(
            [ops.create_item(i) for i in items], self._client.options.idempotency_key_factory
        )
        return self._client._drive(bulk_plan(self._client.options, prepared, ops.bulk_create))

    def ack_many(self, event_ids: Sequence[str]) -> BulkResult[m.BulkAcked]:
        """Acknowledge any number of events (batches of 25); see :class:`BulkResult`."""
        return self._client._drive(bulk_plan(self._client.options, event_ids, ops.bulk_ack))

    def delete_many(self, event_ids: Sequence[str]) -> BulkResult[m.BulkDeleted]:
        """Delete any number of events (batches of 25); see :class:`BulkResult`."""
        return self._client._drive(bulk_plan(self._client.options, event_ids, ops.bulk_delete))


class Inbox(_Resource):
    def list(
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
        return self._client._run(ops.list_inbox(filters, limit, cursor))

    def pages(
        self,
        *,
        limit: int | None = None,
        source: str | None = None,
        event_type: str | None = None,
        created_after: TimeValue | None = None,
        created_before: TimeValue | None = None,
        priority: Priority | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> Iterator[m.InboxPage]:
        """Every page of one pass (cursor to cursor until ``next_cursor`` is null)."""
        filters = InboxFilter(source, event_type, created_after, created_before, priority, metadata)
        return _walk(lambda cursor: self._client._run(ops.list_inbox(filters, limit, cursor)))

    def iter(
        self,
        *,
        limit: int | None = None,
        source: str | None = None,
        event_type: str | None = None,
        created_after: TimeValue | None = None,
        created_before: TimeValue | None = None,
        priority: Priority | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> Iterator[m.Event]:
        """Every pending event matching the filters, fetching pages as needed."""
        for page in self.pages(
            limit=limit,
            source=source,
            event_type=event_type,
            created_after=created_after,
            created_before=created_before,
            priority=priority,
            metadata=metadata,
        ):
            yield from page.events

    def process(
        self,
        handler: Callable[[m.Event], object],
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
        for page in self.pages(
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
                    handler(event)
                except Exception as error:  # noqa: BLE001 - reported in the result, not swallowed
                    logger.warning("handler failed for %s: %r", event.event_id, error)
                    result.handler_failures.append(HandlerFailure(event, error))
                    continue
                handled.append(event.event_id)
            if handled:
                result.add_acks(handled, self._client.events.ack_many(handled))
            if max_events is not None and seen >= max_events:
                break
        return result


class ApiKeys(_Resource):
    """API keys of the caller's tenant (admin-scoped keys only)."""

    def create(
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
        return self._client._run(
            ops.create_api_key(
                name=name,
                rate_limit=rate_limit,
                allowed_ips=allowed_ips,
                admin=admin,
                signing=signing,
                expires_at=expires_at,
            )
        )

    def list(self, *, limit: int | None = None, cursor: str | None = None) -> m.ApiKeyList:
        return self._client._run(ops.list_api_keys(limit, cursor))

    def iter(self, *, limit: int | None = None) -> Iterator[m.ApiKeyOut]:
        for page in _walk(lambda cursor: self.list(limit=limit, cursor=cursor)):
            yield from page.api_keys

    def get(self, key_id: str) -> m.ApiKeyOut:
        return self._client._run(ops.get_api_key(key_id))

    def update(
        self,
        key_id: str,
        *,
        name: str | NotGiven = NOT_GIVEN,
        rate_limit: int | NotGiven | None = NOT_GIVEN,
        allowed_ips: Sequence[str] | NotGiven = NOT_GIVEN,
    ) -> m.ApiKeyOut:
        """Change fields given (``rate_limit=None``: the default; ``allowed_ips=[]``: any)."""
        return self._client._run(
            ops.update_api_key(key_id, name=name, rate_limit=rate_limit, allowed_ips=allowed_ips)
        )

    def rotate(self, key_id: str, *, grace_period_seconds: int | None = None) -> m.ApiKeyIssued:
        return self._client._run(ops.rotate_api_key(key_id, grace_period_seconds))

    def revoke(self, key_id: str) -> None:
        self._client._run(ops.revoke_api_key(key_id))


class Webhooks(_Resource):
    """Webhook endpoints of the caller's tenant (admin-scoped keys only)."""

    def create(
        self,
        *,
        url: str,
        event_types: Sequence[str] | None = None,
        sources: Sequence[str] | None = None,
        description: str | None = None,
        rate_limit_per_second: int | None = None,
    ) -> m.WebhookIssued:
        """Register an endpoint; the answer holds its signing ``secret`` once."""
        return self._client._run(
            ops.create_webhook(
                url=url,
                event_types=event_types,
                sources=sources,
                description=description,
                rate_limit_per_second=rate_limit_per_second,
            )
        )

    def list(self, *, limit: int | None = None, cursor: str | None = None) -> m.WebhookList:
        return self._client._run(ops.list_webhooks(limit, cursor))

    def iter(self, *, limit: int | None = None) -> Iterator[m.WebhookOut]:
        for page in _walk(lambda cursor: self.list(limit=limit, cursor=cursor)):
            yield from page.webhooks

    def get(self, webhook_id: str) -> m.WebhookOut:
        return self._client._run(ops.get_webhook(webhook_id))

    def update(
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
        return self._client._run(ops.update_webhook(webhook_id, fields))

    def delete(self, webhook_id: str) -> None:
        self._client._run(ops.delete_webhook(webhook_id))

    def rotate_secret(
        self, webhook_id: str, *, grace_period_seconds: int | None = None
    ) -> m.WebhookSecretRotated:
        return self._client._run(ops.rotate_webhook_secret(webhook_id, grace_period_seconds))

    def test(self, webhook_id: str) -> m.DeliveryOut:
        """Queue a ``webhook.test`` delivery (202); the answer is the delivery."""
        return self._client._run(ops.test_webhook(webhook_id))

    def replay(
        self, webhook_id: str, *, since: TimeValue, until: TimeValue | None = None
    ) -> m.ReplayAccepted:
        return self._client._run(ops.replay_webhook(webhook_id, since, until))

    def deliveries(
        self,
        webhook_id: str,
        *,
        status: ops.DeliveryStatus | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> m.DeliveryList:
        return self._client._run(ops.list_deliveries(webhook_id, status, limit, cursor))

    def iter_deliveries(
        self,
        webhook_id: str,
        *,
        status: ops.DeliveryStatus | None = None,
        limit: int | None = None,
    ) -> Iterator[m.DeliveryOut]:
        fetch = lambda cursor: self.deliveries(  # noqa: E731
            webhook_id, status=status, limit=limit, cursor=cursor
        )
        for page in _walk(fetch):
            yield from page.deliveries


class Analytics(_Resource):
    def summary(
        self, *, start: TimeValue | None = None, end: TimeValue | None = None
    ) -> m.AnalyticsSummary:
        """Counts over ``[start, end)`` (the API's ``from``/``to``; default: the last 24 h)."""
        return self._client._run(ops.analytics_summary(start, end))

    def timeseries(
        self,
        *,
        granularity: Granularity | None = None,
        start: TimeValue | None = None,
        end: TimeValue | None = None,
        source: str | None = None,
        event_type: str | None = None,
    ) -> m.AnalyticsTimeseries:
        return self._client._run(
            ops.analytics_timeseries(granularity, start, end, source, event_type)
        )

    def export_csv(
        self,
        *,
        granularity: Granularity | None = None,
        start: TimeValue | None = None,
        end: TimeValue | None = None,
    ) -> str:
        """The counters as CSV text (RFC 4180, header row, CRLF)."""
        return self._client._run(ops.analytics_export_csv(granularity, start, end))

    def export_json(
        self,
        *,
        granularity: Granularity | None = None,
        start: TimeValue | None = None,
        end: TimeValue | None = None,
    ) -> m.AnalyticsExport:
        return self._client._run(ops.analytics_export_json(granularity, start, end))
