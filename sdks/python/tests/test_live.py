"""Integration tests against a live stack (`python scripts/sdk_stack.py python` starts one).

They skip when TRIGGERS_API_URL is unset and fail when TRIGGERS_SDK_LIVE=1 and a variable is
missing. Each test works on a source of its own (and keys/webhooks of its own), so tests never
see each other's events.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

import triggers
from triggers import (
    AlreadyAcknowledgedError,
    AsyncTriggers,
    AuthenticationError,
    IdempotencyConflictError,
    NotFoundError,
    RateLimitError,
    SignatureError,
    Triggers,
    Webhook,
    WebhookVerificationError,
)

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "examples" / "python"
NEEDED = ("TRIGGERS_API_URL", "TRIGGERS_ADMIN_KEY")

pytestmark = pytest.mark.live


def _env() -> dict[str, str]:
    missing = [name for name in NEEDED if not os.environ.get(name)]
    if missing:
        if os.environ.get("TRIGGERS_SDK_LIVE") == "1":
            pytest.fail(f"TRIGGERS_SDK_LIVE=1 but {', '.join(missing)} unset")
        pytest.skip("no live stack (TRIGGERS_API_URL unset)")
    return {name: os.environ[name] for name in NEEDED}


@pytest.fixture(scope="module")
def api_url() -> str:
    return _env()["TRIGGERS_API_URL"]


@pytest.fixture(scope="module")
def admin(api_url: str) -> Iterator[Triggers]:
    with Triggers(_env()["TRIGGERS_ADMIN_KEY"], base_url=api_url) as client:
        yield client


@pytest.fixture
def source() -> str:
    return f"sdk-py-{uuid.uuid4().hex[:12]}"


def eventually(check: Callable[[], Any], timeout: float = 30.0, interval: float = 0.25) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout} s: {check}")
        time.sleep(interval)


def test_health(admin: Triggers):
    health = admin.health()
    assert health.status == "ok"
    assert health.checks.dynamodb == "ok"


def test_event_lifecycle(admin: Triggers, source: str):
    plain = admin.events.create(source=source, event_type="order.created", payload={"n": 1})
    assert admin.last_response.status == 201
    assert plain.status == "pending"
    assert plain.idempotency_key  # the SDK sent one it generated
    assert admin.last_response.request_id

    keyed = admin.events.create(
        source=source,
        event_type="order.created",
        payload={"n": 2},
        metadata={"team": "a"},
        idempotency_key=f"order-{source}",
    )
    assert admin.last_response.status == 201
    replay = admin.events.create(
        source=source,
        event_type="order.created",
        payload={"n": 2},
        metadata={"team": "a"},
        idempotency_key=f"order-{source}",
    )
    assert admin.last_response.status == 200
    assert admin.last_response.replayed is True
    assert replay.event_id == keyed.event_id
    with pytest.raises(IdempotencyConflictError) as conflict:
        admin.events.create(
            source=source,
            event_type="order.created",
            payload={"n": 3},
            idempotency_key=f"order-{source}",
        )
    assert conflict.value.details[0].field == "idempotency_key"

    got = admin.events.get(keyed.event_id)
    assert got.payload == {"n": 2}
    assert got.metadata.priority == "normal"
    assert got.metadata.model_extra == {"team": "a"}

    acked = admin.events.ack(keyed.event_id)
    assert acked.status == "acknowledged"
    assert acked.acknowledged_at is not None
    with pytest.raises(AlreadyAcknowledgedError) as again:
        admin.events.ack(keyed.event_id)
    assert again.value.code == "already_acknowledged"
    assert again.value.status == 409
    assert again.value.request_id

    admin.events.delete(keyed.event_id)
    with pytest.raises(NotFoundError):
        admin.events.get(keyed.event_id)
    with pytest.raises(NotFoundError):
        admin.events.delete(keyed.event_id)
    admin.events.delete(plain.event_id)


def test_inbox_iterator_pages_and_filters(admin: Triggers, source: str):
    before = datetime.now(timezone.utc) - timedelta(seconds=1)
    items = [
        {
            "source": source,
            "event_type": "a.b" if i % 2 else "c.d",
            "payload": {"i": i},
            "metadata": {"priority": "high" if i < 2 else "low", "team": "x y" if i == 3 else "z"},
        }
        for i in range(7)
    ]
    created = admin.events.create_many(items)
    assert created.ok
    ids = [entry.event.event_id for entry in created.successful]

    pages = list(admin.inbox.pages(limit=3, source=source))
    assert len(pages) >= 3
    walked = [e.event_id for page in pages for e in page.events]
    assert walked == ids  # oldest first, every event once
    assert [e.event_id for e in admin.inbox.iter(limit=2, source=source)] == ids

    assert [e.event_id for e in admin.inbox.iter(source=source, priority="high")] == ids[:2]
    assert [e.event_id for e in admin.inbox.iter(source=source, metadata={"team": "x y"})] == [
        ids[3]
    ]
    assert [e.event_id for e in admin.inbox.iter(source=source, event_type="a.b")] == ids[1::2]
    after = admin.inbox.iter(
        source=source,
        created_after=before,
        created_before=datetime.now(timezone.utc) + timedelta(seconds=5),
    )
    assert [e.event_id for e in after] == ids
    one = admin.inbox.list(source=source, limit=1)
    assert len(one.events) == 1
    assert one.next_cursor
    with pytest.raises(triggers.BadRequestError) as bad:
        admin.inbox.list(source=source + "-other", cursor=one.next_cursor)
    assert bad.value.details[0].field == "cursor"
    assert admin.events.delete_many(ids).ok


def test_poll_handle_ack(admin: Triggers, source: str):
    created = admin.events.create_many(
        [{"source": source, "event_type": "job", "payload": {"poison": i == 2}} for i in range(5)]
    )
    ids = [entry.event.event_id for entry in created.successful]

    def handler(event: triggers.models.Event) -> None:
        if event.payload["poison"]:
            raise ValueError("poison")

    result = admin.inbox.process(handler, source=source, limit=2)
    assert sorted(result.acked) == sorted(ids[:2] + ids[3:])
    assert [f.event.event_id for f in result.handler_failures] == [ids[2]]
    assert not result.ack_failures
    assert [e.event_id for e in admin.inbox.iter(source=source)] == [ids[2]]
    assert admin.events.get(ids[0]).status == "acknowledged"
    admin.events.delete_many(ids)


def test_bulk_60_items_in_3_batches(admin: Triggers, source: str):
    items: list[dict[str, Any]] = [
        {"source": source, "event_type": "bulk", "payload": {"i": i}} for i in range(60)
    ]
    items[41]["source"] = "not a valid source!"
    items[7]["idempotency_key"] = f"bulk-7-{source}"
    result = admin.events.create_many(items)
    assert len(result.request_ids) == 3
    assert [f.index for f in result.failed] == [41]
    assert result.failed[0].code == "validation_error"
    assert [s.index for s in result.successful] == [i for i in range(60) if i != 41]
    assert all(s.event.payload == {"i": s.index} for s in result.successful)
    ids = [s.event.event_id for s in result.successful]

    again = admin.events.create_many([items[7]])
    assert again.successful[0].replayed is True
    assert again.successful[0].event.event_id == result.successful[7].event.event_id

    to_ack = [*ids[:30], "evt_00000000000000000000000000", *ids[30:40]]
    acked = admin.events.ack_many(to_ack)
    assert [(f.index, f.code) for f in acked.failed] == [(30, "not_found")]
    assert len(acked.successful) == 40
    re_ack = admin.events.ack_many(ids[:3])
    assert {f.code for f in re_ack.failed} == {"already_acknowledged"}

    deleted = admin.events.delete_many([*ids, ids[0]])
    assert len(deleted.successful) == 59
    # ids[0] again, in another batch than its first copy: deleted by then, so not_found
    assert [(f.index, f.code) for f in deleted.failed] == [(59, "not_found")]
    assert list(admin.inbox.iter(source=source)) == []


def test_api_keys_crud_rotate_revoke(admin: Triggers, api_url: str):
    name = f"sdk-py {uuid.uuid4().hex[:8]}"
    issued = admin.api_keys.create(name=name, rate_limit=500, allowed_ips=["127.0.0.1"])
    assert issued.secret.startswith("tk_")
    assert issued.signing_secret is None
    key_id = issued.key_id
    assert admin.api_keys.get(key_id).name == name
    assert key_id in {k.key_id for k in admin.api_keys.iter(limit=1)}
    updated = admin.api_keys.update(key_id, name=name + " v2", rate_limit=None, allowed_ips=[])
    assert (updated.name, updated.rate_limit, updated.allowed_ips) == (name + " v2", None, [])

    with Triggers(issued.secret, base_url=api_url) as user:
        assert user.inbox.list(limit=1).events is not None
        with pytest.raises(triggers.PermissionDeniedError) as forbidden:
            user.api_keys.list()
        assert forbidden.value.code == "forbidden"

    rotated = admin.api_keys.rotate(key_id, grace_period_seconds=0)
    assert rotated.secret != issued.secret
    with Triggers(rotated.secret, base_url=api_url) as user:
        user.inbox.list(limit=1)
    with Triggers(issued.secret, base_url=api_url) as old:
        with pytest.raises(AuthenticationError) as unauthorized:
            old.inbox.list(limit=1)
        assert unauthorized.value.code == "unauthorized"

    admin.api_keys.revoke(key_id)
    admin.api_keys.revoke(key_id)  # again: 204
    assert admin.api_keys.get(key_id).status == "revoked"
    with pytest.raises(triggers.ConflictError):
        admin.api_keys.rotate(key_id)
    with Triggers(rotated.secret, base_url=api_url) as revoked, pytest.raises(AuthenticationError):
        revoked.inbox.list(limit=1)
    with pytest.raises(NotFoundError):
        admin.api_keys.get("key_0000000000000000")


def test_signing_key_with_the_signing_client(admin: Triggers, api_url: str, source: str):
    issued = admin.api_keys.create(name="sdk-py signing", signing=True)
    assert issued.signing_secret
    with Triggers(issued.secret, base_url=api_url, signing_secret=issued.signing_secret) as signed:
        event = signed.events.create(source=source, event_type="signed", payload={"ok": True})
        page = signed.inbox.list(source=source, limit=10, metadata={"priority": "normal"})
        assert [e.event_id for e in page.events] == [event.event_id]
        assert signed.events.ack(event.event_id).status == "acknowledged"
        signed.events.delete(event.event_id)
    with Triggers(issued.secret, base_url=api_url, signing_secret="tsig_wrong") as wrong:
        with pytest.raises(SignatureError) as invalid:
            wrong.inbox.list(source=source)
        assert invalid.value.code == "signature_invalid"
        assert invalid.value.status == 401
    with Triggers(issued.secret, base_url=api_url) as unsigned, pytest.raises(SignatureError):
        unsigned.events.get(event.event_id)
    skewed_clock = lambda: time.time() - 600  # noqa: E731
    with Triggers(
        issued.secret, base_url=api_url, signing_secret=issued.signing_secret, clock=skewed_clock
    ) as skewed:
        with pytest.raises(SignatureError) as expired:
            skewed.inbox.list(source=source)
        assert expired.value.code == "signature_expired"
    admin.api_keys.revoke(issued.key_id)


def test_rate_limit_surfaces_state_and_the_retrying_client_waits(admin: Triggers, api_url: str):
    issued = admin.api_keys.create(name="sdk-py tiny limit", rate_limit=60)
    with Triggers(issued.secret, base_url=api_url, max_retries=0) as eager:
        limited = None
        for _ in range(200):
            try:
                eager.inbox.list(limit=1)
            except RateLimitError as error:
                limited = error
                break
        assert limited is not None, "60 requests a minute were never refused"
        state = limited.rate_limit
        assert limited.code == "rate_limited"
        assert (state.limit, state.remaining) == (60, 0)
        assert state.retry_after is not None
        assert state.retry_after >= 1
        assert state.reset is not None
    with Triggers(issued.secret, base_url=api_url) as patient:
        # A token may have come back since the 429 (one a second): each call that gets through
        # first time spends it, until one meets a 429 and must wait it out.
        for _ in range(10):
            started = time.monotonic()
            patient.inbox.list(limit=1)
            if patient.last_response.attempts >= 2:
                break
        assert patient.last_response.attempts >= 2, "the retrying client never met a 429"
        assert time.monotonic() - started >= 0.9
        assert patient.last_response.rate_limit.limit == 60
    admin.api_keys.revoke(issued.key_id)


class _Collector(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _CollectorHandler)
        self.received: queue.Queue[tuple[bytes, dict[str, str]]] = queue.Queue()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks"


class _CollectorHandler(BaseHTTPRequestHandler):
    server: _Collector

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.received.put((raw, {k.lower(): v for k, v in self.headers.items()}))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        return


@pytest.fixture
def collector() -> Iterator[_Collector]:
    server = _Collector()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _next_message(collector: _Collector, verifier: Webhook, kind: str) -> Any:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            raw, headers = collector.received.get(timeout=1)
        except queue.Empty:
            continue
        message = verifier.verify(raw, headers)
        if message.type == kind:
            return message
    raise AssertionError(f"no {kind} delivery within 60 s")


def test_webhooks_crud_test_delivery_replay_deliveries(
    admin: Triggers, source: str, collector: _Collector
):
    issued = admin.webhooks.create(url=collector.url, sources=[source], description="sdk-py")
    webhook_id = issued.webhook_id
    verifier = Webhook(issued.secret)
    try:
        assert admin.webhooks.get(webhook_id).url == collector.url
        assert webhook_id in {w.webhook_id for w in admin.webhooks.iter(limit=1)}

        delivery = admin.webhooks.test(webhook_id)
        assert delivery.kind == "test"
        message = _next_message(collector, verifier, "webhook.test")
        assert message.event is None

        before = datetime.now(timezone.utc) - timedelta(seconds=2)
        event = admin.events.create(source=source, event_type="hook.fired", payload={"x": 1})
        pushed = _next_message(collector, verifier, "hook.fired")
        assert pushed.event.event_id == event.event_id
        assert pushed.event.payload == {"x": 1}

        replay = admin.webhooks.replay(webhook_id, since=before)
        assert replay.queued == 1
        replayed = _next_message(collector, verifier, "hook.fired")
        assert replayed.event.event_id == event.event_id
        assert replayed.id != pushed.id  # a replay is a new delivery

        kinds = eventually(
            lambda: (
                {
                    d.kind
                    for d in admin.webhooks.iter_deliveries(webhook_id, limit=1)
                    if d.status == "succeeded"
                }
                >= {"test", "event", "replay"}
                and True
            )
        )
        assert kinds
        succeeded = admin.webhooks.deliveries(webhook_id, status="succeeded", limit=10)
        assert all(d.status == "succeeded" for d in succeeded.deliveries)

        paused = admin.webhooks.update(webhook_id, status="paused", description="paused")
        assert (paused.status, paused.description) == ("paused", "paused")
        with pytest.raises(triggers.ConflictError):
            admin.webhooks.test(webhook_id)
        assert admin.webhooks.update(webhook_id, status="active").status == "active"

        rotated = admin.webhooks.rotate_secret(webhook_id, grace_period_seconds=60)
        assert rotated.secret != issued.secret
        admin.webhooks.test(webhook_id)
        raw, headers = collector.received.get(timeout=60)
        Webhook(rotated.secret).verify(raw, headers)
        Webhook(issued.secret).verify(raw, headers)  # both signatures during the grace
        with pytest.raises(WebhookVerificationError):
            Webhook(rotated.secret).verify(raw.replace(b"webhook", b"webhooK"), headers)
    finally:
        admin.webhooks.delete(webhook_id)
    with pytest.raises(NotFoundError):
        admin.webhooks.get(webhook_id)
    admin.events.delete(event.event_id)


def test_analytics(admin: Triggers, source: str):
    start = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    created = admin.events.create_many(
        [{"source": source, "event_type": "metric", "payload": {"i": i}} for i in range(3)]
    )
    admin.events.ack(created.successful[0].event.event_id)

    def counted() -> Any:
        summary = admin.analytics.summary(start=start - timedelta(minutes=1))
        mine = [row for row in summary.by_source if row.source == source]
        return summary if mine and mine[0].ingested == 3 and mine[0].acknowledged == 1 else None

    summary = eventually(counted)
    assert summary.totals.ingested >= 3
    series = admin.analytics.timeseries(
        granularity="minute", start=start - timedelta(minutes=1), source=source
    )
    assert series.granularity == "minute"
    assert sum(b.count for b in series.buckets) == 3
    csv_text = admin.analytics.export_csv(granularity="minute", start=start - timedelta(minutes=1))
    assert csv_text.startswith("start,source,event_type,count,")
    assert source in csv_text
    exported = admin.analytics.export_json(granularity="minute", start=start - timedelta(minutes=1))
    assert any(row.source == source and row.count == 3 for row in exported.rows)
    admin.events.delete_many([s.event.event_id for s in created.successful])


@pytest.mark.anyio
async def test_async_client_live(api_url: str, source: str):
    async with AsyncTriggers(_env()["TRIGGERS_ADMIN_KEY"], base_url=api_url) as client:
        assert (await client.health()).status == "ok"
        event = await client.events.create(source=source, event_type="async", payload={"a": 1})
        assert (await client.events.get(event.event_id)).event_id == event.event_id
        more = await client.events.create_many(
            [{"source": source, "event_type": "async", "payload": {"i": i}} for i in range(4)]
        )
        ids = [e.event_id async for e in client.inbox.iter(source=source, limit=2)]
        assert ids == [event.event_id] + [s.event.event_id for s in more.successful]
        result = await client.inbox.process(lambda e: None, source=source)
        assert sorted(result.acked) == sorted(ids)
        with pytest.raises(AlreadyAcknowledgedError):
            await client.events.ack(event.event_id)
        assert (await client.events.delete_many(ids)).ok


async def eventually_async(
    check: Callable[[], Any], timeout: float = 30.0, interval: float = 0.25
) -> Any:
    """``eventually`` for an async ``check`` (a function returning an awaitable)."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout} s: {check}")
        await asyncio.sleep(interval)


