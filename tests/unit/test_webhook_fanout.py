"""The webhook fan-out on fakes: stream records of new events -> one stored delivery and one
queued message per (event, matching active webhook); redelivered batches add nothing; what
fails is reported from the first record affected, by SequenceNumber."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from chalicelib.domain.clock import FixedClock
from chalicelib.domain.events import EventDraft
from chalicelib.domain.webhooks import (
    DELIVERY_PENDING,
    KIND_EVENT,
    STATUS_ACTIVE,
    STATUS_DISABLED,
    STATUS_PAUSED,
    Delivery,
    DeliveryMessage,
    Webhook,
    WebhookSecret,
    delivery_id_for_event,
)
from chalicelib.services.events import EventService
from chalicelib.services.webhook_fanout import WebhookFanout
from chalicelib.stores.errors import StorageUnavailable
from chalicelib.stores.protocols import NewEvent
from tests.fakes import FakeDeliveryQueue, FakeDeliveryStore, FakeEventStore, FakeWebhookStore
from tests.lambda_events import inserts, sequence, stream_record

T0 = 1_795_000_000.0
TENANT = "ten_a"


class World:
    def __init__(self) -> None:
        self.clock = FixedClock(T0)
        self.webhooks = FakeWebhookStore()
        self.deliveries = FakeDeliveryStore(self.clock.now)
        self.queue = FakeDeliveryQueue()
        self.fanout = WebhookFanout(self.webhooks, self.deliveries, self.queue, self.clock.now)
        self.events = EventService(FakeEventStore(self.clock.now), 4, 7, 3600, self.clock.now)
        self._hooks = 0

    def hook(self, tenant: str = TENANT, **changes: Any) -> Webhook:
        self._hooks += 1
        base = Webhook(
            tenant_id=tenant,
            webhook_id=f"wh_{self._hooks:024x}",
            url="https://hooks.example.com/in",
            event_types=(),
            sources=(),
            description="",
            status=STATUS_ACTIVE,
            created_at=T0,
            updated_at=T0,
            secrets=(WebhookSecret("whsec_c2VjcmV0", T0),),
        )
        hook = dataclasses.replace(base, **changes)
        self.webhooks.create(hook)
        return hook

    def event(
        self, source: str = "billing", event_type: str = "invoice.paid", tenant: str = TENANT
    ) -> NewEvent:
        self.clock.advance(0.001)
        draft = EventDraft(source, event_type, '{"amount":1}', {}, None)
        return self.events.placed(self.events.new_event(tenant, draft), request_id="req-" + source)

    def stored(self) -> dict[tuple[str, str], Delivery]:
        return dict(self.deliveries.deliveries)

    def pairs(self) -> list[tuple[str, str]]:
        """(event id, webhook id) of every message sent, in order."""
        return [
            ("evt_" + m.delivery_id.removeprefix("msg_"), m.webhook_id) for m in self.queue.sent
        ]


def failures(result: dict[str, list[dict[str, str]]]) -> list[str]:
    return [f["itemIdentifier"] for f in result["batchItemFailures"]]


def test_each_new_event_goes_to_every_active_webhook_whose_filters_pass() -> None:
    w = World()
    everything = w.hook()
    invoices = w.hook(event_types=("invoice.*",))
    shop_orders = w.hook(sources=("shop",), event_types=("order.created",))
    w.hook(status=STATUS_PAUSED)
    w.hook(status=STATUS_DISABLED, disabled_reason="x")
    w.hook(tenant="ten_b")
    paid, order, refund = (
        w.event("billing", "invoice.paid"),
        w.event("shop", "order.created"),
        w.event("shop", "invoice.refund.created"),
    )
    other_tenant = w.event(tenant="ten_b")
    records = inserts([paid, order, refund])
    result = w.fanout.handle({"Records": records})
    assert failures(result) == []
    assert w.pairs() == [
        (paid.event.event_id, everything.webhook_id),
        (paid.event.event_id, invoices.webhook_id),
        (order.event.event_id, everything.webhook_id),
        (order.event.event_id, shop_orders.webhook_id),
        (refund.event.event_id, everything.webhook_id),
        (refund.event.event_id, invoices.webhook_id),
    ]
    assert other_tenant.event.event_id not in {e for e, _ in w.pairs()}
    assert set(w.stored()) == {(m.webhook_id, m.delivery_id) for m in w.queue.sent}
    delivery = w.stored()[(invoices.webhook_id, delivery_id_for_event(paid.event.event_id))]
    assert delivery == Delivery(
        webhook_id=invoices.webhook_id,
        delivery_id=delivery_id_for_event(paid.event.event_id),
        tenant_id=TENANT,
        event_id=paid.event.event_id,
        event_type="invoice.paid",
        kind=KIND_EVENT,
        status=DELIVERY_PENDING,
        created_at=w.clock.now(),
        updated_at=w.clock.now(),
        request_id="req-billing",
        source="billing",
        queued_at=w.clock.now(),  # the queue took its message
    )
    assert w.queue.sent[0] == DeliveryMessage(
        TENANT, everything.webhook_id, delivery.delivery_id, "req-billing"
    )


def test_many_webhooks_are_queued_in_several_sends_one_message_per_pair() -> None:
    w = World()
    hooks = [w.hook() for _ in range(7)]
    news = [w.event() for _ in range(5)]
    outcome = w.fanout.process(inserts(news))
    assert (outcome.events, outcome.queued, outcome.failed_from) == (5, 35, None)
    assert sorted(w.pairs()) == sorted(
        (n.event.event_id, h.webhook_id) for n in news for h in hooks
    )


def test_a_redelivered_batch_enqueues_nothing_new() -> None:
    w = World()
    w.hook()
    w.hook(event_types=("invoice.*",))
    records = inserts([w.event() for _ in range(4)])
    w.fanout.handle({"Records": records})
    stored, sent = w.stored(), list(w.queue.sent)
    assert len(sent) == 8
    for _ in range(2):
        w.clock.advance(5)
        result = w.fanout.handle({"Records": records})
        assert failures(result) == []
        assert w.stored() == stored
        assert w.queue.sent == sent


def test_a_refused_message_is_reported_from_its_record_and_queued_again_on_redelivery() -> None:
    w = World()
    hook = w.hook()
    first, refused, third = w.event(), w.event(), w.event()
    records = [
        stream_record(1, new=first),
        stream_record(2, new=refused),
        stream_record(3, "MODIFY", new=refused, old=refused),
        stream_record(4, new=third),
    ]
    refused_id = delivery_id_for_event(refused.event.event_id)
    w.queue.refuse_once.add(refused_id)
    result = w.fanout.handle({"Records": records})
    assert failures(result) == [sequence(r) for r in records[1:]]
    assert [m.delivery_id for m in w.queue.sent] == [
        delivery_id_for_event(first.event.event_id),
        delivery_id_for_event(third.event.event_id),
    ]
    assert (hook.webhook_id, refused_id) in w.stored()  # stored, its message refused
    # Lambda sends the reported records again: only the refused message is queued this time.
    result = w.fanout.handle({"Records": records[1:]})
    assert failures(result) == []
    assert [m.delivery_id for m in w.queue.sent[2:]] == [refused_id]
    w.fanout.handle({"Records": records})
    assert len(w.queue.sent) == 3


def test_a_stored_delivery_already_worked_on_is_not_queued_again() -> None:
    w = World()
    hook = w.hook()
    new = w.event()
    w.queue.down = True
    w.fanout.handle({"Records": inserts([new])})
    assert w.queue.sent == []
    delivery_id = delivery_id_for_event(new.event.event_id)
    # Meanwhile a worker attempted it (say, from a replayed copy): the fan-out leaves it be.
    w.deliveries.claim(hook.webhook_id, delivery_id, w.clock.now(), 60)
    w.queue.down = False
    assert failures(w.fanout.handle({"Records": inserts([new])})) == []
    assert w.queue.sent == []


@pytest.mark.parametrize("name", ["MODIFY", "REMOVE"])
def test_changes_other_than_inserts_are_ignored(name: str) -> None:
    w = World()
    w.hook()
    new = w.event()
    record = stream_record(1, name, new=None if name == "REMOVE" else new, old=new)
    assert failures(w.fanout.handle({"Records": [record]})) == []
    assert w.stored() == {}
    assert w.queue.sent == []


def test_a_poison_record_fails_from_its_index() -> None:
    w = World()
    w.hook()
    before, after = w.event(), w.event()
    poison: dict[str, Any] = {"eventName": "INSERT", "dynamodb": {"SequenceNumber": "2"}}
    records = [stream_record(1, new=before), poison, stream_record(3, new=after)]
    result = w.fanout.handle({"Records": records})
    assert failures(result) == ["2", sequence(records[2])]
    assert [m.delivery_id for m in w.queue.sent] == [delivery_id_for_event(before.event.event_id)]


class BrokenDeliveryStore(FakeDeliveryStore):
    """Refuses to create the deliveries of one event (storage unavailable)."""

    def __init__(self, *args: Any, broken_event: str) -> None:
        super().__init__(*args)
        self.broken_event = broken_event

    def create(self, delivery: Delivery) -> Delivery | None:
        if delivery.event_id == self.broken_event:
            raise StorageUnavailable("PutItem deliveries: ProvisionedThroughputExceededException")
        return super().create(delivery)


class BrokenWebhookStore(FakeWebhookStore):
    def receiving(self, tenant_id: str) -> list[Webhook]:
        if tenant_id == "ten_b":
            raise StorageUnavailable("Query webhooks receiving: timeout")
        return super().receiving(tenant_id)


def test_a_storage_failure_fails_from_its_record() -> None:
    w = World()
    w.hook()
    news = [w.event() for _ in range(3)]
    w.deliveries = BrokenDeliveryStore(w.clock.now, broken_event=news[1].event.event_id)
    w.fanout = WebhookFanout(w.webhooks, w.deliveries, w.queue, w.clock.now)
    records = inserts(news)
    assert failures(w.fanout.handle({"Records": records})) == [sequence(r) for r in records[1:]]
    assert [m.delivery_id for m in w.queue.sent] == [delivery_id_for_event(news[0].event.event_id)]


def test_a_failure_to_read_a_tenants_webhooks_fails_from_its_record() -> None:
    w = World()
    w.webhooks = BrokenWebhookStore()
    w.hook()
    w.hook(tenant="ten_b")
    w.fanout = WebhookFanout(w.webhooks, w.deliveries, w.queue, w.clock.now)
    records = inserts([w.event(), w.event(tenant="ten_b"), w.event()])
    assert failures(w.fanout.handle({"Records": records})) == [sequence(r) for r in records[1:]]
    assert len(w.queue.sent) == 1


def test_an_event_without_records_is_answered_with_no_failures() -> None:
    w = World()
    assert w.fanout.handle({"nothing": []}) == {"batchItemFailures": []}
    assert w.fanout.handle({"Records": []}) == {"batchItemFailures": []}
