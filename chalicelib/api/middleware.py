"""The outer two HTTP middleware: the request context (request id, the error envelope, the
access log) and authentication. ``create_app`` (api/application.py) assembles the whole chain:

request context -> authentication -> (IP allowlist -> rate limit, api/guards.py) -> view.

A Chalice middleware that raises gets a bare 500, so every middleware here *returns* a
response; errors raised by views (:class:`chalicelib.errors.ApiError` derives from
``ChaliceUnhandledError``) reach the outermost one, which alone shapes the envelope.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from chalice.app import Request, Response

from chalicelib import errors
from chalicelib.api import context
from chalicelib.api.deprecations import Deprecations
from chalicelib.api.http import Middleware, error_response
from chalicelib.domain import deadline
from chalicelib.observability.logging import logger
from chalicelib.runtime import Runtime

# Called once per request with its context and final response (already in the envelope).
AccessLog = Callable[[context.RequestContext, Response], None]

# Routes that need no key (matched on the route pattern): health, the OpenAPI document, and the
# dashboard page and its assets (the page asks the person for a key and sends it to the API).
PUBLIC_ROUTES = frozenset(
    {"/v1/health", "/v1/openapi.json", "/dashboard", "/dashboard/assets/{name}"}
)

# Chalice answers some failures itself with {"Code", "Message"}; map them onto the contract.
_CHALICE_CODES: dict[str, type[errors.ApiError]] = {
    "MethodNotAllowedError": errors.MethodNotAllowed,
    "UnsupportedMediaType": errors.UnsupportedMediaType,
    "BadRequestError": errors.ValidationError,
    "BadRequest": errors.ValidationError,
    "NotFoundError": errors.NotFound,
    "InternalServerError": errors.InternalError,
}


def _chalice_error(response: Response) -> errors.ApiError | None:
    """A Chalice-shaped error body, converted; None if the response is ours."""
    if response.status_code < 400:
        return None
    body = response.body
    if isinstance(body, str | bytes):
        try:
            body = json.loads(body)
        except ValueError:
            body = None
    if isinstance(body, dict) and set(body) == {"Code", "Message"}:
        cls = _CHALICE_CODES.get(str(body["Code"]))
        if cls is None:
            cls = errors.InternalError if response.status_code >= 500 else errors.ValidationError
        error = cls()
        if isinstance(error, errors.MethodNotAllowed):
            allow = response.headers.get("Allow")
            if isinstance(allow, str) and allow:
                error.headers["Allow"] = allow
        return error
    return None


def _lambda_remaining_ms(event: Request) -> int | None:
    """What the Lambda context says remains (chalice local's claims its own timeout, 900 s
    unless configured); None without a usable context."""
    get_remaining = getattr(event.lambda_context, "get_remaining_time_in_millis", None)
    if get_remaining is None:
        return None
    try:
        return int(get_remaining())
    except Exception:  # noqa: BLE001 - a middleware returns, never raises: fall back
        return None


def request_context(
    access_log: AccessLog | None,
    budget_seconds: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Middleware:
    """Outermost: request id, timing, the error envelope, the request's time budget and
    (unless ``access_log`` is None) one access-log line per request.

    ``budget_seconds`` (``REQUEST_TIME_BUDGET_SECONDS``; None: no budget) bounds the request,
    lowered to what the Lambda context says remains: every DynamoDB attempt checks it
    (``domain/deadline.py``, ``stores/deadline_hook.py``). A request that ran out of budget
    answers like any storage failure, and its access-log line has ``deadline_exceeded: true``.
    """

    def middleware(event: Request, get_response: Callable[[Request], Response]) -> Response:
        started = time.perf_counter()
        budget = None
        if budget_seconds is not None:
            budget = deadline.Deadline.after(
                deadline.request_budget(budget_seconds, _lambda_remaining_ms(event)), clock
            )
        budget_token = deadline.set_current(budget)
        gateway_id = (event.context or {}).get("requestId")
        request_id = context.resolve_request_id(event.headers.get("x-request-id"), gateway_id)
        ctx = context.RequestContext(
            request_id=request_id,
            method=event.method,
            route=event.path,
            path=(event.context or {}).get("path", event.path),
            started=started,
        )
        context.set_current(ctx)
        try:
            response = _enveloped(event, get_response, request_id)
            response.headers.update(ctx.response_headers)
            response.headers["X-Request-ID"] = request_id
            if budget is not None and budget.exceeded:
                ctx.log_fields["deadline_exceeded"] = True
            if access_log is not None:
                access_log(ctx, response)
            return response
        finally:
            context.set_current(None)
            deadline.reset(budget_token)

    return middleware


def _enveloped(
    event: Request, get_response: Callable[[Request], Response], request_id: str
) -> Response:
    """The view's response, with every error (ours, Chalice's, unexpected) in the envelope."""
    try:
        response = get_response(event)
    except errors.ApiError as exc:
        if exc.status >= 500 and exc.__cause__ is not None:
            logger.warning(
                "dependency failure",
                extra={"request_id": request_id, "error": str(exc.__cause__)},
            )
        return error_response(exc, request_id)
    except Exception:  # noqa: BLE001 - the envelope promise: never a stack trace on the wire
        logger.exception("unhandled exception", extra={"request_id": request_id})
        return error_response(errors.InternalError(), request_id)
    converted = _chalice_error(response)
    if converted is not None:
        return error_response(converted, request_id)
    return response


def deprecation_headers(routes: Deprecations) -> Middleware:
    """``Deprecation`` / ``Sunset`` / ``Link`` on every answer of a deprecated route.

    Runs inside the request context and adds the headers to the context's response headers,
    which the request context puts on whatever answer the request gets (a 401 or a view's
    error included). Each route's headers are computed once, here.
    """
    headers = {route: deprecation.headers() for route, deprecation in routes.items()}

    def middleware(event: Request, get_response: Callable[[Request], Response]) -> Response:
        route_headers = headers.get((event.method.upper(), event.path))
        if route_headers is not None:
            context.current().response_headers.update(route_headers)
        return get_response(event)

    return middleware


def _secret_from(event: Request) -> str | None:
    key = event.headers.get("x-api-key")
    if isinstance(key, str) and key:
        return key.strip()
    auth = event.headers.get("authorization")
    if isinstance(auth, str) and auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return None


def authenticate(runtime: Runtime) -> Middleware:
    def middleware(event: Request, get_response: Callable[[Request], Response]) -> Response:
        if event.path in PUBLIC_ROUTES:
            return get_response(event)
        ctx = context.current()
        secret = _secret_from(event)
        if not secret:
            return error_response(
                errors.Unauthorized("Send your API key in the X-API-Key header."), ctx.request_id
            )
        try:
            principal = runtime.keys.authenticate(secret)
        except errors.ApiError as exc:  # storage down (ServiceUnavailable): 503, not 500
            cause = exc.__cause__ if exc.__cause__ is not None else exc
            logger.warning(
                "key lookup failed", extra={"request_id": ctx.request_id, "error": str(cause)}
            )
            return error_response(exc, ctx.request_id)
        if principal is None:
            return error_response(
                errors.Unauthorized("The API key is unknown, revoked or expired."), ctx.request_id
            )
        ctx.principal = principal
        return get_response(event)

    return middleware
