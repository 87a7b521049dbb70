"""The events stream -> analytics counters, on DynamoDB Local's real stream.

The local worker reads the stream in-process and calls the same service the Lambda handler
calls; counts must be exact when batches are redelivered, and a poison record must not block
the shard.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import boto3
import pytest

from chalicelib import errors
from chalicelib.domain.events import parse_event_create
from chalicelib.runtime import Runtime
from chalicelib.services.analytics import (
    AnalyticsService,
    ExportRequest,
    SummaryRequest,
    TimeseriesRequest,
)
from chalicelib.stores import codec
from chalicelib.stores.analytics import AlreadyCounted
from chalicelib.stores.aws import dynamodb_streams_client
from devstack.stream_worker import StreamWorker
from tests.conftest import Database


def streams_client(ddb: Database) -> Any:
    session = boto3.Session(
        aws_access_key_id=ddb.access_key, aws_secret_access_key="local", region_name="us-east-1"
    )
    return dynamodb_streams_client(ddb.settings, session=session, endpoint_url=ddb.engine.endpoint)


def make_worker(ddb: Database, handler: Any, **options: Any) -> StreamWorker:
    options.setdefault("poll_interval", 0.05)
    options.setdefault("retry_base", 0.01)
    return StreamWorker(
        ddb.client, streams_client(ddb), ddb.settings.events_table, handler, **options
    )


def drain(worker: StreamWorker, idle_polls: int = 2, timeout: float = 30.0) -> None:
    """Poll until the stream has nothing more to give (a few empty passes in a row)."""
    deadline, idle = time.monotonic() + timeout, 0
    while idle < idle_polls:
        assert time.monotonic() < deadline, "the worker did not drain the stream"
        idle = idle + 1 if worker.poll_once() == 0 else 0


def create(runtime: Runtime, tenant: str, source: str = "billing", event_type: str = "paid") -> str:
    draft = parse_event_create({"source": source, "event_type": event_type, "payload": {"n": 1}})
    return str(runtime.events.create(tenant, draft).event["event_id"])


class Recorder:
    """Calls the real handler and keeps every batch it was given."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.batches: list[list[dict[str, Any]]] = []
        self.responses: list[dict[str, Any]] = []

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        self.batches.append(list(event["Records"]))
        response = self.runtime.stream_ingest.handle(event)
        self.responses.append(response)
        return response


def test_worker_counts_ingested_acknowledged_and_deleted(ddb: Database) -> None:
    runtime = ddb.runtime()
    ids = [create(runtime, "ten_a") for _ in range(5)]
    create(runtime, "ten_a", source="crm", event_type="lead")
    create(runtime, "ten_b")
    runtime.events.acknowledge("ten_a", ids[0])
    runtime.events.acknowledge("ten_a", ids[1])
    runtime.events.delete("ten_a", ids[1])
    runtime.events.delete("ten_a", ids[2])
    worker = make_worker(ddb, Recorder(runtime))
    drain(worker)
    assert worker.delivered == 7 + 2 + 2
    summary = runtime.analytics.summary("ten_a", SummaryRequest())
    totals = summary["totals"]
    assert (totals["ingested"], totals["acknowledged"], totals["deleted"]) == (6, 2, 2)
    assert totals["expired"] == 0
    assert totals["ack_latency_ms_avg"] is not None
    assert totals["by_status"] == {"pending": 3, "acknowledged": 1, "removed": 2}
    assert [(s["source"], s["ingested"]) for s in summary["by_source"]] == [
        ("billing", 5),
        ("crm", 1),
    ]
    assert [(t["event_type"], t["ingested"]) for t in summary["by_event_type"]] == [
        ("lead", 1),
        ("paid", 5),
    ]
    # Tenant isolation: the other tenant sees only its own event.
    assert runtime.analytics.summary("ten_b", SummaryRequest())["totals"]["ingested"] == 1
    assert runtime.analytics.summary("ten_c", SummaryRequest())["totals"]["ingested"] == 0


