"""The query of ``GET /v1/inbox``: one model, parsed at the edge into an :class:`InboxRequest`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from chalicelib.api.models.query import Timestamp, first_error, param_details, unsupported
from chalicelib.domain.clock import format_ts
from chalicelib.domain.events import (
    MAX_METADATA_KEY_CHARS,
    MAX_METADATA_KEYS,
    MAX_METADATA_VALUE_CHARS,
    PRIORITIES,
    Name,
    Priority,
)
from chalicelib.domain.inbox import InboxFilters
from chalicelib.services.inbox import DEFAULT_LIMIT, MAX_LIMIT, InboxRequest

METADATA_PARAM_PREFIX = "metadata."
_NAME_MESSAGE = "must be 1-128 characters of letters, digits and ._:/-"
_MESSAGES = {
    "limit": f"must be an integer from 1 to {MAX_LIMIT}",
    "cursor": "must not be empty",
    "source": _NAME_MESSAGE,
    "event_type": _NAME_MESSAGE,
    "created_after": "must be an RFC 3339 timestamp",
    "created_before": "must be an RFC 3339 timestamp",
    "priority": "must be one of " + ", ".join(PRIORITIES),
}
_METADATA_VALUE_MESSAGE = f"must be at most {MAX_METADATA_VALUE_CHARS} printable characters"


def _digits(value: Any) -> Any:
    """Digits only (no sign, no spaces, no underscores: what ``int()`` would also take)."""
    if not isinstance(value, str):
        return value
    try:
        if value.isdigit():
            return int(value)
    except ValueError:
        pass
    raise PydanticCustomError("digits", "must be decimal digits")


def _floor_ms(seconds: float) -> float:
    return int(seconds * 1000) / 1000


def _ceil_ms(seconds: float) -> float:
    ms = seconds * 1000
    return (int(ms) + (0 if ms == int(ms) else 1)) / 1000


class InboxQuery(BaseModel):
    """Query parameters of `GET /v1/inbox`; `metadata.<key>` parameters are the extras."""

    model_config = ConfigDict(extra="allow", frozen=True)
    # The length is checked by _metadata (key first, then value, as the contract words it); the
    # schema only documents it.
    __pydantic_extra__: dict[
        str,
        Annotated[str, WithJsonSchema({"type": "string", "maxLength": MAX_METADATA_VALUE_CHARS})],
    ]

    limit: Annotated[int, Field(ge=1, le=MAX_LIMIT), BeforeValidator(_digits)] = DEFAULT_LIMIT
    source: Name | None = None
    event_type: Name | None = None
    created_after: Timestamp | None = None
    created_before: Timestamp | None = None
    cursor: str | None = Field(default=None, min_length=1)
    priority: Priority | None = None

    @model_validator(mode="before")
    @classmethod
    def _known(cls, params: Any) -> Any:
        if isinstance(params, Mapping):
            unsupported(params, frozenset(cls.model_fields), METADATA_PARAM_PREFIX)
        return params

    @field_validator("created_before")
    @classmethod
    def _after_before(cls, before: float | None, info: ValidationInfo) -> float | None:
        after = info.data.get("created_after")
        if after is not None and before is not None and not after < before:
            raise param_details("created_after", "must be earlier than created_before")
        return before

    @model_validator(mode="after")
    def _metadata(self) -> InboxQuery:
        for name, value in (self.model_extra or {}).items():
            key = name[len(METADATA_PARAM_PREFIX) :]
            if not key or len(key) > MAX_METADATA_KEY_CHARS or not key.isprintable():
                message = f"needs a metadata key of 1-{MAX_METADATA_KEY_CHARS} characters"
                raise param_details(name, message)
            if len(value) > MAX_METADATA_VALUE_CHARS or not value.isprintable():
                raise param_details(name, _METADATA_VALUE_MESSAGE)
        if len(self.model_extra or {}) > MAX_METADATA_KEYS:
            raise param_details("metadata", f"at most {MAX_METADATA_KEYS} metadata filters")
        return self

    def to_request(self) -> InboxRequest:
        metadata = tuple(
            sorted(
                (name[len(METADATA_PARAM_PREFIX) :], value)
                for name, value in (self.model_extra or {}).items()
            )
        )
        after, before = self.created_after, self.created_before
        filters = InboxFilters(
            source=self.source,
            event_type=self.event_type,
            # Event times have millisecond resolution: "after x" is "after floor(x)", and
            # "before x" is "before ceil(x)".
            created_after=format_ts(_floor_ms(after)) if after is not None else None,
            created_before=format_ts(_ceil_ms(before)) if before is not None else None,
            priority=self.priority,
            metadata=metadata,
        )
        return InboxRequest(filters, self.limit, self.cursor)


def parse_inbox_query(params: Mapping[str, str]) -> InboxRequest:
    """Validate the query string of GET /v1/inbox; the 400 names the first wrong parameter."""
    try:
        return InboxQuery.model_validate(params).to_request()
    except ValidationError as exc:
        raise first_error(exc, _MESSAGES, _METADATA_VALUE_MESSAGE) from None
