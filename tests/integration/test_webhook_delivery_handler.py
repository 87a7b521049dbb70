"""The delivery handler (``runtime.webhook_delivery.handle``) on real engines: deliveries made by
the fan-out from DynamoDB Local's stream, messages received from a moto SQS server and handed
over in Lambda's shape (then deleted unless reported, as Lambda does), and a real HTTP receiver
on 127.0.0.1 that can be scripted per request (status, delay, headers) and verifies every
delivery with the ``standardwebhooks`` package.

The runtime's retry schedule is shortened (0, 1, 1 s without jitter: three attempts) and so is
its timeout, so retries are observed as they happen: by when the message becomes visible again.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from chalicelib.domain.events import parse_event_create
from chalicelib.domain.retry_schedule import RetrySchedule
from chalicelib.domain.webhooks import (
    DELIVERY_FAILED,
    DELIVERY_PENDING,
    DELIVERY_SUCCEEDED,
    DISABLED_GONE,
    STATUS_DISABLED,
    Delivery,
    delivery_id_for_event,
)
from chalicelib.runtime import Runtime
from chalicelib.services.outbound_http import USER_AGENT
from chalicelib.services.webhooks import WebhookSpec
from chalicelib.stores.deliveries import DeliveryStore
from chalicelib.stores.queues import QueueUrls
from chalicelib.stores.secret_box import SecretBox
from chalicelib.stores.webhooks import WebhookStore
from devstack.delivery_worker import lambda_record
from tests.conftest import Database
from tests.integration.test_stream_analytics import drain, make_worker

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

SCHEDULE = RetrySchedule(delays=(0, 1, 1), jitter=0)
TIMEOUT = 0.5


# -- the receiver --------------------------------------------------------------------------------
@dataclass
class Reply:
    status: int = 204
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Seen:
    """One request the receiver got."""

    headers: dict[str, str]
    body: bytes
    reply: Reply
    verified_by: list[str]  # the secrets its signature verifies with
    payload: Any

    @property
    def webhook_id(self) -> str:
        return self.headers.get("webhook-id", "")


class Receiver:
    """A threaded HTTP server on 127.0.0.1: answers each POST with the next scripted reply (then
    ``default``), after verifying it with every secret it knows."""

    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.default = Reply()
        self.secrets: list[str] = []
        self.seen: list[Seen] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                reply = receiver.handle(headers, body)
                time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the worker gave up waiting (a timeout)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks?from=triggers"

    def handle(self, headers: dict[str, str], body: bytes) -> Reply:
        verified_by, payload = [], None
        for secret in list(self.secrets):
            try:
                payload = Webhook(secret).verify(body, headers)
            except WebhookVerificationError:
                continue
            verified_by.append(secret)
        with self.lock:
            reply = self.replies.popleft() if self.replies else self.default
            self.seen.append(Seen(headers, body, reply, verified_by, payload))
        return reply

    def requests(self) -> list[Seen]:
        with self.lock:
            return list(self.seen)

    def answered_2xx(self, timeout: float = TIMEOUT) -> Counter[str]:
        """How many times each webhook-id was answered 2xx in time (the worker got the answer:
        not a reply slower than its ``timeout``)."""
        return Counter(
            s.webhook_id
            for s in self.requests()
            if 200 <= s.reply.status < 300 and s.reply.delay < timeout
        )

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()
    # Every request the receiver got carried a valid signature.
    assert all(s.verified_by for s in r.requests()), [s.headers for s in r.requests()]


# -- Lambda's SQS event source, by hand ----------------------------------------------------------
class SqsLambda:
    """Receive messages, call the handler with them as one Lambda SQS event, and delete every
    message it did not report in ``batchItemFailures``."""

    def __init__(self, sqs: SQSClient, queues: QueueUrls, handler: Callable[..., Any]) -> None:
        self.sqs = sqs
        self.queues = queues
        self.handler = handler
        attributes = sqs.get_queue_attributes(
            QueueUrl=queues.queue_url, AttributeNames=["QueueArn"]
        )["Attributes"]
        self.arn = attributes["QueueArn"]

    def receive(self, want: int = 1, within: float = 5.0, url: str | None = None) -> list[Any]:
        """At least ``want`` messages as Lambda records (fewer if ``within`` runs out)."""
        url = url or self.queues.queue_url
        records: list[dict[str, Any]] = []
        deadline = time.monotonic() + within
        while len(records) < want and time.monotonic() < deadline:
            got = self.sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=10,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            records.extend(lambda_record(m, self.arn) for m in got)
            if not got:
                time.sleep(0.05)
        return records

    def invoke(self, records: list[dict[str, Any]]) -> set[str]:
        """The ids of the messages the handler kept (the others are deleted)."""
        answer = self.handler({"Records": records})
        kept = {f["itemIdentifier"] for f in answer["batchItemFailures"]}
        assert kept <= {r["messageId"] for r in records}
        done = [r for r in records if r["messageId"] not in kept]
        if done:
            self.sqs.delete_message_batch(
                QueueUrl=self.queues.queue_url,
                Entries=[
                    {"Id": str(n), "ReceiptHandle": r["receiptHandle"]} for n, r in enumerate(done)
                ],
            )
        return kept

    def reappears_after(self, within: float = 6.0) -> tuple[float, dict[str, Any]]:
        """How long until a kept message is visible again, and its record."""
        started = time.monotonic()
        records = self.receive(1, within)
        assert len(records) == 1, records
        return time.monotonic() - started, records[0]

    def depth(self, url: str | None = None) -> int:
        names: Any = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        got = self.sqs.get_queue_attributes(
            QueueUrl=url or self.queues.queue_url, AttributeNames=names
        )
        return sum(int(v) for v in got["Attributes"].values())


# -- the stack -----------------------------------------------------------------------------------
@dataclass
class Stack:
    runtime: Runtime
    ddb: Database
    lam: SqsLambda
    tenant: str
    deliveries: DeliveryStore
    webhooks: WebhookStore

    def webhook(self, url: str, **spec: Any) -> tuple[str, str]:
        """A new webhook: (webhook_id, secret)."""
        issued = self.runtime.webhooks.create(self.tenant, WebhookSpec(url=url, **spec))
        return issued.webhook.webhook_id, issued.secret

    def events(self, *event_types: str, source: str = "billing") -> list[dict[str, Any]]:
        """New events, fanned out from the stream as Lambda's mapping would."""
        made = []
        for event_type in event_types:
            draft = parse_event_create(
                {"source": source, "event_type": event_type, "payload": {"n": len(made)}}
            )
            made.append(self.runtime.events.create(self.tenant, draft, "req_test").event)
        drain(make_worker(self.ddb, self.runtime.webhook_fanout.handle))
        return made

    def delivery(self, webhook_id: str, delivery_id: str) -> Delivery:
        found = self.deliveries.get(webhook_id, delivery_id)
        assert found is not None
        return found


