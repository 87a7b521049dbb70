"""What the JSON body models share: the strict base model, and pydantic's errors in the
contract's ``{field, message}`` words (one 400 listing every field that is wrong)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from chalicelib import errors


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class FieldProblem(ValueError):
    """A problem that names its own field (a list entry, say, not the list)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "body"


def body_details(exc: ValidationError, messages: Mapping[str, str]) -> list[dict[str, str]]:
    """Pydantic's errors in the contract's words: ``messages`` by top-level field."""
    details = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, FieldProblem):
            details.append({"field": cause.field, "message": cause.message})
        elif error["type"] == "extra_forbidden":
            details.append({"field": location(loc), "message": "is not a known field"})
        elif error["type"] == "missing":
            details.append({"field": location(loc), "message": "is required"})
        elif not loc:
            details.append({"field": "body", "message": "must be a JSON object"})
        else:
            top = str(loc[0])
            details.append({"field": location(loc), "message": messages.get(top, error["msg"])})
    return details


Model = TypeVar("Model", bound=Body)


def validate_body(model: type[Model], body: Any, messages: Mapping[str, str]) -> Model:
    """``body`` (``None``: an empty object) as ``model``, or a 400 naming every field wrong."""
    try:
        return model.model_validate({} if body is None else body)
    except ValidationError as exc:
        details = body_details(exc, messages)
        raise errors.ValidationError("The request body is not valid.", details=details) from None
