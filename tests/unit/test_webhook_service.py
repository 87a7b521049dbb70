"""Managing webhooks on fakes: create (SSRF check, the per-tenant limit), update (URL rechecked,
status changes, concurrent edits), rotate, test sends and replays (filters, acknowledged events,
the size limit, a queue that refuses), and the deliveries log."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import pytest

from chalicelib import errors
from chalicelib.domain.clock import FixedClock, parse_ts
from chalicelib.domain.events import EventDraft
from chalicelib.domain.webhook_signing import (
    SECRET_PREFIX,
    WebhookVerificationError,
    delivery_headers,
    verify,
)
from chalicelib.domain.webhooks import (
    DELIVERY_FAILED,
    DELIVERY_PENDING,
    DISABLED_GONE,
    KIND_REPLAY,
    KIND_TEST,
    MAX_WEBHOOKS_PER_TENANT,
    STATUS_ACTIVE,
    STATUS_DISABLED,
    STATUS_PAUSED,
    TEST_EVENT_TYPE,
    DeliveryMessage,
    Webhook,
)
from chalicelib.services.events import EventService
from chalicelib.services.webhooks import (
    DISABLED_BY_ADMIN,
    MAX_REPLAY_EVENTS,
    MAX_REPLAY_READ,
    WebhookService,
    WebhookSpec,
)
from chalicelib.stores.errors import ConditionFailed, StoreError
from chalicelib.stores.protocols import NewEvent
from tests.fakes import FakeDeliveryQueue, FakeDeliveryStore, FakeEventStore, FakeWebhookStore

T0 = 1_795_000_000.0
TENANT = "ten_a"
SHARDS = 4
URL = "https://hooks.example.com/in"
ADDRESSES = {
    "hooks.example.com": ["93.184.216.34"],
    "new.example.com": ["93.184.216.35", "2606:2800:220:1:248:1893:25c8:1946"],
    "internal.example.com": ["93.184.216.36", "10.1.2.3"],  # one private address is enough
    "metadata.example.com": ["169.254.169.254"],
}


def resolve(host: str, port: int) -> list[str]:
    if host not in ADDRESSES:
        raise OSError(f"{host} does not resolve")
    return ADDRESSES[host]


class World:
    def __init__(self, webhooks: FakeWebhookStore | None = None) -> None:
        self.clock = FixedClock(T0)
        self.webhooks = webhooks or FakeWebhookStore()
        self.deliveries = FakeDeliveryStore(self.clock.now)
        self.events = FakeEventStore(self.clock.now)
        self.queue = FakeDeliveryQueue()
        self.event_service = EventService(self.events, SHARDS, 7, 3600, self.clock.now)
        self.service = WebhookService(
            self.webhooks,
            self.deliveries,
            self.events,
            self.queue,
            shards=SHARDS,
            allow_private_targets=False,
            resolve=resolve,
            now=self.clock.now,
        )

    def create(self, **spec: Any) -> Webhook:
        self.clock.advance(1)
        spec.setdefault("url", URL)
        return self.service.create(TENANT, WebhookSpec(**spec)).webhook

    def event(
        self, source: str = "billing", event_type: str = "invoice.paid", tenant: str = TENANT
    ) -> NewEvent:
        self.clock.advance(0.001)
        draft = EventDraft(source, event_type, "{}", {}, None)
        new = self.event_service.placed(self.event_service.new_event(tenant, draft))
        self.events.put_new(new)
        return new

    def stored(self, hook: Webhook) -> Webhook:
        found = self.webhooks.get(hook.tenant_id, hook.webhook_id)
        assert found is not None
        return found


# -- create ------------------------------------------------------------------------------------
def test_create_stores_an_active_webhook_and_hands_out_its_secret_once() -> None:
    w = World()
    issued = w.service.create(
        TENANT,
        WebhookSpec(URL, ("invoice.*",), ("billing",), "billing", rate_limit_per_second=5),
    )
    hook = issued.webhook
    assert issued.secret.startswith(SECRET_PREFIX)
    assert hook.secrets[0].secret == issued.secret
    assert (hook.status, hook.url, hook.event_types, hook.sources) == (
        STATUS_ACTIVE,
        URL,
        ("invoice.*",),
        ("billing",),
    )
    assert (hook.rate_limit_per_second, hook.created_at, hook.updated_at) == (5, T0, T0)
    assert w.stored(hook) == hook
    assert w.service.get(TENANT, hook.webhook_id) == hook
    with pytest.raises(errors.NotFound):
        w.service.get("ten_b", hook.webhook_id)


@pytest.mark.parametrize(
    "url",
    [
        "https://internal.example.com/in",
        "https://metadata.example.com/latest",
        "http://169.254.169.254/latest/meta-data",
        "http://127.0.0.1:8080/hook",
        "https://nowhere.example.com/",
        "ftp://hooks.example.com/in",
    ],
)
def test_a_url_that_may_not_be_called_is_refused_naming_the_field(url: str) -> None:
    w = World()
    with pytest.raises(errors.ValidationError) as refused:
        w.service.create(TENANT, WebhookSpec(url))
    assert refused.value.status == 400
    assert [d["field"] for d in refused.value.details] == ["url"]
    assert w.webhooks.count(TENANT) == 0


def test_a_tenant_has_at_most_50_webhooks() -> None:
    w = World()
    for _ in range(MAX_WEBHOOKS_PER_TENANT):
        w.create()
    with pytest.raises(errors.Conflict) as refused:
        w.create()
    assert refused.value.status == 409
    assert w.webhooks.count(TENANT) == MAX_WEBHOOKS_PER_TENANT
    other = w.service.create("ten_b", WebhookSpec(URL)).webhook  # per tenant
    assert other.tenant_id == "ten_b"


# -- update ------------------------------------------------------------------------------------
def test_update_changes_the_fields_given_and_rechecks_the_url() -> None:
    w = World()
    hook = w.create()
    w.clock.advance(1)
    changes = {"url": "https://new.example.com/hooks", "event_types": ("order.*",)}
    updated = w.service.update(TENANT, hook.webhook_id, changes)
    assert updated == dataclasses.replace(hook, **changes, updated_at=w.clock.now())
    assert w.stored(hook) == updated
    with pytest.raises(errors.ValidationError) as refused:
        w.service.update(TENANT, hook.webhook_id, {"url": "https://internal.example.com/"})
    assert [d["field"] for d in refused.value.details] == ["url"]
    assert w.stored(hook) == updated
    with pytest.raises(errors.NotFound):
        w.service.update("ten_b", hook.webhook_id, {"description": "x"})


def test_enabling_a_disabled_endpoint_resets_its_health_and_reason() -> None:
    w = World()
    hook = w.create()
    for at in range(5):
        w.webhooks.record_failure(TENANT, hook.webhook_id, T0 + at)
    w.webhooks.open_breaker(TENANT, hook.webhook_id, T0 + 100)
    w.webhooks.disable(TENANT, hook.webhook_id, DISABLED_GONE, T0 + 5)
    w.clock.advance(10)
    enabled = w.service.update(TENANT, hook.webhook_id, {"status": STATUS_ACTIVE})
    expected = dataclasses.replace(hook, updated_at=w.clock.now())
    assert enabled == expected
    assert w.stored(hook) == expected


@pytest.mark.parametrize(
    ("status", "reason"), [(STATUS_DISABLED, DISABLED_BY_ADMIN), (STATUS_PAUSED, None)]
)
def test_an_admin_status_change_says_why(status: str, reason: str | None) -> None:
    w = World()
    hook = w.create()
    w.webhooks.record_failure(TENANT, hook.webhook_id, T0)
    changed = w.service.update(TENANT, hook.webhook_id, {"status": status})
    stored = w.stored(hook)
    assert stored == changed
    assert (stored.status, stored.disabled_reason) == (status, reason)
    assert (stored.consecutive_failures, stored.failing_since) == (0, None)


def test_an_update_without_a_status_change_keeps_the_health_the_worker_keeps() -> None:
    w = World()
    hook = w.create()
    w.webhooks.record_failure(TENANT, hook.webhook_id, T0)
    w.service.update(TENANT, hook.webhook_id, {"description": "d", "status": STATUS_ACTIVE})
    stored = w.stored(hook)
    assert (stored.description, stored.consecutive_failures, stored.failing_since) == ("d", 1, T0)


class RacingWebhookStore(FakeWebhookStore):
    """Another request edits the webhook between each read and the next ``races`` saves."""

    def __init__(self, clock: FixedClock, races: int) -> None:
        super().__init__()
        self.clock = clock
        self.races = races
        self.refused = 0

    def save(self, webhook: Webhook, fields: tuple[str, ...], read_updated_at: float) -> None:
        if self.races:
            self.races -= 1
            current = self.get(webhook.tenant_id, webhook.webhook_id)
            assert current is not None
            self.clock.advance(0.5)
            theirs = dataclasses.replace(
                current, description=f"theirs {self.races}", updated_at=self.clock.now()
            )
            super().save(theirs, ("description",), current.updated_at)
        try:
            super().save(webhook, fields, read_updated_at)
        except ConditionFailed:
            self.refused += 1
            raise


def test_a_concurrent_edit_is_read_again_and_both_changes_stay() -> None:
    store = RacingWebhookStore(FixedClock(T0), races=0)
    w = World(store)
    store.clock = w.clock
    hook = w.create()
    store.races = 1
    updated = w.service.update(TENANT, hook.webhook_id, {"url": "https://new.example.com/x"})
    assert store.refused == 1
    stored = w.stored(hook)
    assert stored == updated
    assert (stored.url, stored.description) == ("https://new.example.com/x", "theirs 0")


def test_a_rotation_racing_an_edit_is_read_again() -> None:
    store = RacingWebhookStore(FixedClock(T0), races=0)
    w = World(store)
    store.clock = w.clock
    first = w.service.create(TENANT, WebhookSpec(URL))
    store.races = 1
    rotated = w.service.rotate_secret(TENANT, first.webhook.webhook_id, 60)
    stored = w.stored(first.webhook)
    assert store.refused == 1
    assert stored == rotated.webhook
    assert stored.description == "theirs 0"
    assert [s.secret for s in stored.secrets] == [rotated.secret, first.secret]


def test_an_edit_that_keeps_losing_the_race_is_a_conflict() -> None:
    store = RacingWebhookStore(FixedClock(T0), races=0)
    w = World(store)
    store.clock = w.clock
    hook = w.create()
    store.races = 3
    with pytest.raises(errors.Conflict):
        w.service.update(TENANT, hook.webhook_id, {"description": "mine"})
    assert w.stored(hook).description == "theirs 0"


# -- rotate ------------------------------------------------------------------------------------
def _signs(hook: Webhook, secret: str, now: float) -> bool:
    headers = delivery_headers(hook.signing_secrets(now), "msg_1", int(now), b"{}")
    try:
        verify(secret, headers, b"{}", now)
    except WebhookVerificationError:
        return False
    return True


def test_after_a_rotation_both_secrets_sign_until_the_grace_ends() -> None:
    w = World()
    first = w.service.create(TENANT, WebhookSpec(URL))
    w.clock.advance(10)
    rotated = w.service.rotate_secret(TENANT, first.webhook.webhook_id, 3600)
    assert rotated.secret != first.secret
    assert rotated.previous_secret_expires_at == w.clock.now() + 3600
    hook = w.stored(first.webhook)
    assert hook == rotated.webhook
    now = w.clock.now()
    assert hook.signing_secrets(now) == [rotated.secret, first.secret]
    assert _signs(hook, rotated.secret, now)
    assert _signs(hook, first.secret, now)
    later = now + 3600
    assert _signs(hook, rotated.secret, later)
    assert not _signs(hook, first.secret, later)


def test_a_rotation_without_grace_leaves_one_secret() -> None:
    w = World()
    first = w.service.create(TENANT, WebhookSpec(URL))
    w.clock.advance(10)
    rotated = w.service.rotate_secret(TENANT, first.webhook.webhook_id, 0)
    assert rotated.previous_secret_expires_at is None
    hook = w.stored(first.webhook)
    assert [s.secret for s in hook.secrets] == [rotated.secret]
    assert not _signs(hook, first.secret, w.clock.now())


# -- test sends and replays --------------------------------------------------------------------
@pytest.mark.parametrize("status", [STATUS_PAUSED, STATUS_DISABLED])
def test_sends_and_replays_need_an_active_webhook(status: str) -> None:
    w = World()
    hook = w.create()
    w.event()
    w.service.update(TENANT, hook.webhook_id, {"status": status})
    with pytest.raises(errors.Conflict) as refused:
        w.service.send_test(TENANT, hook.webhook_id, "req-1")
    assert refused.value.status == 409
    with pytest.raises(errors.Conflict):
        w.service.replay(TENANT, hook.webhook_id, T0, w.clock.now(), "req-1")
    assert (w.deliveries.deliveries, w.queue.sent) == ({}, [])


def test_a_test_send_queues_a_test_delivery() -> None:
    w = World()
    hook = w.create()
    delivery = w.service.send_test(TENANT, hook.webhook_id, "req-9")
    assert (delivery.kind, delivery.event_type, delivery.status) == (
        KIND_TEST,
        TEST_EVENT_TYPE,
        DELIVERY_PENDING,
    )
    assert delivery.test_payload is not None
    assert hook.webhook_id in delivery.test_payload
    assert w.deliveries.get(hook.webhook_id, delivery.delivery_id) == delivery
    ((message),) = w.queue.sent
    assert (message.delivery_id, message.request_id) == (delivery.delivery_id, "req-9")


def test_a_replay_queues_every_matching_event_of_the_range_acknowledged_ones_too() -> None:
    w = World()
    hook = w.create(event_types=("invoice.*",), sources=("billing",))
    before = w.event()
    w.clock.advance(60)
    since = w.clock.now()
    paid = w.event("billing", "invoice.paid")
    w.event("shop", "invoice.paid")  # another source
    w.event("billing", "order.created")  # another type
    refund = w.event("billing", "invoice.refund.created")
    w.event(tenant="ten_b")
    w.events.acknowledge(TENANT, paid.event.event_id, "2026-11-30T00:00:00.000Z")
    until = w.clock.now()
    w.clock.advance(60)
    w.event()  # after the range
    result = w.service.replay(TENANT, hook.webhook_id, since, until, "req-r")
    assert (result.queued, result.matched_events) == (2, 2)
    deliveries = sorted(w.deliveries.deliveries.values(), key=lambda d: d.delivery_id)
    assert [d.event_id for d in deliveries] == [paid.event.event_id, refund.event.event_id]
    assert {(d.kind, d.status, d.request_id) for d in deliveries} == {
        (KIND_REPLAY, DELIVERY_PENDING, "req-r")
    }
    assert sorted(m.delivery_id for m in w.queue.sent) == [d.delivery_id for d in deliveries]
    assert before.event.event_id not in {d.event_id for d in deliveries}
    # A replay is a new delivery with a new id each time.
    w.service.replay(TENANT, hook.webhook_id, since, until, "req-r")
    assert len(w.deliveries.deliveries) == 4


def test_a_replay_range_is_inclusive_to_the_millisecond() -> None:
    w = World()
    hook = w.create()
    news = []
    for _ in range(5):
        w.clock.advance(0.01)
        news.append(w.event())
    since, until = parse_ts(news[1].event.created_at), parse_ts(news[3].event.created_at)
    result = w.service.replay(TENANT, hook.webhook_id, since, until, None)
    assert result.queued == 3
    assert {d.event_id for d in w.deliveries.deliveries.values()} == {
        n.event.event_id for n in news[1:4]
    }


def _many_events(w: World, count: int, event_type: str = "invoice.paid") -> None:
    """``count`` events 1 ms apart, stored straight into the fake (fast)."""
    service = w.event_service
    for _ in range(count):
        w.clock.advance(0.001)
        draft = EventDraft("billing", event_type, "{}", {}, None)
        w.events.put_new(service.placed(service.new_event(TENANT, draft)))


def test_a_replay_of_more_than_the_limit_is_refused_whole() -> None:
    w = World()
    hook = w.create()
    since = w.clock.now()
    _many_events(w, MAX_REPLAY_EVENTS + 1)
    with pytest.raises(errors.ValidationError) as refused:
        w.service.replay(TENANT, hook.webhook_id, since, w.clock.now(), None)
    assert "narrower range" in refused.value.message
    assert (w.deliveries.deliveries, w.queue.sent) == ({}, [])


def test_a_replay_of_exactly_the_limit_is_queued() -> None:
    w = World()
    hook = w.create()
    since = w.clock.now()
    _many_events(w, MAX_REPLAY_EVENTS)
    result = w.service.replay(TENANT, hook.webhook_id, since, w.clock.now(), None)
    assert result.queued == MAX_REPLAY_EVENTS
    assert len(w.queue.sent) == MAX_REPLAY_EVENTS


def test_a_replay_finds_matching_events_behind_many_that_do_not_match() -> None:
    """The limit is on matching events: events the filters skip do not hide later ones."""
    w = World()
    hook = w.create(event_types=("invoice.*",))
    since = w.clock.now()
    # More than the limit in every shard, none of them matching; then five that match.
    _many_events(w, SHARDS * (MAX_REPLAY_EVENTS + 250), event_type="order.created")
    _many_events(w, 5, event_type="invoice.paid")
    result = w.service.replay(TENANT, hook.webhook_id, since, w.clock.now(), None)
    assert (result.queued, result.matched_events) == (5, 5)


def test_a_replay_reads_a_bounded_number_of_events() -> None:
    w = World()
    hook = w.create(event_types=("invoice.*",))
    since = w.clock.now()
    _many_events(w, MAX_REPLAY_READ + 1, event_type="order.created")
    with pytest.raises(errors.ValidationError) as refused:
        w.service.replay(TENANT, hook.webhook_id, since, w.clock.now(), None)
    assert "narrower range" in refused.value.message
    assert (w.deliveries.deliveries, w.queue.sent) == ({}, [])


def test_a_refused_send_fails_those_deliveries_and_answers_503() -> None:
    w = World()
    hook = w.create()
    since = w.clock.now()
    news = [w.event() for _ in range(3)]
    w.queue.refuse = 1
    with pytest.raises(errors.ServiceUnavailable) as unavailable:
        w.service.replay(TENANT, hook.webhook_id, since, w.clock.now(), None)
    assert unavailable.value.status == 503
    deliveries = {d.event_id: d for d in w.deliveries.deliveries.values()}
    assert set(deliveries) == {n.event.event_id for n in news}
    failed = [d for d in deliveries.values() if d.status == DELIVERY_FAILED]
    assert [d.failure_reason for d in failed] == ["could not be queued"]
    assert failed[0].delivery_id not in {m.delivery_id for m in w.queue.sent}
    assert len(w.queue.sent) == 2
    w.queue.down = True
    with pytest.raises(errors.ServiceUnavailable):
        w.service.send_test(TENANT, hook.webhook_id, None)
    statuses = sorted(d.status for d in w.deliveries.deliveries.values())
    assert statuses == [DELIVERY_FAILED] * 2 + [DELIVERY_PENDING] * 2


class BrokenQueue(FakeDeliveryQueue):
    """Raises on every send, as the real queue does for errors other than unavailability
    (no queue configured, access denied, no such queue)."""

    def send(self, messages: Sequence[DeliveryMessage]) -> list[DeliveryMessage]:
        raise StoreError("SendMessageBatch webhooks: AccessDenied")


def test_a_send_that_fails_whole_fails_every_delivery_and_answers_503() -> None:
    w = World()
    w.service = WebhookService(
        w.webhooks,
        w.deliveries,
        w.events,
        BrokenQueue(),
        shards=SHARDS,
        allow_private_targets=False,
        resolve=resolve,
        now=w.clock.now,
    )
    hook = w.create()
    since = w.clock.now()
    for _ in range(2):
        w.event()
    with pytest.raises(errors.ServiceUnavailable):
        w.service.replay(TENANT, hook.webhook_id, since, w.clock.now(), None)
    stored = list(w.deliveries.deliveries.values())
    assert len(stored) == 2
    assert {(d.status, d.failure_reason) for d in stored} == {
        (DELIVERY_FAILED, "could not be queued")
    }


# -- the deliveries log and delete -------------------------------------------------------------
def test_the_deliveries_log_is_the_tenants_only() -> None:
    w = World()
    hook = w.create()
    sent = [w.service.send_test(TENANT, hook.webhook_id, None) for _ in range(3)]
    page = w.service.deliveries(TENANT, hook.webhook_id, None, None, 2)
    assert [d.delivery_id for d in page.deliveries] == [d.delivery_id for d in sent[::-1][:2]]
    with pytest.raises(errors.NotFound):
        w.service.deliveries("ten_b", hook.webhook_id, None, None, 10)


def test_delete_then_everything_is_not_found() -> None:
    w = World()
    hook = w.create()
    w.service.delete(TENANT, hook.webhook_id)
    with pytest.raises(errors.NotFound):
        w.service.delete(TENANT, hook.webhook_id)
    with pytest.raises(errors.NotFound):
        w.service.send_test(TENANT, hook.webhook_id, None)
    with pytest.raises(errors.NotFound):
        w.service.rotate_secret(TENANT, hook.webhook_id, 10)