def build_stack(
    ddb: Database,
    sqs: SQSClient,
    queues: QueueUrls,
    allow_private: bool = True,
    resolve: Callable[[str, int], list[str]] | None = None,
    timeout: float = TIMEOUT,
) -> Stack:
    settings = replace(
        ddb.settings,
        webhook_queue_url=queues.queue_url,
        webhook_dlq_url=queues.dlq_url,
        webhook_allow_private_targets=allow_private,
    )
    options: dict[str, Any] = {"resolve": resolve} if resolve else {}
    runtime = Runtime.build(
        settings,
        dynamodb=ddb.client,
        sqs=sqs,
        webhook_schedule=SCHEDULE,
        webhook_timeout=timeout,
        **options,
    )
    return Stack(
        runtime,
        ddb,
        SqsLambda(sqs, queues, runtime.webhook_delivery.handle),
        "ten_" + uuid.uuid4().hex[:10],
        DeliveryStore(ddb.client, settings.deliveries_table),
        WebhookStore(
            ddb.client,
            settings.webhooks_table,
            box=SecretBox(settings.webhook_secrets_key_material),
        ),
    )


@pytest.fixture
def stack(ddb: Database, sqs_shared: SQSClient, sqs_queues: QueueUrls) -> Stack:
    return build_stack(ddb, sqs_shared, sqs_queues)


