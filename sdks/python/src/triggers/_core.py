"""The part of the client that does no I/O, shared by :class:`Triggers` and :class:`AsyncTriggers`.

Request building, signing, the retry policy, error mapping, paging and bulk splitting are pure
code here. A call is a *plan*: a generator that yields :class:`Send` (make this HTTP attempt)
and :class:`Sleep` (wait this long) commands and is sent back each attempt's :class:`Outcome`;
the sync and async clients only drive it with their own transport and sleep.
"""

from __future__ import annotations

import json
import platform
import random as _random
import time
import uuid
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal, TypedDict, TypeVar

import httpx

from ._deprecation import Deprecation, WarnedRoutes, parse_deprecation, warn_once
from ._errors import (
    AlreadyAcknowledgedError,
    APIConnectionError,
    APIError,
    APITimeoutError,
    NotFoundError,
    RateLimit,
    api_error,
)
from ._version import VERSION
from .signing import percent_encode, sign_request

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 3
DEFAULT_DEADLINE = 120.0
DEFAULT_BACKOFF_BASE = 0.5
DEFAULT_BACKOFF_CAP = 30.0
BATCH_SIZE = 25

RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})

# "safe": may be repeated (GET, DELETE, ack, create with an idempotency key): retried on any
# connection error, timeout, 429 and 5xx above. "unsafe": retried only when the request
# provably did not reach the server (connection refused, connect timeout) or on 429 (the API
# writes nothing on a 429).
RetryMode = Literal["safe", "unsafe"]
# How a retried call converges when its first attempt landed but its answer was lost.
Converge = Literal["ack", "delete", None]


def user_agent() -> str:
    return (
        f"triggers-python/{VERSION} (httpx {httpx.__version__}; "
        f"{platform.python_implementation()} {platform.python_version()})"
    )


