"""Error classes: one per contract code, each with its status and the one envelope shape."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from chalice.app import ChaliceUnhandledError

from chalicelib import errors

CONTRACT = {
    errors.ValidationError: (400, "validation_error"),
    errors.InvalidJson: (400, "invalid_json"),
    errors.Unauthorized: (401, "unauthorized"),
    errors.IpNotAllowed: (403, "ip_not_allowed"),
    errors.NotFound: (404, "not_found"),
    errors.MethodNotAllowed: (405, "method_not_allowed"),
    errors.AlreadyAcknowledged: (409, "already_acknowledged"),
    errors.IdempotencyConflict: (409, "idempotency_conflict"),
    errors.PayloadTooLarge: (413, "payload_too_large"),
    errors.UnsupportedMediaType: (415, "unsupported_media_type"),
    errors.InternalError: (500, "internal_error"),
}


@pytest.mark.parametrize(("cls", "expected"), CONTRACT.items(), ids=lambda v: str(v))
def test_status_and_code(cls: type[errors.ApiError], expected: tuple[int, str]) -> None:
    exc = cls()
    assert (exc.status, exc.code) == expected
    assert exc.message
    # Chalice lets ChaliceUnhandledError reach our middleware instead of answering itself.
    assert isinstance(exc, ChaliceUnhandledError)


def test_envelope_shape() -> None:
    exc = errors.ValidationError("bad", details=[{"field": "source", "message": "is required"}])
    assert exc.body("req_1") == {
        "error": {
            "code": "validation_error",
            "message": "bad",
            "details": [{"field": "source", "message": "is required"}],
        },
        "request_id": "req_1",
    }


def test_details_default_to_an_empty_list() -> None:
    assert errors.NotFound().body("r")["error"]["details"] == []


@pytest.mark.parametrize("seconds", [-3, 0, 1])
def test_rate_limited_retry_after_is_at_least_one(seconds: int) -> None:
    exc = errors.RateLimited(seconds)
    assert (exc.status, exc.code) == (429, "rate_limited")
    assert exc.headers["Retry-After"] == str(max(1, seconds))


def test_service_unavailable_has_retry_after() -> None:
    exc = errors.ServiceUnavailable(retry_after=0)
    assert (exc.status, exc.code) == (503, "service_unavailable")
    assert exc.headers == {"Retry-After": "1"}
    assert errors.ServiceUnavailable(retry_after=7).headers == {"Retry-After": "7"}


def test_instances_do_not_share_mutable_state() -> None:
    a = errors.MethodNotAllowed()
    a.headers["Allow"] = "GET"
    a.details.append({"field": "x", "message": "y"})
    b = errors.MethodNotAllowed()
    assert b.headers == {}
    assert b.details == []


def _source_outside_errors_module() -> str:
    root = Path(errors.__file__).resolve().parent
    files = [p for p in root.rglob("*.py") if p.name != "errors.py" or p.parent != root]
    return "\n".join(p.read_text(encoding="utf-8") for p in files)


def test_every_error_class_is_raised_somewhere() -> None:
    # A class nothing raises (or maps an exception to) is dead code; the contract's reserved
    # codes get their class with the code that raises them (docs/ERRORS.md, "Reserved codes").
    source = _source_outside_errors_module()
    classes = [
        cls
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.ApiError) and cls is not errors.ApiError
    ]
    unused = [cls.__name__ for cls in classes if not re.search(rf"\b{cls.__name__}\b", source)]
    assert unused == []


def test_the_documented_error_codes_are_exactly_the_error_classes() -> None:
    from typing import get_args

    from chalicelib.api.models.responses import ErrorCode

    classes = {
        cls.code
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.ApiError)
    }
    assert set(get_args(ErrorCode)) == classes
