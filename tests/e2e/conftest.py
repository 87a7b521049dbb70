"""The e2e stack: devstack's LocalStack (the dev server, chalice local with our fixes, on a free
port, moto's SQS with the webhook queues, and the local workers of `make run` but the analytics
stream worker) on a fresh database of the session's DynamoDB Local, started once per test
process. Tests talk HTTP to it and create keys in unique tenants."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from chalicelib.runtime import Runtime
from devstack.dynamodb_local import DynamoDBLocal
from devstack.stack import WORKERS, LocalStack
from devstack.stage_env import stage_environment
from tests.conftest import TEST_ENV, Database, new_database

# Every worker of `make run` (the webhook fan-out and delivery workers among them) but the
# analytics stream worker: test_analytics_e2e starts its own, to check how it stops, and a second
# one would only repeat its work on every event of the session.
E2E_WORKERS = tuple(w for w in WORKERS if w.name != "stream-worker")


@dataclass
class Stack:
    base_url: str
    database: Database
    runtime: Runtime
    log_path: Path
    local: LocalStack

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def worker_log(self, name: str) -> Path:
        """A worker's log file (``fanout-worker``, ``delivery-worker``)."""
        return self.local.log_path(name)


@pytest.fixture(scope="session")
def stack(
    dynamodb_local: DynamoDBLocal, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    from chalicelib.settings import load_settings

    settings = load_settings({**stage_environment("local"), **TEST_ENV})
    database = new_database(dynamodb_local, settings, create=False)
    log_dir = tmp_path_factory.mktemp("e2e")
    with LocalStack(
        log_dir, workers=E2E_WORKERS, engine=dynamodb_local, access_key=database.access_key
    ) as local:
        yield Stack(local.api_url, database, database.runtime(), local.log_path("api"), local)


@dataclass
class ApiClient:
    base_url: str
    secret: str
    tenant_id: str
    key_id: str
    session: requests.Session

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"X-API-Key": self.secret, **kwargs.pop("headers", {})}
        return self.session.request(
            method, self.base_url + path, headers=headers, timeout=30, **kwargs
        )

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)


NewClient = Callable[..., ApiClient]


@pytest.fixture
def new_client(stack: Stack) -> Iterator[NewClient]:
    sessions: list[requests.Session] = []

    def make(tenant: str | None = None, **key_options: Any) -> ApiClient:
        tenant_id = tenant or "ten_" + uuid.uuid4().hex[:12]
        record, secret = stack.runtime.keys.create_key("e2e", tenant_id, **key_options)
        session = requests.Session()
        sessions.append(session)
        return ApiClient(stack.base_url, secret, tenant_id, record.key_id, session)

    yield make
    for session in sessions:
        session.close()


@pytest.fixture
def api(new_client: NewClient) -> ApiClient:
    return new_client()
