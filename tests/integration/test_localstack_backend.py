"""LocalStack in host mode (chaos/localstack.py) as the chaos suite's `localstack` backend: the
app's tables and the events stream on it, and DynamoDB throttling switched on and off at run
time through /_localstack/config. Skipped unless `bash scripts/install_localstack.sh` has run
(about 2 minutes and 500 MB on this machine)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from chalicelib.settings import load_settings
from chalicelib.stores.aws import dynamodb_client, dynamodb_streams_client
from chalicelib.stores.schema import create_all
from chaos.localstack import ERROR_PROBABILITY, INSTALL_HINT, LocalStackServer, installed
from devstack.ports import free_port
from tests.conftest import TEST_ENV

pytestmark = pytest.mark.skipif(
    not installed(), reason=f"LocalStack is not installed in tools/localstack; {INSTALL_HINT}"
)

THROTTLED = "ProvisionedThroughputExceededException"


@pytest.fixture(scope="module")
def localstack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStackServer]:
    log = tmp_path_factory.mktemp("localstack") / "localstack.log"
    with LocalStackServer(free_port(), log) as server:
        yield server


def session() -> boto3.Session:
    return boto3.Session(
        aws_access_key_id="test",
        aws_secret_access_key="test",  # LocalStack ignores it
        region_name="us-east-1",
    )


def plain_client(server: LocalStackServer) -> Any:
    """No retries: every injected error reaches the caller."""
    return session().client(
        "dynamodb",
        endpoint_url=server.endpoint,
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )


def outcome(call: Any) -> str:
    try:
        call()
    except ClientError as exc:
        status = exc.response["ResponseMetadata"]["HTTPStatusCode"]
        return f"{exc.response['Error']['Code']}/{status}"
    return "ok"


@pytest.fixture(scope="module")
def table(localstack: LocalStackServer) -> str:
    client = plain_client(localstack)
    name = "throttle-test"
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client.put_item(TableName=name, Item={"pk": {"S": "a"}})
    return name


def test_the_apps_tables_and_the_events_stream(localstack: LocalStackServer) -> None:
    settings = load_settings({**TEST_ENV, "TABLE_PREFIX": "ls-"})
    client = dynamodb_client(settings, session=session(), endpoint_url=localstack.endpoint)
    created = create_all(client, settings)
    events = next(name for name in created if "events" in name)
    table = client.describe_table(TableName=events)["Table"]
    assert table["StreamSpecification"]["StreamEnabled"]
    arn = table["LatestStreamArn"]

    types = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
    keys = [k["AttributeName"] for k in table["KeySchema"]]
    assert {types[k] for k in keys} == {"S"}
    streams = dynamodb_streams_client(settings, session=session(), endpoint_url=localstack.endpoint)
    # LocalStack drops the stream records of writes made before its kinesis stream is ACTIVE (a
    # few seconds after CreateTable: "Stream ... is not currently ACTIVE" in its log), so write
    # one item a second until the stream shows one; every record must be one of ours.
    written: list[dict[str, Any]] = []
    records: list[Any] = []
    deadline = time.monotonic() + 45
    while not records and time.monotonic() < deadline:
        item = {name: {"S": f"k{len(written)}"} for name in keys}
        client.put_item(TableName=events, Item=item)
        assert client.get_item(TableName=events, Key=item)["Item"] == item
        written.append(item)
        time.sleep(1.0)
        for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
            iterator = streams.get_shard_iterator(
                StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            records += streams.get_records(ShardIterator=iterator)["Records"]
    assert records, "no stream record within 45 s"
    assert all(r["eventName"] == "INSERT" and r["dynamodb"]["Keys"] in written for r in records)


def test_throttling_is_switched_at_run_time(localstack: LocalStackServer, table: str) -> None:
    client = plain_client(localstack)

    def put() -> Any:
        return client.put_item(TableName=table, Item={"pk": {"S": "b"}})

    def get() -> Any:
        return client.get_item(TableName=table, Key={"pk": {"S": "a"}})

    try:
        localstack.set_error_probability(read=1.0, write=0.0)
        assert (outcome(get), outcome(put)) == (f"{THROTTLED}/400", "ok")
        localstack.set_error_probability(read=0.0, write=1.0)
        assert (outcome(get), outcome(put)) == ("ok", f"{THROTTLED}/400")
        assert outcome(client.list_tables) == "ok"  # only item reads and writes fail

        localstack.set_error_probability(read=0.5, write=0.5)
        results = [outcome(get) for _ in range(200)]
        assert set(results) == {"ok", f"{THROTTLED}/400"}
        assert 40 <= results.count("ok") <= 160

        assert localstack.set_config(ERROR_PROBABILITY, 1) == 1.0
        assert outcome(get) == f"{THROTTLED}/400"
        assert localstack.set_config(ERROR_PROBABILITY, 0) == 0.0
    finally:
        localstack.set_error_probability(read=0.0, write=0.0)
    assert (outcome(get), outcome(put)) == ("ok", "ok")


def test_bad_probabilities_are_refused(localstack: LocalStackServer) -> None:
    with pytest.raises(ValueError, match=r"within 0\.\.1"):
        localstack.set_error_probability(read=1.5, write=0.0)


def test_localstack_client_reaches_it(localstack: LocalStackServer, table: str) -> None:
    from localstack_client.session import Session

    client = Session(localstack_host=f"127.0.0.1:{localstack.port}").client("dynamodb")
    assert client.meta.endpoint_url == localstack.endpoint
    assert table in client.list_tables()["TableNames"]


def test_stop_ends_the_whole_process_group(tmp_path: Path) -> None:
    server = LocalStackServer(free_port(), tmp_path / "localstack.log").start()
    assert server.process is not None
    group = server.process.pid
    root = server.root
    server.stop()
    assert root is not None
    assert not root.exists()
    with pytest.raises(ProcessLookupError):
        os.killpg(group, 0)