def attempts(delivery: Delivery) -> list[tuple[int | None, str | None]]:
    return [(a.status_code, a.error) for a in delivery.attempts]


# -- the tests -----------------------------------------------------------------------------------
def test_2xx_delivers_each_matching_event_once_signed_and_as_documented(
    stack: Stack, receiver: Receiver
) -> None:
    webhook_id, secret = stack.webhook(receiver.url, event_types=["invoice.*"])
    other_id, other_secret = stack.webhook(receiver.url, sources=["crm"])  # matches nothing
    receiver.secrets = [secret, other_secret]
    events = stack.events("invoice.paid", "order.paid", "invoice.sent", "invoice.void")
    wanted = [events[0], events[2], events[3]]

    records = stack.lam.receive(want=3)
    assert len(records) == 3
    assert stack.lam.invoke(records) == set()
    assert stack.lam.depth() == 0

    seen = receiver.requests()
    assert sorted(s.webhook_id for s in seen) == sorted(
        delivery_id_for_event(e["event_id"]) for e in wanted
    )
    assert set(receiver.answered_2xx().values()) == {1}
    for request in seen:
        assert request.verified_by == [secret]
        assert request.headers["content-type"] == "application/json"
        assert request.headers["user-agent"] == USER_AGENT
        assert request.headers["webhook-signature"].startswith("v1,")
        assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 30
        event_id = request.payload["data"]["event_id"]
        stored = stack.runtime.events.get(stack.tenant, event_id)
        assert request.payload == {
            "type": stored.event_type,
            "timestamp": stored.created_at,
            "data": stored.to_public(),
        }
        # The body is compact JSON of exactly that document.
        assert (
            request.body
            == json.dumps(request.payload, separators=(",", ":"), ensure_ascii=False).encode()
        )
        delivery = stack.delivery(webhook_id, request.webhook_id)
        assert delivery.status == DELIVERY_SUCCEEDED
        assert attempts(delivery) == [(204, None)]
        assert delivery.request_id == "req_test"
    assert stack.deliveries.page(other_id, None, None, 10).deliveries == []

    # Lambda hands the same messages over again (at-least-once): nothing is sent twice.
    assert stack.lam.handler({"Records": records}) == {"batchItemFailures": []}
    assert len(receiver.requests()) == 3


def test_a_rotated_secret_signs_beside_the_new_one_and_test_sends_arrive(
    stack: Stack, receiver: Receiver
) -> None:
    webhook_id, old = stack.webhook(receiver.url)
    new = stack.runtime.webhooks.rotate_secret(stack.tenant, webhook_id, 3600).secret
    receiver.secrets = [old, new]
    delivery = stack.runtime.webhooks.send_test(stack.tenant, webhook_id, "req_t")
    assert stack.lam.invoke(stack.lam.receive()) == set()
    (request,) = receiver.requests()
    assert request.verified_by == [old, new]  # two signatures: either verifies
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    assert request.webhook_id == delivery.delivery_id
    assert request.payload["type"] == "webhook.test"
    assert request.payload["data"] == {
        "webhook_id": webhook_id,
        "message": "A test delivery from Triggers API.",
    }
    assert stack.delivery(webhook_id, delivery.delivery_id).status == DELIVERY_SUCCEEDED


