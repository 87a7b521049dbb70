"""Webhook push delivery through the running local stack and its own workers: POST /v1/events ->
events stream -> fan-out worker -> SQS (moto) -> delivery worker -> a signed POST to a receiver
(devstack/webhook_receiver.py) on 127.0.0.1, verified with the reference `standardwebhooks`
library. Filters, exactly-once arrival, the request id in both workers' logs, the real retry
schedule's first step, and a secret rotation's two signatures."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from devstack.webhook_receiver import Request, Script, WebhookReceiver
from tests.e2e.conftest import ApiClient, NewClient, Stack

WEBHOOK_WORKERS = ("fanout-worker", "delivery-worker")


@pytest.fixture
def admin(new_client: NewClient) -> ApiClient:
    return new_client(admin=True)


@pytest.fixture
def receivers() -> Iterator[Callable[..., WebhookReceiver]]:
    started: list[WebhookReceiver] = []

    def start(**options: Any) -> WebhookReceiver:
        receiver = WebhookReceiver(**options).start()
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.stop()


def create_webhook(api: ApiClient, url: str, **fields: Any) -> dict[str, Any]:
    resp = api.post("/v1/webhooks", json={"url": url, **fields})
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


def post_event(api: ApiClient, source: str, event_type: str) -> tuple[str, str]:
    """POST one event; its id and the request id the API gave the POST."""
    resp = api.post(
        "/v1/events", json={"source": source, "event_type": event_type, "payload": {"n": 1}}
    )
    assert resp.status_code == 201, resp.text
    return str(resp.json()["event_id"]), resp.headers["X-Request-ID"]


def verified_payload(secret: str, request: Request) -> dict[str, Any]:
    """The reference library's verification of the raw body and headers as received."""
    payload = Webhook(secret).verify(request.body, request.headers)
    assert isinstance(payload, dict)
    return payload


def log_lines(path: Path) -> list[dict[str, Any]]:
    lines = []
    for raw in path.read_bytes().splitlines():
        try:
            parsed = json.loads(raw)
        except ValueError:
            continue
        if isinstance(parsed, dict):
            lines.append(parsed)
    return lines


