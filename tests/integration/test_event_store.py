"""The events store and service on DynamoDB Local: items, keys, ack, delete, expiry."""

from __future__ import annotations

import json

import pytest

from chalicelib import errors
from chalicelib.domain.clock import FixedClock, format_ts
from chalicelib.domain.events import parse_event_create
from chalicelib.domain.inbox import INBOX_ATTRIBUTES
from chalicelib.domain.ulid import decode_timestamp_ms
from chalicelib.runtime import Runtime
from chalicelib.stores.events import event_pk
from tests.conftest import Database


def draft(**overrides: object):  # type: ignore[no-untyped-def]
    raw = {"source": "billing", "event_type": "invoice.paid", "payload": {"n": 1}, **overrides}
    return parse_event_create(raw)


def raw_item(db: Database, tenant: str, event_id: str) -> dict[str, object] | None:
    resp = db.client.get_item(
        TableName=db.settings.events_table, Key={"pk": {"S": event_pk(tenant, event_id)}}
    )
    return resp.get("Item")


def test_create_stores_one_item_keyed_by_tenant_and_id(ddb: Database) -> None:
    rt = ddb.runtime()
    created = rt.events.create("ten_a", draft(metadata={"team": "x"})).event
    item = raw_item(ddb, "ten_a", str(created["event_id"]))
    assert item is not None
    assert item["tenant_id"] == {"S": "ten_a"}
    assert json.loads(item["payload"]["S"]) == {"n": 1}  # type: ignore[index]
    assert item["metadata"] == {"M": {"team": {"S": "x"}, "priority": {"S": "normal"}}}
    for attr in INBOX_ATTRIBUTES:
        assert attr in item, attr
    assert created["status"] == "pending"
    assert created["acknowledged_at"] is None


def test_created_at_agrees_with_the_event_id_even_when_the_clock_steps_back(
    ddb: Database,
) -> None:
    clock = FixedClock(1_795_000_000.0)
    rt = Runtime.build(ddb.settings, dynamodb=ddb.client, now=clock.now)
    events = []
    for step in [0.0, 0.002, -1.5, 0.0, 0.001]:
        clock.advance(step)
        events.append(rt.events.create("ten_a", draft()).event)
    for event in events:
        ms = decode_timestamp_ms(str(event["event_id"])[4:])
        assert event["created_at"] == format_ts(ms / 1000)
    # Inbox order (created_at, then id) is creation order.
    listed = rt.inbox.list_pending("ten_a", _inbox_request())["events"]
    assert [e["event_id"] for e in listed] == [e["event_id"] for e in events]


def test_get_returns_the_public_event(ddb: Database) -> None:
    rt = ddb.runtime()
    created = rt.events.create("ten_a", draft()).event
    assert rt.events.get("ten_a", str(created["event_id"])).to_public() == created


def test_other_tenant_and_unknown_ids_are_not_found(ddb: Database) -> None:
    rt = ddb.runtime()
    event_id = str(rt.events.create("ten_a", draft()).event["event_id"])
    for tenant, eid in [
        ("ten_b", event_id),
        ("ten_a", "evt_01JD0000000000000000000000"),
        ("ten_a", "not-an-id"),
        ("ten_a#x", event_id),
    ]:
        with pytest.raises(errors.NotFound):
            rt.events.get(tenant, eid)
        with pytest.raises(errors.NotFound):
            rt.events.acknowledge(tenant, eid)
        with pytest.raises(errors.NotFound):
            rt.events.delete(tenant, eid)
    assert rt.events.get("ten_a", event_id).status == "pending"


def test_ack_removes_the_inbox_attributes_and_second_ack_conflicts(ddb: Database) -> None:
    rt = ddb.runtime()
    event_id = str(rt.events.create("ten_a", draft()).event["event_id"])
    acked = rt.events.acknowledge("ten_a", event_id)
    assert acked.status == "acknowledged"
    assert acked.acknowledged_at is not None
    item = raw_item(ddb, "ten_a", event_id)
    assert item is not None
    assert not set(INBOX_ATTRIBUTES) & set(item)
    with pytest.raises(errors.AlreadyAcknowledged):
        rt.events.acknowledge("ten_a", event_id)
    assert rt.events.get("ten_a", event_id).acknowledged_at == acked.acknowledged_at


def test_delete_then_everything_is_not_found(ddb: Database) -> None:
    rt = ddb.runtime()
    event_id = str(rt.events.create("ten_a", draft()).event["event_id"])
    rt.events.delete("ten_a", event_id)
    assert raw_item(ddb, "ten_a", event_id) is None
    with pytest.raises(errors.NotFound):
        rt.events.delete("ten_a", event_id)
    with pytest.raises(errors.NotFound):
        rt.events.get("ten_a", event_id)
    with pytest.raises(errors.NotFound):
        rt.events.acknowledge("ten_a", event_id)


def test_expired_events_read_as_gone_before_ttl_sweeps(ddb: Database) -> None:
    clock = FixedClock(1_795_000_000.0)
    rt = Runtime.build(ddb.settings, dynamodb=ddb.client, now=clock.now)
    event_id = str(rt.events.create("ten_a", draft()).event["event_id"])
    other = str(rt.events.create("ten_a", draft()).event["event_id"])
    clock.advance(ddb.settings.event_retention_days * 86400 + 1)
    assert raw_item(ddb, "ten_a", event_id) is not None  # still stored
    with pytest.raises(errors.NotFound):
        rt.events.get("ten_a", event_id)
    with pytest.raises(errors.NotFound):
        rt.events.acknowledge("ten_a", event_id)
    with pytest.raises(errors.NotFound):
        rt.events.delete("ten_a", other)
    page = rt.inbox.list_pending("ten_a", _inbox_request())
    assert page["events"] == []


def _inbox_request():  # type: ignore[no-untyped-def]
    from chalicelib.api.models.inbox import parse_inbox_query

    return parse_inbox_query({})


def test_unicode_payload_and_metadata_survive(ddb: Database) -> None:
    rt = ddb.runtime()
    created = rt.events.create(
        "ten_a",
        draft(
            payload={"name": "Zoë ☃", "nested": {"a": [1, None, True]}}, metadata={"city": "Zürich"}
        ),
    ).event
    got = rt.events.get("ten_a", str(created["event_id"])).to_public()
    assert got["payload"] == {"name": "Zoë ☃", "nested": {"a": [1, None, True]}}
    assert got["metadata"] == {"city": "Zürich", "priority": "normal"}