def test_500_then_2xx_is_retried_when_the_schedule_says(stack: Stack, receiver: Receiver) -> None:
    webhook_id, secret = stack.webhook(receiver.url)
    receiver.secrets = [secret]
    receiver.replies.append(Reply(500))
    (event,) = stack.events("invoice.paid")
    delivery_id = delivery_id_for_event(event["event_id"])

    first = stack.lam.receive()
    started = time.time()
    assert stack.lam.invoke(first) == {first[0]["messageId"]}
    ended = time.time()
    pending = stack.delivery(webhook_id, delivery_id)
    assert pending.status == DELIVERY_PENDING
    assert attempts(pending) == [(500, "http_status")]
    assert pending.next_attempt_at is not None
    assert started + 1 <= pending.next_attempt_at <= ended + 1  # the schedule's 1 s
    assert pending.lease_until is None
    health = stack.webhooks.get(stack.tenant, webhook_id)
    assert health is not None
    assert health.consecutive_failures == 1

    waited, again = stack.lam.reappears_after()
    assert 0.5 <= waited <= 3.0, waited
    assert again["messageId"] == first[0]["messageId"]
    assert again["attributes"]["ApproximateReceiveCount"] == "2"
    assert stack.lam.invoke([again]) == set()

    done = stack.delivery(webhook_id, delivery_id)
    assert done.status == DELIVERY_SUCCEEDED
    assert attempts(done) == [(500, "http_status"), (204, None)]
    assert [s.webhook_id for s in receiver.requests()] == [delivery_id, delivery_id]
    assert receiver.answered_2xx() == Counter({delivery_id: 1})
    health = stack.webhooks.get(stack.tenant, webhook_id)
    assert health is not None
    assert (health.consecutive_failures, health.failing_since) == (0, None)
    assert stack.lam.depth() == 0


def test_410_fails_the_delivery_and_disables_the_endpoint(stack: Stack, receiver: Receiver) -> None:
    webhook_id, secret = stack.webhook(receiver.url)
    receiver.secrets = [secret]
    receiver.replies.append(Reply(410))
    first, second = stack.events("a", "b")
    records = stack.lam.receive(want=2)
    by_delivery = {json.loads(r["body"])["delivery_id"]: r for r in records}

    first_id = delivery_id_for_event(first["event_id"])
    assert stack.lam.invoke([by_delivery[first_id]]) == set()
    gone = stack.delivery(webhook_id, first_id)
    assert gone.status == DELIVERY_FAILED
    assert gone.failure_reason == DISABLED_GONE
    assert attempts(gone) == [(410, "http_status")]
    webhook = stack.runtime.webhooks.get(stack.tenant, webhook_id)
    assert webhook.status == STATUS_DISABLED
    assert webhook.disabled_reason == DISABLED_GONE

    # A delivery queued before the 410 fails without an attempt; new events queue nothing.
    second_id = delivery_id_for_event(second["event_id"])
    assert stack.lam.invoke([by_delivery[second_id]]) == set()
    skipped = stack.delivery(webhook_id, second_id)
    assert skipped.status == DELIVERY_FAILED
    assert skipped.failure_reason == "endpoint disabled"
    assert skipped.attempts == ()
    stack.events("c")
    assert stack.lam.depth() == 0
    assert len(receiver.requests()) == 1


