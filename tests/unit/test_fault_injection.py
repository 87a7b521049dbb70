"""The chaos fault hook: re-reads its file cheaply, never crashes on a bad one, and answers
exactly what DynamoDB answers (status, JSON error body, CRC32), so botocore's parser, retry
handler and our CRC32 check treat the fault as real."""

from __future__ import annotations

import json
import logging
import os
import random
import zlib
from pathlib import Path
from typing import Any

import boto3
import pytest

from chalicelib.settings import load_settings
from chalicelib.stores import fault_injection
from chalicelib.stores.aws import dynamodb_client, dynamodb_streams_client, translate_errors
from chalicelib.stores.errors import ConditionFailed, StorageUnavailable
from chalicelib.stores.fault_injection import RECHECK_SECONDS, FaultInjector, fault_response

BASE = {"STAGE": "local", "CURSOR_SIGNING_KEY": "k" * 16}
STEP = RECHECK_SECONDS + 0.001


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def write(path: Path, document: object) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(document))
    os.replace(tmp, path)


def throttle_all() -> dict[str, object]:
    return {"dynamodb": {"error": "ThrottlingException", "probability": 1.0}}


def test_no_file_no_fault(tmp_path: Path) -> None:
    injector = FaultInjector(str(tmp_path / "absent.json"))
    assert injector.before_send(event_name="before-send.dynamodb.PutItem") is None


def test_rereads_at_most_every_interval_and_sees_removal(tmp_path: Path) -> None:
    path = tmp_path / "faults.json"
    clock, stats = Clock(), []

    def stat(p: str) -> os.stat_result:
        stats.append(p)
        return os.stat(p)

    injector = FaultInjector(str(path), clock=clock, stat=stat)
    assert injector.plan().error is None
    write(path, throttle_all())
    assert injector.plan().error is None  # within the interval: the old answer, no stat
    assert len(stats) == 1
    clock.now += STEP
    assert injector.plan().error == "ThrottlingException"
    clock.now += STEP
    assert injector.plan().error == "ThrottlingException"
    assert len(stats) == 3
    path.unlink()
    clock.now += STEP
    assert injector.plan().error is None


def test_an_invalid_plan_injects_nothing_and_warns_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    path = tmp_path / "faults.json"
    path.write_text('{"dynamodb": {"error": "Teapot", "probability": 1}}')
    clock = Clock()
    injector = FaultInjector(str(path), clock=clock)
    for _ in range(3):
        assert injector.before_send(event_name="before-send.dynamodb.GetItem") is None
        clock.now += STEP
    warnings = [r for r in caplog.records if "invalid" in r.getMessage()]
    assert len(warnings) == 1
    assert "Teapot" in warnings[0].__dict__["error"]


def test_an_unreadable_plan_injects_nothing(tmp_path: Path) -> None:
    path = tmp_path / "faults.json"
    path.write_bytes(b"\xff\xfe{")
    assert FaultInjector(str(path)).before_send(event_name="before-send.dynamodb.Query") is None


def test_injects_by_operation_and_counts(tmp_path: Path) -> None:
    path = tmp_path / "faults.json"
    write(
        path,
        {"dynamodb": {"error": "InternalServerError", "probability": 1, "operations": ["Query"]}},
    )
    injector = FaultInjector(str(path), rng=random.Random(1))
    assert injector.before_send(event_name="before-send.dynamodb.GetItem") is None
    response = injector.before_send(event_name="before-send.dynamodb.Query")
    assert response is not None
    assert response.status_code == 500
    assert injector.injected == {"InternalServerError": 1}


@pytest.mark.parametrize(
    ("error", "status"),
    [("ThrottlingException", 400), ("InternalServerError", 500), ("ServiceUnavailable", 503)],
)
def test_the_response_is_what_dynamodb_sends(error: str, status: int) -> None:
    response = fault_response("http://x", error, status)
    body = json.loads(response.content)
    assert response.status_code == status
    assert body["__type"] == f"com.amazonaws.dynamodb.v20120810#{error}"
    assert body["message"]
    assert response.headers["Content-Type"] == "application/x-amz-json-1.0"
    assert response.headers["x-amz-crc32"] == str(zlib.crc32(response.content) & 0xFFFFFFFF)


def offline_client(settings_env: dict[str, str]) -> object:
    session = boto3.Session(
        aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1"
    )
    return dynamodb_client(load_settings(settings_env), session, "http://127.0.0.1:9")


@pytest.mark.parametrize(
    "error",
    [
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
    ],
)
def test_through_botocore_every_fault_is_storage_unavailable(
    tmp_path: Path, error: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No socket is opened (unit tests refuse them): every attempt is answered by the hook, our
    CRC32 check passes it, botocore retries it and translate_errors sees DynamoDB's code."""
    monkeypatch.setattr("time.sleep", lambda _s: None)  # botocore's retry backoff
    path = tmp_path / "faults.json"
    write(path, {"dynamodb": {"error": error, "probability": 1}})
    client = offline_client({**BASE, "CHAOS_FAULTS_FILE": str(path), "AWS_TOTAL_MAX_ATTEMPTS": "3"})
    with pytest.raises(StorageUnavailable, match=error) as caught, translate_errors("GetItem t"):
        client.get_item(TableName="t", Key={"pk": {"S": "a"}})  # type: ignore[attr-defined]
    cause = caught.value.__cause__
    assert cause is not None
    assert cause.response["Error"]["Code"] == error  # type: ignore[attr-defined]
    assert cause.response["ResponseMetadata"]["RetryAttempts"] == 2  # type: ignore[attr-defined]


def test_without_the_setting_no_hook_is_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    installed: list[object] = []
    monkeypatch.setattr(fault_injection, "install", lambda *a: installed.append(a))
    offline_client(BASE)
    assert installed == []


def test_the_streams_client_gets_the_hook_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("time.sleep", lambda _s: None)
    path = tmp_path / "faults.json"
    write(path, throttle_all())
    settings = load_settings({**BASE, "CHAOS_FAULTS_FILE": str(path)})
    session = boto3.Session(
        aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1"
    )
    client = dynamodb_streams_client(settings, session, "http://127.0.0.1:9")
    with pytest.raises(StorageUnavailable), translate_errors("ListStreams"):
        client.list_streams()


def test_an_empty_plan_lets_every_attempt_through(tmp_path: Path) -> None:
    """With the hook installed and no fault, each attempt goes on to be sent (here: to a last
    before-send handler standing in for DynamoDB) and its answer is handled as usual."""
    path = tmp_path / "faults.json"
    write(path, {})
    client: Any = offline_client({**BASE, "CHAOS_FAULTS_FILE": str(path)})
    sent: list[str] = []

    def dynamodb(event_name: str, **_: Any) -> Any:
        sent.append(event_name.rsplit(".", 1)[-1])
        return fault_response("http://x", "ConditionalCheckFailedException", 400)

    client.meta.events.register_last("before-send.dynamodb", dynamodb)
    with pytest.raises(ConditionFailed), translate_errors("PutItem t"):
        client.put_item(TableName="t", Item={"pk": {"S": "a"}})
    assert sent == ["PutItem"]
