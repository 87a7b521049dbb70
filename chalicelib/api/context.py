"""Per-request state, visible to middleware and views of the same request only.

``chalice local`` serves each request on its own thread and Lambda serves one at a time, so a
context variable set by the outermost middleware is the request's own.
"""

from __future__ import annotations

import re
import secrets
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain.keys import Principal

_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


@dataclass
class RequestContext:
    request_id: str
    method: str
    route: str
    path: str
    started: float
    principal: Principal | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    log_fields: dict[str, Any] = field(default_factory=dict)


_current: ContextVar[RequestContext | None] = ContextVar("triggers_request", default=None)


def current() -> RequestContext:
    ctx = _current.get()
    if ctx is None:
        raise RuntimeError("no request context: the request-context middleware did not run")
    return ctx


def set_current(ctx: RequestContext | None) -> None:
    _current.set(ctx)


def resolve_request_id(client_value: str | None, gateway_value: str | None) -> str:
    """The client's X-Request-ID if it is a sane token, else the gateway's, else a new one."""
    if client_value and _SANE_REQUEST_ID.match(client_value):
        return client_value
    if gateway_value and _SANE_REQUEST_ID.match(gateway_value):
        return gateway_value
    return "req_" + secrets.token_hex(12)


def principal() -> Principal:
    ctx = current()
    if ctx.principal is None:
        raise RuntimeError("view reached without an authenticated principal")
    return ctx.principal
