"""What query-string models share: parameter values that are timestamps, and pydantic's first
error in the contract's words (a query's 400 names one parameter, the first one wrong)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, Field, PlainValidator, ValidationError
from pydantic_core import PydanticCustomError

from chalicelib import errors
from chalicelib.domain.clock import parse_ts

# Timestamps the API can store and format (fixed-width RFC 3339, so string order is time order,
# with room for a window to be widened by a day): 1970-01-01 up to, not including, 9999-01-01.
EARLIEST_TIMESTAMP = 0.0
LATEST_TIMESTAMP = 253_370_764_800.0


def _timestamp(value: Any) -> float:
    try:
        seconds = parse_ts(value)
    except (TypeError, ValueError):
        raise PydanticCustomError("timestamp", "must be an RFC 3339 timestamp") from None
    if not EARLIEST_TIMESTAMP <= seconds < LATEST_TIMESTAMP:
        raise PydanticCustomError("timestamp", "must be an RFC 3339 timestamp from 1970 to 9998")
    return seconds


# A query parameter in RFC 3339, validated into epoch seconds.
Timestamp = Annotated[
    float,
    PlainValidator(
        _timestamp,
        json_schema_input_type=Annotated[str, Field(json_schema_extra={"format": "date-time"})],
    ),
]


def unsupported(params: Mapping[str, Any], known: frozenset[str], prefix: str = "") -> None:
    """Refuse the first parameter the query does not take (before any value is checked)."""
    for name in params:
        if name not in known and not (prefix and name.startswith(prefix)):
            raise errors.invalid_parameter(name, "is not a supported parameter")


def param_details(field: str, message: str) -> PydanticCustomError:
    """A check that names a parameter other than the field it runs on."""
    return PydanticCustomError("param", "{message}", {"field": field, "message": message})


def first_error(
    exc: ValidationError, messages: Mapping[str, str], other: str | None = None
) -> errors.ValidationError:
    """The first problem, as the contract words it for that parameter (``messages``; ``other``
    for any parameter not listed), or as the check that raised it (:func:`param_details`)."""
    error = exc.errors(include_url=False)[0]
    if error["type"] == "param":
        return errors.invalid_parameter(error["ctx"]["field"], error["ctx"]["message"])
    name = str(error["loc"][0]) if error["loc"] else "query"
    return errors.invalid_parameter(name, messages.get(name) or other or error["msg"])


Query = TypeVar("Query", bound=BaseModel)


def parse_query(
    model: type[Query], params: Mapping[str, str], messages: Mapping[str, str]
) -> Query:
    """A query string as ``model``: an unknown parameter first, then the first bad value, in
    the contract's words (``messages``)."""
    unsupported(params, frozenset(model.model_fields))
    try:
        return model.model_validate(params)
    except ValidationError as exc:
        raise first_error(exc, messages) from None
