"""The SDK's exceptions: one base class, API errors by status and code, transport errors apart."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timezone
from email.utils import parsedate_to_datetime
from typing import Any

from ._deprecation import Deprecation, parse_deprecation


@dataclass(frozen=True)
class RateLimit:
    """The key's rate-limit state from ``X-RateLimit-*`` and ``Retry-After`` (None when absent)."""

    limit: int | None = None
    remaining: int | None = None
    reset: int | None = None  # Unix seconds at which the bucket is full again
    retry_after: float | None = None  # seconds, on 429/503 answers

    @classmethod
    def from_headers(cls, headers: Mapping[str, str], *, now: float | None = None) -> RateLimit:
        """``now`` (Unix seconds, default the wall clock) turns an HTTP-date Retry-After into
        seconds."""
        return cls(
            limit=_int_header(headers, "x-ratelimit-limit"),
            remaining=_int_header(headers, "x-ratelimit-remaining"),
            reset=_int_header(headers, "x-ratelimit-reset"),
            retry_after=parse_retry_after(headers.get("retry-after"), now=now),
        )


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """``Retry-After`` in seconds (RFC 9110): delay-seconds, or an HTTP-date turned into the
    seconds from ``now`` (a date in the past is 0). The API itself sends whole seconds; a proxy
    or gateway in front of it may send a date. Anything else is ignored (None)."""
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return seconds if seconds >= 0 and seconds == seconds else None  # not NaN
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" parses as naive; HTTP dates are GMT
        when = when.replace(tzinfo=timezone.utc)
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


@dataclass(frozen=True)
class ErrorDetail:
    """One ``{"field", "message"}`` entry of an error's ``details``."""

    field: str | None
    message: str


class TriggersError(Exception):
    """Base class of every exception the SDK raises."""


class APIConnectionError(TriggersError):
    """No HTTP answer: connection refused or reset, DNS failure, protocol error."""

    def __init__(self, message: str, *, cause: BaseException | None = None) -> None:
        super().__init__(message)
        self.cause = cause


class APITimeoutError(APIConnectionError):
    """An attempt timed out (connect, read or write), or the total deadline ran out."""


