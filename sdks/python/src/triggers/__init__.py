"""Python SDK of the Triggers API.

from triggers import Triggers

with Triggers("tk_live_...") as client:
    event = client.events.create(source="billing", event_type="invoice.paid",
                                 payload={"invoice_id": "inv_1001"})
"""

from . import models
from ._async_client import AsyncTriggers
from ._client import Triggers
from ._core import ResponseInfo
from ._deprecation import Deprecation
from ._errors import (
    AlreadyAcknowledgedError,
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    ErrorDetail,
    IdempotencyConflictError,
    InternalServerError,
    MethodNotAllowedError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimit,
    RateLimitError,
    ResponseValidationError,
    ServiceUnavailableError,
    SignatureError,
    TriggersError,
    UnsupportedMediaTypeError,
    WebhookVerificationError,
)
from ._operations import NOT_GIVEN
from ._results import (
    AckFailure,
    BulkFailure,
    BulkResult,
    HandlerFailure,
    ProcessingError,
    ProcessResult,
)
from ._version import VERSION
from .webhooks import Webhook, WebhookMessage

__version__ = VERSION

__all__ = [
    "NOT_GIVEN",
    "VERSION",
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AckFailure",
    "AlreadyAcknowledgedError",
    "AsyncTriggers",
    "AuthenticationError",
    "BadRequestError",
    "BulkFailure",
    "BulkResult",
    "ConflictError",
    "Deprecation",
    "ErrorDetail",
    "HandlerFailure",
    "IdempotencyConflictError",
    "InternalServerError",
    "MethodNotAllowedError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "ProcessResult",
    "ProcessingError",
    "RateLimit",
    "RateLimitError",
    "ResponseInfo",
    "ResponseValidationError",
    "ServiceUnavailableError",
    "SignatureError",
    "Triggers",
    "TriggersError",
    "UnsupportedMediaTypeError",
    "Webhook",
    "WebhookMessage",
    "WebhookVerificationError",
    "models",
]
