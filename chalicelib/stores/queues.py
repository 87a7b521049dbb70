"""The webhook delivery queue and its dead-letter queue: the one definition of their names and
attributes, for the local stack (``devstack/sqs_local.py`` creates them on moto's server with
:func:`ensure_queues`) and for ``infra/merge-template.json`` (compared with it by
``tests/unit/test_infra_template.py``).

The delivery handler schedules its own retries (ChangeMessageVisibility on a failed attempt,
reported in ``batchItemFailures`` so the message stays) and dead-letters a delivery itself after
its last attempt. The queue's redrive policy is only a safety net for a message whose handler
keeps crashing, hence its high ``maxReceiveCount``. The visibility timeout is AWS's advice for an
SQS event source, 6x the function's timeout, everywhere (the local worker has no 60 s limit, so
a slow local batch gets the same room before another poller could see its messages again).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.literals import QueueAttributeNameType

APP_NAME = "triggers-api"
# The webhook_deliveries function's timeout (.chalice/config.json, "lambda_functions").
DELIVERY_FUNCTION_TIMEOUT_SECONDS = 60
VISIBILITY_TIMEOUT_SECONDS = 6 * DELIVERY_FUNCTION_TIMEOUT_SECONDS
RETENTION_SECONDS = 14 * 24 * 3600  # SQS's maximum; the retry schedule spans ~28 h
MAX_RECEIVE_COUNT = 1000  # a safety net only: the handler dead-letters after its last attempt
# What an existing queue answers to CreateQueue with other attributes (AWS, moto).
QUEUE_EXISTS_CODES = frozenset({"QueueAlreadyExists", "QueueNameExists"})


@dataclass(frozen=True)
class QueueDefinition:
    """A standard queue: its name and the attributes we set (SSE is SQS-managed)."""

    name: str
    retention_seconds: int = RETENTION_SECONDS
    visibility_timeout: int | None = None  # None: SQS's default (30 s)
    max_receive_count: int | None = None  # with a dead-letter queue: redrive after this many

    def attributes(self, dead_letter_arn: str | None = None) -> dict[QueueAttributeNameType, str]:
        """The attributes for CreateQueue/SetQueueAttributes (strings, as the SQS API wants)."""
        attributes: dict[QueueAttributeNameType, str] = {
            "MessageRetentionPeriod": str(self.retention_seconds),
            "SqsManagedSseEnabled": "true",
        }
        if self.visibility_timeout is not None:
            attributes["VisibilityTimeout"] = str(self.visibility_timeout)
        if self.max_receive_count is not None:
            if not dead_letter_arn:
                raise ValueError(f"queue {self.name} redrives: give its dead-letter queue's ARN")
            attributes["RedrivePolicy"] = json.dumps(
                {"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": self.max_receive_count}
            )
        return attributes


def delivery_queue_name(stage: str) -> str:
    return f"{APP_NAME}-{stage}-webhook-deliveries"


def delivery_queue(stage: str) -> QueueDefinition:
    """The webhook delivery queue (redrives to :func:`dead_letter_queue`)."""
    return QueueDefinition(
        delivery_queue_name(stage),
        visibility_timeout=VISIBILITY_TIMEOUT_SECONDS,
        max_receive_count=MAX_RECEIVE_COUNT,
    )


def placeholder_queue_arn(stage: str) -> str:
    """The delivery queue ARN app.py gives chalice's ``on_sqs_message``: a literal, which
    ``infra/merge-template.json`` replaces with the queue it declares. (Given a queue *name*,
    chalice writes an ``Fn::Sub`` object, and the merge would fold the template's ``Fn::GetAtt``
    into that object instead of replacing it.)"""
    return (
        f"arn:aws:sqs:us-east-1:000000000000:{delivery_queue_name(stage)}"
        "-PLACEHOLDER-set-by-infra-merge-template"
    )


def dead_letter_queue(stage: str) -> QueueDefinition:
    """Where the delivery handler puts a delivery after its last attempt."""
    return QueueDefinition(f"{delivery_queue_name(stage)}-dlq")


@dataclass(frozen=True)
class QueueUrls:
    queue_url: str
    dlq_url: str


def ensure_queue(sqs: SQSClient, queue: QueueDefinition, dead_letter_arn: str | None = None) -> str:
    """Create ``queue`` if it is missing, else bring its attributes in line; return its URL."""
    attributes = queue.attributes(dead_letter_arn)
    try:
        return sqs.create_queue(QueueName=queue.name, Attributes=attributes)["QueueUrl"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in QUEUE_EXISTS_CODES:
            raise
    url = sqs.get_queue_url(QueueName=queue.name)["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
    return url


def queue_arn(sqs: SQSClient, queue_url: str) -> str:
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    return attributes["Attributes"]["QueueArn"]


def ensure_queues(sqs: SQSClient, stage: str) -> QueueUrls:
    """The stage's delivery queue and dead-letter queue, created idempotently (DLQ first: the
    delivery queue's redrive policy names it)."""
    dlq_url = ensure_queue(sqs, dead_letter_queue(stage))
    queue_url = ensure_queue(sqs, delivery_queue(stage), queue_arn(sqs, dlq_url))
    return QueueUrls(queue_url, dlq_url)
