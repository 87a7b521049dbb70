"""LocalStack's SQS: moto's server beside DynamoDB Local, the stage's webhook queues on it, and
the environment and settings every child process and script gets to reach them."""

from __future__ import annotations

import json
import socket
import uuid
from pathlib import Path

import pytest

from chalicelib.stores.queues import MAX_RECEIVE_COUNT, VISIBILITY_TIMEOUT_SECONDS
from devstack.dynamodb_local import DynamoDBLocal
from devstack.ports import free_port
from devstack.stack import LocalStack, PortInUse


def test_the_stack_runs_moto_with_the_webhook_queues_and_exports_them(
    dynamodb_local: DynamoDBLocal, tmp_path: Path
) -> None:
    stack = LocalStack(
        tmp_path,
        api=False,
        workers=(),
        sqs=True,
        engine=dynamodb_local,
        access_key="sqs" + uuid.uuid4().hex[:12],
    )
    with stack:
        env = stack.env()
        assert env["AWS_ENDPOINT_URL_SQS"] == stack.sqs_endpoint
        assert env["AWS_ENDPOINT_URL_DYNAMODB"] == dynamodb_local.endpoint  # not moto
        assert env["WEBHOOK_QUEUE_URL"].endswith("/triggers-api-local-webhook-deliveries")
        assert env["WEBHOOK_DLQ_URL"].endswith("/triggers-api-local-webhook-deliveries-dlq")
        assert stack.child_env()["WEBHOOK_QUEUE_URL"] == stack.webhook_queue_url
        settings = stack.settings()
        assert settings.webhook_queue_url == stack.webhook_queue_url
        assert settings.webhook_dlq_url == stack.webhook_dlq_url
        sqs = stack.sqs_client(settings)
        attributes = sqs.get_queue_attributes(
            QueueUrl=stack.webhook_queue_url, AttributeNames=["All"]
        )["Attributes"]
        dlq_arn = sqs.get_queue_attributes(
            QueueUrl=stack.webhook_dlq_url, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        assert attributes["VisibilityTimeout"] == str(VISIBILITY_TIMEOUT_SECONDS)
        assert json.loads(attributes["RedrivePolicy"]) == {
            "deadLetterTargetArn": dlq_arn,
            "maxReceiveCount": MAX_RECEIVE_COUNT,
        }
        assert stack.log_path("moto-sqs").exists()
        assert [name for name, _ in stack.supervisor.children] == ["moto-sqs"]
    with pytest.raises(RuntimeError):
        stack.sqs_endpoint  # noqa: B018 - a stopped stack has no SQS


def test_a_stack_of_the_engine_alone_starts_no_sqs(
    dynamodb_local: DynamoDBLocal, tmp_path: Path
) -> None:
    with LocalStack(tmp_path, api=False, workers=(), engine=dynamodb_local) as stack:
        assert "AWS_ENDPOINT_URL_SQS" not in stack.env()
        assert stack.settings().webhook_queue_url == ""
        assert stack.supervisor.children == []


def test_a_taken_sqs_port_is_refused(dynamodb_local: DynamoDBLocal, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", free_port()))
        taken.listen()
        port = taken.getsockname()[1]
        stack = LocalStack(
            tmp_path, api=False, workers=(), sqs=True, sqs_port=port, engine=dynamodb_local
        )
        with pytest.raises(PortInUse) as refused:
            stack.start()
    assert refused.value.what == "SQS_PORT"
    assert refused.value.port == port
    assert stack.supervisor.children == []
