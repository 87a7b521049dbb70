"""The time-series and export service over the in-memory store: which items each query reads,
its 400s, and that bucket figures come from the roll-ups the stream handler keeps."""

from __future__ import annotations

import json

import pytest

from chalicelib import errors
from chalicelib.api.models.analytics import parse_export_query, parse_timeseries_query
from chalicelib.domain.analytics import CounterRow, KeyRange, aggregate
from chalicelib.domain.clock import parse_ts
from chalicelib.services.analytics import AnalyticsService, ExportRequest, TimeseriesRequest
from chalicelib.stores.stream_records import record_effect
from tests.fakes import FakeAnalyticsStore
from tests.unit.test_analytics_domain import image, record

NOW = parse_ts("2026-11-23T13:30:00Z")


class RecordingStore(FakeAnalyticsStore):
    def __init__(self) -> None:
        super().__init__(now=lambda: NOW)
        self.ranges: list[KeyRange] = []

    def read(self, key_range: KeyRange, limit: int | None = None) -> list[CounterRow]:
        self.ranges.append(key_range)
        return super().read(key_range, limit)


def seeded(store: RecordingStore) -> AnalyticsService:
    effects = []
    for i, (source, event_type) in enumerate(
        [("billing", "invoice.paid"), ("billing", "invoice.failed"), ("crm", "invoice.paid")]
    ):
        new_image = {
            **image(),
            "source": {"S": source},
            "event_type": {"S": event_type},
        }
        effects.append(record_effect(record("INSERT", seq=str(i), NewImage=new_image)))
    store.count([e.record_id for e in effects], aggregate(effects))
    return AnalyticsService(store, now=lambda: NOW)


@pytest.mark.parametrize(
    ("filters", "partition", "count"),
    [
        ({}, "ten_a#hour#2026-11#total", 3),
        ({"source": "billing"}, "ten_a#hour#2026-11#source#billing", 2),
        ({"event_type": "invoice.paid"}, "ten_a#hour#2026-11#event_type#invoice.paid", 2),
        ({"source": "billing", "event_type": "invoice.paid"}, "ten_a#hour#2026-11", 1),
    ],
)
def test_each_filter_reads_the_partition_that_answers_it(
    filters: dict[str, str], partition: str, count: int
) -> None:
    store = RecordingStore()
    series = seeded(store).timeseries("ten_a", TimeseriesRequest(**filters))
    assert {r.pk for r in store.ranges} == {partition}
    assert len(series["buckets"]) == 25  # the default: the last 24 hours, whole hours
    assert sum(b["count"] for b in series["buckets"]) == count


def test_another_tenant_sees_nothing() -> None:
    store = RecordingStore()
    series = seeded(store).timeseries("ten_b", TimeseriesRequest(granularity="day"))
    assert sum(b["count"] for b in series["buckets"]) == 0


def test_export_json_and_csv_hold_the_same_rows() -> None:
    service = seeded(RecordingStore())
    as_json = service.export("ten_a", ExportRequest(format="json", granularity="minute"))
    as_csv = service.export("ten_a", ExportRequest(format="csv", granularity="minute"))
    assert as_json.content_type == "application/json"
    assert as_csv.content_type == "text/csv; charset=utf-8"
    assert as_json.filename.endswith(".json")
    assert as_csv.filename.endswith(".csv")
    rows = json.loads(as_json.body)["rows"]
    assert [(r["source"], r["event_type"], r["count"]) for r in rows] == [
        ("billing", "invoice.failed", 1),
        ("billing", "invoice.paid", 1),
        ("crm", "invoice.paid", 1),
    ]
    assert as_csv.body.count("\r\n") == 4


def test_export_over_the_limit_and_out_of_range_series_are_400s() -> None:
    store = RecordingStore()
    seeded(store)
    service = AnalyticsService(store, now=lambda: NOW, max_export_rows=2)
    with pytest.raises(errors.ValidationError, match="more than 2 rows"):
        service.export("ten_a", ExportRequest(granularity="day"))
    with pytest.raises(errors.ValidationError, match="at most 2 days before to"):
        service.timeseries("ten_a", TimeseriesRequest(granularity="minute", start=NOW - 3 * 86400))


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"granularity": "week"}, "granularity", "must be one of minute, hour, day"),
        ({"source": "a#b"}, "source", "must be 1-128 characters"),
        ({"event_type": ""}, "event_type", "must be 1-128 characters"),
        ({"from": "soon"}, "from", "must be an RFC 3339 timestamp"),
        ({"format": "csv"}, "format", "is not a supported parameter"),
    ],
)
def test_timeseries_query_errors_name_the_parameter(
    params: dict[str, str], field: str, words: str
) -> None:
    with pytest.raises(errors.ValidationError) as caught:
        parse_timeseries_query(params)
    assert caught.value.details[0]["field"] == field
    assert words in caught.value.details[0]["message"]


def test_export_query_defaults_and_errors() -> None:
    assert parse_export_query({}) == ExportRequest(format="csv", granularity="hour")
    with pytest.raises(errors.ValidationError) as caught:
        parse_export_query({"format": "xlsx"})
    assert caught.value.details == [{"field": "format", "message": "must be one of csv, json"}]
    with pytest.raises(errors.ValidationError) as caught:
        parse_export_query({"source": "x"})
    assert caught.value.details[0]["field"] == "source"
