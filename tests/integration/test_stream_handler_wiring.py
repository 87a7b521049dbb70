"""app.py registers the stream handler the way Lambda will call it, and its answer reaches Lambda.

Chalice derives the Lambda handler string from the function name (``app.events_stream``) and
returns whatever the function returns; these tests import the real app.py.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from chalicelib.domain.events import parse_event_create
from devstack.stage_env import stage_environment
from tests.conftest import TEST_ENV, Database
from tests.integration.test_stream_analytics import drain, make_worker


@pytest.fixture
def app_module(ddb: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    for name, value in {**stage_environment("local"), **TEST_ENV, **ddb.aws_environment()}.items():
        monkeypatch.setenv(name, value)
    sys.modules.pop("app", None)
    module = importlib.import_module("app")
    yield module
    sys.modules.pop("app", None)


def test_handler_is_registered_for_the_events_stream(app_module: ModuleType) -> None:
    (source,) = [s for s in app_module.app.event_sources if s.name == "events_stream"]
    assert source.handler_string == "app.events_stream"
    assert app_module.events_stream is app_module.app.handler_map["events_stream"]
    assert source.stream_arn == app_module.runtime.settings.events_stream_arn
    assert "/stream/" in source.stream_arn
    assert source.starting_position == "TRIM_HORIZON"
    assert source.batch_size == app_module.STREAM_BATCH_SIZE


def test_lambda_gets_batch_item_failures_and_metrics_are_emitted(
    app_module: ModuleType, ddb: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    runtime = app_module.runtime
    for _ in range(3):
        draft = parse_event_create({"source": "s", "event_type": "t", "payload": {}})
        runtime.events.create("ten_a", draft)
    records: list[dict[str, Any]] = []

    def collect(event: dict[str, Any]) -> dict[str, Any]:  # read the stream, count nothing
        records.extend(event["Records"])
        return {"batchItemFailures": []}

    drain(make_worker(ddb, collect))
    poison = {**records[1], "dynamodb": {**records[1]["dynamodb"], "NewImage": {}}}
    capsys.readouterr()
    # The chalice wrapper Lambda invokes: (event, context) -> the function's return value.
    answer: Any = app_module.events_stream({"Records": records}, None)
    assert answer == {"batchItemFailures": []}
    answer = app_module.events_stream({"Records": [records[0], poison, records[2]]}, None)
    # The app's metrics go where Lambda's go: EMF lines on stdout, beside the JSON log lines.
    lines = [line for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert answer == {
        "batchItemFailures": [
            {"itemIdentifier": records[1]["dynamodb"]["SequenceNumber"]},
            {"itemIdentifier": records[2]["dynamodb"]["SequenceNumber"]},
        ]
    }
    docs = [json.loads(line) for line in lines]
    names = [m["Name"] for d in docs for m in d["_aws"]["CloudWatchMetrics"][0]["Metrics"]]
    assert "StreamEventsIngested" in names
    assert "IngestionLag" in names
    assert "StreamRecordsFailed" in names
    lags = [d["IngestionLag"] for d in docs if "IngestionLag" in d]
    assert len(lags) == 1
    assert len(lags[0]) == 3  # one value per newly counted record
