"""The event model and the validation of what clients send to create one."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
)
from pydantic_core import PydanticCustomError

NAME_PATTERN = re.compile(r"^[A-Za-z0-9._:/-]{1,128}$")
EVENT_ID_PATTERN = re.compile(r"^evt_[0-9A-HJKMNP-TV-Z]{26}$")
PRIORITIES = ("low", "normal", "high")
DEFAULT_PRIORITY = "normal"
MAX_METADATA_KEYS = 20
MAX_METADATA_KEY_CHARS = 128
MAX_METADATA_VALUE_CHARS = 256
MAX_IDEMPOTENCY_KEY_CHARS = 255
STATUS_PENDING = "pending"
STATUS_ACKNOWLEDGED = "acknowledged"


class EventValidationError(Exception):
    """Raised with a list of ``{"field", "message"}`` details."""

    def __init__(self, details: list[dict[str, str]]) -> None:
        self.details = details
        super().__init__("; ".join(f"{d['field']}: {d['message']}" for d in details))


class PayloadTooLargeError(Exception):
    def __init__(self, size: int, limit: int) -> None:
        self.size, self.limit = size, limit
        super().__init__(f"payload is {size} bytes serialized; the limit is {limit}")


@dataclass(frozen=True)
class EventDraft:
    """A validated create request: what becomes an event."""

    source: str
    event_type: str
    payload_json: str  # canonical serialization, stored as is
    metadata: dict[str, str]
    idempotency_key: str | None

    def fingerprint_material(self) -> dict[str, Any]:
        """What the idempotency hash covers: the request minus the key itself."""
        return {
            "source": self.source,
            "event_type": self.event_type,
            "payload": self.payload_json,
            "metadata": self.metadata,
        }


@dataclass(frozen=True)
class Event:
    event_id: str
    tenant_id: str
    source: str
    event_type: str
    payload_json: str
    metadata: dict[str, str]
    status: str
    created_at: str
    acknowledged_at: str | None
    idempotency_key: str | None

    @property
    def priority(self) -> str:
        return self.metadata.get("priority", DEFAULT_PRIORITY)

    def to_public(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "source": self.source,
            "event_type": self.event_type,
            "payload": json.loads(self.payload_json),
            "metadata": dict(self.metadata),
            "status": self.status,
            "created_at": self.created_at,
            "acknowledged_at": self.acknowledged_at,
            "idempotency_key": self.idempotency_key,
        }


def canonical_json(value: Any) -> str:
    return json.dumps(
        value, separators=(",", ":"), sort_keys=True, ensure_ascii=False, allow_nan=False
    )


Name = Annotated[
    str,
    Field(
        min_length=1,
        max_length=128,
        pattern=NAME_PATTERN.pattern,
        description="1-128 characters of letters, digits and `._:/-`.",
    ),
]
Priority = Literal["low", "normal", "high"]
_NAME_MESSAGE = "must be 1-128 characters of letters, digits and ._:/-"


def details_error(details: list[dict[str, str]]) -> PydanticCustomError:
    """A pydantic error that carries contract details as they are (see :func:`event_details`)."""
    return PydanticCustomError("contract_details", "{details}", {"details": details})


def _metadata_schema(schema: dict[str, Any]) -> None:
    schema["properties"] = {
        "priority": {"type": "string", "enum": list(PRIORITIES), "default": DEFAULT_PRIORITY}
    }


def _check_metadata(value: Any, handler: ValidatorFunctionWrapHandler) -> dict[str, str]:
    """The metadata rules pydantic has no words for (the limit counts the default priority,
    printable keys, one detail per bad key); the handler is not called: this is the check."""
    if value is None:
        return {"priority": DEFAULT_PRIORITY}
    if not isinstance(value, dict):
        raise details_error(
            [{"field": "metadata", "message": "must be an object of string values"}]
        )
    # The limit counts what is stored: the default `priority` is added when not given.
    if len(value) + (0 if "priority" in value else 1) > MAX_METADATA_KEYS:
        message = f"must have at most {MAX_METADATA_KEYS} keys, counting priority"
        raise details_error([{"field": "metadata", "message": message}])
    details: list[dict[str, str]] = []
    out: dict[str, str] = {}
    for key, item in value.items():
        where = f"metadata.{key}"
        if not key or len(key) > MAX_METADATA_KEY_CHARS or not key.isprintable():
            details.append({"field": where, "message": "keys are 1-128 printable characters"})
        elif not isinstance(item, str):
            details.append({"field": where, "message": "must be a string"})
        elif len(item) > MAX_METADATA_VALUE_CHARS:
            message = f"must be at most {MAX_METADATA_VALUE_CHARS} chars"
            details.append({"field": where, "message": message})
        else:
            out[key] = item
    if out.setdefault("priority", DEFAULT_PRIORITY) not in PRIORITIES:
        details.append({"field": "metadata.priority", "message": "must be low, normal or high"})
    if details:
        raise details_error(details)
    return out


Metadata = Annotated[
    dict[str, Annotated[str, Field(max_length=MAX_METADATA_VALUE_CHARS)]],
    Field(
        max_length=MAX_METADATA_KEYS,
        description=(
            "Flat string values (at most 256 characters each). `priority` is `low`, `normal` "
            "(default) or `high`. At most 20 keys as stored: the default `priority` counts, so "
            "at most 19 other keys when `priority` is not given."
        ),
        json_schema_extra=_metadata_schema,
    ),
    WrapValidator(_check_metadata),
]


IDEMPOTENCY_KEY_PATTERN = r"^[\x20-\x7E]{1,255}$"
# Named types the OpenAPI document gives the `Idempotency-Key` header and `{event_id}` paths.
IdempotencyKey = Annotated[
    str,
    Field(min_length=1, max_length=MAX_IDEMPOTENCY_KEY_CHARS, pattern=IDEMPOTENCY_KEY_PATTERN),
]
EventId = Annotated[str, Field(pattern=EVENT_ID_PATTERN.pattern)]


def _key_problem(key: str) -> str | None:
    if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY_CHARS or not key.isprintable():
        return "must be 1-255 printable characters"
    if not key.isascii():
        # HTTP header values are bytes (servers decode them as Latin-1, API Gateway as UTF-8):
        # only ASCII reads back the same everywhere, so the header and the field allow only it.
        return "must be printable ASCII (U+0020-U+007E)"
    return None


class EventCreate(BaseModel):
    """The body of `POST /v1/events`, and each item of a bulk create."""

    # Validate with parse_event_create: it turns pydantic's errors into the contract's details.

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    source: Name
    event_type: Name
    payload: dict[str, Any] = Field(
        description="Any JSON object, at most 256 KiB serialized (413 above)."
    )
    metadata: Metadata = Field(default_factory=lambda: {"priority": DEFAULT_PRIORITY})
    idempotency_key: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_IDEMPOTENCY_KEY_CHARS,
        pattern=IDEMPOTENCY_KEY_PATTERN,
        description="Same as the `Idempotency-Key` header: 1-255 printable ASCII characters.",
        validate_default=True,
    )

    @field_validator("idempotency_key", mode="wrap")
    @classmethod
    def _one_key(
        cls, value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo
    ) -> str | None:
        """The body's key or the ``Idempotency-Key`` header (``context["header_key"]``), equal
        if both are given; checked by hand so that the messages stay the contract's."""
        header_key = (info.context or {}).get("header_key")
        if value is not None and not isinstance(value, str):
            raise details_error([{"field": "idempotency_key", "message": "must be a string"}])
        if value is not None and header_key is not None and value != header_key:
            message = "differs from the Idempotency-Key header; send one or make them equal"
            raise details_error([{"field": "idempotency_key", "message": message}])
        key: str | None = header_key if header_key is not None else value
        if key is None:
            return None
        problem = _key_problem(key)
        if problem is not None:
            raise details_error([{"field": "idempotency_key", "message": problem}])
        return key


