"""Per-invocation telemetry for the HTTP app, wired through Chalice's ``ConvertToMiddleware``.

:func:`observe_invocation` builds a Lambda-handler decorator (the shape Powertools' own
``inject_lambda_context`` / ``log_metrics`` have) that Chalice turns into the outermost HTTP
middleware. Per invocation it

* binds the Lambda context's ``function_request_id`` and ``cold_start`` with the Logger's
  *thread-safe* keys (a context variable), not ``append_keys``/``inject_lambda_context``, whose
  keys are process-wide: under ``chalice local`` concurrent requests run on threads of one
  process and would overwrite each other's values;
* opens a metrics batch (:func:`chalicelib.observability.metrics.request_scope`) that collects
  what the request records (latency, errors, rate limiting, ...) and writes it as EMF to the
  given :class:`~chalicelib.observability.metrics.MetricsConfig` when the request ends.

The request's own fields (``request_id`` from ``X-Request-ID``, tenant, key id prefix, route)
are added to every log line from the request context by :func:`request_log_fields`.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from chalicelib.api import context
from chalicelib.domain.keys import key_id_prefix
from chalicelib.observability import metrics
from chalicelib.observability.logging import install_request_fields, logger

Handler = Callable[[Any, Any], Any]

_cold = True
_cold_lock = threading.Lock()


def _cold_start() -> bool:
    global _cold
    with _cold_lock:
        cold, _cold = _cold, False
    return cold


def request_log_fields() -> dict[str, Any]:
    """The current request's log fields; empty outside a request."""
    try:
        ctx = context.current()
    except RuntimeError:
        return {}
    fields: dict[str, Any] = {
        "request_id": ctx.request_id,
        "method": ctx.method,
        "endpoint": ctx.route,
    }
    if ctx.principal is not None:
        fields["key_id"] = key_id_prefix(ctx.principal.key_id)
        fields["tenant"] = ctx.principal.tenant_id
    event_id = ctx.log_fields.get("event_id")
    if event_id is not None:
        fields["event_id"] = event_id
    return fields


def observe_invocation(config: metrics.MetricsConfig) -> Callable[[Handler], Handler]:
    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def observed(event: Any, lambda_context: Any) -> Any:
            logger.thread_safe_clear_keys()
            logger.thread_safe_append_keys(
                cold_start=_cold_start(),
                function_request_id=getattr(lambda_context, "aws_request_id", None),
            )
            try:
                with metrics.request_scope(config):
                    return handler(event, lambda_context)
            finally:
                logger.thread_safe_clear_keys()

        return observed

    return decorate


def install() -> None:
    """Add the request fields to every log line (idempotent)."""
    install_request_fields(request_log_fields)
