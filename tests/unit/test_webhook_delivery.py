"""The webhook delivery worker on fakes, with a fixed clock, a short retry schedule with fixed
jitter and a scripted poster: what each answer does to the delivery, the message (done, kept,
delayed, dead-lettered) and the endpoint's health; duplicates, waits, and what is signed."""

from __future__ import annotations

import dataclasses
import json
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import pytest

from chalicelib.domain.analytics import cover, key_ranges, summarize
from chalicelib.domain.clock import FixedClock, format_ts
from chalicelib.domain.events import EventDraft
from chalicelib.domain.retry_schedule import (
    BREAKER_OPEN_SECONDS,
    DISABLE_AFTER_SECONDS,
    RetrySchedule,
)
from chalicelib.domain.webhook_signing import (
    SIGNATURE_HEADER,
    WebhookVerificationError,
    new_webhook_secret,
    verify,
)
from chalicelib.domain.webhooks import (
    DELIVERY_FAILED,
    DELIVERY_PENDING,
    DELIVERY_SUCCEEDED,
    DISABLED_FAILING,
    DISABLED_GONE,
    KIND_TEST,
    STATUS_ACTIVE,
    STATUS_DISABLED,
    STATUS_PAUSED,
    TEST_EVENT_TYPE,
    Attempt,
    Delivery,
    DeliveryMessage,
    Webhook,
    WebhookSecret,
    plan_secret_rotation,
)
from chalicelib.services.events import EventService
from chalicelib.services.outbound_http import HttpResult
from chalicelib.services.rate_limiter import RateLimiter
from chalicelib.services.webhook_delivery import (
    LEASE_SECONDS,
    NO_SIGNING_SECRET,
    WebhookDeliveryService,
)
from chalicelib.services.webhook_fanout import WebhookFanout
from chalicelib.stores.errors import StorageUnavailable
from chalicelib.stores.protocols import NewEvent
from tests.fakes import (
    FakeAnalyticsStore,
    FakeDeliveryQueue,
    FakeDeliveryStore,
    FakeEventStore,
    FakePoster,
    FakeRateLimitStore,
    FakeWebhookStore,
)
from tests.lambda_events import message_record, sqs_event, sqs_record, stream_record

T0 = 1_795_000_000.0
TENANT = "ten_a"
SCHEDULE = RetrySchedule(delays=(0, 5, 30, 60), jitter=0.1)
JITTER = 1.05  # 1 - 0.1 + 2 * 0.1 * RAND
RAND = 0.75
OK = HttpResult(200, latency_ms=20.0)
ERROR = HttpResult(500, latency_ms=30.0)


def failures(result: dict[str, list[dict[str, str]]]) -> list[str]:
    return [f["itemIdentifier"] for f in result["batchItemFailures"]]


def receipt(message: DeliveryMessage, receive_count: int = 1) -> str:
    return str(message_record(message, receive_count)["receiptHandle"])


def message_id(message: DeliveryMessage) -> str:
    return str(message_record(message)["messageId"])