def test_a_timeout_is_retried(stack: Stack, receiver: Receiver) -> None:
    webhook_id, secret = stack.webhook(receiver.url)
    receiver.secrets = [secret]
    receiver.replies.append(Reply(204, delay=TIMEOUT + 3.0))  # answers after the worker left
    (event,) = stack.events("invoice.paid")
    delivery_id = delivery_id_for_event(event["event_id"])

    first = stack.lam.receive()
    started = time.monotonic()
    assert stack.lam.invoke(first) == {first[0]["messageId"]}
    assert time.monotonic() - started < TIMEOUT + 2.0  # it did not wait for the slow answer
    pending = stack.delivery(webhook_id, delivery_id)
    ((status, error),) = attempts(pending)
    assert (status, error) == (None, "timeout")
    assert TIMEOUT * 1000 <= pending.attempts[0].latency_ms < (TIMEOUT + 1.5) * 1000

    waited, again = stack.lam.reappears_after()
    assert 0.5 <= waited <= 3.0, waited
    assert stack.lam.invoke([again]) == set()
    assert attempts(stack.delivery(webhook_id, delivery_id)) == [(None, "timeout"), (204, None)]
    # The receiver saw the delivery twice with one webhook-id (so it can drop the second), and
    # answered it in time once.
    assert [s.webhook_id for s in receiver.requests()] == [delivery_id, delivery_id]
    assert receiver.answered_2xx() == Counter({delivery_id: 1})


def test_429_with_retry_after_waits_that_long(stack: Stack, receiver: Receiver) -> None:
    webhook_id, secret = stack.webhook(receiver.url)
    receiver.secrets = [secret]
    receiver.replies.append(Reply(429, headers={"Retry-After": "2"}))
    (event,) = stack.events("invoice.paid")
    delivery_id = delivery_id_for_event(event["event_id"])

    first = stack.lam.receive()
    started = time.time()
    assert stack.lam.invoke(first) == {first[0]["messageId"]}
    ended = time.time()
    pending = stack.delivery(webhook_id, delivery_id)
    assert attempts(pending) == [(429, "http_status")]
    assert pending.next_attempt_at is not None
    # Retry-After: 2 (the schedule says 1 s; twice that is the cap, so 2 s it is).
    assert started + 2 <= pending.next_attempt_at <= ended + 2
    waited, again = stack.lam.reappears_after()
    assert 1.5 <= waited <= 4.0, waited
    assert stack.lam.invoke([again]) == set()
    done = stack.delivery(webhook_id, delivery_id)
    assert attempts(done) == [(429, "http_status"), (204, None)]
    assert receiver.answered_2xx() == Counter({delivery_id: 1})


def test_exhausted_attempts_fail_the_delivery_into_the_dead_letter_queue(
    stack: Stack, receiver: Receiver
) -> None:
    webhook_id, secret = stack.webhook(receiver.url)
    receiver.secrets = [secret]
    receiver.default = Reply(500)
    (event,) = stack.events("invoice.paid")
    delivery_id = delivery_id_for_event(event["event_id"])

    records = stack.lam.receive()
    body = records[0]["body"]
    for attempt in range(1, SCHEDULE.max_attempts + 1):
        kept = stack.lam.invoke(records)
        last = attempt == SCHEDULE.max_attempts
        assert kept == (set() if last else {records[0]["messageId"]})
        if not last:
            _, record = stack.lam.reappears_after()
            records = [record]

    failed = stack.delivery(webhook_id, delivery_id)
    assert failed.status == DELIVERY_FAILED
    assert failed.failure_reason == f"all {SCHEDULE.max_attempts} attempts failed"
    assert attempts(failed) == [(500, "http_status")] * SCHEDULE.max_attempts
    assert stack.lam.depth() == 0
    (dead,) = stack.lam.receive(url=stack.lam.queues.dlq_url)
    assert dead["body"] == body
    assert dead["messageAttributes"]["reason"]["stringValue"] == failed.failure_reason
    assert [s.webhook_id for s in receiver.requests()] == [delivery_id] * SCHEDULE.max_attempts
    health = stack.webhooks.get(stack.tenant, webhook_id)
    assert health is not None
    assert health.consecutive_failures == SCHEDULE.max_attempts
    assert health.status == "active"  # three failures: no breaker, no disabling
    assert health.breaker_open_until is None