@pytest.mark.anyio
async def test_async_client_live_events_inbox_api_keys_analytics(api_url: str, source: str):
    """The rest of the async surface: inbox.list/pages, ack_many, events.delete, API keys,
    analytics (the sync tests above cover the same calls on the blocking client)."""
    start = datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(minutes=1)
    async with AsyncTriggers(_env()["TRIGGERS_ADMIN_KEY"], base_url=api_url) as client:
        created = await client.events.create_many(
            [{"source": source, "event_type": "async.more", "payload": {"i": i}} for i in range(3)]
        )
        ids = [s.event.event_id for s in created.successful]
        page = await client.inbox.list(source=source, limit=2)
        assert [e.event_id for e in page.events] == ids[:2]
        assert page.next_cursor
        pages = [p async for p in client.inbox.pages(source=source, limit=2)]
        assert [[e.event_id for e in p.events] for p in pages] == [ids[:2], ids[2:]]
        acked = await client.events.ack_many([*ids[:2], "evt_00000000000000000000000000"])
        assert sorted(a.event.event_id for a in acked.successful) == sorted(ids[:2])
        assert [(f.index, f.code) for f in acked.failed] == [(2, "not_found")]

        async def counted() -> Any:
            summary = await client.analytics.summary(start=start)
            mine = [row for row in summary.by_source if row.source == source]
            return summary if mine and (mine[0].ingested, mine[0].acknowledged) == (3, 2) else None

        await eventually_async(counted)
        series = await client.analytics.timeseries(granularity="minute", start=start, source=source)
        assert series.granularity == "minute"
        assert sum(b.count for b in series.buckets) == 3
        csv_text = await client.analytics.export_csv(granularity="minute", start=start)
        assert csv_text.startswith("start,source,event_type,count,")
        assert source in csv_text
        exported = await client.analytics.export_json(granularity="minute", start=start)
        assert any(row.source == source and row.count == 3 for row in exported.rows)

        await client.events.delete(ids[2])
        with pytest.raises(NotFoundError):
            await client.events.get(ids[2])
        with pytest.raises(NotFoundError):
            await client.events.delete(ids[2])  # not a retry: the second delete is not_found
        assert (await client.events.delete_many(ids[:2])).ok

        name = f"sdk-py-async {uuid.uuid4().hex[:8]}"
        issued = await client.api_keys.create(name=name, rate_limit=500)
        key_id = issued.key_id
        assert (await client.api_keys.get(key_id)).name == name
        first = await client.api_keys.list(limit=1)
        assert len(first.api_keys) == 1
        assert first.next_cursor
        assert key_id in {k.key_id async for k in client.api_keys.iter(limit=1)}
        updated = await client.api_keys.update(key_id, name=name + " v2", rate_limit=None)
        assert (updated.name, updated.rate_limit) == (name + " v2", None)
        rotated = await client.api_keys.rotate(key_id, grace_period_seconds=0)
        assert rotated.secret != issued.secret
        async with AsyncTriggers(rotated.secret, base_url=api_url) as user:
            await user.inbox.list(limit=1)
        await client.api_keys.revoke(key_id)
        assert (await client.api_keys.get(key_id)).status == "revoked"
        async with AsyncTriggers(rotated.secret, base_url=api_url) as revoked:
            with pytest.raises(AuthenticationError):
                await revoked.inbox.list(limit=1)


