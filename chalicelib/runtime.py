"""Wiring: build every client, store and service once from :class:`Settings`.

``app.py`` builds one :class:`Runtime` at import (Lambda's init phase); tests build their own
with injected clients. Nothing here opens a connection, nor builds an AWS client.

Cold starts (``perf/cold_start.py``): what the common HTTP path needs (keys, events, inbox,
health, the rate limiter) is built here, but each AWS client and each service that only a few
routes or one of the event handlers use (analytics, bulk, webhooks, the stream handlers) is a
:class:`~chalicelib.lazy.Lazy`: built, and its modules imported, on first use, once per process
(thread-safe). ``Runtime``'s fields keep their types: a lazy field forwards every attribute.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, TypeVar, cast

from chalicelib.domain.cursor import CursorCodec
from chalicelib.lazy import Lazy, force
from chalicelib.observability.metrics import DEFAULT as DEFAULT_METRICS
from chalicelib.observability.metrics import MetricsConfig
from chalicelib.services.events import EventService
from chalicelib.services.health import HealthService
from chalicelib.services.inbox import InboxService
from chalicelib.services.keys import KeyService
from chalicelib.services.rate_limiter import RateLimiter
from chalicelib.settings import Settings
from chalicelib.stores.api_keys import ApiKeyStore
from chalicelib.stores.aws import dynamodb_client
from chalicelib.stores.events import EventStore
from chalicelib.stores.rate_limits import RateLimitStore
from chalicelib.stores.secret_box import SecretBox

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

    from chalicelib.domain.retry_schedule import RetrySchedule
    from chalicelib.domain.ssrf import Resolver
    from chalicelib.services.analytics import AnalyticsService
    from chalicelib.services.bulk import BulkService
    from chalicelib.services.stream_ingest import StreamIngestService
    from chalicelib.services.webhook_delivery import WebhookDeliveryService
    from chalicelib.services.webhook_fanout import WebhookFanout
    from chalicelib.services.webhooks import WebhookService
    from chalicelib.stores.analytics import AnalyticsStore
    from chalicelib.stores.deliveries import DeliveryStore
    from chalicelib.stores.delivery_queue import DeliveryQueue
    from chalicelib.stores.webhooks import WebhookStore

T = TypeVar("T")


@dataclass
class Runtime:
    settings: Settings
    dynamodb: DynamoDBClient
    keys: KeyService
    events: EventService
    inbox: InboxService
    health: HealthService
    analytics: AnalyticsService
    stream_ingest: StreamIngestService
    rate_limiter: RateLimiter
    bulk: BulkService
    webhooks: WebhookService
    webhook_fanout: WebhookFanout
    webhook_delivery: WebhookDeliveryService
    metrics: MetricsConfig  # where the app's and the stream handler's metrics go
    limiter_dynamodb: DynamoDBClient | None = None  # the limiter's client (tighter bounds)

    def warm(self) -> None:
        """Build the clients every request uses now rather than on the first request: for an
        init phase that runs before any request (provisioned concurrency), where the cost of
        building them is off every request's path."""
        force(self.dynamodb)
        if self.limiter_dynamodb is not None:
            force(self.limiter_dynamodb)

    @classmethod
    def build(
        cls,
        settings: Settings,
        dynamodb: DynamoDBClient | None = None,
        now: Callable[[], float] = time.time,
        metrics: MetricsConfig = DEFAULT_METRICS,
        sqs: SQSClient | None = None,
        resolve: Resolver | None = None,
        webhook_schedule: RetrySchedule | None = None,
        webhook_timeout: float | None = None,
    ) -> Runtime:
        """``resolve`` turns webhook hosts into addresses (the URL check when a webhook is set,
        and every delivery attempt; default: the system resolver); ``webhook_schedule`` and
        ``webhook_timeout`` are the delivery worker's retry schedule and per-attempt timeout
        (tests shorten them; default: ``services/outbound_http.py``'s)."""
        client = dynamodb or _lazy(lambda: dynamodb_client(settings))
        event_store = EventStore(client, settings.events_table, settings.idempotency_table, now)
        key_store = ApiKeyStore(client, settings.api_keys_table, now)
        events = EventService(
            event_store,
            settings.inbox_shards,
            settings.event_retention_days,
            settings.idempotency_ttl_seconds,
            now,
        )
        # The limiter sits on every request: when its table is slow it must give up quickly
        # and fail open (see services/rate_limiter.py), so its client has tighter bounds.
        limiter_settings = replace(
            settings,
            aws_connect_timeout=min(settings.aws_connect_timeout, 0.5),
            aws_read_timeout=min(settings.aws_read_timeout, 1.0),
            aws_total_max_attempts=min(settings.aws_total_max_attempts, 2),
        )
        limiter_client = dynamodb or _lazy(lambda: dynamodb_client(limiter_settings))
        rare = _RareParts(
            settings,
            client,
            limiter_client,
            event_store,
            events,
            # Built here: a bad key fails the cold start, not the first webhook request.
            SecretBox(settings.webhook_secrets_key_material),
            now,
            metrics,
            sqs,
            resolve,
            webhook_schedule,
            webhook_timeout,
        )
        return cls(
            settings=settings,
            dynamodb=client,
            keys=KeyService(key_store, settings.stage, settings.key_cache_ttl_seconds, now),
            events=events,
            inbox=InboxService(
                event_store, CursorCodec(settings.cursor_signing_key), settings.inbox_shards
            ),
            health=HealthService(event_store, settings.version),
            analytics=_lazy(rare.analytics),
            stream_ingest=_lazy(rare.stream_ingest),
            rate_limiter=RateLimiter(
                RateLimitStore(limiter_client, settings.rate_limits_table),
                settings.default_rate_limit_per_minute,
                now=now,
            ),
            bulk=_lazy(rare.bulk),
            webhooks=_lazy(rare.webhooks),
            webhook_fanout=_lazy(rare.webhook_fanout),
            webhook_delivery=_lazy(rare.webhook_delivery),
            metrics=metrics,
            limiter_dynamodb=limiter_client,
        )


