"""The local workers (stand-ins for Lambda's event-source mappings): their command lines, the
WORKERS list `make run` starts, the Lambda SQS event they build and how they read the answer."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from chalicelib.runtime import Runtime
from devstack import delivery_worker, stream_worker
from devstack.delivery_worker import failed_message_ids, lambda_message_attributes, lambda_record
from devstack.stack import WORKERS, Worker
from devstack.state import StackState

ROOT = Path(__file__).resolve().parents[2]
QUEUE_ARN = "arn:aws:sqs:eu-west-1:123456789012:triggers-api-local-webhook-deliveries"


# -- the stream worker's --handler ---------------------------------------------------------------
def test_stream_worker_calls_events_stream_unless_told_otherwise() -> None:
    assert stream_worker.parse_args([]).handler == "events_stream"
    args = stream_worker.parse_args(["--handler", "webhook_fanout", "--poll-interval", "0.1"])
    assert args.handler == "webhook_fanout"
    assert args.poll_interval == 0.1


@pytest.mark.parametrize("bad", ["", "webhook-fanout", "app.webhook_fanout", "1x"])
def test_stream_worker_refuses_a_handler_that_is_no_function_name(bad: str) -> None:
    with pytest.raises(SystemExit):
        stream_worker.parse_args(["--handler", bad])


# -- WORKERS -----------------------------------------------------------------------------------
def _by_name() -> dict[str, Worker]:
    return {w.name: w for w in WORKERS}


def test_workers_are_the_stream_the_fanout_and_the_delivery_worker() -> None:
    assert [w.name for w in WORKERS] == ["stream-worker", "fanout-worker", "delivery-worker"]
    workers = _by_name()
    assert workers["stream-worker"].args[:2] == ("-m", "devstack.stream_worker")
    assert workers["fanout-worker"].args[:2] == ("-m", "devstack.stream_worker")
    assert workers["delivery-worker"].args[:2] == ("-m", "devstack.delivery_worker")


def test_each_worker_calls_its_own_handler() -> None:
    workers = _by_name()
    assert stream_worker.parse_args(list(workers["stream-worker"].args[2:])).handler == (
        "events_stream"
    )
    assert stream_worker.parse_args(list(workers["fanout-worker"].args[2:])).handler == (
        "webhook_fanout"
    )
    args = delivery_worker.parse_args(list(workers["delivery-worker"].args[2:]))
    assert args.handler == "webhook_deliveries"
    assert args.concurrency == 4
    assert args.batch_size == 10


@pytest.mark.parametrize("argv", [["--concurrency", "0"], ["--batch-size", "11"]])
def test_delivery_worker_refuses_impossible_options(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        delivery_worker.parse_args(argv)


# -- the Lambda SQS event ----------------------------------------------------------------------
def _message(**extra: Any) -> dict[str, Any]:
    body = '{"type":"invoice.paid"}'
    return {
        "MessageId": "3f1c-0001",
        "ReceiptHandle": "handle-1",
        "MD5OfBody": hashlib.md5(body.encode()).hexdigest(),  # noqa: S324 - SQS's own checksum
        "Body": body,
        "Attributes": {
            "SenderId": "AIDAEXAMPLE",
            "SentTimestamp": "1767000000000",
            "ApproximateReceiveCount": "3",
            "ApproximateFirstReceiveTimestamp": "1767000000100",
        },
        **extra,
    }


def test_a_message_becomes_a_lambda_record() -> None:
    record = lambda_record(_message(), QUEUE_ARN)  # type: ignore[arg-type]
    assert record == {
        "messageId": "3f1c-0001",
        "receiptHandle": "handle-1",
        "body": '{"type":"invoice.paid"}',
        "attributes": {
            "SenderId": "AIDAEXAMPLE",
            "SentTimestamp": "1767000000000",
            "ApproximateReceiveCount": "3",
            "ApproximateFirstReceiveTimestamp": "1767000000100",
        },
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(b'{"type":"invoice.paid"}').hexdigest(),  # noqa: S324
        "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE_ARN,
        "awsRegion": "eu-west-1",
    }


def test_message_attributes_take_lambdas_shape() -> None:
    attributes = {
        "attempt": {"DataType": "Number", "StringValue": "2"},
        "kind": {"DataType": "String", "StringValue": "event"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\xff"},
    }
    record = lambda_record(
        _message(MessageAttributes=attributes, MD5OfMessageAttributes="abc"),  # type: ignore[arg-type]
        QUEUE_ARN,
    )
    assert record["md5OfMessageAttributes"] == "abc"
    assert record["messageAttributes"] == {
        "attempt": {
            "stringValue": "2",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "Number",
        },
        "kind": {
            "stringValue": "event",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        },
        "blob": {
            "binaryValue": base64.b64encode(b"\x00\xff").decode(),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "Binary",
        },
    }
    assert lambda_message_attributes({}) == {}
    json.dumps(record)  # what Lambda hands over is JSON


# -- reading batchItemFailures as Lambda does ----------------------------------------------------
IDS = ["m1", "m2", "m3"]


@pytest.mark.parametrize(
    ("response", "failed"),
    [
        (None, set()),
        ({}, set()),
        ({"batchItemFailures": None}, set()),
        ({"batchItemFailures": []}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "m2"}]}, {"m2"}),
        ({"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m3"}]}, {"m1", "m3"}),
        # A complete batch failure in Lambda's rules: invalid, empty, null or unknown identifiers.
        ("ok", set(IDS)),
        ({"batchItemFailures": "m1"}, set(IDS)),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, set(IDS)),
        ({"batchItemFailures": [{"itemIdentifier": None}]}, set(IDS)),
        ({"batchItemFailures": [{"id": "m1"}]}, set(IDS)),
        ({"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "zz"}]}, set(IDS)),
    ],
)
def test_failed_messages_by_lambdas_rules(response: Any, failed: set[str]) -> None:
    assert failed_message_ids(response, IDS) == failed


# -- .run/stack.json ---------------------------------------------------------------------------
def test_stack_state_carries_the_queues_to_scripts_and_workers() -> None:
    found = StackState(
        dynamodb_endpoint="http://127.0.0.1:8001",
        api_url="http://127.0.0.1:8000",
        sqs_endpoint="http://127.0.0.1:8002",
        webhook_queue_url="http://127.0.0.1:8002/123456789012/q",
        webhook_dlq_url="http://127.0.0.1:8002/123456789012/q-dlq",
    )
    env = found.aws_environment()
    assert env["AWS_ENDPOINT_URL_DYNAMODB"] == "http://127.0.0.1:8001"
    assert env["AWS_ENDPOINT_URL_SQS"] == "http://127.0.0.1:8002"
    assert env["WEBHOOK_QUEUE_URL"] == "http://127.0.0.1:8002/123456789012/q"
    assert env["WEBHOOK_DLQ_URL"] == "http://127.0.0.1:8002/123456789012/q-dlq"


def test_a_stack_json_from_before_sqs_still_reads() -> None:
    old = {"dynamodb_endpoint": "http://127.0.0.1:8001", "api_url": "http://127.0.0.1:8000"}
    env = StackState(**old).aws_environment()
    assert "AWS_ENDPOINT_URL_SQS" not in env
    assert "WEBHOOK_QUEUE_URL" not in env


# -- app.py's temporary type-check switch --------------------------------------------------------
def test_app_type_checks_fully_once_the_runtime_has_the_webhook_services() -> None:
    """app.py silences two mypy codes only until Runtime gains the webhook services."""
    fields = getattr(Runtime, "__dataclass_fields__", {})
    if "webhook_fanout" in fields and "webhook_delivery" in fields:
        assert "# mypy: disable-error-code" not in (ROOT / "app.py").read_text()
