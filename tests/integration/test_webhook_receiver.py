"""devstack/webhook_receiver.py on loopback: deliveries POSTed by the delivery worker's own HTTP
client (services/outbound_http.py), signed by our signer and by the reference `standardwebhooks`
library; verification, deduplication per (path, webhook-id), scripted answers and the command."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook

from chalicelib.domain.clock import format_ts
from chalicelib.domain.webhook_signing import delivery_headers, new_webhook_secret
from chalicelib.services.outbound_http import HttpResult, post
from devstack.ports import free_port, wait_for_port
from devstack.webhook_receiver import Script, WebhookReceiver

ROOT = Path(__file__).resolve().parents[2]
SECRET = new_webhook_secret()


def body_of(event_type: str = "invoice.paid", created_at: float | None = None) -> bytes:
    created = time.time() - 0.25 if created_at is None else created_at
    document = {
        "type": event_type,
        "timestamp": format_ts(created),
        "data": {"event_id": "evt_01JDZ8Q7XKQ4S3N1M2P5R6T7V8", "event_type": event_type},
    }
    return json.dumps(document, separators=(",", ":")).encode()


def deliver(
    url: str,
    msg_id: str = "msg_01JDZ8Q7XKQ4S3N1M2P5R6T7V8",
    secrets: tuple[str, ...] = (SECRET,),
    body: bytes | None = None,
) -> HttpResult:
    """One delivery as the worker makes it: our headers, the worker's HTTP client."""
    body = body_of() if body is None else body
    headers = delivery_headers(secrets, msg_id, int(time.time()), body)
    headers["Content-Type"] = "application/json"
    return post(url, body, headers, allow_private=True, timeout=5)


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    out = io.StringIO()
    with WebhookReceiver(SECRET, out=out) as running:
        yield running


def printed(receiver: WebhookReceiver) -> list[dict]:
    assert isinstance(receiver.out, io.StringIO)
    return [json.loads(line) for line in receiver.out.getvalue().splitlines()]


def test_a_signed_delivery_is_verified_recorded_and_printed(receiver: WebhookReceiver) -> None:
    body = body_of(created_at=time.time() - 0.5)
    result = deliver(receiver.url("/hooks"), body=body)
    assert (result.status, result.error) == (204, None)
    [delivery] = receiver.deliveries
    assert delivery.verified is True
    assert delivery.webhook_id == "msg_01JDZ8Q7XKQ4S3N1M2P5R6T7V8"
    assert delivery.type == "invoice.paid"
    assert delivery.event_id == "evt_01JDZ8Q7XKQ4S3N1M2P5R6T7V8"
    assert delivery.body == body  # the raw bytes, as sent
    assert delivery.headers["user-agent"] == "TriggersAPI-Webhooks/1.0"
    assert delivery.latency_ms is not None
    assert 400 < delivery.latency_ms < 5000
    [line] = printed(receiver)
    assert line["webhook_id"] == delivery.webhook_id
    assert line["type"] == "invoice.paid"
    assert line["verified"] is True
    assert line["status"] == 204
    assert line["duplicate"] is False
    assert line["path"] == "/hooks"
    assert isinstance(line["latency_ms"], float)
    assert line["received_at"].endswith("Z")


def test_a_delivery_signed_by_the_reference_library_verifies(receiver: WebhookReceiver) -> None:
    body = body_of()
    msg_id = "msg_reference"
    signature = Webhook(SECRET).sign(msg_id, datetime.now(tz=UTC), body.decode())
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(time.time())),
        "webhook-signature": signature,
    }
    assert post(receiver.url(), body, headers, allow_private=True, timeout=5).status == 204
    assert [d.verified for d in receiver.deliveries] == [True]


def test_a_bad_signature_is_refused_with_400_and_not_delivered(
    receiver: WebhookReceiver,
) -> None:
    result = deliver(receiver.url(), secrets=(new_webhook_secret(),))
    assert result.status == 400
    assert receiver.deliveries == []
    [request] = receiver.requests
    assert request.verified is False
    assert request.error == "no matching signature found"
    assert printed(receiver)[0]["verified"] is False
    # The same delivery correctly signed is then accepted (it is not a duplicate).
    assert deliver(receiver.url()).status == 204
    assert len(receiver.deliveries) == 1


def test_a_tampered_body_does_not_verify(receiver: WebhookReceiver) -> None:
    body = body_of()
    headers = delivery_headers((SECRET,), "msg_x", int(time.time()), body)
    tampered = body.replace(b"invoice.paid", b"invoice.void")
    assert post(receiver.url(), tampered, headers, allow_private=True, timeout=5).status == 400