def wait_for_lines(
    path: Path, predicate: Callable[[dict[str, Any]], bool], count: int, timeout: float = 10.0
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        found = [line for line in log_lines(path) if predicate(line)]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def deliveries_log(api: ApiClient, webhook_id: str) -> list[dict[str, Any]]:
    resp = api.get(f"/v1/webhooks/{webhook_id}/deliveries")
    assert resp.status_code == 200, resp.text
    return list(resp.json()["deliveries"])


def test_the_stack_runs_the_webhook_workers(stack: Stack) -> None:
    for name in WEBHOOK_WORKERS:
        assert stack.local.process(name).poll() is None, f"{name} is not running"


def test_matching_events_arrive_once_verified_and_traced_in_both_workers(
    stack: Stack, admin: ApiClient, receivers: Callable[..., WebhookReceiver]
) -> None:
    receiver = receivers()
    filtered = create_webhook(
        admin, receiver.url("/filtered"), event_types=["invoice.*"], sources=["billing"]
    )
    # A webhook with no filters: once it has every event, the fan-out has handled them all (one
    # fan-out call handles every webhook of an event), so "never arrives" is a checked fact.
    everything = create_webhook(admin, receiver.url("/all"))
    receiver.set_secret(filtered["secret"], "/filtered")
    receiver.set_secret(everything["secret"], "/all")

    sent = [
        ("billing", "invoice.paid", True),
        ("shop", "invoice.paid", False),  # another source
        ("billing", "invoice.refund.created", True),
        ("billing", "invoices.created", False),  # "invoice.*" is a prefix up to the dot
        ("billing", "user.created", False),
        ("billing", "invoice.paid", True),
    ]
    events: dict[str, tuple[str, str, bool]] = {}  # event id -> (event type, request id, match)
    for source, event_type, matches in sent:
        event_id, request_id = post_event(admin, source, event_type)
        events[event_id] = (event_type, request_id, matches)
    matching = {e for e, (_, _, m) in events.items() if m}

    receiver.wait_for(len(sent), timeout=20, path="/all")
    receiver.wait_for(len(matching), timeout=5, path="/filtered")

    to_filtered = [r for r in receiver.requests if r.path == "/filtered"]
    assert sorted(r.event_id or "" for r in to_filtered) == sorted(matching)  # once each
    for request in to_filtered:
        assert request.event_id is not None
        event_type, _, _ = events[request.event_id]
        payload = verified_payload(filtered["secret"], request)
        assert payload["type"] == event_type
        assert payload["data"]["event_id"] == request.event_id
        assert request.webhook_id == "msg_" + request.event_id.removeprefix("evt_")
        assert len(request.headers["webhook-signature"].split(" ")) == 1
        assert (request.verified, request.status) == (True, 204)
    for request in receiver.requests:
        if request.path == "/all":
            verified_payload(everything["secret"], request)

    # The POST's request id, in the fan-out's batch lines (request_ids: the events that matched
    # a webhook) and in the delivery worker's lines for the event's deliveries.
    fanout_log = stack.worker_log("fanout-worker")
    delivery_log = stack.worker_log("delivery-worker")
    for event_id, (_, request_id, matches) in events.items():
        batches = wait_for_lines(
            fanout_log,
            lambda x, rid=request_id: (
                x.get("message") == "webhook fan-out batch" and rid in x.get("request_ids", [])
            ),
            count=1,
        )
        assert len(batches) == 1, f"{request_id} in {len(batches)} fan-out batch lines"
        expected = {everything["webhook_id"]} | ({filtered["webhook_id"]} if matches else set())
        delivered = wait_for_lines(
            delivery_log,
            lambda x, rid=request_id: (
                x.get("message") == "webhook delivered" and x.get("request_id") == rid
            ),
            count=len(expected),
        )
        assert {x["webhook_id"] for x in delivered} == expected
        assert {x["delivery_id"] for x in delivered} == {"msg_" + event_id.removeprefix("evt_")}
        assert {x["attempt"] for x in delivered} == {1}

    # Nothing came twice, nor late (the log checks above took the workers' time to finish).
    assert len([r for r in receiver.requests if r.path == "/filtered"]) == len(matching)
    assert len([r for r in receiver.requests if r.path == "/all"]) == len(sent)
    assert receiver.duplicates == []
    succeeded = deliveries_log(admin, filtered["webhook_id"])
    assert sorted(d["event_id"] for d in succeeded) == sorted(matching)
    assert {d["status"] for d in succeeded} == {"succeeded"}


def test_a_failed_first_attempt_is_retried_about_5_seconds_later(
    admin: ApiClient, receivers: Callable[..., WebhookReceiver]
) -> None:
    receiver = receivers(script=Script(first=1, status=500))
    hook = create_webhook(admin, receiver.url("/retry"))
    receiver.set_secret(hook["secret"])
    event_id, _ = post_event(admin, "billing", "invoice.paid")

    [delivery] = receiver.wait_for(1, timeout=25)
    first, second = receiver.requests
    assert (first.status, second.status) == (500, 204)
    assert first.webhook_id == second.webhook_id == delivery.webhook_id
    assert first.event_id == second.event_id == event_id
    # The schedule's first step: 5 s +-10 % jitter, as SQS visibility in whole seconds, plus the
    # worker's long poll and the receiver's view of both.
    gap = second.received_at - first.received_at
    assert 4.0 <= gap <= 8.0, f"second attempt {gap:.2f} s after the first"
    verified_payload(hook["secret"], second)

    deadline = time.monotonic() + 10
    while True:
        [logged] = deliveries_log(admin, hook["webhook_id"])
        if logged["status"] == "succeeded" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert logged["status"] == "succeeded"
    assert logged["event_id"] == event_id
    attempts = [(a["status_code"], a["error"]) for a in logged["attempts"]]
    assert attempts == [(500, "http_status"), (204, None)]


def test_after_a_rotation_a_delivery_carries_both_signatures(
    admin: ApiClient, receivers: Callable[..., WebhookReceiver]
) -> None:
    receiver = receivers()
    hook = create_webhook(admin, receiver.url("/rotating"))
    old = hook["secret"]
    resp = admin.post(f"/v1/webhooks/{hook['webhook_id']}/rotate-secret", json={})
    assert resp.status_code == 200, resp.text
    new = resp.json()["secret"]
    assert new != old
    receiver.set_secret([old, new])
    post_event(admin, "billing", "invoice.paid")

    [delivery] = receiver.wait_for(1, timeout=20)
    signatures = delivery.headers["webhook-signature"].split(" ")
    assert len(signatures) == 2  # the new secret's first
    for secret, mine, other in ((new, signatures[0], signatures[1]), (old, *signatures[::-1])):
        only_mine = {**delivery.headers, "webhook-signature": mine}
        only_other = {**delivery.headers, "webhook-signature": other}
        assert verified_payload(secret, delivery)["type"] == "invoice.paid"  # both present
        Webhook(secret).verify(delivery.body, only_mine)
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(delivery.body, only_other)
