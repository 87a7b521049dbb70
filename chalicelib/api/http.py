"""Request parsing and response shaping shared by the blueprints."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from chalice.app import Request, Response

from chalicelib import errors

JSON_TYPES = ("application/json",)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        body=json.dumps(body, separators=(",", ":"), ensure_ascii=False),
        status_code=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def empty_response(status: int = 204) -> Response:
    return Response(body="", status_code=status, headers={})


def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media in JSON_TYPES or (media.startswith("application/") and media.endswith("+json"))


def read_json_body(request: Request, max_bytes: int, required: bool = True) -> Any:
    """The parsed JSON body; 415 if it is not JSON, 413 if too large, 400 if malformed."""
    raw = request.raw_body or b""
    if not raw:
        if required:
            raise errors.ValidationError(
                "A JSON request body is required.",
                details=[{"field": "body", "message": "is required"}],
            )
        return None
    if not _is_json(request.headers.get("content-type")):
        raise errors.UnsupportedMediaType()
    if len(raw) > max_bytes:
        raise errors.PayloadTooLarge(f"The request body is over {max_bytes} bytes.")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise errors.InvalidJson(f"The request body is not valid JSON: {exc}") from exc


def path_param(value: str) -> str:
    """Chalice does not URL-decode path parameters."""
    return unquote(value)


def query_params(request: Request) -> dict[str, str]:
    """Single-valued query parameters; a repeated parameter is a validation error."""
    multi = request.query_params
    if multi is None:
        return {}
    out: dict[str, str] = {}
    for name in multi:
        values = multi.getlist(name)
        if len(values) != 1:
            raise errors.ValidationError(
                f"Query parameter {name!r} is given more than once.",
                details=[{"field": name, "message": "is given more than once"}],
            )
        out[name] = values[0]
    return out