def test_copies_of_one_message_make_one_attempt(stack: Stack, receiver: Receiver) -> None:
    webhook_id, secret = stack.webhook(receiver.url)
    receiver.secrets = [secret]
    receiver.default = Reply(204, delay=0.3)  # the copies overlap
    (event,) = stack.events("invoice.paid")
    delivery_id = delivery_id_for_event(event["event_id"])
    (original,) = stack.lam.receive()
    url = stack.lam.queues.queue_url
    for _ in range(2):  # SQS may hand a message over more than once
        stack.lam.sqs.send_message(QueueUrl=url, MessageBody=original["body"])
    copies = stack.lam.receive(want=2)
    batch = [original, *copies]

    kept = stack.lam.invoke(batch)  # attempted concurrently
    # One copy attempts; the others find the lease held and wait (or, if they came late, the
    # delivery done, and are dropped).
    assert len(receiver.requests()) == 1
    assert len(kept) <= 2
    assert stack.delivery(webhook_id, delivery_id).status == DELIVERY_SUCCEEDED
    # When they come back they find the delivery done and are dropped.
    waiting = [r for r in batch if r["messageId"] in kept]
    if waiting:
        stack.lam.sqs.change_message_visibility_batch(
            QueueUrl=stack.lam.queues.queue_url,
            Entries=[
                {"Id": str(n), "ReceiptHandle": r["receiptHandle"], "VisibilityTimeout": 0}
                for n, r in enumerate(waiting)
            ],
        )
        assert stack.lam.invoke(stack.lam.receive(want=len(waiting))) == set()
    assert stack.lam.depth() == 0
    assert receiver.answered_2xx() == Counter({delivery_id: 1})


def test_a_batch_of_ten_is_delivered_concurrently_each_once(
    ddb: Database, sqs_shared: SQSClient, sqs_queues: QueueUrls, receiver: Receiver
) -> None:
    stack = build_stack(ddb, sqs_shared, sqs_queues, timeout=5.0)
    webhook_id, secret = stack.webhook(receiver.url)
    receiver.secrets = [secret]
    receiver.default = Reply(204, delay=0.5)
    events = stack.events(*[f"t{i}" for i in range(10)])
    records = stack.lam.receive(want=10)
    assert len(records) == 10
    started = time.monotonic()
    assert stack.lam.invoke(records) == set()
    assert time.monotonic() - started < 3.5  # not ten times 0.5 s one after the other
    expected = {delivery_id_for_event(e["event_id"]) for e in events}
    assert receiver.answered_2xx(timeout=5.0) == Counter(dict.fromkeys(expected, 1))
    for delivery_id in expected:
        assert stack.delivery(webhook_id, delivery_id).status == DELIVERY_SUCCEEDED


def test_the_worker_checks_the_address_again_before_each_attempt(
    ddb: Database, sqs_shared: SQSClient, sqs_queues: QueueUrls, receiver: Receiver
) -> None:
    """DNS rebinding: a name that resolved to a public address when the webhook was set points
    at loopback when the worker sends. On a stage that refuses private targets, nothing is
    sent, and the attempt says why."""
    answers = {"rebind.attacker.test": ["93.184.215.14"]}

    def resolve(host: str, port: int) -> list[str]:
        return list(answers[host])

    stack = build_stack(ddb, sqs_shared, sqs_queues, allow_private=False, resolve=resolve)
    port = receiver.server.server_address[1]
    webhook_id, _ = stack.webhook(f"http://rebind.attacker.test:{port}/hooks")
    answers["rebind.attacker.test"] = ["127.0.0.1"]
    (event,) = stack.events("invoice.paid")
    records = stack.lam.receive()
    assert stack.lam.invoke(records) == {records[0]["messageId"]}  # retried later
    pending = stack.delivery(webhook_id, delivery_id_for_event(event["event_id"]))
    ((status, error),) = attempts(pending)
    assert (status, error) == (None, "refused_target")
    assert "127.0.0.1" in (pending.attempts[0].error_detail or "")
    assert receiver.requests() == []


