"""The webhook delivery worker: one SQS message -> one attempt to POST one delivery.

Lambda calls :meth:`WebhookDeliveryService.handle` with a batch of messages (its SQS event-source
mapping has ``ReportBatchItemFailures``); locally ``devstack.delivery_worker`` does. The batch's
messages are attempted concurrently. For each message:

1. the webhook is read: deleted, paused or disabled -> the delivery fails without an attempt;
2. an open circuit breaker or the endpoint's own rate limit -> the message waits (its visibility
   is moved to when it may go), no attempt is counted;
3. the delivery is claimed (see ``stores/deliveries.py``): a duplicate message, or one that is
   early, waits or is dropped;
4. the event is POSTed, signed per Standard Webhooks, to the address the SSRF check passed;
5. 2xx: succeeded. 410: failed, and the endpoint is disabled. Anything else: the attempt is
   recorded, and the message is made visible again when the next attempt is due (the retry
   schedule, or ``Retry-After`` on 429/503, capped); after the last attempt the delivery is
   failed and the message is copied to the dead-letter queue.

A message that is kept is reported in ``batchItemFailures``; a storage failure keeps it too
(it comes back when its visibility timeout ends, the claim's lease has expired by then).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import random
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from chalicelib.domain.analytics import delivery_outcome, items_of, merge_updates, pack
from chalicelib.domain.clock import format_ts
from chalicelib.domain.events import Event
from chalicelib.domain.retry_schedule import (
    BREAKER_OPEN_SECONDS,
    Outcome,
    RetrySchedule,
    breaker_open_until,
    classify,
    honours_retry_after,
    parse_retry_after,
    retry_after_delay,
    should_disable,
)
from chalicelib.domain.ulid import decode_timestamp_ms
from chalicelib.domain.webhook_signing import delivery_headers
from chalicelib.domain.webhooks import (
    DELIVERY_FAILED,
    DELIVERY_PENDING,
    DELIVERY_SUCCEEDED,
    DISABLED_FAILING,
    DISABLED_GONE,
    KIND_EVENT,
    KIND_TEST,
    STATUS_DISABLED,
    Attempt,
    Delivery,
    DeliveryMessage,
    Webhook,
)
from chalicelib.observability import metrics
from chalicelib.observability.logging import logger
from chalicelib.services import outbound_http
from chalicelib.services.rate_limiter import RateLimiter
from chalicelib.stores.errors import AlreadyCounted, ClaimRefused, ConditionFailed, StoreError
from chalicelib.stores.protocols import (
    MAX_TRANSACTION_ITEMS,
    AnalyticsStorage,
    DeliveryQueuing,
    DeliveryStorage,
    EventStorage,
    WebhookStorage,
)

LEASE_SECONDS = 60.0  # longer than one attempt (15 s) plus the bookkeeping around it
MIN_WAIT_SECONDS = 1.0
MAX_CONCURRENCY = 10
# Receives after which a waiting message is sent afresh (the queue's redrive is at 1,000).
REQUEUE_AFTER_RECEIVES = 100
# A delivery's failure reason (the words are not a secret).
NO_SIGNING_SECRET = "no readable signing secret (WEBHOOK_SECRETS_KEY changed?): rotate it"  # noqa: S105
COUNT_ROUNDS = 3
Poster = Callable[..., outbound_http.HttpResult]


def status_class(result: outbound_http.HttpResult) -> str:
    if result.status is None:
        return result.error or "network"
    return f"{result.status // 100}xx"


Item = TypeVar("Item")


class _Batch:
    """What the messages of one batch share: the webhooks and events read (each once per batch;
    the deliveries of one event to a tenant's webhooks usually arrive together), the outcomes to
    count in analytics (one transaction for the batch), and the endpoints that failed in it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.webhooks: dict[tuple[str, str], Webhook | None] = {}
        self.events: dict[tuple[str, str], Event | None] = {}
        self.outcomes: list[tuple[str, Delivery, bool, float]] = []  # message id, ...
        self.failed_endpoints: set[str] = set()

    def once(
        self,
        cache: dict[tuple[str, str], Item],
        key: tuple[str, str],
        load: Callable[[str, str], Item],
    ) -> Item:
        """``load(*key)``, read once per batch (two threads may both read it the first time)."""
        with self.lock:
            if key in cache:
                return cache[key]
        value = load(*key)
        with self.lock:
            return cache.setdefault(key, value)


_BATCH: ContextVar[_Batch | None] = ContextVar("webhook_delivery_batch", default=None)
_MESSAGE_ID: ContextVar[str] = ContextVar("webhook_delivery_message", default="")


@dataclass(frozen=True)
class Received:
    """One SQS record as Lambda hands it over."""

    message_id: str
    receipt_handle: str
    body: str
    receive_count: int

    @classmethod
    def of(cls, record: Mapping[str, Any]) -> Received:
        attributes = record.get("attributes") or {}
        try:
            count = int(attributes.get("ApproximateReceiveCount", "1"))
        except (TypeError, ValueError):
            count = 1
        return cls(
            message_id=str(record.get("messageId", "")),
            receipt_handle=str(record.get("receiptHandle", "")),
            body=str(record.get("body", "")),
            receive_count=count,
        )


class WebhookDeliveryService:
    def __init__(
        self,
        webhooks: WebhookStorage,
        deliveries: DeliveryStorage,
        events: EventStorage,
        queue: DeliveryQueuing,
        limiter: RateLimiter,
        *,
        analytics: AnalyticsStorage | None = None,
        allow_private_targets: bool,
        schedule: RetrySchedule | None = None,
        post: Poster = outbound_http.post,
        timeout: float = 15.0,
        now: Callable[[], float] = time.time,
        rand: Callable[[], float] = random.random,
        metrics_config: metrics.MetricsConfig = metrics.DEFAULT,
    ) -> None:
        self._webhooks = webhooks
        self._deliveries = deliveries
        self._events = events
        self._queue = queue
        self._limiter = limiter
        self._analytics = analytics
        self._allow_private = allow_private_targets
        self.schedule = schedule or RetrySchedule()
        self._post = post
        self._timeout = timeout
        self._now = now
        self._rand = rand
        self._metrics = metrics_config

    # -- the Lambda entry point --------------------------------------------------------------
    def handle(self, event: Mapping[str, Any]) -> dict[str, list[dict[str, str]]]:
        records = event.get("Records")
        if not isinstance(records, list) or not records:
            return {"batchItemFailures": []}
        received = [Received.of(r) for r in records if isinstance(r, Mapping)]
        if not received:
            return {"batchItemFailures": []}
        batch = _Batch()
        token = _BATCH.set(batch)
        try:
            # Each message runs in its own copy of this context (the batch is shared).
            contexts = [contextvars.copy_context() for _ in received]
        finally:
            _BATCH.reset(token)
        with ThreadPoolExecutor(max_workers=min(MAX_CONCURRENCY, len(received))) as pool:
            done = list(pool.map(lambda c, r: c.run(self._process_safely, r), contexts, received))
        uncounted = self._count_batch(batch)
        kept = [
            r for r, ok in zip(received, done, strict=True) if not ok or r.message_id in uncounted
        ]
        return {"batchItemFailures": [{"itemIdentifier": r.message_id} for r in kept]}

    def _process_safely(self, received: Received) -> bool:
        _MESSAGE_ID.set(received.message_id)
        with metrics.request_scope(self._metrics):
            try:
                return self.process(received)
            except StoreError as exc:
                logger.warning(
                    "webhook delivery postponed: storage or queue unavailable",
                    extra={"message_id": received.message_id, "error": str(exc)},
                )
                return False

    # -- one message -------------------------------------------------------------------------
    def process(self, received: Received) -> bool:
        """Handle one message; True when it is done with (delete it), False to keep it."""
        try:
            message = DeliveryMessage.parse(received.body)
        except ValueError as exc:
            logger.error(
                "webhook message unreadable; dead-lettered",
                extra={"message_id": received.message_id, "reason": str(exc)},
            )
            # The body as it came (SQS never hands over an empty one), for someone to read.
            self._queue.dead_letter(received.body or "(empty)", f"unreadable message: {exc}")
            return True
        log = {
            "webhook_id": message.webhook_id,
            "delivery_id": message.delivery_id,
            "request_id": message.request_id,
            "receive_count": received.receive_count,
        }
        webhook = self._webhook(message.tenant_id, message.webhook_id)
        if webhook is None or not webhook.receives:
            reason = "endpoint deleted" if webhook is None else f"endpoint {webhook.status}"
            self._fail_unattempted(message, reason, log)
            return True
        now = self._now()
        if webhook.breaker_open_until is not None:
            if webhook.breaker_open_until > now:
                return self._wait(
                    received, message, webhook.breaker_open_until - now, "circuit open", log
                )
            # The hold is over: one attempt (the probe) goes through; the rest wait again.
            until = now + BREAKER_OPEN_SECONDS
            if not self._webhooks.take_probe(webhook.tenant_id, webhook.webhook_id, now, until):
                return self._wait(received, message, BREAKER_OPEN_SECONDS, "circuit half-open", log)
        if webhook.rate_limit_per_second is not None:
            check = self._limiter.check(
                f"webhook#{webhook.webhook_id}", webhook.rate_limit_per_second
            )
            if not check.decision.allowed:
                wait = check.decision.retry_after_us / 1_000_000
                return self._wait(received, message, wait, "endpoint rate limit", log)
        try:
            delivery = self._deliveries.claim(
                message.webhook_id, message.delivery_id, now, LEASE_SECONDS
            )
        except ClaimRefused as refused:
            return self._not_claimed(received, message, refused.current, now, log)
        return self._attempt(received, message, webhook, delivery, log)

    def _wait(
        self,
        received: Received,
        message: DeliveryMessage,
        seconds: float,
        why: str,
        log: dict[str, Any],
    ) -> bool:
        """Hold the message ``seconds`` (no attempt used). Every hold is one more receive, and
        the queue's redrive moves a message to the DLQ at 1,000 of them: a message that has
        waited often is sent afresh (its receive count starts again) and this copy deleted."""
        seconds = max(MIN_WAIT_SECONDS, seconds)
        metrics.record_metric("WebhookDeliveryDeferred", "Count", 1)
        if received.receive_count >= REQUEUE_AFTER_RECEIVES:
            self._queue.requeue(message, seconds)
            logger.info(
                "webhook delivery waits (sent afresh)",
                extra={**log, "why": why, "seconds": seconds},
            )
            return True
        self._queue.delay(received.receipt_handle, seconds)
        logger.info("webhook delivery waits", extra={**log, "why": why, "seconds": seconds})
        return False

    def _not_claimed(
        self,
        received: Received,
        message: DeliveryMessage,
        current: Delivery | None,
        now: float,
        log: dict[str, Any],
    ) -> bool:
        if current is None or current.finished:
            if current is not None:
                # Counted once per delivery (a marker decides): this completes a count that
                # failed after the outcome was recorded.
                self._count(current, current.status == DELIVERY_SUCCEEDED, current.updated_at)
            logger.info("webhook message dropped: delivery finished or gone", extra=log)
            return True
        due = max(current.lease_until or 0.0, current.next_attempt_at or 0.0)
        return self._wait(received, message, due - now, "delivery leased or not due", log)

    def _fail_unattempted(self, message: DeliveryMessage, reason: str, log: dict[str, Any]) -> None:
        delivery = self._deliveries.get(message.webhook_id, message.delivery_id)
        if delivery is not None and not delivery.finished:
            at = self._now()
            with contextlib.suppress(ConditionFailed):  # finished meanwhile by another copy
                self._deliveries.record_attempt(
                    delivery, None, DELIVERY_FAILED, at, failure_reason=reason
                )
                self._count(delivery, False, at)
        logger.info("webhook delivery not attempted", extra={**log, "reason": reason})

    # -- the attempt -------------------------------------------------------------------------
    def _body(self, delivery: Delivery) -> bytes | None:
        if delivery.kind == KIND_TEST:
            data: Any = json.loads(delivery.test_payload or "{}")
            document = {
                "type": delivery.event_type,
                "timestamp": format_ts(delivery.created_at),
                "data": data,
            }
        else:
            event = self._event(delivery.tenant_id, delivery.event_id)
            if event is None:
                return None
            document = {
                "type": event.event_type,
                "timestamp": event.created_at,
                "data": event.to_public(),
            }
        return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()

    def _attempt(
        self,
        received: Received,
        message: DeliveryMessage,
        webhook: Webhook,
        delivery: Delivery,
        log: dict[str, Any],
    ) -> bool:
        now = self._now()
        body = self._body(delivery)
        if body is None:
            self._deliveries.record_attempt(
                delivery, None, DELIVERY_FAILED, now, failure_reason="event no longer exists"
            )
            self._count(delivery, False, now)
            logger.info("webhook delivery failed: event gone", extra=log)
            return True
        secrets = webhook.signing_secrets(now)
        if not secrets:
            # Every stored secret was sealed with another key: nothing can sign for it. Failed
            # without an attempt; rotate the secret, then replay the range.
            reason = NO_SIGNING_SECRET
            self._deliveries.record_attempt(
                delivery, None, DELIVERY_FAILED, now, failure_reason=reason
            )
            self._count(delivery, False, now)
            logger.error("webhook delivery failed: no readable signing secret", extra=log)
            return True
        headers = delivery_headers(secrets, delivery.delivery_id, int(now), body)
        result = self._post(
            webhook.url,
            body,
            headers,
            allow_private=self._allow_private,
            timeout=self._timeout,
        )
        finished_at = self._now()
        error = result.error
        if error is None and result.status is not None and not 200 <= result.status < 300:
            error = "http_status"
        attempt = Attempt(
            attempted_at=now,
            status_code=result.status,
            latency_ms=result.latency_ms,
            error=error,
            error_detail=result.error_detail,
        )
        number = delivery.attempt_count + 1
        # A 2xx status line is a delivery, whatever happened to the rest of the answer (a body
        # that never ends, say): the receiver has it, and sending it again would only repeat it.
        answered_2xx = result.status is not None and 200 <= result.status < 300
        outcome = classify(result.status if result.error is None or answered_2xx else None)
        log = {
            **log,
            "attempt": number,
            "status_code": result.status,
            "latency_ms": round(result.latency_ms, 1),
            "error": error,
        }
        metrics.record_metric("WebhookDeliveryAttempts", "Count", 1)
        metrics.record_metric(
            "WebhookDeliveryAttempts", "Count", 1, status_class=status_class(result)
        )
        if outcome is Outcome.DELIVERED:
            return self._delivered(delivery, attempt, webhook, finished_at, log)
        metrics.record_metric("WebhookDeliveryFailures", "Count", 1)
        metrics.record_metric(
            "WebhookDeliveryFailures", "Count", 1, status_class=status_class(result)
        )
        if outcome is Outcome.GONE:
            self._deliveries.record_attempt(
                delivery, attempt, DELIVERY_FAILED, finished_at, failure_reason=DISABLED_GONE
            )
            self._count(delivery, False, finished_at)
            self._disable(webhook, DISABLED_GONE, finished_at, log)
            logger.warning("webhook delivery failed: endpoint gone", extra=log)
            return True
        return self._retry_or_fail(received, message, delivery, attempt, webhook, result, log)

    def _delivered(
        self,
        delivery: Delivery,
        attempt: Attempt,
        webhook: Webhook,
        at: float,
        log: dict[str, Any],
    ) -> bool:
        self._deliveries.record_attempt(delivery, attempt, DELIVERY_SUCCEEDED, at)
        self._count(delivery, True, at)
        batch = _BATCH.get()
        failed_in_batch = batch is not None and webhook.webhook_id in batch.failed_endpoints
        if webhook.consecutive_failures or webhook.failing_since is not None or failed_in_batch:
            self._webhooks.record_success(webhook.tenant_id, webhook.webhook_id)
        metrics.record_metric("WebhookDeliverySucceeded", "Count", 1)
        metrics.record_metric("WebhookDeliverySucceeded", "Count", 1, status_class="2xx")
        latency = self._end_to_end_ms(delivery, at)
        if latency is not None:
            metrics.record_metric("WebhookDeliveryLatency", "Milliseconds", latency)
        logger.info("webhook delivered", extra={**log, "end_to_end_ms": latency})
        return True

    def _end_to_end_ms(self, delivery: Delivery, at: float) -> float | None:
        """Event created -> 2xx, for deliveries of events (not tests or replays)."""
        if delivery.kind != KIND_EVENT or not delivery.event_id:
            return None
        try:
            created_ms = decode_timestamp_ms(delivery.event_id.removeprefix("evt_"))
        except ValueError:
            return None
        return max(0.0, at * 1000 - created_ms)

    def _retry_or_fail(
        self,
        received: Received,
        message: DeliveryMessage,
        delivery: Delivery,
        attempt: Attempt,
        webhook: Webhook,
        result: outbound_http.HttpResult,
        log: dict[str, Any],
    ) -> bool:
        at = self._now()
        number = delivery.attempt_count + 1
        delay = self.schedule.delay_before(number + 1, self._rand)
        if delay is None:
            reason = f"all {number} attempts failed"
            # The dead-letter copy first: if recording fails after it, the message comes back
            # and ends the same way (a second copy at worst), never recorded without a copy.
            self._queue.dead_letter(message, reason)
            self._deliveries.record_attempt(
                delivery, attempt, DELIVERY_FAILED, at, failure_reason=reason
            )
            self._health_after_failure(webhook, at, log)
            self._count(delivery, False, at)
            metrics.record_metric("WebhookDeliveriesDeadLettered", "Count", 1)
            logger.warning("webhook delivery failed: attempts exhausted", extra=log)
            return True
        nominal = self.schedule.nominal(number + 1) or 0.0
        if result.status is not None and honours_retry_after(result.status):
            retry_after = parse_retry_after(result.headers.get("retry-after"), at)
            if retry_after is not None:
                delay = retry_after_delay(retry_after, nominal)
        self._deliveries.record_attempt(
            delivery, attempt, DELIVERY_PENDING, at, next_attempt_at=at + delay
        )
        # After the attempt is recorded: a storage error here must not make it be made again.
        self._health_after_failure(webhook, at, log)
        self._queue.delay(received.receipt_handle, delay)
        logger.info("webhook delivery attempt failed; retrying", extra={**log, "retry_in": delay})
        return False

    def _health_after_failure(self, webhook: Webhook, at: float, log: dict[str, Any]) -> None:
        batch = _BATCH.get()
        if batch is not None:
            with batch.lock:
                batch.failed_endpoints.add(webhook.webhook_id)
        current = self._webhooks.record_failure(webhook.tenant_id, webhook.webhook_id, at)
        if current is None:
            return
        if should_disable(current.failing_since, at):
            self._disable(current, DISABLED_FAILING, at, log)
            return
        until = breaker_open_until(current.consecutive_failures, at)
        if until is not None:
            self._webhooks.open_breaker(webhook.tenant_id, webhook.webhook_id, until)
            logger.warning(
                "webhook circuit breaker open",
                extra={**log, "until": until, "consecutive_failures": current.consecutive_failures},
            )

    def _webhook(self, tenant_id: str, webhook_id: str) -> Webhook | None:
        batch = _BATCH.get()
        load = self._webhooks.get
        return (
            load(tenant_id, webhook_id)
            if batch is None
            else batch.once(batch.webhooks, (tenant_id, webhook_id), load)
        )

    def _event(self, tenant_id: str, event_id: str) -> Event | None:
        batch = _BATCH.get()
        load = self._events.get
        return (
            load(tenant_id, event_id)
            if batch is None
            else batch.once(batch.events, (tenant_id, event_id), load)
        )

    def _count(self, delivery: Delivery, succeeded: bool, at: float) -> None:
        """Add the outcome to the tenant's analytics, once per delivery of an event (a marker
        decides); inside a batch, all of the batch's outcomes are written together at its end."""
        if self._analytics is None or delivery.kind == KIND_TEST or not delivery.event_id:
            return
        batch = _BATCH.get()
        if batch is not None:
            with batch.lock:
                batch.outcomes.append((_MESSAGE_ID.get(), delivery, succeeded, at))
            return
        self._write_counts([(delivery, succeeded, at)])

    def _write_counts(self, outcomes: list[tuple[Delivery, bool, float]]) -> None:
        assert self._analytics is not None
        pending = {
            f"delivery#{d.webhook_id}#{d.delivery_id}": (d, ok, at) for d, ok, at in outcomes
        }
        for _ in range(COUNT_ROUNDS):
            if not pending:
                return
            updates = []
            for delivery, succeeded, at in pending.values():
                updates += delivery_outcome(
                    delivery.tenant_id, delivery.source, delivery.event_type, at, succeeded
                )
            try:
                self._analytics.count(list(pending), merge_updates(updates))
                return
            except AlreadyCounted as exc:  # some were counted before: count the rest
                for marker in exc.record_ids:
                    pending.pop(marker, None)
        raise StoreError("delivery outcomes kept turning out counted; giving up on this batch")

    def _count_batch(self, batch: _Batch) -> set[str]:
        """Write the batch's outcomes (as many per transaction as its 100 items hold: a marker
        each plus the counter items they touch); the message ids whose outcomes could not be
        counted (they are kept, and counted when they come back)."""
        uncounted: set[str] = set()

        def touched(outcome: tuple[str, Delivery, bool, float]) -> set[tuple[str, str]]:
            _, d, ok, at = outcome
            return items_of(delivery_outcome(d.tenant_id, d.source, d.event_type, at, ok))

        for group in pack(batch.outcomes, touched, MAX_TRANSACTION_ITEMS):
            try:
                self._write_counts([(d, ok, at) for _, d, ok, at in group])
            except StoreError as exc:
                logger.warning(
                    "webhook delivery outcomes not counted; their messages come back",
                    extra={"deliveries": len(group), "error": str(exc)},
                )
                uncounted |= {message_id for message_id, *_ in group}
        return uncounted

    def _disable(self, webhook: Webhook, reason: str, at: float, log: dict[str, Any]) -> None:
        batch = _BATCH.get()
        if batch is not None:  # the batch's messages not yet started see it disabled
            with batch.lock:
                batch.webhooks[(webhook.tenant_id, webhook.webhook_id)] = replace(
                    webhook, status=STATUS_DISABLED, disabled_reason=reason
                )
        if self._webhooks.disable(webhook.tenant_id, webhook.webhook_id, reason, at):
            metrics.record_metric("WebhookEndpointsDisabled", "Count", 1)
            logger.warning("webhook endpoint disabled", extra={**log, "reason": reason})
