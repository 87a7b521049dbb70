"""The analytics routes' queries (summary, timeseries, export) and the bodies they answer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from chalicelib.api.models.query import Timestamp, first_error, unsupported
from chalicelib.api.models.responses import Response
from chalicelib.domain.events import Name
from chalicelib.services.analytics import ExportRequest, SummaryRequest, TimeseriesRequest

_TIMESTAMP = "must be an RFC 3339 timestamp, e.g. 2026-11-22T10:00:00Z"
_GRANULARITY = "must be one of minute, hour, day"
_NAME = "must be 1-128 characters of letters, digits and ._:/-"
Granularity = Literal["minute", "hour", "day"]  # default: hour (DEFAULT_GRANULARITY)


def params_of(model: type[BaseModel]) -> frozenset[str]:
    """The query parameter names a query model takes."""
    return frozenset(field.alias or name for name, field in model.model_fields.items())


class AnalyticsQuery(BaseModel):
    """Query parameters of `GET /v1/analytics/summary` (the others add theirs)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: Timestamp | None = Field(default=None, alias="from")
    end: Timestamp | None = Field(default=None, alias="to")

    @model_validator(mode="before")
    @classmethod
    def _known(cls, params: Any) -> Any:
        if isinstance(params, Mapping):
            unsupported(params, params_of(cls))
        return params


class TimeseriesQuery(AnalyticsQuery):
    """Query parameters of `GET /v1/analytics/timeseries`."""

    granularity: Granularity = "hour"
    source: Name | None = None
    event_type: Name | None = None


class ExportQuery(AnalyticsQuery):
    """Query parameters of `GET /v1/analytics/export`."""

    format: Literal["csv", "json"] = "csv"
    granularity: Granularity = "hour"


SUMMARY_PARAMS = params_of(AnalyticsQuery)
_MESSAGES = {
    "from": _TIMESTAMP,
    "to": _TIMESTAMP,
    "granularity": _GRANULARITY,
    "source": _NAME,
    "event_type": _NAME,
    "format": "must be one of csv, json",
}
Q = TypeVar("Q", bound=AnalyticsQuery)


def _validated(model: type[Q], params: Mapping[str, str]) -> Q:
    """The query, or the 400 naming its first wrong parameter."""
    try:
        return model.model_validate(params)
    except ValidationError as exc:
        raise first_error(exc, _MESSAGES) from None


def parse_summary_query(params: Mapping[str, str]) -> SummaryRequest:
    query = _validated(AnalyticsQuery, params)
    return SummaryRequest(start=query.start, end=query.end)


def parse_timeseries_query(params: Mapping[str, str]) -> TimeseriesRequest:
    query = _validated(TimeseriesQuery, params)
    return TimeseriesRequest(
        granularity=query.granularity,
        start=query.start,
        end=query.end,
        source=query.source,
        event_type=query.event_type,
    )


def parse_export_query(params: Mapping[str, str]) -> ExportRequest:
    query = _validated(ExportQuery, params)
    return ExportRequest(
        format=query.format, granularity=query.granularity, start=query.start, end=query.end
    )


class AnalyticsStatusCounts(Response):
    """Current status of the events created in the window."""

    pending: int = Field(ge=0)
    acknowledged: int = Field(ge=0)
    removed: int = Field(ge=0, description="Deleted or expired since.")


class AnalyticsDeliveryCounts(Response):
    """Webhook deliveries that ended in the window: one per event and endpoint, once however
    many attempts; a replay's deliveries count again; test sends are not counted."""

    succeeded: int = Field(ge=0, description="Delivered: the endpoint answered 2xx.")
    failed: int = Field(
        ge=0,
        description="Failed: every attempt failed, the endpoint answered 410, or it was "
        "paused, disabled or deleted before the delivery.",
    )


class AnalyticsLatency(Response):
    """Ack latency percentiles, from a histogram of 8 bins per doubling (each figure within
    4.4 % of the exact value of its rank, rounded to 0.1 ms); null when nothing was
    acknowledged."""

    p50: float | None = Field(ge=0, description="Median, milliseconds.")
    p95: float | None = Field(ge=0, description="95th percentile, milliseconds.")