@pytest.mark.anyio
async def test_async_client_live_webhooks(api_url: str, source: str, collector: _Collector):
    async with AsyncTriggers(_env()["TRIGGERS_ADMIN_KEY"], base_url=api_url) as client:
        issued = await client.webhooks.create(url=collector.url, sources=[source])
        webhook_id = issued.webhook_id
        verifier = Webhook(issued.secret)
        event_id = None
        try:
            assert (await client.webhooks.get(webhook_id)).url == collector.url
            listed = await client.webhooks.list(limit=100)
            assert listed.webhooks is not None
            assert webhook_id in {w.webhook_id async for w in client.webhooks.iter(limit=1)}
            assert (await client.webhooks.test(webhook_id)).kind == "test"
            await asyncio.to_thread(_next_message, collector, verifier, "webhook.test")

            before = datetime.now(timezone.utc) - timedelta(seconds=2)
            event = await client.events.create(source=source, event_type="hook.async", payload={})
            event_id = event.event_id
            await asyncio.to_thread(_next_message, collector, verifier, "hook.async")
            assert (await client.webhooks.replay(webhook_id, since=before)).queued == 1
            await asyncio.to_thread(_next_message, collector, verifier, "hook.async")

            async def all_succeeded() -> bool:
                kinds = {
                    d.kind
                    async for d in client.webhooks.iter_deliveries(webhook_id, limit=1)
                    if d.status == "succeeded"
                }
                return kinds >= {"test", "event", "replay"}

            await eventually_async(all_succeeded)
            page = await client.webhooks.deliveries(webhook_id, status="succeeded", limit=10)
            assert page.deliveries
            assert all(d.status == "succeeded" for d in page.deliveries)

            paused = await client.webhooks.update(webhook_id, status="paused")
            assert paused.status == "paused"
            rotated = await client.webhooks.rotate_secret(webhook_id, grace_period_seconds=0)
            assert rotated.secret != issued.secret
        finally:
            await client.webhooks.delete(webhook_id)
            if event_id is not None:
                await client.events.delete(event_id)
        with pytest.raises(NotFoundError):
            await client.webhooks.get(webhook_id)


