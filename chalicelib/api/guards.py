"""Per-key guards that run after authentication: the IP allowlist, the request signature, then
the rate limit.

All *return* error responses (a raising Chalice middleware becomes a bare 500). Requests
without a principal (the public routes) pass straight through.

* IP allowlist: 403 ``ip_not_allowed``, logged with the request id, the key id and the client
  address (never the secret). A refused request takes no rate-limit token: its rate-limit
  headers show the bucket as this process last saw it (no DynamoDB call).
* Request signature (keys with a signing secret only): 401 ``signature_invalid`` when the
  signature headers are missing or match none of the key's current signing secrets, 401
  ``signature_expired`` when they match but the timestamp is over 300 s away (see
  :mod:`chalicelib.domain.request_signing`). Checked before the rate limit, so a forged
  request spends no token; like an IP refusal it shows the bucket as last seen.
* Rate limit (see :func:`rate_limit` for how reads overlap it): every request that reaches it
  carries ``X-RateLimit-Limit``, ``X-RateLimit-Remaining``, ``X-RateLimit-Reset`` and the IETF
  ``RateLimit-Policy`` /
  ``RateLimit`` fields (put into the request context; the outermost middleware copies them onto
  the response, errors included); over the limit it answers 429 ``rate_limited`` with
  ``Retry-After``.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from chalice.app import Request, Response

from chalicelib import errors
from chalicelib.api import context
from chalicelib.api.http import Middleware, error_response, signing_target
from chalicelib.domain.client_ip import (
    InvalidAllowlist,
    cached_allowlist,
    client_address,
    is_allowed,
)
from chalicelib.domain.keys import key_id_prefix
from chalicelib.domain.request_signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, Verdict, verify
from chalicelib.observability.logging import logger
from chalicelib.observability.metrics import record_metric
from chalicelib.runtime import Runtime
from chalicelib.services.rate_limiter import RateCheck


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


def request_signature(runtime: Runtime, now: Callable[[], float] = time.time) -> Middleware:
    limiter = runtime.rate_limiter

    def middleware(event: Request, get_response: Callable[[Request], Response]) -> Response:
        ctx = context.current()
        principal = ctx.principal
        if principal is None or not principal.signing_secrets:
            return get_response(event)
        raw = event.raw_body or b""
        verdict = verify(
            principal.signing_secrets,
            event.headers.get(TIMESTAMP_HEADER),
            event.headers.get(SIGNATURE_HEADER),
            event.method,
            signing_target(event),
            raw if isinstance(raw, bytes) else raw.encode(),
            now(),
        )
        if verdict is Verdict.OK:
            return get_response(event)
        ctx.log_fields["signature"] = verdict.value
        logger.warning(
            "request signature refused",
            extra={
                "request_id": ctx.request_id,
                "key_id": key_id_prefix(principal.key_id),
                "reason": verdict.value,
            },
        )
        record_metric("SignatureRejected", reason=verdict.value)
        peek = limiter.peek(principal.key_id, principal.rate_limit_per_minute)
        ctx.response_headers.update(peek.headers())
        error = (
            errors.SignatureExpired() if verdict is Verdict.EXPIRED else errors.SignatureInvalid()
        )
        return error_response(error, ctx.request_id)

    return middleware


SAFE_METHODS = frozenset({"GET", "HEAD"})


def rate_limit(runtime: Runtime, overlap_workers: int = 16) -> Middleware:
    """Take a token per request; 429 over the limit.

    For safe methods (GET, HEAD) the token is taken *while* the view runs, on a small thread
    pool: a read has no effect to undo, so a refused read simply discards the view's answer, and
    the request costs the slower of the two round trips instead of their sum. A key already
    known to be over its limit is refused from memory before the view runs, so abusive reads
    still cost nothing. Writes take their token first, as before.
    """
    limiter = runtime.rate_limiter
    pool = ThreadPoolExecutor(max_workers=overlap_workers, thread_name_prefix="rate-limit")

    def refuse(ctx: context.RequestContext, key_id: str, check: RateCheck) -> Response:
        retry_after = check.decision.retry_after_seconds
        ctx.log_fields["rate_limit_source"] = check.source
        logger.info(
            "rate limited",
            extra={
                "request_id": ctx.request_id,
                "key_id": key_id_prefix(key_id),
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

    def middleware(event: Request, get_response: Callable[[Request], Response]) -> Response:
        ctx = context.current()
        principal = ctx.principal
        if principal is None:
            return get_response(event)
        key_id, limit = principal.key_id, principal.rate_limit_per_minute
        if event.method not in SAFE_METHODS:
            check = limiter.check(key_id, limit)
            ctx.response_headers.update(check.headers())
            if check.decision.allowed:
                return get_response(event)
            return refuse(ctx, key_id, check)
        cached = limiter.cached_refusal(key_id, limit)
        if cached is not None:
            ctx.response_headers.update(cached.headers())
            return refuse(ctx, key_id, cached)
        # The pool thread runs in a copy of this request's context (its metrics batch).
        pending = pool.submit(contextvars.copy_context().run, limiter.check, key_id, limit)
        try:
            response = get_response(event)
        except errors.ApiError:
            check = pending.result()
            ctx.response_headers.update(check.headers())
            if not check.decision.allowed:
                return refuse(ctx, key_id, check)
            raise
        check = pending.result()
        ctx.response_headers.update(check.headers())
        if check.decision.allowed:
            return response
        return refuse(ctx, key_id, check)

    return middleware
