"""One contract per store Protocol, run against the in-memory fake and the DynamoDB store.

Every test here runs twice: ``[fake]`` (``tests/fakes.py``) and ``[dynamodb-local]`` (the real
store on a fresh DynamoDB Local database). Unit tests trust the fakes; these tests are why they
may. The clock starts in the future so that DynamoDB Local's own TTL sweep never removes an item
a test still expects, and moves only when a test advances it.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from dataclasses import dataclass
from typing import Protocol

import pytest

from chalicelib.domain.analytics import (
    MINUTE,
    Increment,
    RecordEffect,
    aggregate,
    cover,
    key_ranges,
    minute_of,
)
from chalicelib.domain.clock import FixedClock, format_ts
from chalicelib.domain.events import STATUS_ACKNOWLEDGED, STATUS_PENDING, EventDraft
from chalicelib.domain.filters import MetadataFilters, build_filter
from chalicelib.domain.inbox import InboxFilters, plan_query
from chalicelib.domain.keys import SCOPE_ADMIN, SCOPE_EVENTS, ApiKey, SecretEntry
from chalicelib.domain.token_bucket import Branch
from chalicelib.services.events import EventService
from chalicelib.stores.analytics import AnalyticsStore
from chalicelib.stores.api_keys import ApiKeyStore
from chalicelib.stores.errors import AlreadyCounted, ConditionFailed, EventNotPending
from chalicelib.stores.events import EventStore
from chalicelib.stores.protocols import (
    AnalyticsStorage,
    ApiKeyStorage,
    EventStorage,
    HealthProbe,
    IdempotencyRecord,
    KeyRecord,
    NewEvent,
    RateLimitStorage,
    WriteResult,
)
from chalicelib.stores.rate_limits import RateLimitStore
from tests.fakes import FakeAnalyticsStore, FakeEventStore, FakeKeyStore, FakeRateLimitStore

TENANT = "ten_a"
SHARDS = 2


class EventStoreUnderTest(EventStorage, HealthProbe, Protocol):
    pass


@dataclass
class Stores:
    clock: FixedClock
    events: EventStoreUnderTest
    keys: ApiKeyStorage
    rate_limits: RateLimitStorage
    analytics: AnalyticsStorage

    def service(self) -> EventService:
        """Mints events the way the API does (ids, shards, retention), on these stores."""
        return EventService(self.events, SHARDS, 7, 3600, self.clock.now)


def _no_sleep(seconds: float) -> None:
    return None


@pytest.fixture(params=["fake", "dynamodb-local"])
def stores(request: pytest.FixtureRequest) -> Stores:
    clock = FixedClock(time.time() + 30 * 86400)
    if request.param == "fake":
        return Stores(
            clock,
            FakeEventStore(clock.now),
            FakeKeyStore(clock.now),
            FakeRateLimitStore(),
            FakeAnalyticsStore(clock.now),
        )
    ddb = request.getfixturevalue("ddb")
    settings, client = ddb.settings, ddb.client
    return Stores(
        clock,
        EventStore(client, settings.events_table, settings.idempotency_table, clock.now, _no_sleep),
        ApiKeyStore(client, settings.api_keys_table, clock.now),
        RateLimitStore(client, settings.rate_limits_table),
        AnalyticsStore(client, settings.analytics_table, clock.now, _no_sleep),
    )


def new_event(
    stores: Stores, source: str = "billing", idempotency_key: str | None = None, **metadata: str
) -> NewEvent:
    service = stores.service()
    draft = EventDraft(
        source, "invoice.paid", '{"n":1}', {"priority": "normal", **metadata}, idempotency_key
    )
    return service.placed(service.new_event(TENANT, draft))


# -- events ------------------------------------------------------------------------------------
def test_ping_answers(stores: Stores) -> None:
    assert stores.events.ping() is None


def test_created_events_read_back_equal(stores: Stores) -> None:
    new = new_event(stores, region="eu")
    stores.events.put_new(new)
    assert stores.events.get(TENANT, new.event.event_id) == new.event
    assert stores.events.get("ten_b", new.event.event_id) is None


def test_a_second_create_of_the_same_id_is_refused(stores: Stores) -> None:
    new = new_event(stores)
    stores.events.put_new(new)
    other = dataclasses.replace(new, event=dataclasses.replace(new.event, source="other"))
    with pytest.raises(ConditionFailed):
        stores.events.put_new(other)
    assert stores.events.get(TENANT, new.event.event_id) == new.event


def test_an_idempotent_create_writes_once_and_then_hands_back_the_holder(stores: Stores) -> None:
    first, second = new_event(stores, idempotency_key="k1"), new_event(stores, idempotency_key="k1")
    record = IdempotencyRecord("hash-1", first.event.event_id, '{"event_id":"x"}')
    assert stores.events.put_new_idempotent(first, TENANT, "k1", record, 60) is None
    again = IdempotencyRecord("hash-2", second.event.event_id, "{}")
    assert stores.events.put_new_idempotent(second, TENANT, "k1", again, 60) == record
    assert stores.events.get(TENANT, second.event.event_id) is None
    assert stores.events.get_idempotency(TENANT, "k1") == record
    assert stores.events.get_idempotency("ten_b", "k1") is None


def test_an_expired_idempotency_record_is_gone_and_may_be_replaced(stores: Stores) -> None:
    first, second = new_event(stores, idempotency_key="k"), new_event(stores, idempotency_key="k")
    stores.events.put_new_idempotent(
        first, TENANT, "k", IdempotencyRecord("h1", first.event.event_id, "{}"), 60
    )
    stores.clock.advance(61)
    assert stores.events.get_idempotency(TENANT, "k") is None
    replacement = IdempotencyRecord("h2", second.event.event_id, "{}")
    assert stores.events.put_new_idempotent(second, TENANT, "k", replacement, 60) is None
    assert stores.events.get_idempotency(TENANT, "k") == replacement


def test_acknowledging_twice_reports_the_acknowledged_event(stores: Stores) -> None:
    new = new_event(stores)
    stores.events.put_new(new)
    at = format_ts(stores.clock.now())
    acked = stores.events.acknowledge(TENANT, new.event.event_id, at)
    assert acked == dataclasses.replace(new.event, status=STATUS_ACKNOWLEDGED, acknowledged_at=at)
    with pytest.raises(EventNotPending) as caught:
        stores.events.acknowledge(TENANT, new.event.event_id, format_ts(stores.clock.now() + 1))
    assert caught.value.current == acked
    assert stores.events.get(TENANT, new.event.event_id) == acked


def test_acknowledging_a_missing_event_reports_none(stores: Stores) -> None:
    with pytest.raises(EventNotPending) as caught:
        stores.events.acknowledge(TENANT, new_event(stores).event.event_id, "2026-01-01T00:00:00Z")
    assert caught.value.current is None


def test_delete_is_true_once_then_false_and_false_for_a_missing_event(stores: Stores) -> None:
    new = new_event(stores)
    stores.events.put_new(new)
    assert stores.events.delete(TENANT, new.event.event_id) is True
    assert stores.events.get(TENANT, new.event.event_id) is None
    assert stores.events.delete(TENANT, new.event.event_id) is False
    assert stores.events.delete(TENANT, new_event(stores).event.event_id) is False


def test_an_expired_event_reads_as_gone_everywhere(stores: Stores) -> None:
    new = new_event(stores)
    stores.events.put_new(new)
    stores.clock.current = new.expires_at
    event_id = new.event.event_id
    assert stores.events.get(TENANT, event_id) is None
    with pytest.raises(EventNotPending) as caught:
        stores.events.acknowledge(TENANT, event_id, format_ts(stores.clock.now()))
    assert caught.value.current is None
    assert stores.events.delete(TENANT, event_id) is False
    plan = plan_query(TENANT, SHARDS, InboxFilters(), None)
    page = stores.events.query_inbox_partition(plan, plan.partition_values[new.shard], 10)
    assert page.items == []


def test_a_batch_writes_every_event(stores: Stores) -> None:
    news = [new_event(stores) for _ in range(3)]
    assert stores.events.batch_put_new(news) == []
    assert [stores.events.get(TENANT, n.event.event_id) for n in news] == [n.event for n in news]
    with pytest.raises(ValueError, match="at most 25"):
        stores.events.batch_put_new([new_event(stores) for _ in range(26)])


def _shard_events(stores: Stores, count: int, **metadata: str) -> list[NewEvent]:
    """``count`` events that landed on shard 0, created in order."""
    found: list[NewEvent] = []
    while len(found) < count:
        stores.clock.advance(0.001)
        new = new_event(stores, **metadata)
        if new.shard == 0:
            found.append(new)
    return found


def test_an_inbox_partition_reads_pending_events_in_order_and_says_where_it_stopped(
    stores: Stores,
) -> None:
    news = _shard_events(stores, 4)
    for new in news:
        stores.events.put_new(new)
    stores.events.acknowledge(TENANT, news[1].event.event_id, format_ts(stores.clock.now()))
    plan = plan_query(TENANT, SHARDS, InboxFilters(), None)
    partition = plan.partition_values[0]
    page = stores.events.query_inbox_partition(plan, partition, 2)
    assert [i.event for i in page.items] == [news[0].event, news[2].event]
    assert page.last_evaluated == page.items[-1].sort_key
    rest = stores.events.query_inbox_partition(
        plan, partition, 5, lower=str(page.last_evaluated) + "!"
    )
    assert [i.event for i in rest.items] == [news[3].event]
    assert rest.last_evaluated is None
    assert [i.sort_key for i in page.items + rest.items] == sorted(
        i.sort_key for i in page.items + rest.items
    )


def test_an_inbox_filter_is_applied_after_the_limit(stores: Stores) -> None:
    high, normal, other_high = _shard_events(stores, 3)
    for new, priority in ((high, "high"), (normal, "normal"), (other_high, "high")):
        event = dataclasses.replace(new.event, metadata={"priority": priority})
        stores.events.put_new(dataclasses.replace(new, event=event))
    plan = plan_query(TENANT, SHARDS, InboxFilters(priority="high"), None)
    expression, names, values = build_filter(MetadataFilters(priority="high"))
    partition = plan.partition_values[0]
    page = stores.events.query_inbox_partition(plan, partition, 2, expression, names, values)
    # Two items evaluated, one matched: a short page that says where to go on.
    assert [i.event.event_id for i in page.items] == [high.event.event_id]
    assert page.last_evaluated is not None
    page = stores.events.query_inbox_partition(plan, partition, 10, expression, names, values)
    assert [i.event.event_id for i in page.items] == [
        high.event.event_id,
        other_high.event.event_id,
    ]
    assert all(i.event.status == STATUS_PENDING for i in page.items)


# -- api keys ----------------------------------------------------------------------------------
def key_record(**changes: object) -> KeyRecord:
    base = KeyRecord("a" * 64, "key_0123456789abcdef", TENANT, "laptop", "2026-11-30T00:00:00.000Z")
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_a_stored_key_is_found_by_its_hash(stores: Stores) -> None:
    record = key_record(
        rate_limit_per_minute=120,
        allowed_ips=("10.0.0.0/8",),
        scopes=frozenset({SCOPE_ADMIN, SCOPE_EVENTS}),
        signing_secret="whsec_1",
    )
    stores.keys.put(record)
    assert stores.keys.find_active(record.key_hash) == record
    assert stores.keys.find_active("b" * 64) is None


def test_a_second_key_with_the_same_hash_is_refused(stores: Stores) -> None:
    stores.keys.put(key_record())
    with pytest.raises(ConditionFailed):
        stores.keys.put(key_record(name="other"))
    assert stores.keys.find_active("a" * 64) == key_record()


def test_a_revoked_key_is_not_active(stores: Stores) -> None:
    stores.keys.put(key_record(status="revoked"))
    assert stores.keys.find_active("a" * 64) is None


def test_a_key_stops_working_when_it_expires(stores: Stores) -> None:
    expires = int(stores.clock.now()) + 60
    stores.keys.put(key_record(expires_at=expires))
    assert stores.keys.find_active("a" * 64) == key_record(expires_at=expires)
    stores.clock.current = expires - 0.5
    assert stores.keys.find_active("a" * 64) is not None
    stores.clock.current = expires
    assert stores.keys.find_active("a" * 64) is None


def api_key(tenant: str, key_id: str, secret_hash: str, **changes: object) -> ApiKey:
    stamp = "2026-11-30T00:00:00.000Z"
    key = ApiKey(
        key_id=key_id,
        tenant_id=tenant,
        name="ci",
        created_at=stamp,
        updated_at=stamp,
        secrets=(SecretEntry(secret_hash, stamp),),
    )
    return dataclasses.replace(key, **changes)  # type: ignore[arg-type]


def unique_tenant() -> str:
    return "ten_" + uuid.uuid4().hex[:12]


def test_a_created_key_reads_back_and_its_secret_authenticates(stores: Stores) -> None:
    tenant = unique_tenant()
    key = api_key(tenant, "key_" + uuid.uuid4().hex[:16], "c" * 64, rate_limit_per_minute=7)
    stores.keys.create(key, KeyRecord.of_secret(key, key.secrets[0], "tsig_x"))
    assert stores.keys.get_key(tenant, key.key_id) == key
    assert stores.keys.get_key("ten_other", key.key_id) is None
    found = stores.keys.find_active("c" * 64)
    assert found is not None
    assert found.principal().signing_secrets == ("tsig_x",)
    assert found.principal().rate_limit_per_minute == 7
    with pytest.raises(ConditionFailed):
        stores.keys.create(key, KeyRecord.of_secret(key, SecretEntry("d" * 64, key.created_at)))
    assert stores.keys.find_active("d" * 64) is None  # the refused transaction wrote nothing


def test_keys_are_listed_by_id_a_page_at_a_time_and_only_the_tenants(stores: Stores) -> None:
    tenant = unique_tenant()
    ids = sorted("key_" + uuid.uuid4().hex[:16] for _ in range(5))
    for n, key_id in enumerate(ids):
        key = api_key(tenant, key_id, f"{n:064x}")
        stores.keys.create(key, KeyRecord.of_secret(key, key.secrets[0]))
    other = api_key(unique_tenant(), "key_" + uuid.uuid4().hex[:16], "e" * 64)
    stores.keys.create(other, KeyRecord.of_secret(other, other.secrets[0]))
    seen, after, pages = [], None, 0
    while True:
        page = stores.keys.list_keys(tenant, after, 2)
        assert len(page.keys) <= 2
        seen.extend(k.key_id for k in page.keys)
        pages += 1
        if page.next_after is None:
            break
        after = page.next_after
    assert seen == ids
    assert pages == 3
    assert stores.keys.list_keys(tenant, ids[-1], 2).keys == []


def test_save_is_conditional_on_the_version_and_copies_settings_to_secrets(stores: Stores) -> None:
    tenant = unique_tenant()
    key = api_key(tenant, "key_" + uuid.uuid4().hex[:16], "f" * 64)
    stores.keys.create(key, KeyRecord.of_secret(key, key.secrets[0]))
    now = int(stores.clock.now())
    renamed = dataclasses.replace(
        key, name="renamed", rate_limit_per_minute=60, allowed_ips=("10.0.0.0/8",), version=2
    )
    with pytest.raises(ConditionFailed):
        stores.keys.save(renamed, 5, renamed.secrets)
    new_entry = SecretEntry("9" * 64, key.created_at)
    ended = dataclasses.replace(key.secrets[0], expires_at=now + 60)
    rotated = dataclasses.replace(renamed, secrets=(new_entry, ended))
    stores.keys.save(rotated, 1, (ended,), KeyRecord.of_secret(rotated, new_entry, "tsig_new"))
    assert stores.keys.get_key(tenant, key.key_id) == rotated
    old = stores.keys.find_active("f" * 64)
    assert old is not None
    assert (old.name, old.rate_limit_per_minute, old.allowed_ips, old.expires_at) == (
        "renamed",
        60,
        ("10.0.0.0/8",),
        now + 60,
    )
    assert stores.keys.find_active("9" * 64) is not None
    with pytest.raises(ConditionFailed):  # the version moved on
        stores.keys.save(rotated, 1, ())
    stores.clock.current = now + 60
    assert stores.keys.find_active("f" * 64) is None
    assert stores.keys.find_active("9" * 64) is not None


def test_save_refuses_a_secret_of_another_key(stores: Stores) -> None:
    tenant = unique_tenant()
    first = api_key(tenant, "key_" + uuid.uuid4().hex[:16], "1" * 64)
    second = api_key(tenant, "key_" + uuid.uuid4().hex[:16], "2" * 64)
    for key in (first, second):
        stores.keys.create(key, KeyRecord.of_secret(key, key.secrets[0]))
    revoked = dataclasses.replace(first, status="revoked", version=2)
    with pytest.raises(ConditionFailed):
        stores.keys.save(revoked, 1, second.secrets)
    assert stores.keys.find_active("2" * 64) is not None
    assert stores.keys.get_key(tenant, first.key_id) == first


def test_a_key_stored_before_key_items_is_listed_and_adopted_when_read(stores: Stores) -> None:
    tenant = unique_tenant()
    key_id = "key_" + uuid.uuid4().hex[:16]
    legacy = KeyRecord(
        "7" * 64, key_id, tenant, "old", "2026-01-01T00:00:00.000Z", rate_limit_per_minute=9
    )
    stores.keys.put(legacy)
    [listed] = stores.keys.list_keys(tenant, None, 10).keys
    assert (listed.key_id, listed.name, listed.rate_limit_per_minute) == (key_id, "old", 9)
    assert stores.keys.get_key("ten_other", key_id) is None  # another tenant adopts nothing
    adopted = stores.keys.get_key(tenant, key_id)
    assert adopted == listed
    assert adopted is not None
    assert adopted.secrets == (SecretEntry("7" * 64, "2026-01-01T00:00:00.000Z"),)
    assert stores.keys.list_keys(tenant, None, 10).keys == [adopted]  # once, not twice
    renamed = dataclasses.replace(adopted, name="renamed", version=2)
    stores.keys.save(renamed, 1, adopted.secrets)
    record = stores.keys.find_active("7" * 64)
    assert record is not None
    assert record.name == "renamed"


def test_a_save_keeps_a_last_used_written_after_the_read(stores: Stores) -> None:
    tenant = unique_tenant()
    key = api_key(tenant, "key_" + uuid.uuid4().hex[:16], "8" * 64)
    stores.keys.create(key, KeyRecord.of_secret(key, key.secrets[0]))
    read = stores.keys.get_key(tenant, key.key_id)
    assert read is not None
    assert stores.keys.touch(key.key_id, "2026-12-01T00:00:00.000Z", "2026-11-30T23:59:00.000Z")
    stores.keys.save(dataclasses.replace(read, name="later", version=2), 1, read.secrets)
    stored = stores.keys.get_key(tenant, key.key_id)
    assert stored is not None
    assert (stored.name, stored.last_used_at) == ("later", "2026-12-01T00:00:00.000Z")


def test_last_used_is_written_at_most_once_per_window(stores: Stores) -> None:
    tenant = unique_tenant()
    key = api_key(tenant, "key_" + uuid.uuid4().hex[:16], "3" * 64)
    stores.keys.create(key, KeyRecord.of_secret(key, key.secrets[0]))
    assert stores.keys.touch(key.key_id, "2026-12-01T00:00:00.000Z", "2026-11-30T23:59:00.000Z")
    assert not stores.keys.touch(key.key_id, "2026-12-01T00:00:30.000Z", "2026-11-30T23:59:30.000Z")
    assert stores.keys.touch(key.key_id, "2026-12-01T00:01:01.000Z", "2026-12-01T00:00:01.000Z")
    stored = stores.keys.get_key(tenant, key.key_id)
    assert stored is not None
    assert stored.last_used_at == "2026-12-01T00:01:01.000Z"
    assert not stores.keys.touch(
        "key_missing", "2026-12-01T00:00:00.000Z", "2026-11-30T23:59:00.000Z"
    )


# -- rate limits -------------------------------------------------------------------------------
NOW_US, INTERVAL_US = 1_000_000_000_000, 1_000_000


def test_the_idle_branch_writes_only_when_the_bucket_is_idle(stores: Stores) -> None:
    take = stores.rate_limits.take
    assert stores.rate_limits.read("k") is None
    assert take("k", Branch.IDLE, NOW_US, INTERVAL_US, NOW_US) == WriteResult(
        True, NOW_US + INTERVAL_US
    )
    assert take("k", Branch.IDLE, NOW_US, INTERVAL_US, NOW_US) == WriteResult(
        False, NOW_US + INTERVAL_US
    )
    later = NOW_US + INTERVAL_US
    assert take("k", Branch.IDLE, later, INTERVAL_US, later) == WriteResult(
        True, later + INTERVAL_US
    )
    assert stores.rate_limits.read("k") == later + INTERVAL_US


def test_the_busy_branch_writes_only_up_to_the_limit(stores: Stores) -> None:
    take = stores.rate_limits.take
    assert take("k", Branch.BUSY, NOW_US, INTERVAL_US, NOW_US * 2) == WriteResult(False, None)
    take("k", Branch.IDLE, NOW_US, INTERVAL_US, NOW_US)
    limit = NOW_US + 2 * INTERVAL_US
    assert take("k", Branch.BUSY, NOW_US, INTERVAL_US, limit) == WriteResult(
        True, NOW_US + 2 * INTERVAL_US
    )
    assert take("k", Branch.BUSY, NOW_US, INTERVAL_US, limit) == WriteResult(
        True, NOW_US + 3 * INTERVAL_US
    )
    assert take("k", Branch.BUSY, NOW_US, INTERVAL_US, limit) == WriteResult(
        False, NOW_US + 3 * INTERVAL_US
    )
    assert stores.rate_limits.read("k") == NOW_US + 3 * INTERVAL_US
    assert stores.rate_limits.read("other") is None


def test_only_the_idle_and_busy_branches_write(stores: Stores) -> None:
    with pytest.raises(ValueError, match="only the IDLE and BUSY"):
        stores.rate_limits.take("k", Branch.OVER, NOW_US, INTERVAL_US, NOW_US)


# -- analytics ---------------------------------------------------------------------------------
def effect(stores: Stores, record_id: str, **counts: int) -> RecordEffect:
    minute = minute_of(stores.clock.now())
    return RecordEffect(
        "1", record_id, (Increment(TENANT, "billing", "invoice.paid", minute, counts),)
    )


def totals(stores: Stores) -> dict[str, int]:
    """The minute rows of the clock's current minute, summed."""
    minute = minute_of(stores.clock.now())
    rows = [
        row
        for key_range in key_ranges(TENANT, cover(minute, minute + MINUTE))
        for row in stores.analytics.read(key_range)
    ]
    summed: dict[str, int] = {}
    for row in rows:
        assert (row.source, row.event_type) == ("billing", "invoice.paid")
        for name, value in row.counts.items():
            summed[name] = summed.get(name, 0) + value
    return summed