@dataclass(frozen=True)
class Options:
    """Client configuration. Immutable: a client never changes after construction."""

    api_key: str
    base_url: str = DEFAULT_BASE_URL
    signing_secrets: tuple[str, ...] = ()
    timeout: float = DEFAULT_TIMEOUT
    max_retries: int = DEFAULT_MAX_RETRIES
    deadline: float = DEFAULT_DEADLINE
    backoff_base: float = DEFAULT_BACKOFF_BASE
    backoff_cap: float = DEFAULT_BACKOFF_CAP
    user_agent: str = field(default_factory=user_agent)
    clock: Callable[[], float] = time.time  # wall clock: signing timestamps
    monotonic: Callable[[], float] = time.monotonic  # the deadline
    random: Callable[[], float] = _random.random  # full jitter, in [0, 1)
    idempotency_key_factory: Callable[[], str] = field(default=lambda: str(uuid.uuid4()))
    # Deprecated routes this client has logged (docs/VERSIONING.md: once per route and client).
    warned: WarnedRoutes = field(default_factory=WarnedRoutes, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.api_key:
            raise ValueError("api_key is required (a tk_<stage>_... secret)")
        if self.max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if self.timeout <= 0 or self.deadline <= 0:
            raise ValueError("timeout and deadline must be positive")

    def backoff(self, retry: int) -> float:
        """Full jitter: uniform(0, min(cap, base * 2**retry)), ``retry`` counted from 0."""
        return self.random() * min(self.backoff_cap, self.backoff_base * 2.0**retry)


@dataclass(frozen=True)
class Operation:
    """One API call, built once: its body bytes are resent unchanged on every retry."""

    method: str
    path: str  # from /v1 on, path parameters already encoded
    params: tuple[tuple[str, str], ...] = ()
    content: bytes | None = None
    retry: RetryMode = "safe"
    idempotency_key: str | None = None
    converge: Converge = None
    ok_statuses: frozenset[int] = frozenset({200, 201, 202, 204})
    route: str | None = None  # the route template (``/v1/events/{event_id}``) when ``path`` has ids

    @property
    def route_key(self) -> str:
        return self.route or self.path


def path_param(value: str) -> str:
    if not value:
        raise ValueError("an id must not be empty")
    return percent_encode(value)


class Target(TypedDict):
    path: str
    route: str


def at(route: str, **ids: str) -> Target:
    """An operation's ``path`` and ``route`` from one template: ``at("/v1/events/{event_id}",
    event_id=...)`` fills in the ids, each percent-encoded, and keeps the template as ``route``."""
    return {"path": route.format_map({k: path_param(v) for k, v in ids.items()}), "route": route}


def json_body(value: Any) -> bytes:
    """Strict compact JSON in UTF-8 (NaN/Infinity refused here rather than by the API)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def query(**params: Any) -> tuple[tuple[str, str], ...]:
    """Query pairs from keyword arguments, dropping None; datetimes as RFC 3339."""
    pairs: list[tuple[str, str]] = []
    for name, value in params.items():
        if value is None:
            continue
        pairs.append((name, format_query_value(value)))
    return tuple(pairs)


def format_query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("datetimes must be timezone-aware (UTC)")
        utc = value.astimezone(timezone.utc)
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
    return str(value)


@dataclass(frozen=True)
class ResponseInfo:
    """What the last response said besides its body: status, request id, rate-limit state."""

    status: int
    headers: Mapping[str, str]
    request_id: str | None
    rate_limit: RateLimit
    attempts: int
    replayed: bool  # Idempotent-Replayed: true (a create answered from its idempotency key)
    deprecation: Deprecation | None = None  # the route's Deprecation/Sunset/Link notice, if any


@dataclass(frozen=True)
class Send:
    """Command: make one HTTP attempt."""

    method: str
    url: str
    headers: dict[str, str]
    content: bytes | None
    timeout: float


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class Received:
    status: int
    headers: httpx.Headers
    content: bytes


@dataclass(frozen=True)
class Failed:
    error: httpx.TransportError


Outcome = Received | Failed
Command = Send | Sleep


@dataclass(frozen=True)
class Result:
    status: int
    body: Any
    content: bytes
    info: ResponseInfo


TriggersFailure = APIError | APIConnectionError
Plan = Generator[Command, Outcome | None, Result]


def _not_sent(error: httpx.TransportError) -> bool:
    """Errors that prove the request never reached the server."""
    return isinstance(error, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)


def _decode(content: bytes) -> Any:
    if not content:
        return None
    try:
        return json.loads(content)
    except ValueError:
        return None


def _transport_error(error: httpx.TransportError) -> APIConnectionError:
    cls = APITimeoutError if isinstance(error, httpx.TimeoutException) else APIConnectionError
    return cls(f"{type(error).__name__}: {error}", cause=error)


def prepare(options: Options, op: Operation, timeout: float) -> Send:
    """The attempt's request, signed now (a retry is signed again with a fresh timestamp)."""
    headers = {
        "X-API-Key": options.api_key,
        "User-Agent": options.user_agent,
        "Accept": "application/json",
    }
    if op.content is not None:
        headers["Content-Type"] = "application/json"
    if op.idempotency_key is not None:
        headers["Idempotency-Key"] = op.idempotency_key
    if options.signing_secrets:
        headers.update(
            sign_request(
                options.signing_secrets,
                timestamp=int(options.clock()),
                method=op.method,
                path=op.path,
                params=op.params,
                body=op.content or b"",
            )
        )
    url = options.base_url.rstrip("/") + op.path
    if op.params:
        url += "?" + "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in op.params)
    return Send(op.method, url, headers, op.content, timeout)


def plan(options: Options, op: Operation, *, started: float | None = None) -> Plan:
    """Run ``op`` with retries: the whole policy of docs/RETRIES.md, as a generator.
    ``started`` (a ``monotonic`` reading) is when the caller's deadline began, if earlier."""
    start = options.monotonic() if started is None else started
    attempt = 0
    maybe_landed = False  # an earlier attempt may have done the work (its answer was lost)
    while True:
        remaining = options.deadline - (options.monotonic() - start)
        if remaining <= 0:
            raise APITimeoutError(f"the total deadline of {options.deadline} s ran out")
        outcome = yield prepare(options, op, min(options.timeout, remaining))
        attempt += 1
        error: TriggersFailure
        retry_after: float | None = None
        if isinstance(outcome, Received):
            body = _decode(outcome.content)
            notice = parse_deprecation(outcome.headers)
            if notice is not None:
                warn_once(options.warned, op.method, op.route_key, notice)
            info = ResponseInfo(
                status=outcome.status,
                headers=outcome.headers,
                request_id=outcome.headers.get("x-request-id"),
                rate_limit=RateLimit.from_headers(outcome.headers, now=options.clock()),
                attempts=attempt,
                replayed=outcome.headers.get("idempotent-replayed", "").lower() == "true",
                deprecation=notice,
            )
            if outcome.status in op.ok_statuses:
                return Result(outcome.status, body, outcome.content, info)
            api_err = api_error(outcome.status, outcome.headers, body, now=options.clock())
            if maybe_landed and op.converge == "delete" and isinstance(api_err, NotFoundError):
                # A retried delete whose first attempt landed: the event is gone, as asked.
                return Result(204, None, b"", info)
            if (
                maybe_landed
                and op.converge == "ack"
                and isinstance(api_err, AlreadyAcknowledgedError)
            ):
                # A retried ack whose first attempt landed: answer the acknowledged event.
                get = Operation(
                    "GET",
                    op.path.removesuffix("/ack"),
                    route=op.route.removesuffix("/ack") if op.route else None,
                )
                fetched = yield from plan(options, get, started=start)  # the same deadline
                return fetched
            error = api_err
            retry_after = api_err.retry_after
            retryable = outcome.status == 429 or (
                op.retry == "safe" and outcome.status in RETRYABLE_STATUSES
            )
            maybe_landed = maybe_landed or outcome.status >= 500
        elif isinstance(outcome, Failed):
            error = _transport_error(outcome.error)
            retryable = op.retry == "safe" or _not_sent(outcome.error)
            maybe_landed = maybe_landed or not _not_sent(outcome.error)
        else:
            raise TypeError("a plan must be sent the outcome of each Send")
        if not retryable or attempt > options.max_retries:
            raise error
        wait = max(retry_after or 0.0, options.backoff(attempt - 1))
        remaining = options.deadline - (options.monotonic() - start)
        if wait >= remaining:
            raise error  # Retry-After (or the backoff) is past the deadline: fail now
        yield Sleep(wait)


def outcome_of(response: httpx.Response) -> Received:
    return Received(response.status_code, response.headers, response.content)


# --- Bulk: split into batches of 25, merge per-item results back to the caller's indexes ---

T = TypeVar("T")


def batches(items: Sequence[T], size: int = BATCH_SIZE) -> list[tuple[int, Sequence[T]]]:
    """``(offset, batch)`` pairs covering ``items`` in order."""
    return [(i, items[i : i + size]) for i in range(0, len(items), size)]


def with_idempotency_keys(
    items: Sequence[Mapping[str, Any]], factory: Callable[[], str]
) -> list[dict[str, Any]]:
    """Bulk-create items, each given an ``idempotency_key`` unless it has one."""
    out: list[dict[str, Any]] = []
    for item in items:
        copy = dict(item)
        if copy.get("idempotency_key") is None:
            copy["idempotency_key"] = factory()
        out.append(copy)
    return out