# --- the examples, run as a user would run them ---


def _example_env(api_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "TRIGGERS_API_URL": api_url,
        "TRIGGERS_API_KEY": _env()["TRIGGERS_ADMIN_KEY"],
    }


def _run_example(name: str, *args: str, api_url: str) -> list[dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        env=_example_env(api_url),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def test_examples_producer_and_consumer(admin: Triggers, api_url: str, source: str):
    produced = _run_example(
        "producer.py", "--source", source, "--count", "3", "--bulk", "30", api_url=api_url
    )
    ids = [line["event_id"] for line in produced if "event_id" in line]
    assert len(ids) == 33
    assert produced[-1] == {"created": 33, "source": source}
    assert [e.event_id for e in admin.inbox.iter(source=source)] == ids

    consumed = _run_example("inbox_consumer.py", "--source", source, api_url=api_url)
    assert sorted(line["acked"] for line in consumed if "acked" in line) == sorted(ids)
    assert consumed[-1]["pass"]["acked"] == 33
    assert list(admin.inbox.iter(source=source)) == []
    assert all(admin.events.get(i).status == "acknowledged" for i in ids[:3])
    admin.events.delete_many(ids)


def test_example_webhook_receiver(admin: Triggers, api_url: str, source: str):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/hooks"
    issued = admin.webhooks.create(url=url, sources=[source], description="example receiver")
    process = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "webhook_receiver.py"), "--port", str(port)],
        env={**_example_env(api_url), "WEBHOOK_SECRET": issued.secret},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[dict[str, Any]] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(json.loads(line))

    threading.Thread(target=pump, daemon=True).start()
    try:
        assert lines.get(timeout=30) == {"listening": url}
        event = admin.events.create(source=source, event_type="receiver.check", payload={})
        record = lines.get(timeout=60)
        assert record == {
            "verified": True,
            "webhook_id": record["webhook_id"],
            "type": "receiver.check",
            "event_id": event.event_id,
        }
        # a tampered delivery: a valid signature of one body sent with another is refused
        now = int(time.time())
        data = event.model_dump(mode="json")
        body = json.dumps({"type": "receiver.check", "timestamp": "t", "data": data})
        signature = Webhook(issued.secret).sign("msg_tampered", now, body)
        tampered_headers = {
            "webhook-id": "msg_tampered",
            "webhook-timestamp": str(now),
            "webhook-signature": signature,
        }
        answer = httpx.post(url, content=body.replace("check", "chock"), headers=tampered_headers)
        assert answer.status_code == 400
        assert lines.get(timeout=10) == {"verified": False, "reason": "no matching signature"}
        untampered = httpx.post(url, content=body, headers=tampered_headers)
        assert untampered.status_code == 204  # the same signature on its own body passes
        assert lines.get(timeout=10)["webhook_id"] == "msg_tampered"
        delivered = eventually(
            lambda: [
                d
                for d in admin.webhooks.iter_deliveries(issued.webhook_id)
                if d.event_id == event.event_id and d.status == "succeeded"
            ]
        )
        assert delivered
    finally:
        process.terminate()
        process.wait(timeout=30)
        admin.webhooks.delete(issued.webhook_id)
    admin.events.delete(event.event_id)