def test_replaying_batches_keeps_counts_exact(ddb: Database) -> None:
    runtime = ddb.runtime()
    for _ in range(30):
        create(runtime, "ten_a")
    recorder = Recorder(runtime)
    drain(make_worker(ddb, recorder, batch_size=10))
    assert runtime.analytics.summary("ten_a", SummaryRequest())["totals"]["ingested"] == 30
    # Stream delivery is at least once: deliver every batch again, whole and in part.
    for batch in recorder.batches:
        assert runtime.stream_ingest.handle({"Records": batch}) == {"batchItemFailures": []}
        assert runtime.stream_ingest.handle({"Records": batch[3:]}) == {"batchItemFailures": []}
    # A batch that mixes old and new records counts only the new ones.
    create(runtime, "ten_a")
    fresh = Recorder(runtime)
    worker = make_worker(ddb, fresh)
    drain(worker)  # a new worker starts at TRIM_HORIZON: all 31 records again, 1 of them new
    assert sum(len(b) for b in fresh.batches) == 31
    assert runtime.analytics.summary("ten_a", SummaryRequest())["totals"]["ingested"] == 31


def test_concurrent_redelivery_of_the_same_batch_counts_once(ddb: Database) -> None:
    runtime = ddb.runtime()
    for _ in range(20):
        create(runtime, "ten_a")
    recorder = Recorder(runtime)
    drain(make_worker(ddb, recorder))
    records = [r for batch in recorder.batches for r in batch]
    other = ddb.runtime()  # its own store, as a second Lambda invocation would have
    results: list[dict[str, Any]] = []
    threads = [
        threading.Thread(
            target=lambda rt=rt: results.append(rt.stream_ingest.handle({"Records": records}))
        )
        for rt in (runtime, other, runtime, other)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(r == {"batchItemFailures": []} for r in results)
    assert runtime.analytics.summary("ten_a", SummaryRequest())["totals"]["ingested"] == 20


def put_poison(ddb: Database) -> None:
    """An item the counter cannot read (no created_at): its INSERT record is poison."""
    ddb.client.put_item(
        TableName=ddb.settings.events_table,
        Item={
            "pk": codec.s("ten_a#evt_poison"),
            "tenant_id": codec.s("ten_a"),
            "source": codec.s("billing"),
            "event_type": codec.s("paid"),
            "status": codec.s("pending"),
        },
    )


def test_poison_record_is_reported_with_the_records_after_it(ddb: Database) -> None:
    runtime = ddb.runtime()
    create(runtime, "ten_a")
    put_poison(ddb)
    create(runtime, "ten_a")
    create(runtime, "ten_a")
    recorder = Recorder(runtime)
    worker = make_worker(ddb, recorder, max_retries=2)
    drain(worker)
    first_batch = recorder.batches[0]
    sequences = [r["dynamodb"]["SequenceNumber"] for r in first_batch]
    assert len(first_batch) == 4
    assert recorder.responses[0] == {
        "batchItemFailures": [{"itemIdentifier": s} for s in sequences[1:]]
    }
    # Redelivered from the poison record (initial try + 2 retries), then it is dead-lettered
    # and the records after it are delivered and counted.
    assert [len(b) for b in recorder.batches] == [4, 3, 3, 2]
    assert worker.dead_lettered == 1
    assert worker.delivered == 3
    assert runtime.analytics.summary("ten_a", SummaryRequest())["totals"]["ingested"] == 3


def test_worker_redelivers_from_the_failed_sequence_number(ddb: Database) -> None:
    runtime = ddb.runtime()
    for _ in range(6):
        create(runtime, "ten_a")
    calls: list[list[str]] = []

    def flaky(event: dict[str, Any]) -> dict[str, Any]:
        sequences = [r["dynamodb"]["SequenceNumber"] for r in event["Records"]]
        calls.append(sequences)
        if len(calls) == 1:  # count the first two, then "fail" on the third
            runtime.stream_ingest.handle({"Records": event["Records"][:2]})
            return {"batchItemFailures": [{"itemIdentifier": s} for s in sequences[2:]]}
        return runtime.stream_ingest.handle(event)

    worker = make_worker(ddb, flaky)
    drain(worker)
    assert len(calls) == 2
    assert calls[1] == calls[0][2:]
    assert worker.dead_lettered == 0
    assert runtime.analytics.summary("ten_a", SummaryRequest())["totals"]["ingested"] == 6


def test_worker_keeps_going_when_the_table_is_recreated(ddb: Database) -> None:
    """What an in-memory DynamoDB Local restart looks like to the worker: the table and its
    stream disappear, then a new table with a new stream appears."""
    from chalicelib.stores.schema import create_table, wait_active
    from chalicelib.stores.tables import events_table

    runtime = ddb.runtime()
    create(runtime, "ten_a")
    worker = make_worker(ddb, Recorder(runtime))
    drain(worker)
    old_arn = worker.stream_arn
    ddb.client.delete_table(TableName=ddb.settings.events_table)
    worker.forget_iterators()
    assert worker.poll_once() == 0  # no table: nothing to read, no crash
    create_table(ddb.client, events_table(ddb.settings))
    wait_active(ddb.client, ddb.settings.events_table)
    create(runtime, "ten_a")
    drain(worker)
    assert worker.stream_arn != old_arn
    assert runtime.analytics.summary("ten_a", SummaryRequest())["totals"]["ingested"] == 2


def test_store_reports_which_records_were_already_counted(ddb: Database) -> None:
    from chalicelib.domain.analytics import aggregate
    from chalicelib.stores.stream_records import record_effect

    runtime = ddb.runtime()
    create(runtime, "ten_a")
    create(runtime, "ten_a")
    recorder = Recorder(runtime)
    drain(make_worker(ddb, recorder))
    effects = [record_effect(r) for r in recorder.batches[0]]
    store = runtime.stream_ingest._store
    with pytest.raises(AlreadyCounted) as caught:
        store.count([e.record_id for e in effects], aggregate(effects))
    assert set(caught.value.record_ids) == {e.record_id for e in effects}


def test_a_batch_larger_than_one_transaction_is_counted_in_chunks(ddb: Database) -> None:
    runtime = ddb.runtime()
    for i in range(130):
        create(runtime, "ten_a", source=f"s{i % 7}", event_type=f"t{i % 5}")
    recorder = Recorder(runtime)
    drain(make_worker(ddb, recorder, batch_size=1000))
    assert max(len(b) for b in recorder.batches) > 100
    summary = runtime.analytics.summary("ten_a", SummaryRequest())
    assert summary["totals"]["ingested"] == 130
    assert sum(s["ingested"] for s in summary["by_source"]) == 130


def test_series_read_the_rollups_and_agree_with_the_detail_items(ddb: Database) -> None:
    runtime = ddb.runtime()
    for i in range(40):
        create(runtime, "ten_a", source=f"s{i % 4}", event_type=f"t{i % 5}")
    create(runtime, "ten_b", source="s0", event_type="t0")
    drain(make_worker(ddb, Recorder(runtime), batch_size=1000))

    def total(granularity: str, **filters: str) -> int:
        request = TimeseriesRequest(granularity=granularity, **filters)
        series = runtime.analytics.timeseries("ten_a", request)
        return sum(b["count"] for b in series["buckets"])

    for granularity in ("minute", "hour", "day"):
        assert total(granularity) == 40
        assert total(granularity, source="s1") == 10
        assert total(granularity, event_type="t2") == 8
        assert total(granularity, source="s0", event_type="t0") == 2  # i = 0, 20
        assert total(granularity, source="nobody") == 0
    export = runtime.analytics.export("ten_a", ExportRequest(format="json", granularity="day"))
    rows = json.loads(export.body)["rows"]
    assert len(rows) == 20  # 4 sources x 5 types: i % 4 and i % 5 meet every pair in 20
    assert sum(r["count"] for r in rows) == 40


def test_an_export_over_the_row_limit_is_a_400(ddb: Database) -> None:
    runtime = ddb.runtime()
    for i in range(12):
        create(runtime, "ten_a", source=f"s{i}", event_type="t")
    drain(make_worker(ddb, Recorder(runtime), batch_size=1000))
    store = runtime.stream_ingest._store
    service = AnalyticsService(store, max_export_rows=5)
    with pytest.raises(errors.ValidationError) as caught:
        service.export("ten_a", ExportRequest(granularity="hour"))
    assert caught.value.details == [{"field": "from", "message": "the range has over 5 rows"}]
    assert "more than 5 rows" in caught.value.message
    export = AnalyticsService(store, max_export_rows=12).export("ten_a", ExportRequest())
    assert export.body.count("\r\n") == 13  # the header and 12 rows
