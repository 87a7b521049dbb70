"""Bulk create / ack / delete on DynamoDB Local: partial success, idempotency, retries."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from chalicelib import errors
from chalicelib.api.models.bulk import parse_bulk_create, parse_bulk_ids
from chalicelib.domain.events import EventDraft, parse_event_create
from chalicelib.services.bulk import BulkService, ItemError
from chalicelib.stores.events import EventStore
from tests.conftest import Database

TENANT = "ten_bulk"


def event(n: int, **extra: Any) -> dict[str, Any]:
    return {"source": "billing", "event_type": "invoice.paid", "payload": {"n": n}, **extra}


def drafts(items: list[Any]) -> list[EventDraft | ItemError]:
    """What the edge hands the service for ``{"items": items}``."""
    return parse_bulk_create({"items": items}, 256 * 1024)


def ids(event_ids: list[Any]) -> list[str | ItemError]:
    return parse_bulk_ids({"event_ids": event_ids})


def test_partial_success_reports_each_failure_by_index(ddb: Database):
    rt = ddb.runtime()
    items = [event(0), {"source": "billing"}, event(2, metadata={"priority": "urgent"}), event(3)]
    result = rt.bulk.create(TENANT, drafts(items))
    assert [s["index"] for s in result.successful] == [0, 3]
    assert [f["index"] for f in result.failed] == [1, 2]
    assert {f["error"]["code"] for f in result.failed} == {"validation_error"}
    fields = {d["field"] for d in result.failed[0]["error"]["details"]}
    assert {"event_type", "payload"} <= fields
    for entry in result.successful:
        stored = rt.events.get(TENANT, entry["event"]["event_id"])
        assert stored.to_public() == entry["event"]
    inbox = rt.inbox.list_pending(TENANT, parse_inbox_query_default())
    assert len(inbox["events"]) == 2


def parse_inbox_query_default():
    from chalicelib.api.models.inbox import parse_inbox_query

    return parse_inbox_query({})


def test_per_item_idempotency_keys_behave_like_single_creates(ddb: Database):
    rt = ddb.runtime()
    first = rt.bulk.create(
        TENANT,
        drafts(
            [
                event(1, idempotency_key="k-1"),
                event(1, idempotency_key="k-1"),  # same key, same body, same request: a replay
                event(9, idempotency_key="k-2"),
                event(2),
            ]
        ),
    )
    created = {s["index"]: s for s in first.successful}
    assert created[0]["replayed"] is False
    assert created[1]["replayed"] is True
    assert created[1]["event"] == created[0]["event"]
    # Later: same key + same body replays, same key + another body conflicts.
    again = rt.bulk.create(
        TENANT, drafts([event(1, idempotency_key="k-1"), event(3, idempotency_key="k-2")])
    )
    assert again.successful[0]["event"] == created[0]["event"]
    assert again.successful[0]["replayed"] is True
    assert again.failed == [
        {
            "index": 1,
            "error": {
                "code": "idempotency_conflict",
                "message": "This Idempotency-Key was already used with a different request body.",
                "details": [{"field": "idempotency_key", "message": "reused with another body"}],
            },
        }
    ]
    # The single-create endpoint shares the keys: it replays what bulk created.
    draft = parse_event_create(event(1), header_idempotency_key="k-1")
    replay = rt.events.create(TENANT, draft)
    assert replay.replayed is True
    assert replay.event == created[0]["event"]


def test_concurrent_bulk_requests_with_the_same_key_create_one_event(ddb: Database):
    rt = ddb.runtime()
    results: list[Any] = []
    start = threading.Barrier(8)

    def send() -> None:
        start.wait()
        results.append(rt.bulk.create(TENANT, drafts([event(7, idempotency_key="race")])))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = {r.successful[0]["event"]["event_id"] for r in results}
    assert len(ids) == 1
    assert sum(not r.successful[0]["replayed"] for r in results) == 1
    assert len(rt.inbox.list_pending(TENANT, parse_inbox_query_default())["events"]) == 1


class StingyBatchClient:
    """The real client, except BatchWriteItem leaves the last ``hold_back`` items unprocessed
    for the first ``stingy_calls`` calls (what DynamoDB does under throttling)."""

    def __init__(self, client: Any, hold_back: int, stingy_calls: int) -> None:
        self._client = client
        self.hold_back = hold_back
        self.stingy_calls = stingy_calls
        self.batch_calls: list[int] = []

    def batch_write_item(self, RequestItems: dict[str, list[Any]]) -> dict[str, Any]:
        ((table, requests),) = RequestItems.items()
        self.batch_calls.append(len(requests))
        if len(self.batch_calls) > self.stingy_calls:
            return self._client.batch_write_item(RequestItems=RequestItems)
        keep = requests[: max(0, len(requests) - self.hold_back)]
        held = requests[len(keep) :]
        if keep:
            self._client.batch_write_item(RequestItems={table: keep})
        return {"UnprocessedItems": {table: held} if held else {}}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def bulk_service(ddb: Database, client: Any) -> BulkService:
    rt = ddb.runtime()
    store = EventStore(
        client, ddb.settings.events_table, ddb.settings.idempotency_table, sleep=lambda _: None
    )
    return BulkService(rt.events, store)


def test_unprocessed_items_are_retried_until_written(ddb: Database):
    stingy = StingyBatchClient(ddb.client, hold_back=3, stingy_calls=2)
    result = bulk_service(ddb, stingy).create(TENANT, drafts([event(n) for n in range(10)]))
    assert stingy.batch_calls == [10, 3, 3]
    assert len(result.successful) == 10
    assert result.failed == []


def test_items_never_processed_are_per_item_failures(ddb: Database):
    stingy = StingyBatchClient(ddb.client, hold_back=2, stingy_calls=100)
    result = bulk_service(ddb, stingy).create(TENANT, drafts([event(n) for n in range(5)]))
    assert len(stingy.batch_calls) == 5  # bounded: 1 call + 4 retries
    assert [s["index"] for s in result.successful] == [0, 1, 2]
    assert [f["index"] for f in result.failed] == [3, 4]
    assert {f["error"]["code"] for f in result.failed} == {"service_unavailable"}
    rt = ddb.runtime()
    for entry in result.successful:
        assert rt.events.get(TENANT, entry["event"]["event_id"]).event_id


def test_bulk_ack_and_delete_with_missing_duplicate_and_foreign_ids(ddb: Database):
    rt = ddb.runtime()
    mine = [
        s["event"]["event_id"]
        for s in rt.bulk.create(TENANT, drafts([event(n) for n in range(3)])).successful
    ]
    foreign = rt.bulk.create("ten_other", drafts([event(9)])).successful[0]["event"]["event_id"]
    rt.events.acknowledge(TENANT, mine[2])
    missing = "evt_01JD0000000000000000000000"
    ack = rt.bulk.acknowledge(
        TENANT, ids([mine[0], mine[0], foreign, mine[1], mine[2], missing, 42])
    )
    assert [s["index"] for s in ack.successful] == [0, 3]
    assert all(s["event"]["status"] == "acknowledged" for s in ack.successful)
    codes = {f["index"]: f["error"]["code"] for f in ack.failed}
    assert codes == {
        1: "validation_error",  # duplicate of index 0: processed once
        2: "not_found",  # another tenant's event
        4: "already_acknowledged",
        5: "not_found",
        6: "validation_error",
    }
    assert "index 0" in ack.failed[0]["error"]["message"]
    deleted = rt.bulk.delete(TENANT, ids([mine[1], foreign, mine[1], missing]))
    assert deleted.successful == [{"index": 0, "event_id": mine[1]}]
    assert {f["index"]: f["error"]["code"] for f in deleted.failed} == {
        1: "not_found",
        2: "validation_error",
        3: "not_found",
    }
    with pytest.raises(errors.NotFound):
        rt.events.get(TENANT, mine[1])
    assert rt.events.get("ten_other", foreign).event_id == foreign


@pytest.mark.parametrize(
    "body",
    [[], {"items": []}, {"items": [event(n) for n in range(26)]}, {"items": "x"}, {"item": []}],
)
def test_bad_request_shapes_fail_the_whole_request(body: Any):
    with pytest.raises(errors.ValidationError):
        parse_bulk_create(body, 256 * 1024)
