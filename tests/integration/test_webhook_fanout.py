"""The webhook fan-out (``runtime.webhook_fanout.handle``) on real engines: stream records read
from DynamoDB Local's stream in Lambda's shape (devstack's StreamWorker), deliveries written to
DynamoDB Local, messages sent to a moto SQS server.

Lambda delivers a batch again after a failure or a timeout, so the fan-out is called with the
same records several times: each (event, webhook) pair must get exactly one delivery and one
message, and the receiver one request, whatever the number of calls.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import pytest

from chalicelib.domain.events import parse_event_create
from chalicelib.domain.webhooks import (
    DELIVERY_PENDING,
    DELIVERY_SUCCEEDED,
    KIND_EVENT,
    delivery_id_for_event,
)
from chalicelib.runtime import Runtime
from chalicelib.services.webhooks import WebhookSpec
from chalicelib.stores.deliveries import DeliveryStore
from chalicelib.stores.queues import QueueUrls
from tests.conftest import Database
from tests.integration.test_stream_analytics import drain, make_worker
from tests.integration.test_webhook_delivery_handler import SCHEDULE, Receiver, SqsLambda

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

Pair = tuple[str, str]  # (webhook_id, delivery_id)


def build_runtime(ddb: Database, sqs: SQSClient, queue_url: str, dlq_url: str) -> Runtime:
    settings = replace(
        ddb.settings,
        webhook_queue_url=queue_url,
        webhook_dlq_url=dlq_url,
        webhook_allow_private_targets=True,
    )
    return Runtime.build(settings, dynamodb=ddb.client, sqs=sqs, webhook_schedule=SCHEDULE)


@dataclass
class World:
    """Two tenants' webhooks and events, and the stream records the events made."""

    runtime: Runtime
    records: list[dict[str, Any]]
    expected: set[Pair]  # the (webhook, delivery) pairs the filters call for
    hooks: dict[str, str]  # name -> webhook_id
    events: dict[str, dict[str, Any]]  # name -> event


def stream_records(ddb: Database) -> list[dict[str, Any]]:
    """Every record of the events table's stream so far, as Lambda hands them over."""
    records: list[dict[str, Any]] = []

    def collect(event: dict[str, Any]) -> dict[str, Any]:
        records.extend(event["Records"])
        return {"batchItemFailures": []}

    drain(make_worker(ddb, collect))
    return records


@pytest.fixture
def receiver() -> Any:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def world(ddb: Database, sqs_shared: SQSClient, sqs_queues: QueueUrls, receiver: Receiver) -> World:
    runtime = build_runtime(ddb, sqs_shared, sqs_queues.queue_url, sqs_queues.dlq_url)
    tenant, other = "ten_" + uuid.uuid4().hex[:8], "ten_" + uuid.uuid4().hex[:8]
    specs = {
        "all": (tenant, {}),
        "invoices": (tenant, {"event_types": ["invoice.*"]}),
        "crm": (tenant, {"sources": ["crm"], "event_types": ["invoice.sent"]}),
        "never": (tenant, {"event_types": ["nothing.*", "invoice"]}),
        "paused": (tenant, {}),
        "other": (other, {}),
    }
    hooks, secrets = {}, []
    for name, (owner, spec) in specs.items():
        issued = runtime.webhooks.create(owner, WebhookSpec(url=receiver.url, **spec))
        hooks[name] = issued.webhook.webhook_id
        secrets.append(issued.secret)
    receiver.secrets = secrets
    runtime.webhooks.update(tenant, hooks["paused"], {"status": "paused"})

    def event(owner: str, source: str, event_type: str) -> dict[str, Any]:
        draft = parse_event_create({"source": source, "event_type": event_type, "payload": {}})
        return runtime.events.create(owner, draft, "req_" + uuid.uuid4().hex[:8]).event

    events = {
        "paid": event(tenant, "billing", "invoice.paid"),
        "order": event(tenant, "billing", "order.paid"),
        "sent": event(tenant, "crm", "invoice.sent"),
        "theirs": event(other, "billing", "invoice.paid"),
        "gone": event(tenant, "billing", "invoice.void"),
    }
    runtime.events.acknowledge(tenant, events["paid"]["event_id"])  # a MODIFY record
    runtime.events.delete(tenant, events["gone"]["event_id"])  # a REMOVE record

    def pair(hook: str, name: str) -> Pair:
        return hooks[hook], delivery_id_for_event(events[name]["event_id"])

    expected = {
        *(pair("all", name) for name in ("paid", "order", "sent", "gone")),
        *(pair("invoices", name) for name in ("paid", "sent", "gone")),
        pair("crm", "sent"),
        pair("other", "theirs"),
    }
    records = stream_records(ddb)
    assert Counter(r["eventName"] for r in records) == {"INSERT": 5, "MODIFY": 1, "REMOVE": 1}
    return World(runtime, records, expected, hooks, events)


