"""Lambda-shaped records for handler tests: DynamoDB stream records of the events table and SQS
records of the webhook delivery queue, built the way AWS builds them."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.webhooks import DeliveryMessage
from chalicelib.stores.events import new_event_item
from chalicelib.stores.protocols import NewEvent


def stream_record(
    sequence: int,
    event_name: str = "INSERT",
    new: NewEvent | None = None,
    old: NewEvent | None = None,
) -> dict[str, Any]:
    """One stream record; its images are the items ``POST /v1/events`` writes."""
    dynamodb: dict[str, Any] = {
        "SequenceNumber": f"{sequence:021d}",
        "ApproximateCreationDateTime": 1_795_000_000,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new is not None:
        dynamodb["NewImage"] = new_event_item(new)
    if old is not None:
        dynamodb["OldImage"] = new_event_item(old)
    return {
        "eventID": f"rec-{sequence}",
        "eventName": event_name,
        "eventSource": "aws:dynamodb",
        "dynamodb": dynamodb,
    }


def inserts(news: list[NewEvent], first: int = 1) -> list[dict[str, Any]]:
    return [stream_record(first + n, new=new) for n, new in enumerate(news)]


def sequence(record: dict[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


def sqs_record(body: str, message_id: str, receive_count: int = 1) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "receiptHandle": f"rh-{message_id}-{receive_count}",
        "body": body,
        "attributes": {"ApproximateReceiveCount": str(receive_count)},
        "eventSource": "aws:sqs",
    }


def sqs_event(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


def message_record(message: DeliveryMessage, receive_count: int = 1) -> dict[str, Any]:
    """The SQS record of one delivery message (its id: the delivery's and webhook's)."""
    return sqs_record(
        message.body(), f"m-{message.webhook_id}-{message.delivery_id}", receive_count
    )
