"""When DynamoDB is unreachable, throttling or answering corrupt bodies, every route answers
503 ``service_unavailable`` with Retry-After: never a 500 and never a false "not found".

The app is built in-process (``create_app`` + ``chalice.test.Client``) on a Runtime whose
DynamoDB client points at a closed port or at a tiny fake DynamoDB on 127.0.0.1.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from chalice.test import Client

from chalicelib.api.application import create_app
from chalicelib.runtime import Runtime
from chalicelib.settings import Settings, load_settings
from chalicelib.stores.aws import dynamodb_client
from devstack.ports import free_port
from tests.conftest import TEST_ENV, Database

ATTEMPTS = 2  # one retry: proves retrying without long backoff sleeps in the test
EVENT_ID = "evt_01JD0000000000000000000000"
BODY = json.dumps({"source": "billing", "event_type": "invoice.paid", "payload": {"n": 1}})


def fast_settings() -> Settings:
    return load_settings(
        {
            **TEST_ENV,
            "AWS_CONNECT_TIMEOUT": "0.2",
            "AWS_READ_TIMEOUT": "1",
            "AWS_TOTAL_MAX_ATTEMPTS": str(ATTEMPTS),
        }
    )


def client_for(endpoint: str, settings: Settings) -> Any:
    session = boto3.Session(
        aws_access_key_id="fake", aws_secret_access_key="fake", region_name="us-east-1"
    )
    return dynamodb_client(settings, session=session, endpoint_url=endpoint)


class FakeDynamoDB:
    """A DynamoDB endpoint that answers every request with one canned response."""

    def __init__(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.targets: list[
            str
        ] = []  # X-Amz-Target of every request, e.g. DynamoDB_20120810.GetItem
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                fake.targets.append(self.headers.get("X-Amz-Target", ""))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def calls(self, operation: str) -> int:
        return sum(t.endswith("." + operation) for t in self.targets)

    def __enter__(self) -> FakeDynamoDB:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def aws_error(code: str) -> FakeDynamoDB:
    body = json.dumps(
        {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": "slow down"}
    ).encode()
    return FakeDynamoDB(
        400, body, {"Content-Type": "application/x-amz-json-1.0", "x-amzn-ErrorType": code}
    )


def corrupt_item() -> FakeDynamoDB:
    body = json.dumps({"Item": {"pk": {"S": "x"}}}).encode()
    wrong = str((zlib.crc32(body) + 1) & 0xFFFFFFFF)
    return FakeDynamoDB(
        200, body, {"Content-Type": "application/x-amz-json-1.0", "x-amz-crc32": wrong}
    )


@dataclasses.dataclass
class BrokenApp:
    client: Client
    secret: str


@pytest.fixture
def working(ddb: Database) -> Runtime:
    return ddb.runtime()


def broken_app(working: Runtime, endpoint: str, keys_work: bool = True) -> Iterator[BrokenApp]:
    settings = fast_settings()
    runtime = Runtime.build(settings, dynamodb=client_for(endpoint, settings))
    _, secret = working.keys.create_key("t", "ten_a")
    if keys_work:
        # Keys come from the working database, so requests get past authentication.
        runtime = dataclasses.replace(runtime, keys=working.keys)
    with Client(create_app(runtime), stage_name="local") as client:
        yield BrokenApp(client, secret)


def assert_unavailable(response: Any) -> None:
    assert response.status_code == 503, response.body
    body = json.loads(response.body)
    assert body["error"]["code"] == "service_unavailable"
    assert body["request_id"]
    assert int(response.headers["Retry-After"]) >= 1
    assert "Traceback" not in response.body.decode()


def every_route(app: BrokenApp) -> list[Any]:
    auth = {"X-API-Key": app.secret}
    json_auth = {**auth, "Content-Type": "application/json"}
    http = app.client.http
    return [
        http.post("/v1/events", headers=json_auth, body=BODY),
        http.post("/v1/events", headers={**json_auth, "Idempotency-Key": "k"}, body=BODY),
        http.get(f"/v1/events/{EVENT_ID}", headers=auth),
        http.post(f"/v1/events/{EVENT_ID}/ack", headers=auth),
        http.delete(f"/v1/events/{EVENT_ID}", headers=auth),
        http.get("/v1/inbox", headers=auth),
    ]


@pytest.fixture
def closed_port_app(working: Runtime) -> Iterator[BrokenApp]:
    yield from broken_app(working, f"http://127.0.0.1:{free_port()}")


def test_unreachable_dynamodb_gives_503_on_every_route(closed_port_app: BrokenApp) -> None:
    for response in every_route(closed_port_app):
        assert_unavailable(response)


def test_health_reports_unreachable_dynamodb(closed_port_app: BrokenApp) -> None:
    response = closed_port_app.client.http.get("/v1/health")
    assert response.status_code == 503
    assert json.loads(response.body)["checks"] == {"dynamodb": "unavailable"}
    assert int(response.headers["Retry-After"]) >= 1


def test_key_lookup_failing_gives_503_not_401(working: Runtime) -> None:
    for app in broken_app(working, f"http://127.0.0.1:{free_port()}", keys_work=False):
        response = app.client.http.get("/v1/inbox", headers={"X-API-Key": app.secret})
        assert_unavailable(response)


@pytest.mark.parametrize("code", ["ProvisionedThroughputExceededException", "ThrottlingException"])
def test_throttling_is_retried_then_503(working: Runtime, code: str) -> None:
    with aws_error(code) as fake:
        for app in broken_app(working, fake.endpoint):
            for response in every_route(app):
                assert_unavailable(response)
            fake.targets.clear()
            assert_unavailable(
                app.client.http.get(f"/v1/events/{EVENT_ID}", headers={"X-API-Key": app.secret})
            )
            assert fake.calls("GetItem") == ATTEMPTS
            assert app.client.http.get("/v1/health").status_code == 503


def test_crc32_mismatch_is_retried_then_503_never_not_found(working: Runtime) -> None:
    with corrupt_item() as fake:
        for app in broken_app(working, fake.endpoint):
            response = app.client.http.get(
                f"/v1/events/{EVENT_ID}", headers={"X-API-Key": app.secret}
            )
            assert_unavailable(response)
            assert fake.calls("GetItem") == ATTEMPTS
            assert app.client.http.get("/v1/health").status_code == 503


def test_a_success_without_crc32_is_retried_then_503(working: Runtime) -> None:
    """A 2xx whose header block was cut short (no x-amz-crc32, empty body) once read as an
    UpdateItem without Attributes: a 500 on ack under the chaos suite's ddb-limit-data."""
    cut = FakeDynamoDB(200, b"", {"Content-Type": "application/x-amz-json-1.0"})
    with cut as fake:
        for app in broken_app(working, fake.endpoint):
            headers = {"X-API-Key": app.secret}
            fake.targets.clear()
            assert_unavailable(app.client.http.get(f"/v1/events/{EVENT_ID}", headers=headers))
            assert fake.calls("GetItem") == ATTEMPTS
            fake.targets.clear()
            assert_unavailable(app.client.http.post(f"/v1/events/{EVENT_ID}/ack", headers=headers))
            assert fake.calls("UpdateItem") >= ATTEMPTS  # the ack (and the rate limit's) retried


def test_a_good_crc32_is_accepted(working: Runtime) -> None:
    body = b"{}"
    good = FakeDynamoDB(
        200,
        body,
        {
            "Content-Type": "application/x-amz-json-1.0",
            "x-amz-crc32": str(zlib.crc32(body) & 0xFFFFFFFF),
        },
    )
    with good as fake:
        for app in broken_app(working, fake.endpoint):
            response = app.client.http.get(
                f"/v1/events/{EVENT_ID}", headers={"X-API-Key": app.secret}
            )
            assert response.status_code == 404
            assert fake.calls("GetItem") == 1