class ResponseValidationError(TriggersError):
    """A 2xx answer this SDK could not read: its body is not JSON, or not the documented shape.

    ``__cause__`` is the underlying ``json``/pydantic error. Values unknown to this SDK version in
    an enum field (a new event status, a new bulk error code) do NOT raise this: the models accept
    any string there (docs/VERSIONING.md: new fields and enum values are additive).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        request_id: str | None = None,
        body: str = "",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status}: {message}" + (f" [{request_id}]" if request_id else ""))
        self.status = status
        self.request_id = request_id
        self.body = body  # the raw body, decoded as UTF-8 (undecodable bytes replaced)
        self.headers: dict[str, str] = dict(headers or {})


class WebhookVerificationError(TriggersError):
    """A webhook delivery failed verification (headers, timestamp tolerance or signature)."""


class APIError(TriggersError):
    """The API answered with an error envelope (or a non-2xx status without one).

    ``code`` is the stable machine-readable code (``docs/ERRORS.md``): branch on it. For an
    answer without the envelope (an HTML page from a proxy) the code is ``http_<status>``.
    """

    def __init__(
        self,
        *,
        status: int,
        code: str,
        message: str,
        details: Sequence[ErrorDetail] = (),
        request_id: str | None = None,
        rate_limit: RateLimit | None = None,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
        deprecation: Deprecation | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}" + (f" [{request_id}]" if request_id else ""))
        self.status = status
        self.code = code
        self.message = message
        self.details: tuple[ErrorDetail, ...] = tuple(details)
        self.request_id = request_id
        self.rate_limit = rate_limit or RateLimit()
        self.headers: dict[str, str] = dict(headers or {})
        self.body = body
        # The route's deprecation notice (docs/VERSIONING.md): sent on error answers too.
        self.deprecation = deprecation

    @property
    def retry_after(self) -> float | None:
        return self.rate_limit.retry_after


class BadRequestError(APIError):
    """400: ``validation_error`` or ``invalid_json``; ``details`` names each field."""


class AuthenticationError(APIError):
    """401: ``unauthorized``."""


class SignatureError(AuthenticationError):
    """401: ``signature_invalid`` or ``signature_expired`` (request signing)."""


class PermissionDeniedError(APIError):
    """403: ``forbidden`` (not an admin key) or ``ip_not_allowed``."""


class NotFoundError(APIError):
    """404: ``not_found``."""


class MethodNotAllowedError(APIError):
    """405: ``method_not_allowed``."""


class ConflictError(APIError):
    """409: ``conflict`` and the more specific codes below."""


class AlreadyAcknowledgedError(ConflictError):
    """409: ``already_acknowledged``: the event was acknowledged before."""


class IdempotencyConflictError(ConflictError):
    """409: ``idempotency_conflict``: the key was used with another body in the last 24 h."""


class PayloadTooLargeError(APIError):
    """413: ``payload_too_large``."""


class UnsupportedMediaTypeError(APIError):
    """415: ``unsupported_media_type``."""


class RateLimitError(APIError):
    """429: ``rate_limited``; ``rate_limit.retry_after`` says when a request will be admitted."""


class InternalServerError(APIError):
    """500 ``internal_error``, or another 5xx (502/504 from a gateway)."""


class ServiceUnavailableError(APIError):
    """503: ``service_unavailable``; wait ``retry_after`` and retry."""


_BY_CODE: dict[str, type[APIError]] = {
    "signature_invalid": SignatureError,
    "signature_expired": SignatureError,
    "already_acknowledged": AlreadyAcknowledgedError,
    "idempotency_conflict": IdempotencyConflictError,
}

_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    405: MethodNotAllowedError,
    409: ConflictError,
    413: PayloadTooLargeError,
    415: UnsupportedMediaTypeError,
    429: RateLimitError,
    503: ServiceUnavailableError,
}


def error_class(status: int, code: str) -> type[APIError]:
    if code in _BY_CODE:
        return _BY_CODE[code]
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    return InternalServerError if status >= 500 else APIError


@dataclass
class _Parsed:
    code: str
    message: str
    details: list[ErrorDetail] = field(default_factory=list)
    request_id: str | None = None


def _parse_envelope(status: int, body: Any) -> _Parsed:
    fallback = _Parsed(code=f"http_{status}", message=f"HTTP {status} without an error envelope")
    if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
        return fallback
    error = body["error"]
    code = error.get("code")
    message = error.get("message")
    details: list[ErrorDetail] = []
    for entry in error.get("details") or ():
        if isinstance(entry, dict):
            field_name = entry.get("field")
            details.append(
                ErrorDetail(
                    field=field_name if isinstance(field_name, str) else None,
                    message=str(entry.get("message", "")),
                )
            )
    request_id = body.get("request_id")
    return _Parsed(
        code=code if isinstance(code, str) else fallback.code,
        message=message if isinstance(message, str) else fallback.message,
        details=details,
        request_id=request_id if isinstance(request_id, str) else None,
    )


def api_error(
    status: int, headers: Mapping[str, str], body: Any, *, now: float | None = None
) -> APIError:
    """The typed exception for a non-2xx answer (``headers`` case-insensitive, e.g. httpx's)."""
    parsed = _parse_envelope(status, body)
    cls = error_class(status, parsed.code)
    return cls(
        status=status,
        code=parsed.code,
        message=parsed.message,
        details=parsed.details,
        request_id=parsed.request_id or headers.get("x-request-id"),
        rate_limit=RateLimit.from_headers(headers, now=now),
        headers=headers,
        body=body,
        deprecation=parse_deprecation(headers),
    )
