"""API errors: one class per contract error code the API returns, each carrying its HTTP status.

Views and services raise these; the error middleware alone turns them into the envelope
``{"error": {"code", "message", "details"}, "request_id"}``. They derive from Chalice's
``ChaliceUnhandledError`` so that Chalice lets them reach the middleware instead of turning
them into its own ``{"Code", "Message"}`` body.
"""

from __future__ import annotations

from typing import Any

from chalice.app import ChaliceUnhandledError


class ApiError(ChaliceUnhandledError):
    status = 500
    code = "internal_error"
    default_message = "An internal error occurred."

    def __init__(
        self,
        message: str | None = None,
        *,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.details = details or []
        self.headers = headers or {}
        super().__init__(self.message)

    def body(self, request_id: str) -> dict[str, Any]:
        return {
            "error": {"code": self.code, "message": self.message, "details": self.details},
            "request_id": request_id,
        }


class ValidationError(ApiError):
    status = 400
    code = "validation_error"
    default_message = "The request is not valid."


class InvalidJson(ApiError):
    status = 400
    code = "invalid_json"
    default_message = "The request body is not valid JSON."


class Unauthorized(ApiError):
    status = 401
    code = "unauthorized"
    default_message = "A valid API key is required."


class SignatureInvalid(ApiError):
    status = 401
    code = "signature_invalid"
    default_message = (
        "This API key signs its requests: send X-Triggers-Timestamp and a valid "
        "X-Triggers-Signature."
    )


class SignatureExpired(ApiError):
    status = 401
    code = "signature_expired"
    default_message = (
        "The request signature is valid but its timestamp is more than 300 s from the server's "
        "clock; check the client's clock and sign again."
    )


class IpNotAllowed(ApiError):
    status = 403
    code = "ip_not_allowed"
    default_message = "The client IP address is not allowed for this API key."


class Forbidden(ApiError):
    status = 403
    code = "forbidden"
    default_message = "This API key may not do that."


class NotFound(ApiError):
    status = 404
    code = "not_found"
    default_message = "The resource was not found."


class MethodNotAllowed(ApiError):
    status = 405
    code = "method_not_allowed"
    default_message = "The method is not allowed on this resource."


class AlreadyAcknowledged(ApiError):
    status = 409
    code = "already_acknowledged"
    default_message = "The event was already acknowledged."


class Conflict(ApiError):
    status = 409
    code = "conflict"
    default_message = "The resource is not in a state that allows this."


class IdempotencyConflict(ApiError):
    status = 409
    code = "idempotency_conflict"
    default_message = "The idempotency key was already used with a different request body."


class PayloadTooLarge(ApiError):
    status = 413
    code = "payload_too_large"
    default_message = "The request body is too large."


class UnsupportedMediaType(ApiError):
    status = 415
    code = "unsupported_media_type"
    default_message = "Content-Type must be application/json."


class RateLimited(ApiError):
    status = 429
    code = "rate_limited"
    default_message = "Rate limit exceeded."

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        super().__init__(message, headers={"Retry-After": str(max(1, retry_after))})


class ServiceUnavailable(ApiError):
    status = 503
    code = "service_unavailable"
    default_message = "The service is temporarily unavailable; retry later."

    def __init__(self, message: str | None = None, retry_after: int = 1) -> None:
        super().__init__(message, headers={"Retry-After": str(max(1, retry_after))})


class InternalError(ApiError):
    """An unexpected failure; the traceback is logged, never sent."""


def invalid_parameter(name: str, message: str) -> ValidationError:
    """A 400 naming one query parameter: ``details: [{"field": name, "message": message}]``."""
    return ValidationError(
        f"Query parameter {name!r} {message}.", details=[{"field": name, "message": message}]
    )


def invalid_field(name: str, message: str) -> ValidationError:
    """A 400 naming one body field (or ``body``), ``details: [{"field", "message"}]``."""
    return ValidationError(f"{name} {message}.", details=[{"field": name, "message": message}])