def test_paused_and_deleted_endpoints_fail_queued_deliveries_without_an_attempt(
    stack: Stack, receiver: Receiver
) -> None:
    paused_id, paused_secret = stack.webhook(receiver.url)
    deleted_id, deleted_secret = stack.webhook(receiver.url)
    receiver.secrets = [paused_secret, deleted_secret]
    (event,) = stack.events("invoice.paid")
    delivery_id = delivery_id_for_event(event["event_id"])
    records = stack.lam.receive(want=2)
    stack.runtime.webhooks.update(stack.tenant, paused_id, {"status": "paused"})
    stack.runtime.webhooks.delete(stack.tenant, deleted_id)
    assert stack.lam.invoke(records) == set()
    for webhook_id, reason in [(paused_id, "endpoint paused"), (deleted_id, "endpoint deleted")]:
        delivery = stack.delivery(webhook_id, delivery_id)
        assert (delivery.status, delivery.failure_reason, delivery.attempts) == (
            DELIVERY_FAILED,
            reason,
            (),
        )
    assert receiver.requests() == []
    assert stack.lam.depth() == 0


def test_the_endpoint_rate_limit_makes_deliveries_wait_not_fail(
    stack: Stack, receiver: Receiver
) -> None:
    webhook_id, secret = stack.webhook(receiver.url, rate_limit_per_second=1)
    receiver.secrets = [secret]
    events = stack.events("a", "b")
    expected = {delivery_id_for_event(e["event_id"]) for e in events}
    records = stack.lam.receive(want=2)
    started = time.monotonic()
    kept = stack.lam.invoke(records)
    assert len(kept) == 1  # a burst of one second's worth: one goes now, one waits
    assert len(receiver.requests()) == 1
    while kept:
        assert time.monotonic() - started < 10, "the waiting delivery never went out"
        kept = stack.lam.invoke(stack.lam.receive(within=3.0))
    assert time.monotonic() - started >= 0.8  # two at one a second
    assert receiver.answered_2xx() == Counter(dict.fromkeys(expected, 1))
    for delivery_id in expected:
        delivery = stack.delivery(webhook_id, delivery_id)
        assert delivery.status == DELIVERY_SUCCEEDED
        assert attempts(delivery) == [(204, None)]  # waiting used up no attempt


def test_five_failures_in_a_row_open_the_breaker_and_hold_the_next_delivery(
    stack: Stack, receiver: Receiver
) -> None:
    webhook_id, secret = stack.webhook(receiver.url)
    receiver.secrets = [secret]
    receiver.default = Reply(503)
    events = stack.events(*[f"t{i}" for i in range(6)])
    records = stack.lam.receive(want=6)
    by_delivery = {json.loads(r["body"])["delivery_id"]: r for r in records}
    held = delivery_id_for_event(events[-1]["event_id"])
    first_five = [r for d, r in by_delivery.items() if d != held]
    assert len(stack.lam.invoke(first_five)) == 5  # each failed once: retried later
    health = stack.webhooks.get(stack.tenant, webhook_id)
    assert health is not None
    assert health.consecutive_failures == 5
    assert health.breaker_open_until is not None
    assert 55 <= health.breaker_open_until - time.time() <= 61

    assert stack.lam.invoke([by_delivery[held]]) == {by_delivery[held]["messageId"]}
    assert stack.delivery(webhook_id, held).attempts == ()  # held, not attempted
    # The five come back for their second attempt (1 s later) and are held too: no request.
    retries = stack.lam.receive(want=5)
    assert {r["messageId"] for r in retries} == {r["messageId"] for r in first_five}
    assert len(stack.lam.invoke(retries)) == 5
    assert len(receiver.requests()) == 5
    for delivery_id in by_delivery:
        assert len(stack.delivery(webhook_id, delivery_id).attempts) == (delivery_id != held)
    assert stack.lam.receive(within=1.0) == []  # all wait for the breaker (about a minute)
