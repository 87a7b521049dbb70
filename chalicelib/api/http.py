"""Request parsing and response shaping shared by the blueprints."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, unquote

from chalice.app import Request, Response

from chalicelib import errors
from chalicelib.domain.request_signing import canonical_target

JSON_TYPES = ("application/json",)

# What a request body may hold beyond RFC 8259 syntax (docs/API.md, "Request bodies"): every
# value must survive a strict parser (JavaScript's JSON.parse) and UTF-8 unchanged.
MAX_JSON_DEPTH = 100  # nesting levels of the whole body; deeper: 400, never a RecursionError
MAX_NUMBER_CHARS = 400  # longer number literals cannot be a finite double: refused unparsed
_MAX_DOUBLE = sys.float_info.max


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        body=json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False),
        status_code=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


# A Chalice HTTP middleware: ``(request, get_response) -> response``. A middleware that raises
# gets a bare 500 from Chalice, so every one of ours *returns* its error as
# :func:`error_response`; only the outermost (api/middleware.py) catches what views raise.
Middleware = Callable[[Request, Callable[[Request], Response]], Response]


def error_response(exc: errors.ApiError, request_id: str) -> Response:
    """The contract's error envelope for ``exc``, with its status and headers."""
    return json_response(exc.body(request_id), exc.status, exc.headers)


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
    return parse_json(raw if isinstance(raw, bytes) else raw.encode("utf-8"))


class _Refused:
    """A value the parser met but the API does not take; :func:`_check` names where it is."""

    def __init__(self, message: str) -> None:
        self.message = message


class _Duplicates(dict[str, Any]):
    """An object that gave a key more than once (RFC 8259: names SHOULD be unique; parsers
    disagree on which value wins, so the API refuses to guess)."""

    def __init__(self, pairs: list[tuple[str, Any]], key: str) -> None:
        super().__init__(pairs)
        self.duplicate = key


_NOT_FINITE = "must be a finite number (NaN and Infinity are not JSON)"
_OUT_OF_RANGE = "is out of range: a number must fit in an IEEE 754 double"
_SURROGATE = "has an unpaired UTF-16 surrogate escape (\\ud800-\\udfff)"


def _constant(literal: str) -> _Refused:
    return _Refused(_NOT_FINITE)


def _number(literal: str, convert: Any) -> Any:
    if len(literal) > MAX_NUMBER_CHARS:
        return _Refused(_OUT_OF_RANGE)
    value = convert(literal)
    if isinstance(value, float) and not math.isfinite(value):
        return _Refused(_OUT_OF_RANGE)
    if isinstance(value, int) and abs(value) > _MAX_DOUBLE:
        return _Refused(_OUT_OF_RANGE)
    return value


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            return _Duplicates(pairs, key)
        seen.add(key)
    return obj  # not reached: a shorter dict means a repeated key


def _has_surrogate(text: str) -> bool:
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _name(key: str) -> str:
    """A key as it can appear in an error detail (valid UTF-8 even if the key is not)."""
    return key.encode("utf-8", "backslashreplace").decode("utf-8")


def _field(path: list[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{_name(part)}" if out else _name(part))
    return out or "body"


def _refuse(path: list[str | int], message: str) -> errors.ValidationError:
    field = _field(path)
    return errors.ValidationError(
        f"The request body is not acceptable JSON: {field} {message}.",
        details=[{"field": field, "message": message}],
    )


def _check(document: Any) -> None:
    """Walk the parsed body (iteratively: no recursion limit) and refuse the first value that
    strict JSON or UTF-8 cannot carry, naming its field."""
    stack: list[tuple[Any, list[str | int]]] = [(document, [])]
    while stack:
        value, path = stack.pop()
        if isinstance(value, _Refused):
            raise _refuse(path, value.message)
        if isinstance(value, str):
            if _has_surrogate(value):
                raise _refuse(path, _SURROGATE)
            continue
        if len(path) >= MAX_JSON_DEPTH and isinstance(value, dict | list):
            raise _refuse([], f"nests deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(value, _Duplicates):
            raise _refuse([*path, value.duplicate], "is given more than once")
        if isinstance(value, dict):
            for key, item in reversed(value.items()):
                if _has_surrogate(key):
                    raise _refuse([*path, key], _SURROGATE)
                stack.append((item, [*path, key]))
        elif isinstance(value, list):
            stack.extend((item, [*path, index]) for index, item in reversed(list(enumerate(value))))


def parse_json(raw: bytes) -> Any:
    """A request body as strict RFC 8259 JSON in UTF-8 (a leading BOM is ignored).

    Not JSON, or not UTF-8: 400 ``invalid_json``. JSON the API cannot store and answer
    unchanged: 400 ``validation_error`` naming the field (NaN/Infinity, a number beyond double
    range, an unpaired surrogate escape, a repeated key, nesting over ``MAX_JSON_DEPTH``).
    """
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise errors.InvalidJson(f"The request body is not valid JSON: {exc}") from exc
    try:
        document = json.loads(
            text,
            parse_constant=_constant,
            parse_float=lambda literal: _number(literal, float),
            parse_int=lambda literal: _number(literal, int),
            object_pairs_hook=_pairs,
        )
    except RecursionError as exc:
        raise _refuse([], f"nests deeper than {MAX_JSON_DEPTH} levels") from exc
    except ValueError as exc:
        raise errors.InvalidJson(f"The request body is not valid JSON: {exc}") from exc
    _check(document)
    return document


def path_param(value: str) -> str:
    """Chalice does not URL-decode path parameters."""
    return unquote(value)


def signing_target(request: Request) -> str:
    """The request target a signature covers (domain/request_signing.py): the route's path with
    its parameters filled in (so no stage or base-path prefix), then the canonical query."""
    path = request.path
    for name, value in (request.uri_params or {}).items():
        path = path.replace("{" + name + "}", quote(unquote(value), safe="-_.~"))
    multi = request.query_params
    pairs = [(name, value) for name in multi for value in multi.getlist(name)] if multi else []
    return canonical_target(path, pairs)


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
