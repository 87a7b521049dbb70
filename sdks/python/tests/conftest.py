"""Shared helpers of the SDK's unit tests: a scripted httpx transport and fake time."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO = Path(__file__).resolve().parents[3]
VECTORS = REPO / "tests" / "vectors"

EVENT_ID = "evt_01JD8ZK3ABCDEFGHJKMNPQRSTV"


def event_json(event_id: str = EVENT_ID, **overrides: Any) -> dict[str, Any]:
    body = {
        "event_id": event_id,
        "source": "billing",
        "event_type": "invoice.paid",
        "payload": {"amount": 4200},
        "metadata": {"priority": "normal"},
        "status": "pending",
        "created_at": "2026-11-30T10:00:00.000Z",
        "acknowledged_at": None,
        "idempotency_key": None,
    }
    body.update(overrides)
    return body


def error_json(code: str, message: str = "nope", request_id: str = "req_1", **extra: Any) -> Any:
    return {
        "error": {"code": code, "message": message, "details": extra.get("details", [])},
        "request_id": request_id,
    }


Reply = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class Script:
    """A MockTransport handler answering each request with the next scripted reply."""

    def __init__(self, *replies: Reply) -> None:
        self.replies = list(replies)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self.replies:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        if isinstance(reply, httpx.Response):
            return reply
        return reply(request)

    def bodies(self) -> list[Any]:
        return [json.loads(r.content) if r.content else None for r in self.requests]


def respond(status: int, body: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
    if body is None:
        return httpx.Response(status, headers=headers)
    return httpx.Response(status, json=body, headers=headers)


class FakeTime:
    """A clock that only moves when the client sleeps (or a test advances it)."""

    def __init__(self, start: float = 1_764_460_800.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


def sync_client(script: Script, fake: FakeTime, **options: Any) -> Any:
    from triggers import Triggers

    defaults: dict[str, Any] = {
        "base_url": "http://api.test",
        "transport": httpx.MockTransport(script),
        "clock": fake.time,
        "monotonic": fake.time,
        "random": lambda: 0.5,
        "sleep": fake.sleep,
    }
    defaults.update(options)
    return Triggers("tk_test_secret", **defaults)


def async_client(script: Script, fake: FakeTime, **options: Any) -> Any:
    from triggers import AsyncTriggers

    defaults: dict[str, Any] = {
        "base_url": "http://api.test",
        "transport": httpx.MockTransport(script),
        "clock": fake.time,
        "monotonic": fake.time,
        "random": lambda: 0.5,
        "sleep": fake.async_sleep,
    }
    defaults.update(options)
    return AsyncTriggers("tk_test_secret", **defaults)
