"""Wiring: build every client, store and service once from :class:`Settings`.

``app.py`` builds one :class:`Runtime` at import (Lambda's init phase); tests build their own
with injected clients. Nothing here opens a connection, nor builds an AWS client: each client
(``stores/aws.py``'s :class:`LazyClient`) is built on its first call, once per process, so the
import of ``app`` does not pay for botocore's client machinery (a cold-start cost).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, cast

from chalicelib.domain.cursor import CursorCodec
from chalicelib.domain.retry_schedule import RetrySchedule
from chalicelib.domain.ssrf import Resolver
from chalicelib.observability.metrics import DEFAULT as DEFAULT_METRICS
from chalicelib.observability.metrics import MetricsConfig
from chalicelib.services import outbound_http
from chalicelib.services.analytics import AnalyticsService
from chalicelib.services.bulk import BulkService
from chalicelib.services.events import EventService
from chalicelib.services.health import HealthService
from chalicelib.services.inbox import InboxService
from chalicelib.services.keys import KeyService
from chalicelib.services.outbound_http import system_resolver
from chalicelib.services.rate_limiter import RateLimiter
from chalicelib.services.stream_ingest import StreamIngestService
from chalicelib.services.webhook_delivery import WebhookDeliveryService
from chalicelib.services.webhook_fanout import WebhookFanout
from chalicelib.services.webhooks import WebhookService
from chalicelib.settings import Settings
from chalicelib.stores.analytics import AnalyticsStore
from chalicelib.stores.api_keys import ApiKeyStore
from chalicelib.stores.aws import LazyClient, dynamodb_client, sqs_client
from chalicelib.stores.deliveries import DeliveryStore
from chalicelib.stores.delivery_queue import DeliveryQueue
from chalicelib.stores.events import EventStore
from chalicelib.stores.rate_limits import RateLimitStore
from chalicelib.stores.secret_box import SecretBox
from chalicelib.stores.webhooks import WebhookStore

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient


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

    @classmethod
    def build(
        cls,
        settings: Settings,
        dynamodb: DynamoDBClient | None = None,
        now: Callable[[], float] = time.time,
        metrics: MetricsConfig = DEFAULT_METRICS,
        sqs: SQSClient | None = None,
        resolve: Resolver = system_resolver,
        webhook_schedule: RetrySchedule | None = None,
        webhook_timeout: float = outbound_http.DEFAULT_TIMEOUT,
    ) -> Runtime:
        """``resolve`` turns webhook hosts into addresses (the URL check when a webhook is set,
        and every delivery attempt); ``webhook_schedule`` and ``webhook_timeout`` are the
        delivery worker's retry schedule and per-attempt timeout (tests shorten them)."""
        client = dynamodb or _lazy(lambda: dynamodb_client(settings))
        queue = DeliveryQueue(
            sqs or (lambda: sqs_client(settings)),
            settings.webhook_queue_url,
            settings.webhook_dlq_url,
        )
        event_store = EventStore(client, settings.events_table, settings.idempotency_table, now)
        key_store = ApiKeyStore(client, settings.api_keys_table, now)
        analytics_store = AnalyticsStore(client, settings.analytics_table, now)
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
        webhook_store = WebhookStore(
            client, settings.webhooks_table, now, SecretBox(settings.webhook_secrets_key_material)
        )
        delivery_store = DeliveryStore(client, settings.deliveries_table, now)
        # Per-endpoint delivery rate limits: GCRA buckets of one second in the limits table.
        endpoint_limiter = RateLimiter(
            RateLimitStore(limiter_client, settings.rate_limits_table), 1, 1, now=now
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
            analytics=AnalyticsService(analytics_store, now),
            stream_ingest=StreamIngestService(analytics_store, metrics),
            rate_limiter=RateLimiter(
                RateLimitStore(limiter_client, settings.rate_limits_table),
                settings.default_rate_limit_per_minute,
                now=now,
            ),
            bulk=BulkService(events, event_store),
            webhooks=WebhookService(
                webhook_store,
                delivery_store,
                event_store,
                queue,
                shards=settings.inbox_shards,
                allow_private_targets=settings.webhook_allow_private_targets,
                resolve=resolve,
                now=now,
            ),
            webhook_fanout=WebhookFanout(webhook_store, delivery_store, queue, now, metrics),
            webhook_delivery=WebhookDeliveryService(
                webhook_store,
                delivery_store,
                event_store,
                queue,
                endpoint_limiter,
                analytics=analytics_store,
                allow_private_targets=settings.webhook_allow_private_targets,
                schedule=webhook_schedule,
                post=functools.partial(outbound_http.post, resolve=resolve),
                timeout=webhook_timeout,
                now=now,
                metrics_config=metrics,
            ),
            metrics=metrics,
        )


def _lazy(build: Callable[[], DynamoDBClient]) -> DynamoDBClient:
    """A DynamoDB client built on first use (typed as the client it forwards to)."""
    return cast("DynamoDBClient", LazyClient(build))