def test_counts_add_up_and_every_counter_reads_back(stores: Stores) -> None:
    first, second = effect(stores, "r1", ingested=1), effect(stores, "r2", ingested=2, deleted=1)
    stores.analytics.count(["r1"], aggregate([first]))
    stores.analytics.count(["r2"], aggregate([second]))
    counts = totals(stores)
    assert counts["ingested"] == 3
    assert counts["deleted"] == 1
    assert counts["acknowledged"] == 0  # every counter is there, zero when never added to


def test_a_counted_record_is_refused_and_nothing_of_its_batch_is_written(stores: Stores) -> None:
    stores.analytics.count(["r1"], aggregate([effect(stores, "r1", ingested=1)]))
    batch = [effect(stores, "r1", ingested=1), effect(stores, "r2", ingested=1)]
    with pytest.raises(AlreadyCounted) as caught:
        stores.analytics.count(["r1", "r2"], aggregate(batch))
    assert caught.value.record_ids == ("r1",)
    assert totals(stores)["ingested"] == 1
    stores.analytics.count(["r2"], aggregate(batch[1:]))
    assert totals(stores)["ingested"] == 2


def test_counters_past_their_retention_read_as_gone(stores: Stores) -> None:
    stores.analytics.count(["r1"], aggregate([effect(stores, "r1", ingested=1)]))
    minute = minute_of(stores.clock.now())
    ranges = key_ranges(TENANT, cover(minute, minute + MINUTE))
    stores.clock.advance(36 * 86400)  # minute counters are kept 35 days
    assert [row for r in ranges for row in stores.analytics.read(r)] == []


def test_a_transaction_has_at_most_100_items(stores: Stores) -> None:
    with pytest.raises(ValueError, match="too many items"):
        stores.analytics.count([f"r{i}" for i in range(101)], [])
