"""The retry policy: full-jitter schedule, Retry-After, deadline, idempotency keys, safety."""

from __future__ import annotations

import httpx
import pytest
from conftest import EVENT_ID, FakeTime, Script, error_json, event_json, respond, sync_client

from triggers import (
    AlreadyAcknowledgedError,
    APIConnectionError,
    APITimeoutError,
    InternalServerError,
    NotFoundError,
    RateLimitError,
    ServiceUnavailableError,
)


def unavailable(retry_after: str | None = None) -> httpx.Response:
    headers = {"Retry-After": retry_after} if retry_after else {}
    return respond(503, error_json("service_unavailable"), headers)


def test_full_jitter_schedule_is_exact(fake_time: FakeTime):
    script = Script(
        httpx.ConnectError("refused"),
        httpx.ConnectError("refused"),
        httpx.ConnectError("refused"),
        respond(200, event_json()),
    )
    draws = iter([0.25, 0.5, 1.0 - 1e-9])
    client = sync_client(script, fake_time, random=lambda: next(draws))
    client.events.get(EVENT_ID)
    # uniform(0, min(cap, 0.5 * 2**n)) with the injected draws: 0.25*0.5, 0.5*1.0, ~1.0*2.0
    assert fake_time.sleeps == pytest.approx([0.125, 0.5, 2.0])
    assert client.last_response.attempts == 4


def test_backoff_is_capped(fake_time: FakeTime):
    script = Script(*[httpx.ConnectError("x") for _ in range(4)], respond(200, event_json()))
    client = sync_client(
        script,
        fake_time,
        random=lambda: 0.999999,
        backoff_base=1.0,
        backoff_cap=3.0,
        max_retries=4,
    )
    client.events.get(EVENT_ID)
    assert fake_time.sleeps == pytest.approx([1.0, 2.0, 3.0, 3.0], abs=1e-4)


def test_retry_after_is_the_minimum_wait(fake_time: FakeTime):
    script = Script(
        respond(
            429,
            error_json("rate_limited"),
            {
                "Retry-After": "3",
                "X-RateLimit-Limit": "60",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": "1764460860",
            },
        ),
        unavailable("1"),
        respond(200, event_json()),
    )
    client = sync_client(script, fake_time, random=lambda: 0.5)
    client.events.get(EVENT_ID)
    # max(Retry-After, jitter): max(3, 0.25) then max(1, 0.5)
    assert fake_time.sleeps == [3.0, 1.0]


def test_retry_after_beyond_the_deadline_fails_at_once(fake_time: FakeTime):
    script = Script(
        respond(
            429, error_json("rate_limited"), {"Retry-After": "50", "X-RateLimit-Remaining": "0"}
        )
    )
    client = sync_client(script, fake_time, deadline=10)
    with pytest.raises(RateLimitError) as info:
        client.events.get(EVENT_ID)
    assert fake_time.sleeps == []
    assert info.value.rate_limit.retry_after == 50
    assert info.value.rate_limit.remaining == 0


def test_attempts_are_bounded(fake_time: FakeTime):
    script = Script(*[unavailable("1") for _ in range(3)])
    client = sync_client(script, fake_time, max_retries=2)
    with pytest.raises(ServiceUnavailableError):
        client.events.get(EVENT_ID)
    assert len(script.requests) == 3


def test_total_deadline_bounds_the_retries(fake_time: FakeTime):
    script = Script(*[unavailable("4") for _ in range(10)])
    client = sync_client(script, fake_time, max_retries=10, deadline=10)
    with pytest.raises(ServiceUnavailableError):
        client.events.get(EVENT_ID)
    # waits of 4 s fit twice in 10 s; the third would end past the deadline
    assert fake_time.sleeps == [4.0, 4.0]
    assert len(script.requests) == 3