def queued_pairs(lam: SqsLambda, release: bool = False) -> Counter[Pair]:
    """The messages on the queue now, by (webhook, delivery); left in flight, or visible again
    at once with ``release``."""
    found: Counter[Pair] = Counter()
    handles: list[str] = []
    empty = 0
    while empty < 2:
        got = lam.sqs.receive_message(
            QueueUrl=lam.queues.queue_url, MaxNumberOfMessages=10, VisibilityTimeout=300
        ).get("Messages", [])
        empty = 0 if got else empty + 1
        for message in got:
            body = json.loads(message["Body"])
            found[(body["webhook_id"], body["delivery_id"])] += 1
            handles.append(message["ReceiptHandle"])
    if release:
        for handle in handles:
            lam.sqs.change_message_visibility(
                QueueUrl=lam.queues.queue_url, ReceiptHandle=handle, VisibilityTimeout=0
            )
    return found


def stored_pairs(ddb: Database, world: World) -> Counter[Pair]:
    store = DeliveryStore(ddb.client, ddb.settings.deliveries_table)
    found: Counter[Pair] = Counter()
    for webhook_id in world.hooks.values():
        page = store.page(webhook_id, None, None, 100)
        assert page.next_after is None
        for delivery in page.deliveries:
            found[(delivery.webhook_id, delivery.delivery_id)] += 1
            assert delivery.kind == KIND_EVENT
    return found


def deliver_everything(lam: SqsLambda) -> None:
    """Run the delivery handler until the queue is empty; a message it keeps (a copy that found
    the delivery leased) is made visible again at once instead of when the lease ends."""
    for _ in range(20):
        records = lam.receive(want=10, within=0.5)
        if not records:
            assert lam.depth() == 0
            return
        kept = lam.invoke(records)
        for record in records:
            if record["messageId"] in kept:
                lam.sqs.change_message_visibility(
                    QueueUrl=lam.queues.queue_url,
                    ReceiptHandle=record["receiptHandle"],
                    VisibilityTimeout=0,
                )
    raise AssertionError("the queue did not drain")


def requests_per_pair(world: World, receiver: Receiver) -> Counter[Pair]:
    """The receiver's requests by (webhook, delivery): each webhook has its own secret."""
    by_secret = dict(zip(receiver.secrets, world.hooks.values(), strict=True))
    return Counter(
        (by_secret[r.verified_by[0]], r.headers["webhook-id"]) for r in receiver.requests()
    )


def sent_pairs(world: World) -> set[Pair]:
    """The expected pairs but the deleted event's: it is gone when the worker sends."""
    gone = delivery_id_for_event(world.events["gone"]["event_id"])
    return {p for p in world.expected if p[1] != gone}


