"""The webhook delivery queue (``stores/delivery_queue.py``) on a real SQS engine (moto's
server): what the fake in ``tests/fakes.py`` stands for. Batches of ten, bodies that parse back,
visibility changes (capped at SQS's 12 hours), and dead-letter copies with their reason."""

from __future__ import annotations

import time
from typing import Any

import pytest

from chalicelib.domain.webhooks import DeliveryMessage
from chalicelib.stores.delivery_queue import DeliveryQueue
from chalicelib.stores.errors import StoreError
from chalicelib.stores.queues import QueueUrls


def receive(sqs: Any, url: str, **options: Any) -> list[dict[str, Any]]:
    """Everything visible now (several receives of up to ten)."""
    found: list[dict[str, Any]] = []
    while True:
        got = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, **options
        ).get("Messages", [])
        if not got:
            return found
        found += got


def messages(count: int) -> list[DeliveryMessage]:
    return [
        DeliveryMessage("ten_a", "wh_" + "0" * 24, f"msg_{n:026d}", f"req-{n}" if n % 2 else None)
        for n in range(count)
    ]


def test_messages_are_sent_in_batches_and_parse_back(sqs: Any, queues: QueueUrls) -> None:
    queue = DeliveryQueue(sqs, queues.queue_url, queues.dlq_url)
    sent = messages(23)
    assert queue.send(sent) == []
    received = receive(sqs, queues.queue_url)
    assert sorted((DeliveryMessage.parse(m["Body"]) for m in received), key=str) == sorted(
        sent, key=str
    )


def test_delay_moves_a_received_message_and_is_capped_below_12_hours(
    sqs: Any, queues: QueueUrls
) -> None:
    queue = DeliveryQueue(sqs, queues.queue_url, queues.dlq_url)
    queue.send(messages(2))
    first, second = receive(sqs, queues.queue_url)
    assert receive(sqs, queues.queue_url) == []  # both in flight
    queue.delay(first["ReceiptHandle"], 0)  # visible again at once
    time.sleep(1.1)  # SQS counts its 12 hours from the receive
    queue.delay(second["ReceiptHandle"], 20 * 3600)  # capped below what SQS refuses
    again = receive(sqs, queues.queue_url)
    assert [m["MessageId"] for m in again] == [first["MessageId"]]


def test_dead_letter_copies_a_message_or_an_unreadable_body_with_the_reason(
    sqs: Any, queues: QueueUrls
) -> None:
    queue = DeliveryQueue(sqs, queues.queue_url, queues.dlq_url)
    (message,) = messages(1)
    queue.dead_letter(message, "all 8 attempts failed")
    queue.dead_letter("not json at all", "x" * 300)
    queue.dead_letter(message, "")
    copies = receive(sqs, queues.dlq_url, MessageAttributeNames=["All"])
    found = sorted((m["Body"], m["MessageAttributes"]["reason"]["StringValue"]) for m in copies)
    assert found == sorted(
        [
            (message.body(), "all 8 attempts failed"),
            ("not json at all", "x" * 256),
            (message.body(), "failed"),
        ]
    )
    assert receive(sqs, queues.queue_url) == []


def test_an_unconfigured_queue_refuses_with_a_store_error(sqs: Any) -> None:
    queue = DeliveryQueue(sqs, "", "")
    with pytest.raises(StoreError):
        queue.send(messages(1))
    with pytest.raises(StoreError):
        queue.dead_letter("x", "y")


def test_requeue_sends_a_fresh_copy_after_its_delay(sqs: Any, queues: QueueUrls) -> None:
    queue = DeliveryQueue(sqs, queues.queue_url, queues.dlq_url)
    [message] = messages(1)
    queue.requeue(message, 1)
    assert receive(sqs, queues.queue_url) == []  # not visible yet
    time.sleep(1.5)
    [fresh] = receive(sqs, queues.queue_url, AttributeNames=["ApproximateReceiveCount"])
    assert DeliveryMessage.parse(fresh["Body"]) == message
    assert fresh["Attributes"]["ApproximateReceiveCount"] == "1"
    queue.requeue(message, 3 * 3600)  # longer than SQS's 15 minutes: capped, not refused