# What pydantic's error types mean in the contract's words, per top-level field.
_REQUIRED = "is required"
_MESSAGES: dict[str, dict[str, str]] = {
    "source": {"missing": _REQUIRED, "": _NAME_MESSAGE},
    "event_type": {"missing": _REQUIRED, "": _NAME_MESSAGE},
    "payload": {"missing": _REQUIRED, "": "must be a JSON object"},
}


def event_details(exc: ValidationError) -> list[dict[str, str]]:
    """Pydantic's errors as the contract's ``{"field", "message"}`` details: unknown fields
    first (sorted), then the fields in the order of the model, as the hand-written check had."""
    unknown: list[str] = []
    details: list[dict[str, str]] = []
    for error in exc.errors(include_url=False):
        kind, loc = error["type"], error["loc"]
        field = str(loc[0]) if loc else "body"
        if kind == "contract_details":
            details.extend(error["ctx"]["details"])
        elif kind == "extra_forbidden":
            unknown.append(field)
        elif kind == "model_type" and not loc:
            details.append({"field": "body", "message": "must be a JSON object"})
        else:
            by_kind = _MESSAGES.get(field, {})
            missing = kind == "missing" or error.get("input", ...) is None
            message = by_kind.get("missing" if missing else kind) or by_kind.get("")
            details.append({"field": field, "message": message or error["msg"]})
    return [
        {"field": name, "message": "is not a known field"} for name in sorted(unknown)
    ] + details


def parse_event_create(
    body: Any, *, header_idempotency_key: str | None = None, max_payload_bytes: int = 256 * 1024
) -> EventDraft:
    """Validate a create request body (already parsed, strict JSON) with :class:`EventCreate`;
    raise :class:`EventValidationError` or :class:`PayloadTooLargeError`."""
    try:
        request = EventCreate.model_validate(body, context={"header_key": header_idempotency_key})
    except ValidationError as exc:
        raise EventValidationError(event_details(exc)) from None
    payload_json = canonical_json(request.payload)
    size = len(payload_json.encode())
    if size > max_payload_bytes:
        raise PayloadTooLargeError(size, max_payload_bytes)
    return EventDraft(
        request.source, request.event_type, payload_json, request.metadata, request.idempotency_key
    )


def is_event_id(value: str) -> bool:
    return bool(EVENT_ID_PATTERN.match(value))
