"""The webhook queues' one definition (local stack and infra template alike)."""

from __future__ import annotations

import json

import pytest

from chalicelib.stores.queues import (
    DELIVERY_FUNCTION_TIMEOUT_SECONDS,
    MAX_RECEIVE_COUNT,
    RETENTION_SECONDS,
    VISIBILITY_TIMEOUT_SECONDS,
    dead_letter_queue,
    delivery_queue,
    delivery_queue_name,
)

DLQ_ARN = "arn:aws:sqs:us-east-1:123456789012:triggers-api-dev-webhook-deliveries-dlq"


def test_names_follow_the_stage() -> None:
    assert delivery_queue_name("local") == "triggers-api-local-webhook-deliveries"
    assert delivery_queue("prod").name == "triggers-api-prod-webhook-deliveries"
    assert dead_letter_queue("dev").name == "triggers-api-dev-webhook-deliveries-dlq"


def test_delivery_queue_redrives_only_as_a_safety_net_and_outlasts_six_function_timeouts() -> None:
    attributes = delivery_queue("dev").attributes(DLQ_ARN)
    assert attributes["VisibilityTimeout"] == str(VISIBILITY_TIMEOUT_SECONDS)
    assert VISIBILITY_TIMEOUT_SECONDS >= 6 * DELIVERY_FUNCTION_TIMEOUT_SECONDS
    assert attributes["MessageRetentionPeriod"] == str(14 * 24 * 3600) == str(RETENTION_SECONDS)
    assert attributes["SqsManagedSseEnabled"] == "true"
    assert json.loads(attributes["RedrivePolicy"]) == {
        "deadLetterTargetArn": DLQ_ARN,
        "maxReceiveCount": MAX_RECEIVE_COUNT,
    }
    assert MAX_RECEIVE_COUNT == 1000


def test_delivery_queue_refuses_to_redrive_nowhere() -> None:
    with pytest.raises(ValueError, match="dead-letter"):
        delivery_queue("dev").attributes()


def test_dead_letter_queue_keeps_messages_as_long_as_sqs_allows_and_redrives_nowhere() -> None:
    attributes = dead_letter_queue("dev").attributes()
    assert attributes == {"MessageRetentionPeriod": "1209600", "SqsManagedSseEnabled": "true"}
