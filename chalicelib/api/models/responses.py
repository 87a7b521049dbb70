"""Public response shapes: an event, an inbox page, health and the error envelope.

The views build these bodies as plain dicts (no model on the hot path); the models are the
contract the OpenAPI document is generated from, and tests validate real responses with them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.domain.events import EVENT_ID_PATTERN, Metadata, Name

ErrorCode = Literal[
    "validation_error",
    "invalid_json",
    "unauthorized",
    "signature_invalid",
    "signature_expired",
    "ip_not_allowed",
    "forbidden",
    "not_found",
    "method_not_allowed",
    "already_acknowledged",
    "idempotency_conflict",
    "conflict",
    "payload_too_large",
    "unsupported_media_type",
    "rate_limited",
    "service_unavailable",
    "internal_error",
]
CheckStatus = Literal["ok", "unavailable"]


class Response(BaseModel):
    """A body the API sends: every field listed, nothing else."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Event(Response):
    event_id: str = Field(
        pattern=EVENT_ID_PATTERN.pattern,
        description="`evt_` + a ULID: ids sort in creation order.",
    )
    source: Name
    event_type: Name
    payload: dict[str, Any]
    metadata: Metadata
    status: Literal["pending", "acknowledged"]
    created_at: str = Field(
        json_schema_extra={"format": "date-time", "example": "2026-11-22T10:00:00.123Z"}
    )
    acknowledged_at: str | None = Field(json_schema_extra={"format": "date-time"})
    idempotency_key: str | None


class InboxPage(Response):
    events: list[Event]
    next_cursor: str | None = Field(description="Null on the last page.")


class HealthChecks(Response):
    dynamodb: CheckStatus


class Health(Response):
    status: CheckStatus
    version: str
    checks: HealthChecks


class ErrorDetail(Response):
    field: str = Field(
        description="The body field (`metadata.priority`), query parameter or `body`."
    )
    message: str


class ErrorBody(Response):
    code: ErrorCode = Field(description="Stable, machine-readable; see docs/ERRORS.md.")
    message: str = Field(description="For humans; may change.")
    details: list[ErrorDetail]


class ErrorEnvelope(Response):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "error": {
                    "code": "validation_error",
                    "message": "The event is not valid.",
                    "details": [{"field": "source", "message": "is required"}],
                },
                "request_id": "req_5f0c8e1d2a3b4c5d6e7f8091",
            }
        }
    )

    error: ErrorBody
    request_id: str
