"""The webhook routes' bodies, queries and answers (`/v1/webhooks`).

A webhook's secret appears only in the answers of create and rotate-secret; listing and reading
never show it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from chalicelib import errors
from chalicelib.api.models.api_keys import LIST_MESSAGES
from chalicelib.api.models.bodies import Body, Model, validate_body
from chalicelib.api.models.query import EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, parse_query
from chalicelib.api.models.responses import Response
from chalicelib.domain.clock import format_ts, parse_ts
from chalicelib.domain.webhooks import (
    DEFAULT_SECRET_GRACE_SECONDS,
    DELIVERY_ID_PATTERN,
    MAX_DESCRIPTION_CHARS,
    MAX_FILTERS,
    MAX_RATE_LIMIT_PER_SECOND,
    MAX_SECRET_GRACE_SECONDS,
    MAX_URL_CHARS,
    WEBHOOK_ID_PATTERN,
    Attempt,
    Delivery,
    Webhook,
    valid_filter,
)
from chalicelib.services.webhooks import IssuedWebhook, ReplayResult, WebhookSpec

DEFAULT_LIST_LIMIT = 20
MAX_LIST_LIMIT = 100
WebhookId = Annotated[str, Field(pattern=WEBHOOK_ID_PATTERN.pattern)]
DeliveryId = Annotated[str, Field(pattern=DELIVERY_ID_PATTERN.pattern)]


def _filter(value: str) -> str:
    if not valid_filter(value):
        raise ValueError("not a name or prefix pattern")
    return value


def _printable(value: str) -> str:
    if value and not value.isprintable():
        raise ValueError("not printable")
    return value


Filter = Annotated[
    str,
    Field(
        min_length=1,
        max_length=128,
        description="An exact name (letters, digits and ._:/-) or a prefix ending in `*` "
        "(`invoice.*`).",
    ),
    AfterValidator(_filter),
]
Filters = Annotated[list[Filter], Field(max_length=MAX_FILTERS)]
Url = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_URL_CHARS,
        description="An http or https URL. Private, loopback and unique-local targets are refused "
        "except on the local stage; link-local and metadata addresses always.",
        json_schema_extra={"format": "uri"},
    ),
]
Description = Annotated[str, Field(max_length=MAX_DESCRIPTION_CHARS), AfterValidator(_printable)]
RatePerSecond = Annotated[
    int,
    Field(
        ge=1,
        le=MAX_RATE_LIMIT_PER_SECOND,
        description="Deliveries per second this endpoint receives at most; over it they wait "
        "(they do not fail). Null: no limit.",
    ),
]
Status = Literal["active", "paused", "disabled"]


class WebhookCreate(Body):
    """`POST /v1/webhooks`."""

    url: Url
    event_types: Filters = Field(default_factory=list, description="Empty: every event type.")
    sources: Filters = Field(default_factory=list, description="Empty: every source.")
    description: Description = ""
    rate_limit_per_second: RatePerSecond | None = None


class WebhookUpdate(Body):
    """`PATCH /v1/webhooks/{webhook_id}`: the fields given change. `status: active`
    re-enables a paused or disabled endpoint."""

    url: Url | None = None
    event_types: Filters | None = None
    sources: Filters | None = None
    description: Description | None = None
    status: Status | None = None
    rate_limit_per_second: RatePerSecond | None = None


class WebhookRotate(Body):
    """`POST /v1/webhooks/{webhook_id}/rotate-secret`."""

    grace_period_seconds: int = Field(
        default=DEFAULT_SECRET_GRACE_SECONDS,
        ge=0,
        le=MAX_SECRET_GRACE_SECONDS,
        description="How long the previous secret keeps signing beside the new one "
        "(0 to 7 days; default 24 h).",
    )


class WebhookReplay(Body):
    """`POST /v1/webhooks/{webhook_id}/replay`."""

    since: str = Field(
        description="Events created at or after this instant (RFC 3339).",
        json_schema_extra={"format": "date-time"},
    )
    until: str | None = Field(
        default=None,
        description="Events created at or before this instant (RFC 3339); default now.",
        json_schema_extra={"format": "date-time"},
    )


class WebhookListQuery(BaseModel):
    """Query parameters of `GET /v1/webhooks`."""

    model_config = ConfigDict(frozen=True)

    limit: Annotated[int, Field(ge=1, le=MAX_LIST_LIMIT)] = DEFAULT_LIST_LIMIT
    cursor: str | None = Field(
        default=None,
        pattern=WEBHOOK_ID_PATTERN.pattern,
        description="`next_cursor` of the last page.",
    )


class DeliveryListQuery(BaseModel):
    """Query parameters of `GET /v1/webhooks/{webhook_id}/deliveries`."""

    model_config = ConfigDict(frozen=True)

    status: Literal["pending", "succeeded", "failed"] | None = None
    limit: Annotated[int, Field(ge=1, le=MAX_LIST_LIMIT)] = DEFAULT_LIST_LIMIT
    cursor: str | None = Field(
        default=None,
        pattern=DELIVERY_ID_PATTERN.pattern,
        description="`next_cursor` of the last page.",
    )


# -- parsing -----------------------------------------------------------------------------------
_MESSAGES = {
    "url": f"must be an http or https URL of at most {MAX_URL_CHARS} characters",
    "event_types": f"must be a list of at most {MAX_FILTERS} names or prefix patterns (x.*)",
    "sources": f"must be a list of at most {MAX_FILTERS} names or prefix patterns (x.*)",
    "description": f"must be at most {MAX_DESCRIPTION_CHARS} printable characters",
    "status": "must be active, paused or disabled",
    "rate_limit_per_second": f"must be a whole number from 1 to {MAX_RATE_LIMIT_PER_SECOND}, "
    "or null",
    "grace_period_seconds": f"must be a whole number of seconds from 0 to "
    f"{MAX_SECRET_GRACE_SECONDS}",
    "since": "must be an RFC 3339 timestamp",
    "until": "must be an RFC 3339 timestamp",
}


def _validate(model: type[Model], body: Any) -> Model:
    return validate_body(model, body, _MESSAGES)


def parse_webhook_create(body: Any) -> WebhookSpec:
    request: WebhookCreate = _validate(WebhookCreate, body)
    return WebhookSpec(
        url=request.url,
        event_types=tuple(dict.fromkeys(request.event_types)),
        sources=tuple(dict.fromkeys(request.sources)),
        description=request.description,
        rate_limit_per_second=request.rate_limit_per_second,
    )


def parse_webhook_update(body: Any) -> dict[str, Any]:
    """The changes as ``{field: value}`` (tuples for the filter lists)."""
    request: WebhookUpdate = _validate(WebhookUpdate, body)
    given = request.model_fields_set
    if not given:
        raise errors.invalid_field("body", "must change at least one field")
    changes: dict[str, Any] = {}
    for name in given:
        value = getattr(request, name)
        if value is None and name != "rate_limit_per_second":
            raise errors.invalid_field(name, _MESSAGES[name])
        changes[name] = tuple(dict.fromkeys(value)) if isinstance(value, list) else value
    return changes


def parse_webhook_rotate(body: Any) -> int:
    request: WebhookRotate = _validate(WebhookRotate, body)
    return request.grace_period_seconds


def _instant(name: str, value: str) -> float:
    """An RFC 3339 instant the events' timestamps can hold: 1970 up to (not including) 9999;
    anything else is refused before it reaches a sort key."""
    try:
        seconds = parse_ts(value)
    except ValueError:
        raise errors.invalid_field(name, _MESSAGES[name]) from None
    if not EARLIEST_TIMESTAMP <= seconds < LATEST_TIMESTAMP:
        raise errors.invalid_field(name, "must be an RFC 3339 timestamp from 1970 to 9998")
    return seconds


def parse_webhook_replay(body: Any, now: float) -> tuple[float, float]:
    request: WebhookReplay = _validate(WebhookReplay, body)
    since = _instant("since", request.since)
    until = now if request.until is None else _instant("until", request.until)
    if since > now:  # first: without `until`, "until before since" names a field not sent
        raise errors.invalid_field("since", "must not be in the future")
    if since > until:
        raise errors.invalid_field("until", "must not be before since")
    return since, until


def parse_webhook_list(params: Mapping[str, str]) -> WebhookListQuery:
    return parse_query(WebhookListQuery, params, LIST_MESSAGES)


def parse_delivery_list(params: Mapping[str, str]) -> DeliveryListQuery:
    return parse_query(
        DeliveryListQuery,
        params,
        {"status": "must be pending, succeeded or failed", **LIST_MESSAGES},
    )


# -- answers -----------------------------------------------------------------------------------
Instant = Annotated[str, Field(json_schema_extra={"format": "date-time"})]


class WebhookOut(Response):
    webhook_id: str = Field(pattern=WEBHOOK_ID_PATTERN.pattern)
    url: str
    event_types: list[str]
    sources: list[str]
    description: str
    status: Status
    disabled_reason: str | None = Field(description="Why it was disabled; null otherwise.")
    rate_limit_per_second: int | None
    created_at: Instant
    updated_at: Instant


class WebhookIssued(WebhookOut):
    secret: str = Field(
        description="The signing secret (`whsec_` + base64 of 32 bytes): shown only here and "
        "by rotate-secret."
    )


class WebhookSecretRotated(Response):
    webhook_id: str
    secret: str = Field(description="The new signing secret; shown once.")
    previous_secret_expires_at: Instant | None = Field(
        description="Until when the previous secret signs beside the new one; null: it "
        "stopped at once."
    )


class WebhookList(Response):
    webhooks: list[WebhookOut]
    next_cursor: str | None = Field(description="Null on the last page.")


class DeliveryAttemptOut(Response):
    attempted_at: Instant
    status_code: int | None = Field(description="The endpoint's status; null: no answer.")
    latency_ms: float
    error: str | None = Field(
        description="Null on success; `http_status` for a non-2xx answer; else the network "
        "error class: timeout, connect, dns, tls, refused_target, protocol."
    )
    error_detail: str | None


class DeliveryOut(Response):
    delivery_id: str = Field(
        description="Also the `webhook-id` header: the same on every attempt, so receivers "
        "can drop duplicates."
    )
    webhook_id: str
    event_id: str | None = Field(description="Null for a test delivery.")
    event_type: str
    kind: Literal["event", "replay", "test"]
    status: Literal["pending", "succeeded", "failed"]
    attempts: list[DeliveryAttemptOut]
    next_attempt_at: Instant | None
    failure_reason: str | None
    created_at: Instant
    updated_at: Instant


class DeliveryList(Response):
    deliveries: list[DeliveryOut] = Field(description="Newest first.")
    next_cursor: str | None = Field(description="Null on the last page.")


class ReplayAccepted(Response):
    queued: int = Field(description="How many deliveries were queued (one per matching event).")
    since: Instant
    until: Instant


def webhook_body(webhook: Webhook) -> dict[str, Any]:
    return {
        "webhook_id": webhook.webhook_id,
        "url": webhook.url,
        "event_types": list(webhook.event_types),
        "sources": list(webhook.sources),
        "description": webhook.description,
        "status": webhook.status,
        "disabled_reason": webhook.disabled_reason,
        "rate_limit_per_second": webhook.rate_limit_per_second,
        "created_at": format_ts(webhook.created_at),
        "updated_at": format_ts(webhook.updated_at),
    }


def issued_body(issued: IssuedWebhook) -> dict[str, Any]:
    return {**webhook_body(issued.webhook), "secret": issued.secret}


def rotated_body(issued: IssuedWebhook) -> dict[str, Any]:
    expires = issued.previous_secret_expires_at
    return {
        "webhook_id": issued.webhook.webhook_id,
        "secret": issued.secret,
        "previous_secret_expires_at": None if expires is None else format_ts(expires),
    }


def _attempt_body(attempt: Attempt) -> dict[str, Any]:
    return {
        "attempted_at": format_ts(attempt.attempted_at),
        "status_code": attempt.status_code,
        "latency_ms": attempt.latency_ms,
        "error": attempt.error,
        "error_detail": attempt.error_detail,
    }


def delivery_body(delivery: Delivery) -> dict[str, Any]:
    return {
        "delivery_id": delivery.delivery_id,
        "webhook_id": delivery.webhook_id,
        "event_id": delivery.event_id or None,
        "event_type": delivery.event_type,
        "kind": delivery.kind,
        "status": delivery.status,
        "attempts": [_attempt_body(a) for a in delivery.attempts],
        "next_attempt_at": (
            None if delivery.next_attempt_at is None else format_ts(delivery.next_attempt_at)
        ),
        "failure_reason": delivery.failure_reason,
        "created_at": format_ts(delivery.created_at),
        "updated_at": format_ts(delivery.updated_at),
    }


def replay_body(result: ReplayResult, since: float, until: float) -> dict[str, Any]:
    return {"queued": result.queued, "since": format_ts(since), "until": format_ts(until)}
