"""The webhook stores' contracts, run against the in-memory fakes and the DynamoDB stores.

Same pattern as ``test_store_contracts.py``: every test runs twice, ``[fake]`` (``tests/fakes.py``)
and ``[dynamodb-local]`` (the real store on a fresh DynamoDB Local database), so the service
tests that use the fakes test what production does. The clock starts 30 days in the future so
that DynamoDB Local's own TTL sweep never removes an item a test still expects; it moves only
when a test advances it.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import pytest

from chalicelib.domain.clock import FixedClock
from chalicelib.domain.events import STATUS_ACKNOWLEDGED, EventDraft
from chalicelib.domain.inbox import HIGHEST, LOWEST, replay_partition, sort_key
from chalicelib.domain.ulid import UlidGenerator
from chalicelib.domain.webhooks import (
    DELIVERY_FAILED,
    DELIVERY_PENDING,
    DELIVERY_RETENTION_SECONDS,
    DELIVERY_SUCCEEDED,
    DISABLED_GONE,
    KIND_EVENT,
    STATUS_ACTIVE,
    STATUS_DISABLED,
    STATUS_PAUSED,
    Attempt,
    Delivery,
    Webhook,
    WebhookSecret,
)
from chalicelib.services.events import EventService
from chalicelib.stores.deliveries import DeliveryStore
from chalicelib.stores.errors import ClaimRefused, ConditionFailed
from chalicelib.stores.events import EventStore
from chalicelib.stores.protocols import (
    DeliveryStorage,
    EventStorage,
    NewEvent,
    ReplayRef,
    WebhookStorage,
)
from chalicelib.stores.secret_box import SecretBox
from chalicelib.stores.webhooks import WebhookStore
from tests.conftest import Database
from tests.fakes import FakeDeliveryStore, FakeEventStore, FakeWebhookStore

TENANT = "ten_a"
SHARDS = 3
LEASE = 60.0


@dataclass
class Stores:
    clock: FixedClock
    webhooks: WebhookStorage
    deliveries: DeliveryStorage
    events: EventStorage

    def event_service(self) -> EventService:
        return EventService(self.events, SHARDS, 7, 3600, self.clock.now)


CONTRACT_KEY = b"contract-test-webhook-secrets-key"


def _no_sleep(seconds: float) -> None:
    return None


@pytest.fixture(params=["fake", "dynamodb-local"])
def stores(request: pytest.FixtureRequest) -> Stores:
    clock = FixedClock(round(time.time()) + 30 * 86400 + 0.25)
    if request.param == "fake":
        return Stores(
            clock, FakeWebhookStore(), FakeDeliveryStore(clock.now), FakeEventStore(clock.now)
        )
    ddb = request.getfixturevalue("ddb")
    settings, client = ddb.settings, ddb.client
    return Stores(
        clock,
        WebhookStore(client, settings.webhooks_table, clock.now, SecretBox(CONTRACT_KEY)),
        DeliveryStore(client, settings.deliveries_table, clock.now, _no_sleep),
        EventStore(client, settings.events_table, settings.idempotency_table, clock.now, _no_sleep),
    )


# -- webhooks ----------------------------------------------------------------------------------
def webhook(stores: Stores, webhook_id: str = "wh_" + "0" * 24, **changes: object) -> Webhook:
    now = stores.clock.now()
    base = Webhook(
        tenant_id=TENANT,
        webhook_id=webhook_id,
        url="https://hooks.example.com/in",
        event_types=("invoice.*", "order.created"),
        sources=("billing",),
        description="billing hooks",
        status=STATUS_ACTIVE,
        created_at=now,
        updated_at=now,
        secrets=(WebhookSecret("whsec_bmV3", now), WebhookSecret("whsec_b2xk", now - 9, now + 60)),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def hook_id(n: int) -> str:
    return f"wh_{n:024x}"


def test_a_created_webhook_reads_back_equal_and_only_in_its_tenant(stores: Stores) -> None:
    hook = webhook(
        stores, rate_limit_per_second=5, consecutive_failures=2, failing_since=1.5, description=""
    )
    stores.webhooks.create(hook)
    assert stores.webhooks.get(TENANT, hook.webhook_id) == hook
    assert stores.webhooks.get("ten_b", hook.webhook_id) is None
    assert stores.webhooks.get(TENANT, hook_id(99)) is None
    assert stores.webhooks.count(TENANT) == 1
    assert stores.webhooks.count("ten_b") == 0


def test_a_second_create_of_the_same_id_is_refused(stores: Stores) -> None:
    hook = webhook(stores)
    stores.webhooks.create(hook)
    with pytest.raises(ConditionFailed):
        stores.webhooks.create(dataclasses.replace(hook, url="https://other.example.com/"))
    assert stores.webhooks.get(TENANT, hook.webhook_id) == hook


def test_webhooks_are_paged_by_id_and_only_the_tenants(stores: Stores) -> None:
    hooks = [webhook(stores, hook_id(n)) for n in (5, 1, 4, 2, 3)]
    for hook in hooks:
        stores.webhooks.create(hook)
    stores.webhooks.create(webhook(stores, hook_id(0), tenant_id="ten_b"))
    seen, after, pages = [], None, 0
    while True:
        page = stores.webhooks.page(TENANT, after, 2)
        pages += 1
        seen += [h.webhook_id for h in page.webhooks]
        if page.next_after is None:
            break
        assert page.next_after == page.webhooks[-1].webhook_id
        after = page.next_after
    assert seen == [hook_id(n) for n in (1, 2, 3, 4, 5)]
    assert pages == 3
    assert stores.webhooks.page(TENANT, hook_id(5), 2).webhooks == []


def test_a_full_last_page_has_no_cursor(stores: Stores) -> None:
    """Exactly ``limit`` left: that page is the last and says so (no cursor to an empty page)."""
    for n in (1, 2):
        stores.webhooks.create(webhook(stores, hook_id(n)))
    page = stores.webhooks.page(TENANT, None, 2)
    assert [w.webhook_id for w in page.webhooks] == [hook_id(1), hook_id(2)]
    assert page.next_after is None
    stores.webhooks.create(webhook(stores, hook_id(3)))
    page = stores.webhooks.page(TENANT, None, 2)
    assert page.next_after == hook_id(2)
    assert [w.webhook_id for w in stores.webhooks.page(TENANT, hook_id(2), 2).webhooks] == [
        hook_id(3)
    ]


def test_receiving_lists_only_active_webhooks(stores: Stores) -> None:
    statuses = {1: STATUS_ACTIVE, 2: STATUS_PAUSED, 3: STATUS_DISABLED, 4: STATUS_ACTIVE}
    for n, status in statuses.items():
        stores.webhooks.create(webhook(stores, hook_id(n), status=status))
    stores.webhooks.create(webhook(stores, hook_id(5), tenant_id="ten_b"))
    assert sorted(h.webhook_id for h in stores.webhooks.receiving(TENANT)) == [
        hook_id(1),
        hook_id(4),
    ]
    # Everything the fan-out needs, and no secret (it never signs).
    first = stores.webhooks.receiving(TENANT)[0]
    stored = stores.webhooks.get(TENANT, first.webhook_id)
    assert stored is not None
    assert first == dataclasses.replace(stored, secrets=())


def test_save_writes_the_fields_named_over_the_version_read(stores: Stores) -> None:
    hook = webhook(stores, disabled_reason="old", rate_limit_per_second=3)
    stores.webhooks.create(hook)
    stores.clock.advance(1)
    edited = dataclasses.replace(
        hook,
        url="https://new.example.com/",
        description="not saved",  # not among the fields
        disabled_reason=None,  # removed
        rate_limit_per_second=None,  # removed
        updated_at=stores.clock.now(),
    )
    stores.webhooks.save(
        edited, ("url", "disabled_reason", "rate_limit_per_second"), hook.updated_at
    )
    expected = dataclasses.replace(
        hook,
        url="https://new.example.com/",
        disabled_reason=None,
        rate_limit_per_second=None,
        updated_at=edited.updated_at,
    )
    assert stores.webhooks.get(TENANT, hook.webhook_id) == expected


def test_save_over_a_stale_version_or_a_deleted_webhook_is_refused(stores: Stores) -> None:
    hook = webhook(stores)
    stores.webhooks.create(hook)
    stores.clock.advance(1)
    first = dataclasses.replace(hook, description="first", updated_at=stores.clock.now())
    stores.webhooks.save(first, ("description",), hook.updated_at)
    stores.clock.advance(1)
    stale = dataclasses.replace(hook, description="stale", updated_at=stores.clock.now())
    with pytest.raises(ConditionFailed):
        stores.webhooks.save(stale, ("description",), hook.updated_at)
    assert stores.webhooks.get(TENANT, hook.webhook_id) == first
    assert stores.webhooks.delete(TENANT, hook.webhook_id) is True
    with pytest.raises(ConditionFailed):
        stores.webhooks.save(stale, ("description",), first.updated_at)
    assert stores.webhooks.get(TENANT, hook.webhook_id) is None


def test_rotated_secrets_are_saved_whole(stores: Stores) -> None:
    hook = webhook(stores)
    stores.webhooks.create(hook)
    now = stores.clock.now() + 1
    secrets = (WebhookSecret("whsec_bmV3ZXI=", now), WebhookSecret("whsec_bmV3", 0.5, now + 5))
    rotated = dataclasses.replace(hook, secrets=secrets, updated_at=now)
    stores.webhooks.save(rotated, ("secrets",), hook.updated_at)
    assert stores.webhooks.get(TENANT, hook.webhook_id) == rotated


def test_secrets_sealed_with_another_key_read_as_none_until_a_rotation(ddb: Database) -> None:
    """WEBHOOK_SECRETS_KEY changed: the webhook still reads (no secret to sign with, logged),
    lists and saves, and a rotation (which drops what it cannot read) makes it whole again."""
    clock = FixedClock(round(time.time()) + 0.25)
    table = ddb.settings.webhooks_table
    before = WebhookStore(ddb.client, table, clock.now, SecretBox(CONTRACT_KEY))
    after = WebhookStore(ddb.client, table, clock.now, SecretBox(b"another-webhook-secrets-key"))
    hook = webhook(Stores(clock, before, FakeDeliveryStore(), FakeEventStore()))
    before.create(hook)
    stored = after.get(TENANT, hook.webhook_id)
    assert stored is not None
    assert stored.secrets == ()
    assert [w.webhook_id for w in after.receiving(TENANT)] == [hook.webhook_id]
    clock.advance(1)
    rotated = dataclasses.replace(
        stored, secrets=(WebhookSecret("whsec_bmV3ZXI=", clock.now()),), updated_at=clock.now()
    )
    after.save(rotated, ("secrets",), stored.updated_at)
    assert after.get(TENANT, hook.webhook_id) == rotated


def test_delete_is_true_once(stores: Stores) -> None:
    hook = webhook(stores)
    stores.webhooks.create(hook)
    assert stores.webhooks.delete("ten_b", hook.webhook_id) is False
    assert stores.webhooks.delete(TENANT, hook.webhook_id) is True
    assert stores.webhooks.delete(TENANT, hook.webhook_id) is False
    assert stores.webhooks.count(TENANT) == 0


def test_failures_count_up_and_the_first_sets_failing_since(stores: Stores) -> None:
    hook = webhook(stores)
    stores.webhooks.create(hook)
    first = stores.webhooks.record_failure(TENANT, hook.webhook_id, 100.0)
    second = stores.webhooks.record_failure(TENANT, hook.webhook_id, 200.0)
    assert first == dataclasses.replace(hook, consecutive_failures=1, failing_since=100.0)
    assert second == dataclasses.replace(hook, consecutive_failures=2, failing_since=100.0)
    assert stores.webhooks.get(TENANT, hook.webhook_id) == second
    assert stores.webhooks.record_failure(TENANT, hook_id(99), 1.0) is None
    assert stores.webhooks.get(TENANT, hook_id(99)) is None  # nothing created


def test_a_success_ends_the_run_of_failures(stores: Stores) -> None:
    hook = webhook(stores)
    stores.webhooks.create(hook)
    for at in (100.0, 101.0):
        stores.webhooks.record_failure(TENANT, hook.webhook_id, at)
    stores.webhooks.open_breaker(TENANT, hook.webhook_id, 161.0)
    assert stores.webhooks.get(TENANT, hook.webhook_id) == dataclasses.replace(
        hook, consecutive_failures=2, failing_since=100.0, breaker_open_until=161.0
    )
    stores.webhooks.record_success(TENANT, hook.webhook_id)
    assert stores.webhooks.get(TENANT, hook.webhook_id) == hook
    stores.webhooks.record_success(TENANT, hook.webhook_id)  # nothing to reset
    stores.webhooks.record_success(TENANT, hook_id(99))  # gone: no error
    assert stores.webhooks.get(TENANT, hook.webhook_id) == hook


def test_the_breaker_of_a_deleted_webhook_is_not_opened(stores: Stores) -> None:
    with pytest.raises(ConditionFailed):
        stores.webhooks.open_breaker(TENANT, hook_id(99), 1.0)
    assert stores.webhooks.get(TENANT, hook_id(99)) is None


def test_one_caller_takes_the_probe_when_a_hold_ends(stores: Stores) -> None:
    hook = webhook(stores)
    stores.webhooks.create(hook)
    stores.webhooks.open_breaker(TENANT, hook.webhook_id, 100.0)
    assert stores.webhooks.take_probe(TENANT, hook.webhook_id, 99.0, 159.0) is False  # held
    assert stores.webhooks.take_probe(TENANT, hook.webhook_id, 100.0, 160.0) is True
    assert stores.webhooks.take_probe(TENANT, hook.webhook_id, 100.0, 161.0) is False  # taken
    stored = stores.webhooks.get(TENANT, hook.webhook_id)
    assert stored == dataclasses.replace(hook, breaker_open_until=160.0)
    assert stores.webhooks.take_probe(TENANT, hook_id(99), 100.0, 160.0) is False
    assert stores.webhooks.get(TENANT, hook_id(99)) is None


def test_disable_happens_once(stores: Stores) -> None:
    hook = webhook(stores, breaker_open_until=500.0, consecutive_failures=5, failing_since=1.0)
    stores.webhooks.create(hook)
    at = stores.clock.now() + 3
    assert stores.webhooks.disable(TENANT, hook.webhook_id, DISABLED_GONE, at) is True
    disabled = dataclasses.replace(
        hook,
        status=STATUS_DISABLED,
        disabled_reason=DISABLED_GONE,
        updated_at=at,
        breaker_open_until=None,
    )
    assert stores.webhooks.get(TENANT, hook.webhook_id) == disabled
    assert stores.webhooks.disable(TENANT, hook.webhook_id, "again", at + 1) is False
    assert stores.webhooks.get(TENANT, hook.webhook_id) == disabled
    assert stores.webhooks.disable(TENANT, hook_id(99), "gone", at) is False


# -- deliveries --------------------------------------------------------------------------------
WEBHOOK_ID = hook_id(7)
_ids = UlidGenerator()


def delivery(stores: Stores, **changes: object) -> Delivery:
    now = stores.clock.now()
    base = Delivery(
        webhook_id=WEBHOOK_ID,
        delivery_id="msg_" + _ids.new(int(now * 1000)),
        tenant_id=TENANT,
        event_id="evt_01JDZ8Q7XKQ4S3N1M2P5R6T7V8",
        event_type="invoice.paid",
        kind=KIND_EVENT,
        status=DELIVERY_PENDING,
        created_at=now,
        updated_at=now,
        request_id="req-1",
        source="billing",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def attempt(at: float, status_code: int | None = 500, **changes: object) -> Attempt:
    base = Attempt(at, status_code, 12.5, "http_status" if status_code else "timeout")
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_a_created_delivery_reads_back_equal(stores: Stores) -> None:
    new = delivery(stores, test_payload='{"x":1}', next_attempt_at=stores.clock.now() + 5)
    assert stores.deliveries.create(new) is None
    assert stores.deliveries.get(WEBHOOK_ID, new.delivery_id) == new
    assert stores.deliveries.get(hook_id(8), new.delivery_id) is None


def test_a_second_create_returns_the_stored_delivery_and_writes_nothing(stores: Stores) -> None:
    new = delivery(stores)
    stores.deliveries.create(new)
    stores.deliveries.claim(WEBHOOK_ID, new.delivery_id, stores.clock.now(), LEASE)
    stores.deliveries.record_attempt(
        new, attempt(stores.clock.now()), DELIVERY_PENDING, stores.clock.now() + 1
    )
    stored = stores.deliveries.get(WEBHOOK_ID, new.delivery_id)
    again = dataclasses.replace(new, event_type="other", request_id="req-2")
    assert stores.deliveries.create(again) == stored
    assert stores.deliveries.get(WEBHOOK_ID, new.delivery_id) == stored


def test_create_many_writes_more_than_one_batch(stores: Stores) -> None:
    news = [delivery(stores) for _ in range(30)]
    stores.deliveries.create_many(news)
    assert [stores.deliveries.get(WEBHOOK_ID, d.delivery_id) for d in news] == news


def test_queued_is_marked_once_and_not_on_a_missing_delivery(stores: Stores) -> None:
    new = delivery(stores)
    stores.deliveries.create(new)
    now = stores.clock.now()
    stores.deliveries.mark_queued(WEBHOOK_ID, new.delivery_id, now + 1)
    stores.deliveries.mark_queued(WEBHOOK_ID, new.delivery_id, now + 2)
    marked = dataclasses.replace(new, queued_at=now + 1)
    assert stores.deliveries.get(WEBHOOK_ID, new.delivery_id) == marked
    assert stores.deliveries.create(new) == marked  # what a redelivered record finds
    missing = delivery(stores)
    stores.deliveries.mark_queued(WEBHOOK_ID, missing.delivery_id, now)
    assert stores.deliveries.get(WEBHOOK_ID, missing.delivery_id) is None
    with pytest.raises(ClaimRefused):  # no item was made by the mark
        stores.deliveries.claim(WEBHOOK_ID, missing.delivery_id, now, LEASE)


def test_a_claim_takes_the_lease_of_a_pending_due_delivery(stores: Stores) -> None:
    new = delivery(stores)
    stores.deliveries.create(new)
    now = stores.clock.now()
    claimed = stores.deliveries.claim(WEBHOOK_ID, new.delivery_id, now, LEASE)
    assert claimed == dataclasses.replace(new, lease_until=now + LEASE)
    assert stores.deliveries.get(WEBHOOK_ID, new.delivery_id) == claimed


def test_a_held_lease_refuses_with_the_delivery_until_it_ends(stores: Stores) -> None:
    new = delivery(stores)
    stores.deliveries.create(new)
    now = stores.clock.now()
    claimed = stores.deliveries.claim(WEBHOOK_ID, new.delivery_id, now, LEASE)
    with pytest.raises(ClaimRefused) as refused:
        stores.deliveries.claim(WEBHOOK_ID, new.delivery_id, now + LEASE - 1, LEASE)
    assert refused.value.current == claimed
    again = stores.deliveries.claim(WEBHOOK_ID, new.delivery_id, now + LEASE, LEASE)
    assert again.lease_until == now + 2 * LEASE


def test_a_claim_before_the_next_attempt_is_due_is_refused(stores: Stores) -> None:
    new = delivery(stores)
    stores.deliveries.create(new)
    now = stores.clock.now()
    stores.deliveries.claim(WEBHOOK_ID, new.delivery_id, now, LEASE)
    stores.deliveries.record_attempt(
        new, attempt(now), DELIVERY_PENDING, now + 1, next_attempt_at=now + 300
    )
    with pytest.raises(ClaimRefused) as refused:
        stores.deliveries.claim(WEBHOOK_ID, new.delivery_id, now + 298, LEASE)
    current = refused.value.current
    assert current is not None
    assert (current.next_attempt_at, current.lease_until) == (now + 300, None)
    # Due within a second counts as due (SQS brings a message back about on time).
    claimed = stores.deliveries.claim(WEBHOOK_ID, new.delivery_id, now + 299, LEASE)
    assert claimed.lease_until == now + 299 + LEASE


@pytest.mark.parametrize("status", [DELIVERY_SUCCEEDED, DELIVERY_FAILED])
def test_a_finished_delivery_is_refused_and_a_missing_one_is_none(
    stores: Stores, status: str
) -> None:
    new = delivery(stores)
    stores.deliveries.create(new)
    now = stores.clock.now()
    stores.deliveries.claim(WEBHOOK_ID, new.delivery_id, now, LEASE)
    stores.deliveries.record_attempt(new, attempt(now, 200, error=None), status, now + 1)
    with pytest.raises(ClaimRefused) as refused:
        stores.deliveries.claim(WEBHOOK_ID, new.delivery_id, now + 2 * LEASE, LEASE)
    assert refused.value.current is not None
    assert refused.value.current.status == status
    with pytest.raises(ClaimRefused) as missing:
        stores.deliveries.claim(WEBHOOK_ID, delivery(stores).delivery_id, now, LEASE)
    assert missing.value.current is None


def test_attempts_are_appended_in_order_and_each_releases_the_lease(stores: Stores) -> None:
    new = delivery(stores)
    stores.deliveries.create(new)
    t = stores.clock.now()
    first = attempt(t, None, error="timeout", error_detail="x" * 400, latency_ms=15000.04)
    second = attempt(t + 10, 503)
    third = attempt(t + 400, 200, error=None)
    stores.deliveries.claim(WEBHOOK_ID, new.delivery_id, t, LEASE)
    stores.deliveries.record_attempt(new, first, DELIVERY_PENDING, t + 1, next_attempt_at=t + 10)
    stores.deliveries.claim(WEBHOOK_ID, new.delivery_id, t + 10, LEASE)
    stores.deliveries.record_attempt(new, second, DELIVERY_PENDING, t + 11, next_attempt_at=t + 400)
    stores.deliveries.claim(WEBHOOK_ID, new.delivery_id, t + 400, LEASE)
    stores.deliveries.record_attempt(new, third, DELIVERY_SUCCEEDED, t + 401)
    stored = stores.deliveries.get(WEBHOOK_ID, new.delivery_id)
    assert stored is not None
    # As the table keeps them: latency to 0.1 ms, 300 characters of detail.
    kept = dataclasses.replace(first, latency_ms=15000.0, error_detail="x" * 300)
    assert stored.attempts == (kept, second, third)
    assert (stored.status, stored.updated_at) == (DELIVERY_SUCCEEDED, t + 401)
    assert (stored.lease_until, stored.next_attempt_at, stored.failure_reason) == (None, None, None)


def test_an_attempt_is_recorded_only_while_pending(stores: Stores) -> None:
    new = delivery(stores)
    stores.deliveries.create(new)
    now = stores.clock.now()
    stores.deliveries.record_attempt(new, None, DELIVERY_FAILED, now, failure_reason="paused")
    failed = stores.deliveries.get(WEBHOOK_ID, new.delivery_id)
    assert failed == dataclasses.replace(
        new, status=DELIVERY_FAILED, updated_at=now, failure_reason="paused"
    )
    with pytest.raises(ConditionFailed):
        stores.deliveries.record_attempt(new, attempt(now), DELIVERY_SUCCEEDED, now + 1)
    assert stores.deliveries.get(WEBHOOK_ID, new.delivery_id) == failed
    with pytest.raises(ConditionFailed):
        stores.deliveries.record_attempt(delivery(stores), None, DELIVERY_FAILED, now)


def test_deliveries_are_paged_newest_first_with_a_status_filter(stores: Stores) -> None:
    news = []
    for n in range(7):
        stores.clock.advance(0.01)
        news.append(delivery(stores))
        stores.deliveries.create(news[-1])
        if n % 3 == 0:
            stores.deliveries.record_attempt(news[-1], None, DELIVERY_FAILED, stores.clock.now())
    stores.deliveries.create(delivery(stores, webhook_id=hook_id(8)))
    newest_first = [d.delivery_id for d in reversed(news)]

    def read_all(status: str | None, limit: int) -> list[str]:
        seen: list[str] = []
        after = None
        for _ in range(10):
            page = stores.deliveries.page(WEBHOOK_ID, status, after, limit)
            assert len(page.deliveries) <= limit
            seen += [d.delivery_id for d in page.deliveries]
            if page.next_after is None:
                return seen
            assert page.next_after == page.deliveries[-1].delivery_id
            after = page.next_after
        raise AssertionError("paging did not end")

    assert read_all(None, 3) == newest_first
    failed = [news[n].delivery_id for n in (6, 3, 0)]
    assert read_all(DELIVERY_FAILED, 2) == failed
    pending = [d for d in newest_first if d not in failed]
    assert read_all(DELIVERY_PENDING, 10) == pending
    page = stores.deliveries.page(WEBHOOK_ID, DELIVERY_PENDING, None, 2)
    assert [d.status for d in page.deliveries] == [DELIVERY_PENDING] * 2
    # Exactly a page's worth left: no cursor to an empty page.
    assert stores.deliveries.page(WEBHOOK_ID, DELIVERY_FAILED, None, 3).next_after is None
    assert stores.deliveries.page(WEBHOOK_ID, None, None, 7).next_after is None
    assert stores.deliveries.page(WEBHOOK_ID, None, None, 6).next_after == newest_first[5]


def test_a_delivery_past_its_retention_reads_as_gone(stores: Stores) -> None:
    old = delivery(stores)
    stores.deliveries.create(old)
    stores.clock.advance(DELIVERY_RETENTION_SECONDS - 100)
    young = delivery(stores)
    stores.deliveries.create(young)
    stores.clock.advance(100)
    assert stores.deliveries.get(WEBHOOK_ID, old.delivery_id) is None
    assert stores.deliveries.get(WEBHOOK_ID, young.delivery_id) == young
    page = stores.deliveries.page(WEBHOOK_ID, None, None, 10)
    assert [d.delivery_id for d in page.deliveries] == [young.delivery_id]
    with pytest.raises(ClaimRefused) as refused:
        stores.deliveries.claim(WEBHOOK_ID, old.delivery_id, stores.clock.now(), LEASE)
    assert refused.value.current is None


# -- the events replay index -------------------------------------------------------------------
def placed_events(stores: Stores, count: int, tenant: str = TENANT) -> list[NewEvent]:
    """``count`` events of ``tenant`` created 1 ms apart, stored, across the shards."""
    service = stores.event_service()
    news = []
    for n in range(count):
        stores.clock.advance(0.001)
        draft = EventDraft("billing" if n % 2 else "shop", f"invoice.e{n}", "{}", {}, None)
        new = service.placed(service.new_event(tenant, draft), request_id=f"req-{n}")
        stores.events.put_new(new)
        news.append(new)
    return news


def ref(new: NewEvent) -> ReplayRef:
    event = new.event
    return ReplayRef(event.event_id, event.source, event.event_type, event.created_at)


def read_replay(stores: Stores, lower: str, upper: str, limit: int = 100) -> list[ReplayRef]:
    refs: list[ReplayRef] = []
    for shard in range(SHARDS):
        part = stores.events.query_replay_partition(
            replay_partition(TENANT, shard), lower, upper, limit
        )
        assert [sort_key(r.created_at, r.event_id) for r in part] == sorted(
            sort_key(r.created_at, r.event_id) for r in part
        )
        refs += part
    return sorted(refs, key=lambda r: (r.created_at, r.event_id))  # ids: in creation order


def test_the_replay_index_holds_every_event_of_each_shard_in_time_order(stores: Stores) -> None:
    news = placed_events(stores, 12)
    placed_events(stores, 2, tenant="ten_b")
    assert len({n.shard for n in news}) > 1
    acked = stores.events.acknowledge(TENANT, news[3].event.event_id, "2026-01-01T00:00:00.000Z")
    assert acked.status == STATUS_ACKNOWLEDGED  # off the inbox, still replayed
    assert read_replay(stores, LOWEST, HIGHEST) == [ref(n) for n in news]


def test_replay_bounds_are_inclusive(stores: Stores) -> None:
    news = placed_events(stores, 6)
    lower = sort_key(news[1].event.created_at, news[1].event.event_id)
    upper = sort_key(news[4].event.created_at, news[4].event.event_id)
    assert read_replay(stores, lower, upper) == [ref(n) for n in news[1:5]]
    # By time alone, as the replay service asks: created_at + " " .. created_at + "~".
    by_time = read_replay(
        stores, news[2].event.created_at + LOWEST, news[3].event.created_at + HIGHEST
    )
    assert by_time == [ref(n) for n in news[2:4]]


def test_a_replay_read_says_when_a_partition_holds_more_than_the_limit(stores: Stores) -> None:
    news: list[NewEvent] = []
    while len(news) < 5:  # shards are by a hash of the id: make events until five land on 0
        news += [n for n in placed_events(stores, 1) if n.shard == 0]
    news.sort(key=lambda n: sort_key(n.event.created_at, n.event.event_id))  # the index's order
    partition = replay_partition(TENANT, 0)
    got = stores.events.query_replay_partition(partition, LOWEST, HIGHEST, 2)
    assert got == [ref(n) for n in news[:3]]  # limit + 1: "there are more"
    exact = stores.events.query_replay_partition(partition, LOWEST, HIGHEST, len(news))
    assert exact == [ref(n) for n in news]
    # The replay service reads on after the last one it got: its sort key + "!" (exclusive).
    after = sort_key(got[-1].created_at, got[-1].event_id) + "!"
    rest = stores.events.query_replay_partition(partition, after, HIGHEST, len(news))
    assert rest == [ref(n) for n in news[3:]]


def test_expired_events_are_not_replayed(stores: Stores) -> None:
    early = placed_events(stores, 3)
    stores.clock.advance(3600)
    late = placed_events(stores, 3)
    stores.clock.current = early[-1].expires_at
    assert read_replay(stores, LOWEST, HIGHEST) == [ref(n) for n in late]