class AnalyticsCounts(Response):
    ingested: int = Field(ge=0, description="Events created in the window.")
    acknowledged: int = Field(ge=0, description="Acknowledgements made in the window.")
    deleted: int = Field(ge=0, description="Deletes made in the window.")
    expired: int = Field(ge=0, description="Events removed by retention (TTL) in the window.")
    ack_latency_ms_avg: float | None = Field(
        description=(
            "Mean time from creation to acknowledgement of the acknowledgements in the window; "
            "null when there were none."
        ),
    )
    ack_latency_ms: AnalyticsLatency = Field(
        description="Percentiles of the same acknowledgements' creation-to-ack times."
    )
    deliveries: AnalyticsDeliveryCounts
    by_status: AnalyticsStatusCounts


class AnalyticsSourceCounts(AnalyticsCounts):
    source: str


class AnalyticsEventTypeCounts(AnalyticsCounts):
    event_type: str


class AnalyticsSummary(Response):
    model_config = ConfigDict(
        populate_by_name=True,
        json_schema_extra={
            "example": {
                "from": "2026-11-22T10:00:00.000Z",
                "to": "2026-11-23T10:00:00.000Z",
                "totals": {
                    "ingested": 120,
                    "acknowledged": 100,
                    "deleted": 3,
                    "expired": 0,
                    "ack_latency_ms_avg": 812.5,
                    "ack_latency_ms": {"p50": 640.0, "p95": 2300.0},
                    "deliveries": {"succeeded": 95, "failed": 1},
                    "by_status": {"pending": 18, "acknowledged": 99, "removed": 3},
                },
                "by_source": [],
                "by_event_type": [],
            }
        },
    )

    start: str = Field(
        alias="from",
        description="Effective start (whole minute).",
        json_schema_extra={"format": "date-time"},
    )
    end: str = Field(
        alias="to",
        description="Effective end, exclusive (whole minute).",
        json_schema_extra={"format": "date-time"},
    )
    totals: AnalyticsCounts
    by_source: list[AnalyticsSourceCounts]
    by_event_type: list[AnalyticsEventTypeCounts]


class AnalyticsBucket(Response):
    start: str = Field(
        description="Start of the bucket (UTC minute, hour or day).",
        json_schema_extra={"format": "date-time"},
    )
    count: int = Field(ge=0, description="Events created in the bucket.")
    acknowledged: int = Field(ge=0, description="Acknowledgements made in the bucket.")
    ack_latency_ms: AnalyticsLatency
    deliveries: AnalyticsDeliveryCounts


class AnalyticsTimeseries(Response):
    model_config = ConfigDict(
        populate_by_name=True,
        json_schema_extra={
            "example": {
                "granularity": "hour",
                "from": "2026-11-22T10:00:00.000Z",
                "to": "2026-11-22T12:00:00.000Z",
                "buckets": [
                    {
                        "start": "2026-11-22T10:00:00.000Z",
                        "count": 42,
                        "acknowledged": 40,
                        "ack_latency_ms": {"p50": 640.0, "p95": 2300.0},
                        "deliveries": {"succeeded": 40, "failed": 0},
                    },
                    {
                        "start": "2026-11-22T11:00:00.000Z",
                        "count": 0,
                        "acknowledged": 0,
                        "ack_latency_ms": {"p50": None, "p95": None},
                        "deliveries": {"succeeded": 0, "failed": 0},
                    },
                ],
            }
        },
    )

    granularity: Granularity
    start: str = Field(
        alias="from",
        description="Start of the first bucket.",
        json_schema_extra={"format": "date-time"},
    )
    end: str = Field(
        alias="to",
        description="End of the last bucket, exclusive.",
        json_schema_extra={"format": "date-time"},
    )
    buckets: list[AnalyticsBucket] = Field(
        description="Every bucket of the range, in time order, zeros included."
    )


class AnalyticsExportRow(Response):
    start: str = Field(json_schema_extra={"format": "date-time"})
    source: str
    event_type: str
    count: int = Field(ge=0)
    acknowledged: int = Field(ge=0)
    deleted: int = Field(ge=0)
    expired: int = Field(ge=0)
    ack_latency_ms_p50: float | None = Field(ge=0)
    ack_latency_ms_p95: float | None = Field(ge=0)
    deliveries_succeeded: int = Field(ge=0)
    deliveries_failed: int = Field(ge=0)


class AnalyticsExport(Response):
    model_config = ConfigDict(populate_by_name=True)

    granularity: Granularity
    start: str = Field(alias="from", json_schema_extra={"format": "date-time"})
    end: str = Field(alias="to", json_schema_extra={"format": "date-time"})
    rows: list[AnalyticsExportRow] = Field(
        description="One row per bucket, source and event type that saw anything."
    )
