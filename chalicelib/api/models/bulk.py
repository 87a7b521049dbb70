"""Bulk request bodies and results.

A bulk body is parsed in one step, like any other: the shape (an object with exactly the list
field, 1-25 entries) is the whole request's 400; each entry becomes a parse *outcome*, a draft
(or an id) or an :class:`~chalicelib.services.bulk.ItemError`, so a bad item fails alone and the
service never sees raw JSON.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, ValidationError, ValidationInfo

from chalicelib import errors
from chalicelib.api.models.responses import ErrorDetail, Event, Response
from chalicelib.domain.events import (
    EventCreate,
    EventDraft,
    EventValidationError,
    PayloadTooLargeError,
    parse_event_create,
)
from chalicelib.services.bulk import MAX_BULK_ITEMS, ItemError


def _event_item(value: Any, info: ValidationInfo) -> EventDraft | ItemError:
    try:
        return parse_event_create(value, max_payload_bytes=(info.context or {})["max_payload"])
    except EventValidationError as exc:
        return ItemError("validation_error", "The event is not valid.", exc.details)
    except PayloadTooLargeError as exc:
        message = f"The payload is {exc.size} bytes serialized; the limit is {exc.limit}."
        return ItemError("payload_too_large", message)


def _id_item(value: Any) -> str | ItemError:
    if not isinstance(value, str) or not value:
        return ItemError("validation_error", "An event id must be a string.")
    return value


EventItem = Annotated[
    EventDraft | ItemError, PlainValidator(_event_item, json_schema_input_type=EventCreate)
]
EventIdItem = Annotated[
    str | ItemError,
    PlainValidator(
        _id_item,
        json_schema_input_type=Annotated[
            str, Field(json_schema_extra={"example": "evt_01JD8X3M5X7Q4W2N6B1C9D0E2F"})
        ],
    ),
]


class BulkBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class BulkCreateRequest(BulkBody):
    items: list[EventItem] = Field(min_length=1, max_length=MAX_BULK_ITEMS)


class BulkEventIds(BulkBody):
    event_ids: list[EventIdItem] = Field(
        min_length=1,
        max_length=MAX_BULK_ITEMS,
        description=(
            "Event ids; a duplicate id is processed once, at its first index, and later copies "
            "fail with `validation_error`."
        ),
    )


def _shape_error(exc: ValidationError, list_field: str) -> errors.ValidationError:
    """The first shape problem, in the contract's words: not an object, an unknown field, the
    list missing or not an array, or a length outside 1-25."""
    problems = exc.errors(include_url=False)
    for error in problems:
        if not error["loc"]:
            return errors.invalid_field("body", "must be a JSON object")
    unknown = sorted(str(e["loc"][0]) for e in problems if e["type"] == "extra_forbidden")
    if unknown:
        return errors.invalid_field(
            unknown[0], f"is not a known field (send {{{list_field!r}: [...]}})"
        )
    error = problems[0]
    if error["type"] in ("too_short", "too_long"):
        got = len(error["input"])
        return errors.invalid_field(
            list_field, f"must have 1 to {MAX_BULK_ITEMS} entries, got {got}"
        )
    return errors.invalid_field(list_field, "is required and must be an array")


def parse_bulk_create(body: Any, max_payload_bytes: int) -> list[EventDraft | ItemError]:
    """``POST /v1/events/bulk``: one outcome per item, in order; a wrong shape is a 400."""
    try:
        request = BulkCreateRequest.model_validate(body, context={"max_payload": max_payload_bytes})
    except ValidationError as exc:
        raise _shape_error(exc, "items") from None
    return request.items


def parse_bulk_ids(body: Any) -> list[str | ItemError]:
    """``POST /v1/events/bulk/ack`` and ``DELETE /v1/events/bulk``: one outcome per id."""
    try:
        request = BulkEventIds.model_validate(body)
    except ValidationError as exc:
        raise _shape_error(exc, "event_ids") from None
    return request.event_ids


# -- results ------------------------------------------------------------------------------------
class BulkItemError(Response):
    code: Literal[
        "validation_error",
        "payload_too_large",
        "idempotency_conflict",
        "not_found",
        "already_acknowledged",
        "service_unavailable",
    ]
    message: str
    details: list[ErrorDetail]


class BulkItemFailure(Response):
    index: int = Field(ge=0)
    error: BulkItemError


class BulkCreated(Response):
    index: int = Field(ge=0)
    event: Event
    replayed: bool = Field(
        description="True when an earlier request with the same idempotency key created the event."
    )


class BulkAcked(Response):
    index: int = Field(ge=0)
    event: Event


class BulkDeleted(Response):
    index: int = Field(ge=0)
    event_id: str


class BulkCreateResult(Response):
    """Per-item results of a bulk create."""

    successful: list[BulkCreated]
    failed: list[BulkItemFailure]
    request_id: str


class BulkAckResult(Response):
    """Per-item results of a bulk acknowledge."""

    successful: list[BulkAcked]
    failed: list[BulkItemFailure]
    request_id: str


class BulkDeleteResult(Response):
    """Per-item results of a bulk delete."""

    successful: list[BulkDeleted]
    failed: list[BulkItemFailure]
    request_id: str
