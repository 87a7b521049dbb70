"""Per-key guards that run after authentication: the IP allowlist, then the rate limit.

Both *return* error responses (a raising Chalice middleware becomes a bare 500). Requests
without a principal (the public routes) pass straight through.

* IP allowlist: 403 ``ip_not_allowed``, logged with the request id, the key id and the client
  address (never the secret). A refused request takes no rate-limit token: its rate-limit
  headers show the bucket as this process last saw it (no DynamoDB call).
* Rate limit: every request that reaches it carries ``X-RateLimit-Limit``,
  ``X-RateLimit-Remaining``, ``X-RateLimit-Reset`` and the IETF ``RateLimit-Policy`` /
  ``RateLimit`` fields (put into the request context; the outermost middleware copies them onto
  the response, errors included); over the limit it answers 429 ``rate_limited`` with
  ``Retry-After``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalice.app import Request, Response

from chalicelib import errors
from chalicelib.api import context
from chalicelib.api.middleware import Middleware, error_response
from chalicelib.domain.client_ip import (
    InvalidAllowlist,
    cached_allowlist,
    client_address,
    is_allowed,
)
from chalicelib.domain.keys import key_id_prefix
from chalicelib.observability.logging import logger
from chalicelib.observability.metrics import record_metric
from chalicelib.runtime import Runtime


def source_ip(event: Request) -> str | None:
    """The gateway's view of the caller: ``requestContext.identity.sourceIp``."""
    request_context: dict[str, Any] = event.context or {}
    identity = request_context.get("identity") or {}
    value = identity.get("sourceIp")
    return value if isinstance(value, str) else None


def ip_allowlist(runtime: Runtime) -> Middleware:
    trusted = runtime.settings.trusted_proxies

    def middleware(event: Request, get_response: Callable[[Request], Response]) -> Response:
        ctx = context.current()
        principal = ctx.principal
        if principal is None or not principal.allowed_ips:
            return get_response(event)
        address = client_address(source_ip(event), event.headers.get("x-forwarded-for"), trusted)
        try:
            allowlist = cached_allowlist(tuple(principal.allowed_ips))
        except InvalidAllowlist as exc:
            # A stored list is validated when it is set; if one is not, refuse (fail closed).
            logger.error(
                "stored IP allowlist is invalid",
                extra={"request_id": ctx.request_id, "key_id": principal.key_id, "error": str(exc)},
            )
            allowlist = ()
            allowed = False
        else:
            allowed = is_allowed(address, allowlist)
        if allowed:
            return get_response(event)
        shown = str(address) if address is not None else "unknown"
        ctx.log_fields["client_ip"] = shown
        logger.warning(
            "client IP not on the key's allowlist",
            extra={
                "request_id": ctx.request_id,
                "key_id": key_id_prefix(principal.key_id),
                "client_ip": shown,
            },
        )
        record_metric("IpBlocked")
        # Every authenticated response carries the rate-limit headers; this one spends no token.
        peek = runtime.rate_limiter.peek(principal.key_id, principal.rate_limit_per_minute)
        ctx.response_headers.update(peek.headers())
        return error_response(
            errors.IpNotAllowed(f"Requests from {shown} are not allowed for this API key."),
            ctx.request_id,
        )

    return middleware


def rate_limit(runtime: Runtime) -> Middleware:
    limiter = runtime.rate_limiter

    def middleware(event: Request, get_response: Callable[[Request], Response]) -> Response:
        ctx = context.current()
        principal = ctx.principal
        if principal is None:
            return get_response(event)
        check = limiter.check(principal.key_id, principal.rate_limit_per_minute)
        ctx.response_headers.update(check.headers())
        if check.decision.allowed:
            return get_response(event)
        retry_after = check.decision.retry_after_seconds
        ctx.log_fields["rate_limit_source"] = check.source
        logger.info(
            "rate limited",
            extra={
                "request_id": ctx.request_id,
                "key_id": key_id_prefix(principal.key_id),
                "limit_per_minute": check.policy.limit,
                "retry_after": retry_after,
                "source": check.source,
            },
        )
        record_metric("RateLimited", source=check.source)
        return error_response(
            errors.RateLimited(
                retry_after,
                f"Rate limit of {check.policy.limit} requests per minute exceeded; "
                f"retry after {retry_after} s.",
            ),
            ctx.request_id,
        )

    return middleware
