"""Shared fixtures: settings, DynamoDB Local (one engine per test process), fresh databases.

DynamoDB Local keeps a separate database per access key (no ``-sharedDb``), so every test that
asks for ``ddb`` gets an empty database of its own, with the tables created, in ~0.1 s.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import boto3
import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from chalicelib.observability.metrics import DEFAULT as DEFAULT_METRICS
from chalicelib.observability.metrics import MetricsConfig
from chalicelib.runtime import Runtime
from chalicelib.settings import Settings, load_settings
from chalicelib.stores.aws import dynamodb_client
from chalicelib.stores.schema import create_all
from devstack.dynamodb_local import DynamoDBLocal
from devstack.ports import free_port
from devstack.stack import aws_environment

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

hypothesis_settings.register_profile("dev", max_examples=50, deadline=None)
# CI runs many examples, derandomized: the same examples every run, so a CI verdict is
# reproducible; the "dev" profile explores new random examples on every local run.
hypothesis_settings.register_profile(
    "ci",
    max_examples=400,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") else "dev")

TEST_ENV = {
    "STAGE": "local",
    "CURSOR_SIGNING_KEY": "test-cursor-signing-key-0123456789",
    "INBOX_SHARDS": "4",
    "TRUSTED_PROXIES": "127.0.0.1/32",
    "AWS_CONNECT_TIMEOUT": "2",
    "AWS_READ_TIMEOUT": "10",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = str(item.fspath)
        if f"{os.sep}integration{os.sep}" in path:
            item.add_marker(pytest.mark.integration)
        elif f"{os.sep}e2e{os.sep}" in path:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture
def test_settings() -> Settings:
    return load_settings(TEST_ENV)


@pytest.fixture(scope="session")
def dynamodb_local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DynamoDBLocal]:
    log = tmp_path_factory.mktemp("ddb") / "dynamodb-local.log"
    engine = DynamoDBLocal(free_port(), log_path=str(log))
    engine.start()
    yield engine
    engine.stop()


@dataclass
class Database:
    """A fresh, private DynamoDB Local database with the stage's tables."""

    engine: DynamoDBLocal
    access_key: str
    settings: Settings
    client: DynamoDBClient

    def runtime(self, now: object = None, metrics: MetricsConfig = DEFAULT_METRICS) -> Runtime:
        if now is None:
            return Runtime.build(self.settings, dynamodb=self.client, metrics=metrics)
        return Runtime.build(self.settings, dynamodb=self.client, now=now, metrics=metrics)  # type: ignore[arg-type]

    def aws_environment(self) -> dict[str, str]:
        return aws_environment(self.engine.endpoint, self.access_key)


def new_database(engine: DynamoDBLocal, settings: Settings, create: bool = True) -> Database:
    access_key = "t" + uuid.uuid4().hex[:16]
    session = boto3.Session(
        aws_access_key_id=access_key, aws_secret_access_key="local", region_name="us-east-1"
    )
    client = dynamodb_client(settings, session=session, endpoint_url=engine.endpoint)
    if create:
        create_all(client, settings)
    return Database(engine, access_key, settings, client)


@pytest.fixture
def ddb(dynamodb_local: DynamoDBLocal, test_settings: Settings) -> Database:
    return new_database(dynamodb_local, test_settings)