def test_duplicates_are_acknowledged_once_per_path(receiver: WebhookReceiver) -> None:
    for _ in range(3):
        assert deliver(receiver.url("/a"), msg_id="msg_same").status == 204
    assert deliver(receiver.url("/b"), msg_id="msg_same").status == 204  # another endpoint
    assert deliver(receiver.url("/a"), msg_id="msg_other").status == 204
    assert sorted((d.path, d.webhook_id) for d in receiver.deliveries) == [
        ("/a", "msg_other"),
        ("/a", "msg_same"),
        ("/b", "msg_same"),
    ]
    assert [r.duplicate for r in receiver.requests] == [False, True, True, False, False]
    assert len(receiver.duplicates) == 2
    assert [line["duplicate"] for line in printed(receiver)] == [False, True, True, False, False]


def test_the_script_answers_the_first_requests_then_the_status() -> None:
    script = Script(first=2, status=503, retry_after="7", delay=0.3)
    with WebhookReceiver(SECRET, script=script, status=200) as receiver:
        started = time.monotonic()
        first = deliver(receiver.url(), msg_id="msg_1")
        assert time.monotonic() - started >= 0.3
        second = deliver(receiver.url(), msg_id="msg_1")
        third = deliver(receiver.url(), msg_id="msg_1")
        fourth = deliver(receiver.url(), msg_id="msg_1")
    assert [(r.status, r.headers.get("retry-after")) for r in (first, second)] == [
        (503, "7"),
        (503, "7"),
    ]
    assert (third.status, "retry-after" in third.headers) == (200, False)
    assert fourth.status == 200
    assert [r.status for r in receiver.requests] == [503, 503, 200, 200]
    [delivery] = receiver.deliveries
    assert delivery.number == 3  # the first attempt answered 2xx
    assert [r.duplicate for r in receiver.requests] == [False, False, False, True]


def test_without_a_secret_nothing_is_checked() -> None:
    with WebhookReceiver() as receiver:
        assert deliver(receiver.url(), secrets=(new_webhook_secret(),)).status == 204
    [delivery] = receiver.deliveries
    assert delivery.verified is None


def test_per_path_secrets_and_any_of_several(receiver: WebhookReceiver) -> None:
    own, old, new = new_webhook_secret(), new_webhook_secret(), new_webhook_secret()
    receiver.set_secret(own, path="/own")
    receiver.set_secret([old, new], path="/rotating")
    assert deliver(receiver.url("/own"), secrets=(own,)).status == 204
    assert deliver(receiver.url("/own"), msg_id="msg_2", secrets=(SECRET,)).status == 400
    assert deliver(receiver.url("/elsewhere"), secrets=(SECRET,)).status == 204  # the default
    assert deliver(receiver.url("/rotating"), msg_id="msg_3", secrets=(new,)).status == 204
    assert deliver(receiver.url("/rotating"), msg_id="msg_4", secrets=(old,)).status == 204


def test_wait_for_returns_the_deliveries_or_times_out(receiver: WebhookReceiver) -> None:
    deliver(receiver.url("/a"), msg_id="msg_1")
    deliver(receiver.url("/b"), msg_id="msg_2")
    assert len(receiver.wait_for(2, timeout=1)) == 2
    assert [d.webhook_id for d in receiver.wait_for(1, timeout=1, path="/b")] == ["msg_2"]
    with pytest.raises(TimeoutError, match="1 of 2 deliveries"):
        receiver.wait_for(2, timeout=0.2, path="/a")


def test_a_body_without_length_or_too_large_is_refused(receiver: WebhookReceiver) -> None:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", receiver.port, timeout=5)
    connection.putrequest("POST", "/hooks")
    connection.putheader("Content-Length", str(2 * 1024 * 1024))
    connection.endheaders()
    assert connection.getresponse().status == 413
    connection.close()
    assert receiver.requests == []


def test_the_command_prints_one_line_per_delivery_and_stops_on_sigterm() -> None:
    port = free_port()
    command = [sys.executable, "-m", "devstack.webhook_receiver", "--port", str(port)]
    command += ["--secret", SECRET, "--fail-first", "1", "--retry-after", "2"]
    proc = subprocess.Popen(
        command,
        cwd=str(ROOT),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_port(port, timeout=20)
        url = f"http://127.0.0.1:{port}/hooks"
        failed = deliver(url, msg_id="msg_cli")
        assert (failed.status, failed.headers.get("retry-after")) == (500, "2")
        assert deliver(url, msg_id="msg_cli").status == 204
        assert deliver(url, msg_id="msg_cli").status == 204
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert [(x["status"], x["verified"], x["duplicate"]) for x in lines] == [
        (500, True, False),
        (204, True, False),
        (204, True, True),
    ]
    assert {x["webhook_id"] for x in lines} == {"msg_cli"}
    assert "listening on http://127.0.0.1:" in err
    assert "1 deliveries, 3 requests, 1 duplicates" in err
