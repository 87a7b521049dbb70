"""The e2e stack: DynamoDB Local + the dev server (chalice local with our fixes) on free ports,
started once per test process. Tests talk HTTP to it and create keys in unique tenants."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from chalicelib.runtime import Runtime
from devstack.dynamodb_local import DynamoDBLocal
from devstack.lifetime import die_with_parent
from devstack.ports import free_port, wait_for_port
from devstack.stage_env import stage_environment
from tests.conftest import TEST_ENV, Database, new_database

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Stack:
    base_url: str
    database: Database
    runtime: Runtime
    log_path: Path
    process: subprocess.Popen[bytes]

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture(scope="session")
def stack(
    dynamodb_local: DynamoDBLocal, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    from chalicelib.settings import load_settings

    settings = load_settings({**stage_environment("local"), **TEST_ENV})
    database = new_database(dynamodb_local, settings)
    port = free_port()
    log_path = tmp_path_factory.mktemp("e2e") / "api.log"
    env = {
        **os.environ,
        **database.aws_environment(),
        "PYTHONUNBUFFERED": "1",
    }
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "devstack.server", "--port", str(port), "--stage", "local"],
            cwd=str(ROOT),
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
    try:
        wait_for_port(port, 60)
    except TimeoutError:
        proc.kill()
        raise RuntimeError("dev server did not start:\n" + log_path.read_text()) from None
    yield Stack(f"http://127.0.0.1:{port}", database, database.runtime(), log_path, proc)
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


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
