"""``GET /v1/analytics/summary``: its query (``from``, ``to``) and the summary it answers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from chalicelib.api.models.query import Timestamp, first_error, unsupported
from chalicelib.api.models.responses import Response
from chalicelib.services.analytics import SummaryRequest

_TIMESTAMP = "must be an RFC 3339 timestamp, e.g. 2026-11-22T10:00:00Z"


class AnalyticsQuery(BaseModel):
    """Query parameters of `GET /v1/analytics/summary`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: Timestamp | None = Field(default=None, alias="from")
    end: Timestamp | None = Field(default=None, alias="to")

    @model_validator(mode="before")
    @classmethod
    def _known(cls, params: Any) -> Any:
        if isinstance(params, Mapping):
            unsupported(params, SUMMARY_PARAMS)
        return params


SUMMARY_PARAMS = frozenset(
    field.alias or name for name, field in AnalyticsQuery.model_fields.items()
)


def parse_summary_query(params: Mapping[str, str]) -> SummaryRequest:
    """Validate the query string; the 400 names the first wrong parameter."""
    try:
        query = AnalyticsQuery.model_validate(params)
    except ValidationError as exc:
        raise first_error(exc, {"from": _TIMESTAMP, "to": _TIMESTAMP}) from None
    return SummaryRequest(start=query.start, end=query.end)


class AnalyticsStatusCounts(Response):
    """Current status of the events created in the window."""

    pending: int = Field(ge=0)
    acknowledged: int = Field(ge=0)
    removed: int = Field(ge=0, description="Deleted or expired since.")


class AnalyticsDeliveryCounts(Response):
    """Webhook deliveries that ended in the window (one per event and endpoint; tests and
    replays of no stored event are not counted)."""

    succeeded: int = Field(ge=0, description="Delivered: the endpoint answered 2xx.")
    failed: int = Field(
        ge=0,
        description="Failed: every attempt failed, the endpoint answered 410, or it was "
        "paused, disabled or deleted before the delivery.",
    )


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