def test_three_calls_on_one_batch_make_one_delivery_and_one_message_per_pair(
    ddb: Database, sqs_shared: SQSClient, sqs_queues: QueueUrls, world: World, receiver: Receiver
) -> None:
    fanout = world.runtime.webhook_fanout
    lam = SqsLambda(sqs_shared, sqs_queues, world.runtime.webhook_delivery.handle)

    assert fanout.handle({"Records": world.records}) == {"batchItemFailures": []}
    assert stored_pairs(ddb, world) == Counter(dict.fromkeys(world.expected, 1))
    assert queued_pairs(lam, release=True) == Counter(dict.fromkeys(world.expected, 1))
    deliver_everything(lam)  # the deliveries go out before Lambda hands the batch over again

    for _ in range(2):
        assert fanout.handle({"Records": world.records}) == {"batchItemFailures": []}
    assert lam.depth() == 0  # nothing queued again
    assert stored_pairs(ddb, world) == Counter(dict.fromkeys(world.expected, 1))
    assert requests_per_pair(world, receiver) == Counter(dict.fromkeys(sent_pairs(world), 1))


def test_calls_before_any_attempt_queue_nothing_new(
    ddb: Database, sqs_shared: SQSClient, sqs_queues: QueueUrls, world: World, receiver: Receiver
) -> None:
    """Lambda hands the batch over again before any delivery was attempted: the deliveries are
    marked queued, so no message is sent twice; the receiver gets one request per pair."""
    fanout = world.runtime.webhook_fanout
    for _ in range(3):
        assert fanout.handle({"Records": world.records}) == {"batchItemFailures": []}
    assert stored_pairs(ddb, world) == Counter(dict.fromkeys(world.expected, 1))
    lam = SqsLambda(sqs_shared, sqs_queues, world.runtime.webhook_delivery.handle)
    assert queued_pairs(lam, release=True) == Counter(dict.fromkeys(world.expected, 1))

    deliver_everything(lam)
    store = DeliveryStore(ddb.client, ddb.settings.deliveries_table)
    for webhook_id, delivery_id in sent_pairs(world):
        delivery = store.get(webhook_id, delivery_id)
        assert delivery is not None
        assert delivery.status == DELIVERY_SUCCEEDED
        assert len(delivery.attempts) == 1
    assert requests_per_pair(world, receiver) == Counter(dict.fromkeys(sent_pairs(world), 1))


def test_a_queue_failure_reports_the_records_and_a_retry_queues_them(
    ddb: Database, sqs_shared: SQSClient, sqs_queues: QueueUrls, world: World
) -> None:
    broken = build_runtime(
        ddb, sqs_shared, sqs_queues.queue_url + "-missing", sqs_queues.dlq_url
    ).webhook_fanout
    answer = broken.handle({"Records": world.records})
    failed = [f["itemIdentifier"] for f in answer["batchItemFailures"]]
    sequences = [r["dynamodb"]["SequenceNumber"] for r in world.records]
    first = sequences.index(failed[0])
    assert failed == sequences[first:]  # the first record with a message, and every later one
    assert world.records[first]["eventName"] == "INSERT"
    # The deliveries were stored, never attempted; the retry of the reported records queues
    # one message for each.
    stored = stored_pairs(ddb, world)
    assert stored == Counter(dict.fromkeys(world.expected, 1))
    store = DeliveryStore(ddb.client, ddb.settings.deliveries_table)
    assert all(
        (d := store.get(w, m)) is not None and d.status == DELIVERY_PENDING and not d.attempts
        for w, m in world.expected
    )
    fanout = world.runtime.webhook_fanout
    assert fanout.handle({"Records": world.records[first:]}) == {"batchItemFailures": []}
    lam = SqsLambda(sqs_shared, sqs_queues, fanout.handle)
    assert queued_pairs(lam) == Counter(dict.fromkeys(world.expected, 1))


def test_records_that_are_not_new_events_fan_out_nothing(
    ddb: Database, sqs_shared: SQSClient, sqs_queues: QueueUrls, world: World
) -> None:
    others = [r for r in world.records if r["eventName"] != "INSERT"]
    assert len(others) == 2
    answer = world.runtime.webhook_fanout.handle({"Records": others})
    assert answer == {"batchItemFailures": []}
    lam = SqsLambda(sqs_shared, sqs_queues, world.runtime.webhook_fanout.handle)
    assert lam.depth() == 0
    assert stored_pairs(ddb, world) == Counter()