def _lazy(build: Callable[[], T]) -> T:
    """``build``'s object, built on first use (typed as that object, which it forwards to)."""
    return cast(T, Lazy(build))


class _RareParts:
    """Builders of the lazily built services, and of the stores they share (each built once,
    on the first use of a service that needs it)."""

    def __init__(
        self,
        settings: Settings,
        client: DynamoDBClient,
        limiter_client: DynamoDBClient,
        event_store: EventStore,
        events: EventService,
        secret_box: SecretBox,
        now: Callable[[], float],
        metrics: MetricsConfig,
        sqs: SQSClient | None,
        resolve: Resolver | None,
        webhook_schedule: RetrySchedule | None,
        webhook_timeout: float | None,
    ) -> None:
        self.settings, self.client, self.limiter_client = settings, client, limiter_client
        self.event_store, self.events, self.secret_box = event_store, events, secret_box
        self.now, self.metrics, self.sqs = now, metrics, sqs
        self.resolve, self.webhook_schedule, self.webhook_timeout = (
            resolve,
            webhook_schedule,
            webhook_timeout,
        )
        self.analytics_store = Lazy(self._analytics_store)
        self.webhook_store = Lazy(self._webhook_store)
        self.delivery_store = Lazy(self._delivery_store)
        self.queue = Lazy(self._queue)

    def _resolver(self) -> Resolver:
        from chalicelib.services.outbound_http import system_resolver

        return self.resolve or system_resolver

    def _analytics_store(self) -> AnalyticsStore:
        from chalicelib.stores.analytics import AnalyticsStore

        return AnalyticsStore(self.client, self.settings.analytics_table, self.now)

    def _webhook_store(self) -> WebhookStore:
        from chalicelib.stores.webhooks import WebhookStore

        return WebhookStore(self.client, self.settings.webhooks_table, self.now, self.secret_box)

    def _delivery_store(self) -> DeliveryStore:
        from chalicelib.stores.deliveries import DeliveryStore

        return DeliveryStore(self.client, self.settings.deliveries_table, self.now)

    def _queue(self) -> DeliveryQueue:
        from chalicelib.stores.aws import sqs_client
        from chalicelib.stores.delivery_queue import DeliveryQueue

        settings = self.settings
        return DeliveryQueue(
            self.sqs or (lambda: sqs_client(settings)),
            settings.webhook_queue_url,
            settings.webhook_dlq_url,
        )

    def analytics(self) -> AnalyticsService:
        from chalicelib.services.analytics import AnalyticsService

        return AnalyticsService(force(self.analytics_store), self.now)

    def stream_ingest(self) -> StreamIngestService:
        from chalicelib.services.stream_ingest import StreamIngestService

        return StreamIngestService(force(self.analytics_store), self.metrics)

    def bulk(self) -> BulkService:
        from chalicelib.services.bulk import BulkService

        return BulkService(self.events, self.event_store)

    def webhooks(self) -> WebhookService:
        from chalicelib.services.webhooks import WebhookService

        return WebhookService(
            force(self.webhook_store),
            force(self.delivery_store),
            self.event_store,
            force(self.queue),
            shards=self.settings.inbox_shards,
            allow_private_targets=self.settings.webhook_allow_private_targets,
            resolve=self._resolver(),
            now=self.now,
        )

    def webhook_fanout(self) -> WebhookFanout:
        from chalicelib.services.webhook_fanout import WebhookFanout

        return WebhookFanout(
            force(self.webhook_store),
            force(self.delivery_store),
            force(self.queue),
            self.now,
            self.metrics,
        )

    def webhook_delivery(self) -> WebhookDeliveryService:
        import functools

        from chalicelib.services import outbound_http
        from chalicelib.services.webhook_delivery import WebhookDeliveryService

        # Per-endpoint delivery rate limits: GCRA buckets of one second in the limits table,
        # exact and whole (docs/WEBHOOKS.md: a burst of one second's worth), so not leased.
        endpoint_limiter = RateLimiter(
            RateLimitStore(self.limiter_client, self.settings.rate_limits_table),
            1,
            1,
            now=self.now,
            leasing=False,
        )
        timeout = self.webhook_timeout
        return WebhookDeliveryService(
            force(self.webhook_store),
            force(self.delivery_store),
            self.event_store,
            force(self.queue),
            endpoint_limiter,
            analytics=force(self.analytics_store),
            allow_private_targets=self.settings.webhook_allow_private_targets,
            schedule=self.webhook_schedule,
            post=functools.partial(outbound_http.post, resolve=self._resolver()),
            timeout=outbound_http.DEFAULT_TIMEOUT if timeout is None else timeout,
            now=self.now,
            metrics_config=self.metrics,
        )