class CountingAnalytics(FakeAnalyticsStore):
    """Counts the transactions; can be told to be unavailable for the next ``down`` of them."""

    def __init__(self, now: Any) -> None:
        super().__init__(now)
        self.transactions = 0
        self.down = 0

    def count(self, record_ids: Any, updates: Any) -> None:
        self.transactions += 1
        if self.down:
            self.down -= 1
            raise StorageUnavailable("analytics down")
        super().count(record_ids, updates)

    def deliveries(self) -> dict[str, int]:
        totals = summarize(
            row
            for key_range in key_ranges(TENANT, cover(0, 4_000_000_000 // 60 * 60))
            for row in self.read(key_range)
        )["totals"]
        return dict(totals["deliveries"])


class CountingReads(FakeWebhookStore):
    def __init__(self) -> None:
        super().__init__()
        self.gets = 0

    def get(self, tenant_id: str, webhook_id: str) -> Webhook | None:
        self.gets += 1
        return super().get(tenant_id, webhook_id)


class World:
    """The worker and the fan-out that feeds it, on one set of fakes."""

    def __init__(self, *answers: HttpResult, default: HttpResult = OK) -> None:
        self.clock = FixedClock(T0)
        self.webhooks = FakeWebhookStore()
        self.deliveries = FakeDeliveryStore(self.clock.now)
        self.events = FakeEventStore(self.clock.now)
        self.queue = FakeDeliveryQueue()
        self.rate_limits = FakeRateLimitStore()
        self.analytics = CountingAnalytics(self.clock.now)
        self.poster = FakePoster(*answers, default=default)
        self.event_service = EventService(self.events, 4, 7, 3600, self.clock.now)
        self.rebuild()
        self.secret = new_webhook_secret()
        self._sequence = 0

    def rebuild(self) -> None:
        """The fan-out and the worker on the stores as they are now (after a test swaps one)."""
        self.fanout = WebhookFanout(self.webhooks, self.deliveries, self.queue, self.clock.now)
        self.worker = WebhookDeliveryService(
            self.webhooks,
            self.deliveries,
            self.events,
            self.queue,
            RateLimiter(self.rate_limits, 1, 1, now=self.clock.now),
            analytics=self.analytics,
            allow_private_targets=False,
            schedule=SCHEDULE,
            post=self.poster,
            timeout=15.0,
            now=self.clock.now,
            rand=lambda: RAND,
        )

    def hook(self, **changes: Any) -> Webhook:
        base = Webhook(
            tenant_id=TENANT,
            webhook_id="wh_" + "ab" * 12,
            url="https://hooks.example.com/in",
            event_types=(),
            sources=(),
            description="",
            status=STATUS_ACTIVE,
            created_at=T0,
            updated_at=T0,
            secrets=(WebhookSecret(self.secret, T0),),
        )
        hook = dataclasses.replace(base, **changes)
        self.webhooks.create(hook)
        return hook

    def event(self, event_type: str = "invoice.paid") -> NewEvent:
        self.clock.advance(0.001)
        draft = EventDraft("billing", event_type, '{"amount":12,"note":"été"}', {"k": "v"}, None)
        new = self.event_service.placed(
            self.event_service.new_event(TENANT, draft), request_id="req-1"
        )
        self.events.put_new(new)
        return new

    def queued(self, count: int = 1) -> list[DeliveryMessage]:
        """``count`` new events, fanned out: the messages the worker will receive."""
        before = len(self.queue.sent)
        for _ in range(count):
            self._sequence += 1
            self.fanout.process([stream_record(self._sequence, new=self.event())])
        return self.queue.sent[before:]

    def deliver(self, *messages: DeliveryMessage, receive_count: int = 1) -> list[str]:
        """One Lambda batch of ``messages``; the message ids kept (batchItemFailures)."""
        event = sqs_event(*(message_record(m, receive_count) for m in messages))
        return failures(self.worker.handle(event))

    def delivery(self, message: DeliveryMessage) -> Delivery:
        found = self.deliveries.get(message.webhook_id, message.delivery_id)
        assert found is not None
        return found

    def webhook(self, hook: Webhook) -> Webhook:
        found = self.webhooks.get(hook.tenant_id, hook.webhook_id)
        assert found is not None
        return found


# -- answers -----------------------------------------------------------------------------------
def test_a_2xx_answer_delivers_and_the_message_is_done() -> None:
    w = World(HttpResult(204, latency_ms=42.0))
    hook = w.hook()
    (message,) = w.queued()
    assert w.deliver(message) == []
    delivery = w.delivery(message)
    assert delivery.status == DELIVERY_SUCCEEDED
    assert delivery.attempts == (Attempt(w.clock.now(), 204, 42.0, None),)
    assert (delivery.lease_until, delivery.next_attempt_at) == (None, None)
    (call,) = w.poster.calls
    assert (call.url, call.allow_private, call.timeout) == (hook.url, False, 15.0)
    assert w.queue.delays == {}
    assert w.queue.dead_letters == []


def test_a_failed_attempt_is_retried_on_the_schedule_then_delivered() -> None:
    w = World(ERROR, OK)
    hook = w.hook()
    (message,) = w.queued()
    first_at = w.clock.now()
    assert w.deliver(message) == [message_id(message)]  # kept, for its retry
    delivery = w.delivery(message)
    assert delivery.status == DELIVERY_PENDING
    assert delivery.attempts == (Attempt(first_at, 500, 30.0, "http_status"),)
    assert delivery.next_attempt_at == pytest.approx(first_at + 5 * JITTER)
    assert w.queue.delays == {receipt(message): [pytest.approx(5 * JITTER)]}
    assert (w.webhook(hook).consecutive_failures, w.webhook(hook).failing_since) == (1, first_at)

    w.clock.advance(5 * JITTER)
    assert w.deliver(message, receive_count=2) == []
    delivery = w.delivery(message)
    assert delivery.status == DELIVERY_SUCCEEDED
    assert [a.status_code for a in delivery.attempts] == [500, 200]
    assert w.webhook(hook) == hook  # the success ended the run of failures
    assert len(w.poster.calls) == 2
    # The same delivery id on every attempt: receivers dedupe on it.
    assert {c.headers["webhook-id"] for c in w.poster.calls} == {message.delivery_id}


def test_410_fails_the_delivery_and_disables_the_endpoint() -> None:
    w = World(HttpResult(410, latency_ms=5.0))
    hook = w.hook()
    (message,) = w.queued()
    assert w.deliver(message) == []
    delivery = w.delivery(message)
    assert (delivery.status, delivery.failure_reason) == (DELIVERY_FAILED, DISABLED_GONE)
    assert [a.status_code for a in delivery.attempts] == [410]
    stored = w.webhook(hook)
    assert (stored.status, stored.disabled_reason) == (STATUS_DISABLED, DISABLED_GONE)
    assert w.queue.delays == {}


@pytest.mark.parametrize(
    "result",
    [
        HttpResult(None, latency_ms=15000.0, error="timeout", error_detail="no answer in 15 s"),
        HttpResult(None, latency_ms=3.0, error="connect", error_detail="connection refused"),
        HttpResult(None, latency_ms=1.0, error="dns", error_detail="does not resolve"),
        HttpResult(None, latency_ms=9.0, error="tls", error_detail="certificate"),
        HttpResult(None, latency_ms=0.5, error="refused_target", error_detail="a private address"),
        HttpResult(302, latency_ms=4.0, headers={"location": "https://elsewhere.example.com/"}),
        HttpResult(404, latency_ms=4.0),
    ],
    ids=["timeout", "connect", "dns", "tls", "refused", "redirect", "404"],
)
def test_no_answer_or_a_failing_one_is_retried(result: HttpResult) -> None:
    w = World(result)
    w.hook()
    (message,) = w.queued()
    at = w.clock.now()
    assert w.deliver(message) == [message_id(message)]
    delivery = w.delivery(message)
    expected_error = result.error or "http_status"
    assert delivery.attempts == (
        Attempt(at, result.status, result.latency_ms, expected_error, result.error_detail),
    )
    assert delivery.status == DELIVERY_PENDING
    assert w.queue.delays == {receipt(message): [pytest.approx(5 * JITTER)]}


def test_a_2xx_status_line_delivers_even_when_the_body_never_ends() -> None:
    """The receiver answered 2xx within the timeout: it has the event. Sending it again because
    its body was cut off would only repeat it; the attempt keeps the error for the log."""
    w = World(HttpResult(200, latency_ms=15000.0, error="timeout", error_detail="body cut off"))
    w.hook()
    (message,) = w.queued()
    assert w.deliver(message) == []
    delivery = w.delivery(message)
    assert delivery.status == DELIVERY_SUCCEEDED
    assert [(a.status_code, a.error) for a in delivery.attempts] == [(200, "timeout")]


def _http_date(at: float) -> str:
    return format_datetime(datetime.fromtimestamp(at, UTC), usegmt=True)


@pytest.mark.parametrize(
    ("status", "retry_after", "delay"),
    [
        (429, "7", 7.0),
        (503, "7", 7.0),
        (429, "600", 10.0),  # capped at twice the next step (5 s)
        (503, "date+8", 8.0),
        (429, "date+3600", 10.0),
        (429, "0", 1.0),  # at least a second
        (500, "7", 5 * JITTER),  # only 429 and 503 are believed
        (429, "soon", 5 * JITTER),  # unreadable: the schedule
    ],
)
def test_retry_after_sets_the_delay_capped_at_twice_the_next_step(
    status: int, retry_after: str, delay: float
) -> None:
    w = World()
    w.hook()
    (message,) = w.queued()
    w.clock.current = float(int(w.clock.now()) + 1)  # HTTP dates have whole seconds
    value = retry_after
    if retry_after.startswith("date+"):
        value = _http_date(w.clock.now() + int(retry_after.removeprefix("date+")))
    w.poster.answers.append(HttpResult(status, headers={"retry-after": value}, latency_ms=2.0))
    assert w.deliver(message) == [message_id(message)]
    assert w.queue.delays == {receipt(message): [pytest.approx(delay)]}
    assert w.delivery(message).next_attempt_at == pytest.approx(w.clock.now() + delay)


def test_after_the_last_attempt_the_delivery_fails_and_is_dead_lettered() -> None:
    w = World(default=ERROR)
    w.hook()
    (message,) = w.queued()
    waits = []
    for attempt in range(1, SCHEDULE.max_attempts + 1):
        kept = w.deliver(message, receive_count=attempt)
        if attempt < SCHEDULE.max_attempts:
            assert kept == [message_id(message)]
            (wait,) = w.queue.delays[receipt(message, attempt)]
            waits.append(wait)
            w.clock.advance(wait)
        else:
            assert kept == []  # dropped: its copy is in the dead-letter queue
    assert waits == [pytest.approx(d * JITTER) for d in SCHEDULE.delays[1:]]
    delivery = w.delivery(message)
    reason = f"all {SCHEDULE.max_attempts} attempts failed"
    assert (delivery.status, delivery.failure_reason) == (DELIVERY_FAILED, reason)
    assert len(delivery.attempts) == SCHEDULE.max_attempts
    assert [a.attempted_at for a in delivery.attempts] == sorted(
        a.attempted_at for a in delivery.attempts
    )
    assert w.queue.dead_letters == [(message, reason)]


# -- the endpoint's health ---------------------------------------------------------------------
def test_five_failures_in_a_row_open_the_breaker_and_later_messages_wait_unattempted() -> None:
    w = World(default=ERROR)
    hook = w.hook()
    messages = w.queued(7)
    for message in messages[:5]:
        assert w.deliver(message) == [message_id(message)]
    fifth_at = w.clock.now()
    assert w.webhook(hook).consecutive_failures == 5
    assert w.webhook(hook).breaker_open_until == fifth_at + BREAKER_OPEN_SECONDS
    w.clock.advance(10)
    for message in (messages[5], messages[0]):  # a new delivery, and a retry that is due
        receive_count = 1 if message is messages[5] else 2
        assert w.deliver(message, receive_count=receive_count) == [message_id(message)]
        assert w.queue.delays[receipt(message, receive_count)] == [
            pytest.approx(BREAKER_OPEN_SECONDS - 10)
        ]
    assert len(w.poster.calls) == 5  # no attempt while it is open
    assert w.delivery(messages[5]).attempts == ()
    assert len(w.delivery(messages[0]).attempts) == 1  # a wait uses up no attempt

    w.clock.current = fifth_at + BREAKER_OPEN_SECONDS
    assert w.deliver(messages[6]) == [message_id(messages[6])]
    assert len(w.poster.calls) == 6  # the hold ended: one attempt went through...
    held = w.webhook(hook).breaker_open_until
    assert held == w.clock.now() + BREAKER_OPEN_SECONDS  # ...and its failure holds it again


class SlowPoster(FakePoster):
    """Each POST takes a while (a dead endpoint timing out): it waits up to ``hold`` seconds
    for another POST to start, so attempts made concurrently overlap for certain."""

    def __init__(self, *answers: HttpResult, default: HttpResult, hold: float = 0.5) -> None:
        super().__init__(*answers, default=default)
        self.hold = hold

    def __call__(self, *args: Any, **kwargs: Any) -> HttpResult:
        result = super().__call__(*args, **kwargs)
        mine = len(self.calls)
        deadline = time.monotonic() + self.hold
        while len(self.calls) == mine and time.monotonic() < deadline:
            time.sleep(0.01)
        return result


def test_when_the_hold_ends_one_attempt_goes_through_while_the_others_wait() -> None:
    w = World()
    w.poster = SlowPoster(default=ERROR, hold=0)
    w.rebuild()
    hook = w.hook()
    messages = w.queued(8)
    for message in messages[:5]:
        w.deliver(message)
    w.clock.current = w.webhook(hook).breaker_open_until or 0.0
    w.poster.hold = 0.5
    held = messages[5:]
    kept = w.deliver(*held)  # one batch, attempted concurrently
    assert len(w.poster.calls) == 6  # one probe, not one attempt per held message
    assert sorted(kept) == sorted(message_id(m) for m in held)
    assert sum(len(w.delivery(m).attempts) for m in held) == 1
    assert w.webhook(hook).breaker_open_until == w.clock.now() + BREAKER_OPEN_SECONDS
    waits = [w.queue.delays[receipt(m)] for m in held if not w.delivery(m).attempts]
    assert waits == [[pytest.approx(BREAKER_OPEN_SECONDS)]] * 2  # the probe's outcome decides


def test_a_success_closes_the_breaker() -> None:
    w = World(*([ERROR] * 5), OK)
    hook = w.hook()
    messages = w.queued(6)
    for message in messages[:5]:
        w.deliver(message)
    w.clock.advance(BREAKER_OPEN_SECONDS)
    assert w.deliver(messages[5]) == []
    assert w.webhook(hook) == hook


def test_an_endpoint_failing_for_five_days_is_disabled() -> None:
    w = World(default=ERROR)
    hook = w.hook()
    first, second = w.queued(2)
    assert w.deliver(first) == [message_id(first)]
    failing_since = w.clock.now()
    w.clock.current = failing_since + DISABLE_AFTER_SECONDS - 1
    w.deliver(second)
    assert w.webhook(hook).status == STATUS_ACTIVE  # not yet
    w.clock.current = failing_since + DISABLE_AFTER_SECONDS
    w.deliver(first, receive_count=2)
    stored = w.webhook(hook)
    assert (stored.status, stored.disabled_reason) == (STATUS_DISABLED, DISABLED_FAILING)
    assert stored.failing_since == failing_since
    # What is still queued for it fails without an attempt.
    w.clock.advance(3600)
    calls = len(w.poster.calls)
    assert w.deliver(second, receive_count=2) == []
    assert len(w.poster.calls) == calls
    assert w.delivery(second).status == DELIVERY_FAILED
    assert w.delivery(second).failure_reason == "endpoint disabled"


def test_a_success_in_between_restarts_the_five_days() -> None:
    w = World(ERROR, OK, ERROR)
    hook = w.hook()
    first, second, third = w.queued(3)
    w.deliver(first)
    w.clock.advance(DISABLE_AFTER_SECONDS / 2)
    w.deliver(second)
    w.clock.advance(DISABLE_AFTER_SECONDS / 2)
    w.deliver(third)
    stored = w.webhook(hook)
    assert (stored.status, stored.failing_since) == (STATUS_ACTIVE, w.clock.now())


def test_the_endpoint_rate_limit_delays_a_burst_and_fails_none() -> None:
    w = World()
    w.hook(rate_limit_per_second=2)
    messages = w.queued(5)
    kept = w.deliver(*messages)
    assert len(w.poster.calls) == 2
    assert len(kept) == 3
    waiting = [m for m in messages if message_id(m) in kept]
    for message in waiting:
        (wait,) = w.queue.delays[receipt(message)]
        assert 1.0 <= wait <= 2.0
        assert w.delivery(message).attempts == ()
    statuses = sorted(w.delivery(m).status for m in messages)
    assert statuses == [DELIVERY_PENDING] * 3 + [DELIVERY_SUCCEEDED] * 2
    w.clock.advance(1)  # two more tokens
    kept = w.deliver(*waiting, receive_count=2)
    assert len(kept) == 1
    w.clock.advance(1)
    last = [m for m in waiting if message_id(m) in kept]
    assert w.deliver(*last, receive_count=3) == []
    assert {w.delivery(m).status for m in messages} == {DELIVERY_SUCCEEDED}
    assert len(w.poster.calls) == 5


def test_a_message_that_has_waited_often_is_sent_afresh_before_redrive_could_strand_it() -> None:
    """Each wait is a receive, and the queue's redrive moves a message to the DLQ at 1,000:
    from the 100th receive a waiting message is sent again (new receive count) and this copy
    deleted, so a long rate-limit backlog or breaker hold never strands a pending delivery."""
    w = World()
    w.hook(rate_limit_per_second=1)
    first, second = w.queued(2)
    assert w.deliver(first) == []
    assert w.deliver(second, receive_count=99) == [message_id(second)]  # waits in place
    assert w.queue.requeued == []
    assert w.deliver(second, receive_count=100) == []  # done with this copy...
    [(again, wait)] = w.queue.requeued  # ...because a fresh one waits instead
    assert again == second
    assert 1.0 <= wait <= 2.0
    assert w.delivery(second).status == DELIVERY_PENDING
    w.clock.advance(2)
    assert w.deliver(again) == []
    assert w.delivery(second).status == DELIVERY_SUCCEEDED


def test_a_webhook_whose_secrets_cannot_be_read_fails_its_deliveries_without_a_post() -> None:
    w = World()
    w.hook(secrets=())  # what the store reads when every secret was sealed with another key
    (message,) = w.queued()
    assert w.deliver(message) == []
    delivery = w.delivery(message)
    assert (delivery.status, delivery.failure_reason) == (DELIVERY_FAILED, NO_SIGNING_SECRET)
    assert delivery.attempts == ()
    assert w.poster.calls == []


@pytest.mark.parametrize("change", ["paused", "disabled", "deleted"])
def test_a_delivery_to_an_endpoint_no_longer_active_fails_without_an_attempt(change: str) -> None:
    w = World()
    hook = w.hook()
    (message,) = w.queued()
    if change == "deleted":
        w.webhooks.delete(TENANT, hook.webhook_id)
    else:
        status = STATUS_PAUSED if change == "paused" else STATUS_DISABLED
        edited = dataclasses.replace(hook, status=status, updated_at=T0 + 1)
        w.webhooks.save(edited, ("status",), hook.updated_at)
    assert w.deliver(message) == []
    delivery = w.delivery(message)
    assert (delivery.status, delivery.failure_reason) == (DELIVERY_FAILED, f"endpoint {change}")
    assert delivery.attempts == ()
    assert w.poster.calls == []


def test_a_delivery_whose_event_is_gone_fails_without_an_attempt() -> None:
    w = World()
    w.hook()
    (message,) = w.queued()
    w.events.delete(TENANT, w.delivery(message).event_id)
    assert w.deliver(message) == []
    delivery = w.delivery(message)
    assert (delivery.status, delivery.failure_reason) == (DELIVERY_FAILED, "event no longer exists")
    assert w.poster.calls == []


# -- duplicates and waits ----------------------------------------------------------------------
def test_a_copy_of_a_message_whose_delivery_is_leased_waits_for_the_lease() -> None:
    w = World()
    hook = w.hook()
    (message,) = w.queued()
    w.deliveries.claim(hook.webhook_id, message.delivery_id, w.clock.now(), LEASE_SECONDS)
    w.clock.advance(10)
    assert w.deliver(message) == [message_id(message)]
    assert w.queue.delays[receipt(message)] == [pytest.approx(LEASE_SECONDS - 10)]
    assert w.poster.calls == []


def test_a_copy_of_a_message_before_the_next_attempt_is_due_waits_until_then() -> None:
    w = World(ERROR)
    w.hook()
    (message,) = w.queued()
    w.deliver(message)
    w.clock.advance(1)
    copy = sqs_record(message.body(), "copy-1")
    assert failures(w.worker.handle(sqs_event(copy))) == ["copy-1"]
    assert w.queue.delays[copy["receiptHandle"]] == [pytest.approx(5 * JITTER - 1)]
    assert len(w.poster.calls) == 1


def test_a_copy_of_a_message_whose_delivery_is_finished_or_gone_is_dropped() -> None:
    w = World()
    hook = w.hook()
    (message,) = w.queued()
    w.deliver(message)
    copy = sqs_record(message.body(), "copy-1")
    stranger = DeliveryMessage(TENANT, hook.webhook_id, "msg_" + "0" * 26)
    assert failures(w.worker.handle(sqs_event(copy, message_record(stranger)))) == []
    assert len(w.poster.calls) == 1
    assert w.queue.delays == {}


@pytest.mark.parametrize(
    "body", ["not json", "[]", "", '{"tenant_id":"ten_a","webhook_id":7}', '{"delivery_id":""}']
)
def test_an_unreadable_message_is_dead_lettered_and_dropped(body: str) -> None:
    w = World()
    w.hook()
    assert failures(w.worker.handle(sqs_event(sqs_record(body, "bad-1")))) == []
    ((copy, reason),) = w.queue.dead_letters
    assert copy == (body or "(empty)")  # the body as it came, not a placeholder message
    assert reason.startswith("unreadable message")
    assert w.poster.calls == []


class FlakyWebhookStore(FakeWebhookStore):
    def __init__(self) -> None:
        super().__init__()
        self.down = False

    def get(self, tenant_id: str, webhook_id: str) -> Webhook | None:
        if self.down:
            raise StorageUnavailable("GetItem webhooks: ReadTimeoutError")
        return super().get(tenant_id, webhook_id)


class FlakyDeliveryStore(FakeDeliveryStore):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.down = False

    def record_attempt(self, *args: Any, **kwargs: Any) -> None:
        if self.down:
            raise StorageUnavailable("UpdateItem deliveries attempt: throttled")
        super().record_attempt(*args, **kwargs)


def test_a_storage_failure_keeps_the_message_without_moving_it() -> None:
    w = World()
    w.webhooks = FlakyWebhookStore()
    w.rebuild()
    hook = w.hook()
    (message,) = w.queued()
    w.webhooks.down = True
    assert w.deliver(message) == [message_id(message)]
    assert (w.queue.delays, w.poster.calls) == ({}, [])
    assert w.delivery(message).lease_until is None
    w.webhooks.down = False
    assert w.deliver(message, receive_count=2) == []
    assert w.webhook(hook) == hook


def test_a_storage_failure_after_the_post_keeps_the_message_until_its_lease_ends() -> None:
    w = World()
    w.deliveries = FlakyDeliveryStore(w.clock.now)
    w.rebuild()
    w.hook()
    (message,) = w.queued()
    w.deliveries.down = True
    assert w.deliver(message) == [message_id(message)]
    assert w.queue.delays == {}  # it comes back when the queue's visibility timeout ends
    w.deliveries.down = False
    w.clock.advance(LEASE_SECONDS)
    assert w.deliver(message, receive_count=2) == []
    assert len(w.poster.calls) == 2  # at least once: the lost outcome means a second POST
    assert w.delivery(message).status == DELIVERY_SUCCEEDED


# -- what is sent ------------------------------------------------------------------------------
def test_the_body_is_the_event_as_the_api_answers_it() -> None:
    w = World()
    w.hook()
    (message,) = w.queued()
    event = w.events.get(TENANT, w.delivery(message).event_id)
    assert event is not None
    w.deliver(message)
    (call,) = w.poster.calls
    document = json.loads(call.body)
    assert list(document) == ["type", "timestamp", "data"]
    assert document == {
        "type": event.event_type,
        "timestamp": event.created_at,
        "data": event.to_public(),
    }
    assert "été".encode() in call.body  # UTF-8 as is, not \u escapes


def test_the_headers_verify_with_the_secret() -> None:
    w = World()
    w.hook()
    (message,) = w.queued()
    w.deliver(message)
    (call,) = w.poster.calls
    assert call.headers["webhook-id"] == message.delivery_id
    assert call.headers["webhook-timestamp"] == str(int(w.clock.now()))
    verify(w.secret, call.headers, call.body, w.clock.now())
    with pytest.raises(WebhookVerificationError):
        verify(new_webhook_secret(), call.headers, call.body, w.clock.now())
    with pytest.raises(WebhookVerificationError):
        verify(w.secret, call.headers, call.body + b" ", w.clock.now())


def test_after_a_rotation_both_secrets_verify_until_the_grace_ends() -> None:
    w = World()
    hook = w.hook()
    old, new = w.secret, new_webhook_secret()
    now = w.clock.now()
    rotated = dataclasses.replace(
        hook, secrets=plan_secret_rotation(hook, new, now, 3600), updated_at=now
    )
    w.webhooks.save(rotated, ("secrets",), hook.updated_at)
    first, later = w.queued(2)
    w.deliver(first)
    call = w.poster.calls[-1]
    assert len(call.headers[SIGNATURE_HEADER].split(" ")) == 2
    for secret in (old, new):
        verify(secret, call.headers, call.body, w.clock.now())
    w.clock.current = now + 3600
    w.deliver(later)
    call = w.poster.calls[-1]
    verify(new, call.headers, call.body, w.clock.now())
    with pytest.raises(WebhookVerificationError):
        verify(old, call.headers, call.body, w.clock.now())


def test_a_test_delivery_sends_its_own_payload() -> None:
    w = World()
    hook = w.hook()
    created = w.clock.now()
    payload = '{"webhook_id":"' + hook.webhook_id + '","message":"hi"}'
    delivery = Delivery(
        webhook_id=hook.webhook_id,
        delivery_id="msg_01JDZ8Q7XKQ4S3N1M2P5R6T7V8",
        tenant_id=TENANT,
        event_id="",
        event_type=TEST_EVENT_TYPE,
        kind=KIND_TEST,
        status=DELIVERY_PENDING,
        created_at=created,
        updated_at=created,
        test_payload=payload,
    )
    w.deliveries.create(delivery)
    message = DeliveryMessage(TENANT, hook.webhook_id, delivery.delivery_id)
    assert w.deliver(message) == []
    document = json.loads(w.poster.calls[0].body)
    assert document == {
        "type": TEST_EVENT_TYPE,
        "timestamp": format_ts(created),
        "data": json.loads(payload),
    }


def test_a_batch_is_attempted_concurrently_and_every_message_is_accounted_for() -> None:
    w = World()
    w.hook()
    messages = w.queued(10)
    assert w.deliver(*messages) == []
    assert len(w.poster.calls) == 10
    assert {w.delivery(m).status for m in messages} == {DELIVERY_SUCCEEDED}
    assert w.worker.handle({"Records": []}) == {"batchItemFailures": []}
    assert w.worker.handle({}) == {"batchItemFailures": []}


# -- a batch shares its reads and counts its outcomes once ---------------------------------------
def test_a_batch_reads_each_webhook_once_and_counts_its_outcomes_in_one_transaction() -> None:
    w = World()
    w.webhooks = CountingReads()
    w.rebuild()
    for n in range(5):
        w.hook(webhook_id=f"wh_{n:024x}")
    messages = w.queued(2)  # 2 events x 5 webhooks
    assert len(messages) == 10
    assert w.deliver(*messages) == []
    assert w.webhooks.gets == 5
    assert w.analytics.transactions == 1
    assert w.analytics.deliveries() == {"succeeded": 10, "failed": 0}
    assert w.deliver(*messages) == []  # the same messages again: dropped, counted once
    assert w.analytics.deliveries() == {"succeeded": 10, "failed": 0}


def test_outcomes_that_could_not_be_counted_keep_their_messages_until_they_are() -> None:
    w = World(OK, ERROR)
    w.hook()
    first, second = w.queued(2)
    w.analytics.down = 1
    assert w.deliver(first, second) == [message_id(first), message_id(second)]
    assert w.delivery(first).status == DELIVERY_SUCCEEDED
    assert w.analytics.deliveries() == {"succeeded": 0, "failed": 0}
    # They come back: the finished delivery is counted (once) and dropped; the pending one
    # waits for its next attempt as before.
    assert w.deliver(first) == []
    assert w.analytics.deliveries() == {"succeeded": 1, "failed": 0}
    assert w.deliver(first) == []
    assert w.analytics.deliveries() == {"succeeded": 1, "failed": 0}