def test_per_attempt_timeout_is_capped_by_the_remaining_deadline(fake_time: FakeTime):
    seen: list[float] = []

    def capture(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"]["read"])
        return unavailable("2")

    script = Script(capture, capture)
    client = sync_client(script, fake_time, timeout=30, deadline=5, max_retries=1)
    with pytest.raises(ServiceUnavailableError):
        client.events.get(EVENT_ID)
    assert seen == [5.0, 3.0]


def test_create_reuses_one_generated_idempotency_key_across_retries(fake_time: FakeTime):
    script = Script(
        httpx.ReadTimeout("lost answer"),
        unavailable("1"),
        respond(200, event_json(idempotency_key="x"), {"Idempotent-Replayed": "true"}),
    )
    keys = iter(["key-1", "key-2"])
    client = sync_client(script, fake_time, idempotency_key_factory=lambda: next(keys))
    event = client.events.create(source="billing", event_type="invoice.paid", payload={"a": 1})
    assert event.event_id == EVENT_ID
    assert [r.headers["Idempotency-Key"] for r in script.requests] == ["key-1"] * 3
    assert len({r.content for r in script.requests}) == 1  # the very same body bytes
    assert client.last_response.replayed is True
    assert client.last_response.attempts == 3


def test_callers_idempotency_key_is_sent_as_given(fake_time: FakeTime):
    script = Script(respond(201, event_json()))
    client = sync_client(script, fake_time)
    client.events.create(source="s", event_type="t", payload={}, idempotency_key="order-1")
    assert script.requests[0].headers["Idempotency-Key"] == "order-1"


def test_each_create_call_gets_its_own_key(fake_time: FakeTime):
    script = Script(respond(201, event_json()), respond(201, event_json()))
    client = sync_client(script, fake_time)
    for _ in range(2):
        client.events.create(source="s", event_type="t", payload={})
    first, second = (r.headers["Idempotency-Key"] for r in script.requests)
    assert first != second


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.webhooks.create(url="http://127.0.0.1:9/h"),
        lambda c: c.api_keys.create(name="k"),
        lambda c: c.api_keys.rotate("key_1"),
        lambda c: c.webhooks.rotate_secret("wh_1"),
        lambda c: c.webhooks.test("wh_1"),
        lambda c: c.webhooks.replay("wh_1", since="2026-11-30T00:00:00Z"),
        lambda c: c.webhooks.update("wh_1", description="d"),
        lambda c: c.api_keys.update("key_1", name="n"),
    ],
    ids=[
        "webhook create",
        "key create",
        "key rotate",
        "secret rotate",
        "test",
        "replay",
        "webhook patch",
        "key patch",
    ],
)
def test_unsafe_calls_are_not_retried_once_they_may_have_landed(fake_time: FakeTime, call):
    for failure in (httpx.ReadTimeout("lost"), unavailable("1"), respond(502, None)):
        script = Script(failure)
        with pytest.raises((APIConnectionError, ServiceUnavailableError, InternalServerError)):
            call(sync_client(script, fake_time))
        assert len(script.requests) == 1


def test_unsafe_calls_are_retried_when_the_request_never_left_or_on_429(fake_time: FakeTime):
    issued = {
        "webhook_id": "wh_0123456789abcdef01234567",
        "url": "http://127.0.0.1:9/h",
        "event_types": [],
        "sources": [],
        "description": "",
        "status": "active",
        "disabled_reason": None,
        "rate_limit_per_second": None,
        "created_at": "2026-11-30T10:00:00.000Z",
        "updated_at": "2026-11-30T10:00:00.000Z",
        "secret": "whsec_x",
    }
    script = Script(
        httpx.ConnectError("refused"),
        respond(429, error_json("rate_limited"), {"Retry-After": "1"}),
        respond(201, issued),
    )
    client = sync_client(script, fake_time)
    assert (
        client.webhooks.create(url="http://127.0.0.1:9/h").webhook_id
        == "wh_0123456789abcdef01234567"
    )
    assert len(script.requests) == 3


def test_gateway_errors_without_envelope_are_retried_for_safe_calls(fake_time: FakeTime):
    script = Script(
        httpx.Response(502, text="<html>bad gateway</html>"),
        httpx.Response(504, text="<html>timeout</html>"),
        respond(200, event_json()),
    )
    sync_client(script, fake_time).events.get(EVENT_ID)
    assert len(script.requests) == 3


def test_client_errors_are_not_retried(fake_time: FakeTime):
    script = Script(respond(404, error_json("not_found")))
    with pytest.raises(NotFoundError):
        sync_client(script, fake_time).events.get(EVENT_ID)
    assert len(script.requests) == 1


def test_retried_ack_whose_first_attempt_landed_returns_the_event(fake_time: FakeTime):
    acked = event_json(status="acknowledged", acknowledged_at="2026-11-30T10:00:01.000Z")
    script = Script(
        httpx.ReadTimeout("answer lost"),
        respond(409, error_json("already_acknowledged")),
        respond(200, acked),
    )
    event = sync_client(script, fake_time).events.ack(EVENT_ID)
    assert event.status == "acknowledged"
    assert [r.method for r in script.requests] == ["POST", "POST", "GET"]
    assert script.requests[2].url.path == f"/v1/events/{EVENT_ID}"


def test_first_attempt_already_acknowledged_is_a_typed_error(fake_time: FakeTime):
    script = Script(respond(409, error_json("already_acknowledged", "acknowledged at ...")))
    with pytest.raises(AlreadyAcknowledgedError) as info:
        sync_client(script, fake_time).events.ack(EVENT_ID)
    assert info.value.status == 409


