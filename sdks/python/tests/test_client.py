"""Requests, errors, paging, bulk splitting and poll-handle-ack, sync and async, on mocks."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import httpx
import pytest
from conftest import (
    EVENT_ID,
    FakeTime,
    Script,
    async_client,
    error_json,
    event_json,
    respond,
    sync_client,
)

import triggers
from triggers import (
    AuthenticationError,
    BadRequestError,
    IdempotencyConflictError,
    PermissionDeniedError,
    SignatureError,
    Triggers,
)


def eid(i: int) -> str:
    return f"evt_01JD8ZK3ABCDEFGHJKMNPQ{i:04d}"


def test_headers_user_agent_and_json_body(fake_time: FakeTime):
    script = Script(respond(201, event_json()))
    client = sync_client(script, fake_time)
    client.events.create(
        source="billing", event_type="invoice.paid", payload={"a": 1}, metadata={"priority": "high"}
    )
    request = script.requests[0]
    assert request.headers["X-API-Key"] == "tk_test_secret"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"].startswith("triggers-python/0.1.0 (")
    assert json.loads(request.content) == {
        "source": "billing",
        "event_type": "invoice.paid",
        "payload": {"a": 1},
        "metadata": {"priority": "high"},
    }
    assert str(request.url) == "http://api.test/v1/events"


def test_get_without_body_sends_no_content_type(fake_time: FakeTime):
    script = Script(respond(200, event_json()))
    event = sync_client(script, fake_time).events.get(EVENT_ID)
    assert "Content-Type" not in script.requests[0].headers
    assert event.payload == {"amount": 4200}
    assert event.metadata.priority == "normal"


def test_error_carries_code_message_details_request_id_status_and_rate_limit(fake_time):
    body = error_json(
        "validation_error",
        "The event is not valid.",
        "req_abc",
        details=[{"field": "source", "message": "is required"}],
    )
    headers = {
        "X-RateLimit-Limit": "1000",
        "X-RateLimit-Remaining": "998",
        "X-RateLimit-Reset": "1764460801",
        "X-Request-ID": "req_abc",
    }
    script = Script(respond(400, body, headers))
    with pytest.raises(BadRequestError) as info:
        sync_client(script, fake_time).events.create(source="", event_type="t", payload={})
    error = info.value
    assert (error.status, error.code, error.message) == (
        400,
        "validation_error",
        "The event is not valid.",
    )
    assert error.details == (triggers.ErrorDetail("source", "is required"),)
    assert error.request_id == "req_abc"
    assert error.rate_limit == triggers.RateLimit(1000, 998, 1764460801, None)
    assert isinstance(error, triggers.APIError)
    assert isinstance(error, triggers.TriggersError)


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (401, "unauthorized", AuthenticationError),
        (401, "signature_invalid", SignatureError),
        (401, "signature_expired", SignatureError),
        (403, "forbidden", PermissionDeniedError),
        (409, "idempotency_conflict", IdempotencyConflictError),
        (409, "conflict", triggers.ConflictError),
        (413, "payload_too_large", triggers.PayloadTooLargeError),
        (415, "unsupported_media_type", triggers.UnsupportedMediaTypeError),
        (405, "method_not_allowed", triggers.MethodNotAllowedError),
    ],
)
def test_error_types_by_status_and_code(fake_time, status, code, cls):
    script = Script(respond(status, error_json(code)))
    with pytest.raises(cls) as info:
        sync_client(script, fake_time).events.get(EVENT_ID)
    assert info.value.code == code


def test_request_id_falls_back_to_the_header_and_html_bodies_are_handled(fake_time):
    script = Script(httpx.Response(418, text="<html>teapot</html>", headers={"X-Request-ID": "r9"}))
    with pytest.raises(triggers.APIError) as info:
        sync_client(script, fake_time).events.get(EVENT_ID)
    assert info.value.code == "http_418"
    assert info.value.request_id == "r9"


def test_successful_responses_expose_rate_limit_and_request_id(fake_time: FakeTime):
    script = Script(
        respond(
            200,
            event_json(),
            {
                "X-Request-ID": "req_ok",
                "X-RateLimit-Limit": "5",
                "X-RateLimit-Remaining": "4",
                "X-RateLimit-Reset": "10",
            },
        )
    )
    client = sync_client(script, fake_time)
    assert client.last_response is None
    client.events.get(EVENT_ID)
    info = client.last_response
    assert (info.status, info.request_id, info.rate_limit.remaining) == (200, "req_ok", 4)


def test_inbox_filters_are_sent_and_the_iterator_walks_every_page(fake_time: FakeTime):
    pages = [
        {"events": [event_json(eid(1)), event_json(eid(2))], "next_cursor": "c1"},
        {"events": [], "next_cursor": "c2"},  # a short page with a cursor: keep going
        {"events": [event_json(eid(3))], "next_cursor": None},
    ]
    script = Script(*[respond(200, p) for p in pages])
    client = sync_client(script, fake_time)
    after = datetime(2026, 11, 30, 0, 0, tzinfo=timezone.utc)
    ids = [
        e.event_id
        for e in client.inbox.iter(
            limit=2,
            source="billing",
            event_type="invoice.paid",
            created_after=after,
            created_before="2026-12-01T00:00:00Z",
            priority="high",
            metadata={"team": "pay ments", "a.b": "1"},
        )
    ]
    assert ids == [eid(1), eid(2), eid(3)]
    first = script.requests[0].url.params
    assert first["created_after"] == "2026-11-30T00:00:00.000Z"
    assert first["metadata.team"] == "pay ments"
    assert first["metadata.a.b"] == "1"
    assert first["priority"] == "high"
    assert "cursor" not in first
    assert b"pay%20ments" in script.requests[0].url.raw_path
    assert [r.url.params.get("cursor") for r in script.requests] == [None, "c1", "c2"]
    assert all(r.url.params["source"] == "billing" for r in script.requests)


def test_naive_datetimes_are_refused(fake_time: FakeTime):
    client = sync_client(Script(), fake_time)
    with pytest.raises(ValueError, match="timezone-aware"):
        client.inbox.list(created_after=datetime(2026, 1, 1))


def bulk_handler(bad_payload_marker: str = "bad"):
    def answer(request: httpx.Request) -> httpx.Response:
        items = json.loads(request.content)["items"]
        successful, failed = [], []
        for i, item in enumerate(items):
            assert item["idempotency_key"]  # every item carries one
            if bad_payload_marker in item["payload"]:
                failed.append(
                    {
                        "index": i,
                        "error": {"code": "validation_error", "message": "bad", "details": []},
                    }
                )
            else:
                successful.append({"index": i, "event": event_json(eid(i)), "replayed": False})
        return respond(200, {"successful": successful, "failed": failed, "request_id": "r"})

    return answer


def test_bulk_create_splits_into_batches_of_25_and_merges_indexes(fake_time: FakeTime):
    script = Script(bulk_handler(), bulk_handler(), bulk_handler())
    items = [{"source": "s", "event_type": "t", "payload": {"n": i}} for i in range(60)]
    items[37]["payload"] = {"bad": True}
    items[5]["idempotency_key"] = "mine"
    result = sync_client(script, fake_time).events.create_many(items)
    assert [len(b["items"]) for b in script.bodies()] == [25, 25, 10]
    assert [f.index for f in result.failed] == [37]
    assert result.failed[0].code == "validation_error"
    assert [s.index for s in result.successful] == [i for i in range(60) if i != 37]
    keys = [item["idempotency_key"] for body in script.bodies() for item in body["items"]]
    assert keys[5] == "mine"
    assert len(set(keys)) == 60
    assert "idempotency_key" not in items[0]  # the caller's dicts are not modified


def test_bulk_create_retry_resends_the_same_keys(fake_time: FakeTime):
    script = Script(httpx.ReadTimeout("lost"), bulk_handler())
    sync_client(script, fake_time).events.create_many(
        [{"source": "s", "event_type": "t", "payload": {}}]
    )
    first, second = script.bodies()
    assert first == second


def test_a_failed_batch_fails_its_items_and_the_others_still_run(fake_time: FakeTime):
    ok = {
        "successful": [{"index": i, "event_id": eid(i)} for i in range(25)],
        "failed": [],
        "request_id": "r",
    }
    script = Script(
        respond(200, ok),
        respond(403, error_json("forbidden")),
        respond(200, {**ok, "successful": ok["successful"][:1]}),
    )
    ids = [eid(i) for i in range(51)]
    result = sync_client(script, fake_time).events.delete_many(ids)
    assert len(result.successful) == 26
    assert [f.index for f in result.failed] == list(range(25, 50))
    assert {f.code for f in result.failed} == {"forbidden"}
    assert result.successful[-1].index == 50
    assert script.requests[0].method == "DELETE"


def test_bulk_ack_merges_per_item_failures(fake_time: FakeTime):
    answer = {
        "successful": [
            {
                "index": 0,
                "event": event_json(
                    eid(0), status="acknowledged", acknowledged_at="2026-11-30T10:00:00.000Z"
                ),
            }
        ],
        "failed": [{"index": 1, "error": {"code": "not_found", "message": "x", "details": []}}],
        "request_id": "r",
    }
    script = Script(respond(200, answer), respond(200, answer))
    result = sync_client(script, fake_time).events.ack_many([eid(i) for i in range(27)])
    assert [s.index for s in result.successful] == [0, 25]
    assert [(f.index, f.code) for f in result.failed] == [(1, "not_found"), (26, "not_found")]
    assert not result.ok


def test_process_acks_handled_events_and_reports_handler_failures(fake_time: FakeTime):
    page = {"events": [event_json(eid(i)) for i in range(3)], "next_cursor": None}

    def ack_answer(request: httpx.Request) -> httpx.Response:
        ids = json.loads(request.content)["event_ids"]
        assert ids == [eid(0), eid(2)]
        return respond(
            200,
            {
                "successful": [
                    {
                        "index": 0,
                        "event": event_json(
                            eid(0),
                            status="acknowledged",
                            acknowledged_at="2026-11-30T10:00:00.000Z",
                        ),
                    }
                ],
                "failed": [
                    {
                        "index": 1,
                        "error": {"code": "already_acknowledged", "message": "x", "details": []},
                    }
                ],
                "request_id": "r",
            },
        )

    script = Script(respond(200, page), ack_answer)
    handled = []

    def handler(event):
        if event.event_id == eid(1):
            raise RuntimeError("boom")
        handled.append(event.event_id)

    result = sync_client(script, fake_time).inbox.process(handler, source="billing")
    assert handled == [eid(0), eid(2)]
    assert result.acked == [eid(0), eid(2)]  # already_acknowledged counts as acked
    assert [f.event.event_id for f in result.handler_failures] == [eid(1)]
    assert isinstance(result.handler_failures[0].error, RuntimeError)
    with pytest.raises(triggers.ProcessingError, match="1 handler failure"):
        result.raise_for_failures()


def test_process_stops_at_max_events(fake_time: FakeTime):
    page = {"events": [event_json(eid(i)) for i in range(3)], "next_cursor": "more"}
    ack = {
        "successful": [
            {
                "index": i,
                "event": event_json(
                    eid(i), status="acknowledged", acknowledged_at="2026-11-30T10:00:00.000Z"
                ),
            }
            for i in range(2)
        ],
        "failed": [],
        "request_id": "r",
    }
    script = Script(respond(200, page), respond(200, ack))
    result = sync_client(script, fake_time).inbox.process(lambda e: None, max_events=2)
    assert result.acked == [eid(0), eid(1)]
    assert result.ok
    assert len(script.requests) == 2


def test_api_key_update_distinguishes_null_from_not_given(fake_time: FakeTime):
    key = {
        "key_id": "key_0123456789abcdef",
        "tenant_id": "t",
        "name": "n",
        "admin": False,
        "rate_limit": None,
        "allowed_ips": [],
        "signing": False,
        "status": "active",
        "created_at": "2026-11-30T10:00:00.000Z",
        "created_by": None,
        "updated_at": "2026-11-30T10:00:00.000Z",
        "expires_at": None,
        "revoked_at": None,
        "last_used_at": None,
        "secrets": [],
    }
    script = Script(respond(200, key), respond(200, key))
    client = sync_client(script, fake_time)
    client.api_keys.update("key_0123456789abcdef", rate_limit=None)
    client.api_keys.update("key_0123456789abcdef", name="x", allowed_ips=[])
    assert script.bodies() == [{"rate_limit": None}, {"name": "x", "allowed_ips": []}]
    assert script.requests[0].method == "PATCH"


def test_analytics_query_names_and_csv_export(fake_time: FakeTime):
    csv_text = "start,source\r\n2026-11-30T10:00:00.000Z,billing\r\n"
    script = Script(httpx.Response(200, text=csv_text, headers={"Content-Type": "text/csv"}))
    client = sync_client(script, fake_time)
    start = datetime(2026, 11, 30, 10, tzinfo=timezone.utc)
    assert client.analytics.export_csv(granularity="hour", start=start) == csv_text
    params = script.requests[0].url.params
    assert dict(params) == {
        "format": "csv",
        "granularity": "hour",
        "from": "2026-11-30T10:00:00.000Z",
    }


def test_path_parameters_are_encoded(fake_time: FakeTime):
    script = Script(respond(404, error_json("not_found")))
    with pytest.raises(triggers.NotFoundError):
        sync_client(script, fake_time).events.get("evt/../x y")
    assert script.requests[0].url.raw_path == b"/v1/events/evt%2F..%2Fx%20y"


def test_base_url_with_a_stage_prefix(fake_time: FakeTime):
    script = Script(respond(200, event_json()))
    sync_client(script, fake_time, base_url="https://api.example/prod/").events.get(EVENT_ID)
    assert str(script.requests[0].url) == f"https://api.example/prod/v1/events/{EVENT_ID}"


def test_configuration_from_the_environment(monkeypatch):
    monkeypatch.setenv("TRIGGERS_API_KEY", "tk_env")
    monkeypatch.setenv("TRIGGERS_API_URL", "http://env.test")
    with Triggers() as client:
        assert client.options.api_key == "tk_env"
        assert client.options.base_url == "http://env.test"
    monkeypatch.delenv("TRIGGERS_API_KEY")
    with pytest.raises(ValueError, match="api_key"):
        Triggers()


def test_context_manager_closes_its_own_http_client_only():
    own = httpx.Client()
    with Triggers("k", http_client=own) as client:
        assert client.options.api_key == "k"
    assert not own.is_closed
    own.close()
    client = Triggers("k")
    client.close()
    assert client._http.is_closed


# --- async: the same core, another transport ---


@pytest.mark.anyio
async def test_async_retries_and_idempotency_key_reuse(fake_time: FakeTime):
    script = Script(
        httpx.ReadTimeout("lost"),
        respond(429, error_json("rate_limited"), {"Retry-After": "2"}),
        respond(201, event_json()),
    )
    async with async_client(script, fake_time) as client:
        event = await client.events.create(source="s", event_type="t", payload={})
        assert event.event_id == EVENT_ID
        assert client.last_response.attempts == 3
    assert len({r.headers["Idempotency-Key"] for r in script.requests}) == 1
    assert fake_time.sleeps == [0.25, 2.0]


@pytest.mark.anyio
async def test_async_iterator_and_process_with_an_async_handler(fake_time: FakeTime):
    pages = [
        {"events": [event_json(eid(1))], "next_cursor": "c1"},
        {"events": [event_json(eid(2))], "next_cursor": None},
    ]
    script = Script(*[respond(200, p) for p in pages])
    async with async_client(script, fake_time) as client:
        ids = [e.event_id async for e in client.inbox.iter(limit=1)]
    assert ids == [eid(1), eid(2)]

    ack = {
        "successful": [
            {
                "index": 0,
                "event": event_json(
                    eid(1), status="acknowledged", acknowledged_at="2026-11-30T10:00:00.000Z"
                ),
            }
        ],
        "failed": [],
        "request_id": "r",
    }
    script = Script(respond(200, pages[0]), respond(200, ack), respond(200, pages[1]))
    seen = []

    async def handler(event):
        seen.append(event.event_id)
        if event.event_id == eid(2):
            raise ValueError("bad event")

    async with async_client(script, fake_time) as client:
        result = await client.inbox.process(handler)
    assert seen == [eid(1), eid(2)]
    assert result.acked == [eid(1)]
    assert [f.event.event_id for f in result.handler_failures] == [eid(2)]


@pytest.mark.anyio
async def test_async_bulk_and_errors(fake_time: FakeTime):
    script = Script(bulk_handler(), bulk_handler())
    async with async_client(script, fake_time) as client:
        result = await client.events.create_many(
            [
                {"source": "s", "event_type": "t", "payload": {"bad" if i == 27 else "n": i}}
                for i in range(30)
            ]
        )
    assert [f.index for f in result.failed] == [27]
    assert len(result.successful) == 29
    script = Script(respond(401, error_json("signature_invalid")))
    async with async_client(script, fake_time) as client:
        with pytest.raises(SignatureError):
            await client.events.get(EVENT_ID)


def flaky_storage(unavailable_keys: set[str]):
    """Bulk create answering service_unavailable for items whose key is in the set (once)."""

    def answer(request: httpx.Request) -> httpx.Response:
        items = json.loads(request.content)["items"]
        successful, failed = [], []
        for i, item in enumerate(items):
            if item["idempotency_key"] in unavailable_keys:
                unavailable_keys.discard(item["idempotency_key"])
                failed.append(
                    {
                        "index": i,
                        "error": {
                            "code": "service_unavailable",
                            "message": "try again",
                            "details": [],
                        },
                    }
                )
            else:
                successful.append({"index": i, "event": event_json(eid(i)), "replayed": False})
        return respond(200, {"successful": successful, "failed": failed, "request_id": "r"})

    return answer


def test_bulk_resends_items_storage_never_took(fake_time: FakeTime):
    unavailable = {"k1", "k3"}
    script = Script(flaky_storage(unavailable), flaky_storage(unavailable))
    items = [
        {"source": "s", "event_type": "t", "payload": {}, "idempotency_key": f"k{i}"}
        for i in range(4)
    ]
    result = sync_client(script, fake_time).events.create_many(items)
    assert result.ok
    assert [s.index for s in result.successful] == [0, 1, 2, 3]
    first, second = script.bodies()
    assert len(first["items"]) == 4
    assert [i["idempotency_key"] for i in second["items"]] == ["k1", "k3"]  # only those, same keys
    assert fake_time.sleeps == [0.25]  # full jitter: 0.5 * min(30, 0.5 * 2**0)
    assert len(result.request_ids) == 2


def test_bulk_reports_items_still_unavailable_after_the_retries(fake_time: FakeTime):
    def always_unavailable(request: httpx.Request) -> httpx.Response:
        ids = json.loads(request.content)["event_ids"]
        failed = [
            {"index": i, "error": {"code": "service_unavailable", "message": "x", "details": []}}
            for i in range(len(ids))
        ]
        return respond(200, {"successful": [], "failed": failed, "request_id": "r"})

    script = Script(*[always_unavailable] * 3)
    client = sync_client(script, fake_time, max_retries=2)
    result = client.events.ack_many([eid(0), eid(1)])
    assert [(f.index, f.code) for f in result.failed] == [
        (0, "service_unavailable"),
        (1, "service_unavailable"),
    ]
    assert len(script.requests) == 3
    assert fake_time.sleeps == [0.25, 0.5]


def test_health_answers_the_document_on_503_too(fake_time: FakeTime):
    down = {"status": "unavailable", "version": "0.1.0", "checks": {"dynamodb": "unavailable"}}
    script = Script(
        respond(503, down, {"Retry-After": "1"}), httpx.Response(503, text="<html>gateway</html>")
    )
    client = sync_client(script, fake_time)
    health = client.health()
    assert (health.status, health.checks.dynamodb) == ("unavailable", "unavailable")
    assert client.last_response.status == 503
    with pytest.raises(triggers.ServiceUnavailableError):
        client.health()
    assert len(script.requests) == 2  # neither retried


def test_last_response_is_per_thread(fake_time: FakeTime):
    import threading

    from triggers import Triggers

    def answer(request: httpx.Request) -> httpx.Response:
        event_id = request.url.path.rsplit("/", 1)[1]
        return respond(200, event_json(event_id), {"X-Request-ID": f"req_{event_id}"})

    client = Triggers(
        "tk_test_secret", base_url="http://api.test", transport=httpx.MockTransport(answer)
    )
    client.events.get("evt_11111111111111111111111111")
    started, go = threading.Event(), threading.Event()
    seen: dict[str, object] = {}

    def worker() -> None:
        seen["before"] = client.last_response  # nothing yet in this thread
        client.events.get("evt_33333333333333333333333333")
        started.set()
        go.wait(5)
        seen["after"] = client.last_response.request_id

    thread = threading.Thread(target=worker)
    thread.start()
    started.wait(5)
    client.events.get(
        "evt_22222222222222222222222222"
    )  # the main thread's call does not change the worker's
    go.set()
    thread.join(5)
    assert seen == {"before": None, "after": "req_evt_33333333333333333333333333"}
    assert client.last_response.request_id == "req_evt_22222222222222222222222222"


@pytest.mark.anyio
async def test_last_response_is_per_task(fake_time: FakeTime):
    import anyio

    from triggers import AsyncTriggers

    def answer(request: httpx.Request) -> httpx.Response:
        event_id = request.url.path.rsplit("/", 1)[1]
        return respond(200, event_json(event_id), {"X-Request-ID": f"req_{event_id}"})

    client = AsyncTriggers(
        "tk_test_secret", base_url="http://api.test", transport=httpx.MockTransport(answer)
    )
    await client.events.get("evt_44444444444444444444444444")
    seen: dict[str, object] = {}
    first_done = anyio.Event()

    async def task_a() -> None:
        await client.events.get("evt_55555555555555555555555555")
        first_done.set()
        await anyio.sleep(0.01)
        seen["a"] = client.last_response.request_id

    async def task_b() -> None:
        await first_done.wait()
        await client.events.get("evt_66666666666666666666666666")
        seen["b"] = client.last_response.request_id

    async with anyio.create_task_group() as group:
        group.start_soon(task_a)
        group.start_soon(task_b)
    assert seen == {
        "a": "req_evt_55555555555555555555555555",
        "b": "req_evt_66666666666666666666666666",
    }
    # A coroutine awaited in this task (not a new task) sets this task's value.
    assert client.last_response.request_id == "req_evt_44444444444444444444444444"
    await client.close()


def test_the_async_client_mirrors_the_sync_surface():
    """Both clients are thin drivers of one core: same resources, same methods, same
    parameters (names, kinds, defaults), so they cannot drift apart."""
    import inspect

    from triggers import AsyncTriggers, Triggers

    sync = Triggers("tk_test_secret", base_url="http://api.test")
    asyn = AsyncTriggers("tk_test_secret", base_url="http://api.test")

    def surface(obj: object) -> dict[str, list[tuple[str, object, object]]]:
        out = {}
        for name, member in inspect.getmembers(obj, callable):
            if name.startswith("_"):
                continue
            params = inspect.signature(member).parameters.values()
            out[name] = [(p.name, p.kind, p.default) for p in params]
        return out

    resources = ["events", "inbox", "api_keys", "webhooks", "analytics"]
    for resource in resources:
        assert surface(getattr(sync, resource)) == surface(getattr(asyn, resource)), resource
    top = {k: v for k, v in surface(sync).items() if k not in {"close"}}
    assert top == {k: v for k, v in surface(asyn).items() if k in top}
    assert (
        inspect.signature(Triggers).parameters.keys()
        == inspect.signature(AsyncTriggers).parameters.keys()
    )
    sync.close()


def test_a_bulk_batch_and_its_resends_share_one_deadline(fake_time: FakeTime):
    # The batch: 503 (Retry-After 6), then item k1 unavailable; its resend keeps answering
    # 503 Retry-After 3. The resend's own retries stop at the batch's deadline (10 s), instead
    # of starting a fresh 10 s.
    unavailable = {"k1"}
    script = Script(
        respond(503, error_json("service_unavailable"), {"Retry-After": "6"}),
        flaky_storage(unavailable),
        *[respond(503, error_json("service_unavailable"), {"Retry-After": "3"})] * 6,
    )
    items = [
        {"source": "s", "event_type": "t", "payload": {}, "idempotency_key": f"k{i}"}
        for i in range(2)
    ]
    client = sync_client(script, fake_time, max_retries=10, deadline=10)
    result = client.events.create_many(items)
    assert [s.index for s in result.successful] == [0]
    assert [(f.index, f.code) for f in result.failed] == [(1, "service_unavailable")]
    # 6 s + 0.25 s backoff before the resend, then one 3 s wait (t=9.25); a second would not fit
    assert fake_time.sleeps == [6.0, 0.25, 3.0]


# --- responses this SDK version cannot fully read (docs/VERSIONING.md: additive changes) ---


def test_an_unknown_event_status_is_kept_not_refused(fake_time: FakeTime):
    script = Script(respond(200, event_json(status="archived", new_field=1)))
    event = sync_client(script, fake_time).events.get(EVENT_ID)
    assert event.status == "archived"
    assert event.model_extra == {"new_field": 1}


def test_an_unknown_bulk_error_code_is_kept_not_refused(fake_time: FakeTime):
    answer = {
        "successful": [],
        "failed": [
            {"index": 0, "error": {"code": "quota_exceeded", "message": "x", "details": []}}
        ],
        "request_id": "r",
    }
    script = Script(respond(200, answer))
    result = sync_client(script, fake_time).events.ack_many([eid(0)])
    assert [(f.index, f.code) for f in result.failed] == [(0, "quota_exceeded")]


def test_a_2xx_body_that_is_not_json_raises_response_validation_error(fake_time: FakeTime):
    script = Script(httpx.Response(200, text="<html>ok</html>", headers={"X-Request-ID": "r7"}))
    with pytest.raises(triggers.ResponseValidationError) as info:
        sync_client(script, fake_time).events.get(EVENT_ID)
    error = info.value
    assert isinstance(error, triggers.TriggersError)
    assert (error.status, error.request_id, error.body) == (200, "r7", "<html>ok</html>")
    assert isinstance(error.__cause__, ValueError)


def test_a_2xx_body_of_the_wrong_shape_raises_response_validation_error(fake_time: FakeTime):
    from pydantic import ValidationError

    body = event_json()
    del body["status"]
    script = Script(respond(201, body, {"X-Request-ID": "r8"}))
    with pytest.raises(triggers.ResponseValidationError) as info:
        sync_client(script, fake_time).events.create(source="s", event_type="t", payload={})
    assert (info.value.status, info.value.request_id) == (201, "r8")
    assert json.loads(info.value.body) == body
    assert isinstance(info.value.__cause__, ValidationError)


@pytest.mark.anyio
async def test_async_a_non_json_2xx_body_raises_response_validation_error(fake_time: FakeTime):
    script = Script(httpx.Response(200, text="not json"), respond(200, event_json(status="new")))
    client = async_client(script, fake_time)
    with pytest.raises(triggers.ResponseValidationError):
        await client.events.get(EVENT_ID)
    assert (await client.events.get(EVENT_ID)).status == "new"
