"""Fixtures shared by the integration tests that need SQS: a moto server for the session (SQS
only, as ``make run`` has it), the app's SQS client on it, and a fresh pair of webhook queues
(a new "stage" name) per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from chalicelib.settings import Settings, load_settings
from chalicelib.stores.aws import sqs_client
from chalicelib.stores.queues import QueueUrls, ensure_queues
from devstack.ports import free_port
from devstack.sqs_local import SqsLocal
from tests.conftest import TEST_ENV


@pytest.fixture(scope="session")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqsLocal]:
    log = tmp_path_factory.mktemp("moto") / "moto-sqs.log"
    with SqsLocal(free_port(), log_path=str(log)) as server:
        yield server


def local_sqs(settings: Settings, endpoint: str) -> Any:
    """The app's SQS client (timeouts, bounded retries) on a moto server."""
    session = boto3.Session(
        aws_access_key_id="local", aws_secret_access_key="local", region_name="us-east-1"
    )
    return sqs_client(settings, session=session, endpoint_url=endpoint)


@pytest.fixture
def sqs(moto: SqsLocal, test_settings: Settings) -> Any:
    return local_sqs(test_settings, moto.endpoint)


@pytest.fixture
def queues(sqs: Any) -> QueueUrls:
    return ensure_queues(sqs, "t" + uuid.uuid4().hex[:12])


# The webhook integration tests (test_webhooks_api and friends) make many small tests: they
# share one client for the process and take fresh queues per test.
@pytest.fixture(scope="session")
def sqs_shared(moto: SqsLocal) -> Any:
    """The app's SQS client on the session's moto server, shared by the process's tests."""
    return local_sqs(load_settings(TEST_ENV), moto.endpoint)


@pytest.fixture
def sqs_queues(sqs_shared: Any) -> QueueUrls:
    """A fresh pair of webhook queues (a new "stage" name) on ``sqs_shared``."""
    return ensure_queues(sqs_shared, "t" + uuid.uuid4().hex[:12])