def test_retried_delete_whose_first_attempt_landed_is_done(fake_time: FakeTime):
    script = Script(httpx.ReadTimeout("lost"), respond(404, error_json("not_found")))
    assert sync_client(script, fake_time).events.delete(EVENT_ID) is None
    script = Script(respond(404, error_json("not_found")))
    with pytest.raises(NotFoundError):
        sync_client(script, fake_time).events.delete(EVENT_ID)


def test_timeouts_are_their_own_type(fake_time: FakeTime):
    script = Script(*[httpx.ReadTimeout("slow") for _ in range(4)])
    with pytest.raises(APITimeoutError) as info:
        sync_client(script, fake_time).events.get(EVENT_ID)
    assert isinstance(info.value.cause, httpx.ReadTimeout)
    script = Script(*[httpx.ConnectError("refused") for _ in range(4)])
    with pytest.raises(APIConnectionError) as conn:
        sync_client(script, fake_time).events.get(EVENT_ID)
    assert not isinstance(conn.value, APITimeoutError)


def test_zero_retries_means_one_attempt(fake_time: FakeTime):
    script = Script(unavailable("1"))
    with pytest.raises(ServiceUnavailableError):
        sync_client(script, fake_time, max_retries=0).events.get(EVENT_ID)
    assert len(script.requests) == 1


def test_no_convergence_when_no_earlier_attempt_can_have_landed(fake_time: FakeTime):
    # a 429 and a refused connection prove the first attempts did nothing: the 409 is real
    script = Script(
        respond(429, error_json("rate_limited"), {"Retry-After": "1"}),
        httpx.ConnectError("refused"),
        respond(409, error_json("already_acknowledged")),
    )
    with pytest.raises(AlreadyAcknowledgedError):
        sync_client(script, fake_time).events.ack(EVENT_ID)
    script = Script(
        respond(429, error_json("rate_limited"), {"Retry-After": "1"}),
        respond(404, error_json("not_found")),
    )
    with pytest.raises(NotFoundError):
        sync_client(script, fake_time).events.delete(EVENT_ID)
    # a 503 may hide a write that landed behind a gateway: converge after it
    script = Script(unavailable("1"), respond(404, error_json("not_found")))
    assert sync_client(script, fake_time).events.delete(EVENT_ID) is None


def test_retry_after_as_an_http_date_is_the_minimum_wait(fake_time: FakeTime):
    # A proxy in front of the API may answer Retry-After as an HTTP-date (RFC 9110).
    fake_time.now = 1_764_460_800.0  # Sun, 30 Nov 2025 00:00:00 GMT
    script = Script(
        respond(429, error_json("rate_limited"), {"Retry-After": "Sun, 30 Nov 2025 00:00:07 GMT"}),
        respond(200, event_json()),
    )
    client = sync_client(script, fake_time, random=lambda: 0.5)
    client.events.get(EVENT_ID)
    assert fake_time.sleeps == [7.0]


def test_retry_after_http_date_in_the_past_waits_only_the_backoff(fake_time: FakeTime):
    fake_time.now = 1_764_460_800.0
    script = Script(
        respond(
            503, error_json("service_unavailable"), {"Retry-After": "Sat, 29 Nov 2025 23:59:00 GMT"}
        ),
        respond(200, event_json()),
    )
    client = sync_client(script, fake_time, random=lambda: 0.5)
    client.events.get(EVENT_ID)
    assert fake_time.sleeps == [0.25]


def test_retry_after_http_date_past_the_deadline_fails_at_once(fake_time: FakeTime):
    fake_time.now = 1_764_460_800.0
    script = Script(
        respond(429, error_json("rate_limited"), {"Retry-After": "Sun, 30 Nov 2025 01:00:00 GMT"})
    )
    client = sync_client(script, fake_time, deadline=10)
    with pytest.raises(RateLimitError) as info:
        client.events.get(EVENT_ID)
    assert fake_time.sleeps == []
    assert info.value.retry_after == 3600.0


def test_the_converging_get_of_a_retried_ack_shares_the_call_deadline(fake_time: FakeTime):
    # The POST's 503 may hide an ack that landed; the retry answers already_acknowledged, then
    # the converging GET keeps failing: its retries stop at the ack's deadline (10 s from the
    # start), not at a deadline of their own.
    script = Script(
        unavailable("5"),
        respond(409, error_json("already_acknowledged")),
        *[unavailable("4") for _ in range(10)],
    )
    client = sync_client(script, fake_time, max_retries=10, deadline=10)
    with pytest.raises(ServiceUnavailableError):
        client.events.ack(EVENT_ID)
    # 5 s, then one 4 s wait fits (t=9); a second would end past 10 s
    assert fake_time.sleeps == [5.0, 4.0]
