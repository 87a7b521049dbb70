"""One access-log line and the request metrics, written when a response is final.

The outermost middleware (``chalicelib.api.middleware.request_context``) calls
:func:`record_request` with the request's context and the response it is about to return
(already in the error envelope); ``create_app(..., observe=False)`` leaves it out.
Logs ids, codes and timings only: never headers, bodies or secrets.
"""

from __future__ import annotations

import json
import time
from typing import Any

from chalice.app import Response

from chalicelib.api.context import RequestContext
from chalicelib.domain.keys import key_id_prefix
from chalicelib.observability.logging import logger
from chalicelib.observability.metrics import record_metric


def error_code_of(response: Response) -> str | None:
    """The envelope's ``error.code`` of an error response, else None."""
    if response.status_code < 400:
        return None
    body = response.body
    try:
        parsed = json.loads(body) if isinstance(body, str | bytes) else body
        code = parsed["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None
    return code if isinstance(code, str) else None


def route_of(ctx: RequestContext) -> str:
    """The metric dimension: method and route template (bounded cardinality, no ids)."""
    return f"{ctx.method} {ctx.route}"


def record_request(ctx: RequestContext, response: Response) -> None:
    duration_ms = round((time.perf_counter() - ctx.started) * 1000, 2)
    status = response.status_code
    error_code = error_code_of(response)
    fields: dict[str, Any] = {
        "request_id": ctx.request_id,
        "method": ctx.method,
        "endpoint": ctx.route,
        "path": ctx.path,
        "status_code": status,
        "duration_ms": duration_ms,
        **ctx.log_fields,
    }
    if ctx.principal is not None:
        fields["key_id"] = key_id_prefix(ctx.principal.key_id)
        fields["tenant"] = ctx.principal.tenant_id
    if error_code is not None:
        fields["error_code"] = error_code
    logger.info("request", extra=fields)

    route = route_of(ctx)
    record_metric("ApiLatency", "Milliseconds", duration_ms, route=route)
    record_metric("ApiRequestCount", "Count", 1, route=route)
    if error_code is not None or status >= 400:
        record_metric("ApiErrorCount", "Count", 1, error_code=error_code or f"http_{status}")
    if status >= 500:
        record_metric("ApiServerErrorCount", "Count", 1)
    if ctx.log_fields.get("deadline_exceeded"):
        record_metric("RequestDeadlineExceeded", "Count", 1)
