"""Reads take their rate-limit token while the view runs; the verdict still decides the answer.

The app runs in-process (``create_app`` + ``chalice.test.Client``) on a private DynamoDB Local.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from chalice.test import Client

from chalicelib.api.application import create_app
from chalicelib.api.models.inbox import parse_inbox_query
from chalicelib.domain.token_bucket import Branch
from chalicelib.services.rate_limiter import RateLimiter
from chalicelib.stores.rate_limits import RateLimitStore, WriteResult
from tests.conftest import Database

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

MISSING = "/v1/events/evt_01JD7X2Q9R3S4T5V6W7X8Y9Z0A"


def test_a_refused_read_answers_429_even_when_the_view_failed(ddb: Database) -> None:
    runtime = ddb.runtime()
    _, secret = runtime.keys.create_key("reads", "tenant-reads", rate_limit_per_minute=2)
    headers = {"X-API-Key": secret}
    with Client(create_app(runtime), stage_name="local") as client:
        first = client.http.get(MISSING, headers=headers)
        second = client.http.get(MISSING, headers=headers)
        third = client.http.get(MISSING, headers=headers)
        fourth = client.http.get("/v1/inbox", headers=headers)
    # The view's 404 stands while tokens last, with the headers of the token it spent.
    assert [first.status_code, second.status_code] == [404, 404]
    assert first.headers["X-RateLimit-Remaining"] == "1"
    assert second.headers["X-RateLimit-Remaining"] == "0"
    # Over the limit, the limiter's verdict wins over the view's answer.
    assert third.status_code == 429
    assert third.headers["X-RateLimit-Remaining"] == "0"
    assert int(third.headers["Retry-After"]) >= 1
    # Known to be over: refused from memory before the view runs.
    assert fourth.status_code == 429


def test_writes_take_their_token_before_the_view(ddb: Database) -> None:
    runtime = ddb.runtime()
    _, secret = runtime.keys.create_key("writes", "tenant-writes", rate_limit_per_minute=1)
    headers = {"X-API-Key": secret, "Content-Type": "application/json"}
    body = '{"source": "s", "event_type": "t", "payload": {}}'
    with Client(create_app(runtime), stage_name="local") as client:
        created = client.http.post("/v1/events", headers=headers, body=body)
        refused = client.http.post("/v1/events", headers=headers, body=body)
    assert created.status_code == 201
    assert refused.status_code == 429
    # The refused write never reached the store: one event in the tenant's inbox.
    page = runtime.inbox.list_pending("tenant-writes", parse_inbox_query({}))
    assert len(page["events"]) == 1


class ThreadRecordingStore(RateLimitStore):
    """The real store, noting which thread takes each token."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        super().__init__(client, table)
        self.threads: list[str] = []

    def take(
        self, key_id: str, branch: Branch, now_us: int, interval_us: int, tat_limit_us: int
    ) -> WriteResult:
        self.threads.append(threading.current_thread().name)
        return super().take(key_id, branch, now_us, interval_us, tat_limit_us)


def test_reads_take_their_token_on_the_pool_and_writes_on_the_request_thread(
    ddb: Database,
) -> None:
    runtime = ddb.runtime()
    store = ThreadRecordingStore(ddb.client, ddb.settings.rate_limits_table)
    runtime.rate_limiter = RateLimiter(store, ddb.settings.default_rate_limit_per_minute)
    _, secret = runtime.keys.create_key("threads", "tenant-threads")
    headers = {"X-API-Key": secret, "Content-Type": "application/json"}
    with Client(create_app(runtime), stage_name="local") as client:
        assert client.http.get("/v1/inbox", headers=headers).status_code == 200
        body = '{"source": "s", "event_type": "t", "payload": {}}'
        assert client.http.post("/v1/events", headers=headers, body=body).status_code == 201
    read_thread, write_thread = store.threads
    assert read_thread.startswith("rate-limit")
    assert write_thread == threading.current_thread().name
