"""replay-index migration on DynamoDB Local: a table from before webhooks, old-shape events,
migrate (index + backfill), then replay's Query finds them; a second run changes nothing."""

from __future__ import annotations

from dataclasses import replace

from chalicelib.domain.events import parse_event_create
from chalicelib.domain.inbox import HIGHEST, LOWEST, replay_partition
from chalicelib.stores import codec
from chalicelib.stores.event_id_index import index_status
from chalicelib.stores.events import EventStore, event_to_item
from chalicelib.stores.replay_index import add_replay_index, backfill
from chalicelib.stores.schema import create_table
from chalicelib.stores.tables import REPLAY_INDEX, REPLAY_PK, all_tables, events_table
from tests.conftest import new_database


def old_database(dynamodb_local, settings):
    db = new_database(dynamodb_local, settings, create=False)
    create_table(db.client, events_table(settings, with_replay_index=False))
    for definition in all_tables(settings):
        if definition["TableName"] != settings.events_table:
            create_table(db.client, definition)
    return db


def write_old_events(db, tenant: str, count: int) -> list[str]:
    """Events as the API wrote them before webhooks: no replay keys, no request id."""
    runtime = db.runtime()
    ids = []
    for i in range(count):
        draft = parse_event_create(
            {"source": "billing", "event_type": "invoice.paid", "payload": {"i": i}},
            header_idempotency_key=None,
            max_payload_bytes=runtime.settings.max_payload_bytes,
        )
        new = runtime.events.placed(runtime.events.new_event(tenant, draft))
        item = event_to_item(new.event, new.shard, new.expires_at)
        assert REPLAY_PK not in item
        db.client.put_item(TableName=db.settings.events_table, Item=item)
        ids.append(new.event.event_id)
    return ids


def replayable(db, tenant: str) -> set[str]:
    store = EventStore(db.client, db.settings.events_table, db.settings.idempotency_table)
    found = set()
    for shard in range(db.settings.inbox_shards):
        refs = store.query_replay_partition(replay_partition(tenant, shard), LOWEST, HIGHEST, 100)
        found |= {r.event_id for r in refs}
    return found


def test_migrating_an_old_table_makes_its_events_replayable(dynamodb_local, test_settings):
    db = old_database(dynamodb_local, test_settings)
    old = write_old_events(db, "ten_a", 7)
    # A plain non-event item (the health probe's key never exists; write some other item).
    db.client.put_item(
        TableName=test_settings.events_table,
        Item={"pk": codec.s("__note__"), "note": codec.s("not an event")},
    )
    assert index_status(db.client, test_settings.events_table, REPLAY_INDEX) is None

    messages: list[str] = []
    dry = add_replay_index(db.client, test_settings, dry_run=True, report=messages.append)
    assert dry.action == "would-create"
    assert backfill(db.client, test_settings, dry_run=True, report=messages.append).updated == 7

    result = add_replay_index(db.client, test_settings, poll=0.2, report=messages.append)
    assert result.action == "created"
    # New events written by today's code carry the keys already; old ones wait for the backfill.
    runtime = db.runtime()
    draft = parse_event_create(
        {"source": "billing", "event_type": "invoice.paid", "payload": {}},
        header_idempotency_key=None,
        max_payload_bytes=runtime.settings.max_payload_bytes,
    )
    new_id = runtime.events.create("ten_a", draft).event["event_id"]
    assert replayable(db, "ten_a") == {new_id}

    filled = backfill(db.client, test_settings, page_size=3, report=messages.append)
    assert filled.updated == 7
    assert replayable(db, "ten_a") == {new_id, *old}

    again = backfill(db.client, test_settings, report=messages.append)
    assert again.updated == 0
    assert add_replay_index(db.client, test_settings, report=messages.append).action == (
        "already-active"
    )


def test_the_backfill_uses_each_events_inbox_shard(dynamodb_local, test_settings):
    settings = replace(test_settings, inbox_shards=3)
    db = old_database(dynamodb_local, settings)
    old = write_old_events(db, "ten_b", 9)
    add_replay_index(db.client, settings, poll=0.2, report=lambda _: None)
    backfill(db.client, settings, report=lambda _: None)
    assert replayable(db, "ten_b") == set(old)
