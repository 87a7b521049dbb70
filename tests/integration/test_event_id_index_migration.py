"""event-id-index migration on DynamoDB Local: old-shape table, fill, migrate, look up."""

from __future__ import annotations

import io
import json

import pytest

from chalicelib.domain.events import parse_event_create
from chalicelib.observability.logging import logger
from chalicelib.stores.event_id_index import (
    UNKNOWN,
    EventIdLookup,
    add_event_id_index,
    index_status,
)
from chalicelib.stores.schema import create_table
from chalicelib.stores.tables import all_tables, events_table
from tests.conftest import new_database


@pytest.fixture
def old_db(dynamodb_local, test_settings):
    """A database whose events table predates the index; the other tables as usual."""
    db = new_database(dynamodb_local, test_settings, create=False)
    create_table(db.client, events_table(test_settings, with_event_id_index=False))
    for definition in all_tables(test_settings):
        if definition["TableName"] != test_settings.events_table:
            create_table(db.client, definition)
    return db


def fill(db, tenants=("ten_a", "ten_b"), per_tenant=5):
    runtime = db.runtime()
    created = {}
    for tenant in tenants:
        for i in range(per_tenant):
            draft = parse_event_create(
                {"source": "s", "event_type": "t", "payload": {"i": i}},
                header_idempotency_key=None,
                max_payload_bytes=runtime.settings.max_payload_bytes,
            )
            event = runtime.events.create(tenant, draft).event
            created[event["event_id"]] = tenant
    return created


def test_migrate_an_old_table_then_look_up_by_event_id(old_db, test_settings):
    created = fill(old_db)
    lookup = EventIdLookup(old_db.client, test_settings.events_table)
    assert index_status(old_db.client, test_settings.events_table) is None

    # Before: the API's read by primary key works; the id-only lookup says "unknown" and warns.
    some_id, some_tenant = next(iter(created.items()))
    assert old_db.runtime().events.get(some_tenant, some_id).event_id == some_id
    stream = io.StringIO()
    previous = logger.registered_handler.setStream(stream)
    try:
        assert lookup.find_tenant_of(some_id) is UNKNOWN
    finally:
        logger.registered_handler.setStream(previous)
    [warning] = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert warning["level"] == "WARNING"
    assert warning["event_id"] == some_id

    messages: list[str] = []
    dry = add_event_id_index(old_db.client, test_settings, dry_run=True, report=messages.append)
    assert dry.action == "would-create"
    assert index_status(old_db.client, test_settings.events_table) is None

    result = add_event_id_index(old_db.client, test_settings, poll=0.2, report=messages.append)
    assert result.action == "created"
    assert index_status(old_db.client, test_settings.events_table) == "ACTIVE"

    again = add_event_id_index(old_db.client, test_settings, report=messages.append)
    assert again.action == "already-active"

    for event_id, tenant in created.items():
        assert lookup.find_tenant_of(event_id) == tenant
    assert lookup.find_tenant_of("evt_01ARZ3NDEKTSV4RRFFQ69G5FAV") is None


def test_deleted_and_expired_events_are_not_found_through_the_index(ddb, test_settings):
    created = fill(ddb, tenants=("ten_x",), per_tenant=2)
    gone, expired = list(created)
    runtime = ddb.runtime()
    runtime.events.delete("ten_x", gone)
    later = EventIdLookup(
        ddb.client,
        test_settings.events_table,
        now=lambda: 10**12,  # far past every retention TTL
    )
    lookup = EventIdLookup(ddb.client, test_settings.events_table)
    assert lookup.find_tenant_of(gone) is None
    assert lookup.find_tenant_of(expired) == "ten_x"
    assert later.find_tenant_of(expired) is None
