"""The chaos suite's DynamoDB fault hook on DynamoDB Local: a fault makes a store call give up
as StorageUnavailable after botocore's real retries, the API answers 503 with Retry-After in
the envelope, and removing the plan file restores service, all at run time."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from chalice.test import Client

from chalicelib.api.application import create_app
from chalicelib.runtime import Runtime
from chalicelib.settings import load_settings
from chalicelib.stores.aws import dynamodb_client
from chalicelib.stores.errors import StorageUnavailable
from chalicelib.stores.events import EventStore
from chalicelib.stores.fault_injection import RECHECK_SECONDS
from tests.conftest import TEST_ENV, Database

ATTEMPTS = 3
BODY = json.dumps({"source": "billing", "event_type": "invoice.paid", "payload": {"n": 1}})


def write_plan(path: Path, plan: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(plan))
    os.replace(tmp, path)
    time.sleep(RECHECK_SECONDS * 1.5)  # the hook looks again within this


def chaos_client(ddb: Database, plan_file: Path) -> tuple[Any, list[str]]:
    """A client on ``ddb``'s database with the fault hook, and the operation of every attempt
    botocore made (a before-send handler registered ahead of the hook)."""
    settings = load_settings(
        {**TEST_ENV, "CHAOS_FAULTS_FILE": str(plan_file), "AWS_TOTAL_MAX_ATTEMPTS": str(ATTEMPTS)}
    )
    session = boto3.Session(
        aws_access_key_id=ddb.access_key, aws_secret_access_key="local", region_name="us-east-1"
    )
    client = dynamodb_client(settings, session=session, endpoint_url=ddb.engine.endpoint)
    attempts: list[str] = []
    client.meta.events.register_first(
        "before-send.dynamodb",
        lambda event_name, **_: attempts.append(event_name.rsplit(".", 1)[-1]),
    )
    return client, attempts


@pytest.mark.parametrize(
    ("error", "status"), [("InternalServerError", 500), ("ServiceUnavailable", 503)]
)
def test_a_5xx_is_retried_then_storage_unavailable_then_service_returns(
    ddb: Database, tmp_path: Path, error: str, status: int
) -> None:
    plan_file = tmp_path / "faults.json"
    client, attempts = chaos_client(ddb, plan_file)
    store = EventStore(client, ddb.settings.events_table, ddb.settings.idempotency_table, time.time)
    assert store.get("ten_a", "evt_01JD0000000000000000000000") is None

    write_plan(plan_file, {"dynamodb": {"error": error, "probability": 1.0}})
    attempts.clear()
    with pytest.raises(StorageUnavailable, match=error) as caught:
        store.get("ten_a", "evt_01JD0000000000000000000000")
    assert attempts == ["GetItem"] * ATTEMPTS  # botocore's standard-mode handler retried
    cause: Any = caught.value.__cause__
    assert cause.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert cause.response["ResponseMetadata"]["RetryAttempts"] == ATTEMPTS - 1

    plan_file.unlink()
    time.sleep(RECHECK_SECONDS * 1.5)
    attempts.clear()
    assert store.get("ten_a", "evt_01JD0000000000000000000000") is None
    assert attempts == ["GetItem"]


def client_settings(plan_file: Path) -> Any:
    return load_settings(
        {**TEST_ENV, "CHAOS_FAULTS_FILE": str(plan_file), "AWS_TOTAL_MAX_ATTEMPTS": str(ATTEMPTS)}
    )


def test_the_api_answers_503_with_retry_after_while_throttled_and_recovers(
    ddb: Database, tmp_path: Path
) -> None:
    """Throttling on PutItem only (authentication's GetItem and the limiter's UpdateItem still
    work): POST /v1/events answers 503 in the envelope, then 201 once the file is gone."""
    plan_file = tmp_path / "faults.json"
    client, attempts = chaos_client(ddb, plan_file)
    runtime = Runtime.build(client_settings(plan_file), dynamodb=client)
    _, secret = ddb.runtime().keys.create_key("t", "ten_a")
    headers = {"X-API-Key": secret, "Content-Type": "application/json"}
    with Client(create_app(runtime), stage_name="local") as app:
        assert app.http.post("/v1/events", headers=headers, body=BODY).status_code == 201

        write_plan(
            plan_file,
            {
                "dynamodb": {
                    "error": "ProvisionedThroughputExceededException",
                    "probability": 1.0,
                    "operations": ["PutItem"],
                }
            },
        )
        attempts.clear()
        response = app.http.post("/v1/events", headers=headers, body=BODY)
        assert response.status_code == 503, response.body
        body = json.loads(response.body)
        assert body["error"]["code"] == "service_unavailable"
        assert body["request_id"] == response.headers["X-Request-ID"]
        assert int(response.headers["Retry-After"]) >= 1
        assert attempts.count("PutItem") == ATTEMPTS
        assert app.http.get("/v1/health").status_code == 200  # GetItem is not in the plan

        plan_file.unlink()
        time.sleep(RECHECK_SECONDS * 1.5)
        assert app.http.post("/v1/events", headers=headers, body=BODY).status_code == 201


def test_an_invalid_plan_leaves_the_api_working(ddb: Database, tmp_path: Path) -> None:
    plan_file = tmp_path / "faults.json"
    plan_file.write_text('{"dynamodb": {"error": "ThrottlingException", "probability": 7}}')
    client, _ = chaos_client(ddb, plan_file)
    runtime = Runtime.build(client_settings(plan_file), dynamodb=client)
    assert runtime.health.check()[0] is True
