"""The deployable template (infra/ merge template, IAM policy files) against the code it deploys."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from chalicelib.settings import load_settings
from chalicelib.stores.tables import all_tables
from scripts.package_stack import ALIAS_URI, render_merge_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = json.loads((ROOT / "infra" / "merge-template.json").read_text())
RESOURCES = TEMPLATE["Resources"]
LOGICAL_IDS = {
    "events": "EventsTable",
    "idempotency": "IdempotencyTable",
    "api-keys": "ApiKeysTable",
    "rate-limits": "RateLimitsTable",
    "analytics": "AnalyticsTable",
}


def code_tables(stage: str = "dev") -> dict[str, dict]:
    settings = load_settings({"STAGE": stage, "CURSOR_SIGNING_KEY": "x" * 20})
    prefix = f"{settings.table_prefix}-"
    return {t["TableName"][len(prefix) : -len(f"-{stage}")]: t for t in all_tables(settings)}


def test_every_table_in_the_code_is_in_the_template_and_nothing_else():
    template_tables = {k for k, v in RESOURCES.items() if v.get("Type") == "AWS::DynamoDB::Table"}
    assert set(code_tables()) == set(LOGICAL_IDS)
    assert template_tables == set(LOGICAL_IDS.values())


@pytest.mark.parametrize("name", sorted(LOGICAL_IDS))
def test_table_matches_its_definition_in_code(name):
    code = code_tables()[name]
    res = RESOURCES[LOGICAL_IDS[name]]
    props = res["Properties"]
    assert props["TableName"] == {"Fn::Sub": f"triggers-api-{name}-${{Stage}}"}
    assert props["KeySchema"] == code["KeySchema"]
    assert sorted(props["AttributeDefinitions"], key=str) == sorted(
        code["AttributeDefinitions"], key=str
    )
    by_name = {g["IndexName"]: g for g in props.get("GlobalSecondaryIndexes", [])}
    assert by_name == {g["IndexName"]: g for g in code.get("GlobalSecondaryIndexes", [])}
    assert props["BillingMode"] == code["BillingMode"]
    stream = code.get("StreamSpecification")
    if stream:
        assert props["StreamSpecification"] == {"StreamViewType": stream["StreamViewType"]}
    else:
        assert "StreamSpecification" not in props
    assert props["TimeToLiveSpecification"] == {
        "AttributeName": code["ttl_attribute"],
        "Enabled": True,
    }
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True}
    assert res["DeletionPolicy"] == "Retain"


def test_events_table_has_the_event_id_index_in_aws():
    indexes = {
        g["IndexName"] for g in RESOURCES["EventsTable"]["Properties"]["GlobalSecondaryIndexes"]
    }
    assert "event-id-index" in indexes


def test_stream_event_source_reports_item_failures_bisects_retries_and_has_a_dlq():
    source = RESOURCES["EventsStream"]["Properties"]["Events"]["EventsStreamDynamodbEventSource"]
    props = source["Properties"]
    assert props["Stream"] == {"Fn::GetAtt": ["EventsTable", "StreamArn"]}
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["BisectBatchOnFunctionError"] is True
    assert 0 < props["MaximumRetryAttempts"] <= 10
    assert props["DestinationConfig"]["OnFailure"] == {
        "Type": "SQS",
        "Destination": {"Fn::GetAtt": ["EventsStreamFailureQueue", "Arn"]},
    }
    assert RESOURCES["EventsStreamFailureQueue"]["Type"] == "AWS::SQS::Queue"


def _strings(node):
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for v in node.values():
            yield from _strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from _strings(v)


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_policy_is_least_privilege(stage):
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())["stages"][stage]
    assert config["autogen_policy"] is False
    policy = json.loads((ROOT / ".chalice" / config["iam_policy_file"]).read_text())
    actions = set()
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        resources = statement["Resource"]
        assert isinstance(resources, list)
        assert resources
        for resource in resources:
            assert resource != "*"
            assert not any("*" in s for s in _strings(resource)), resource
        acts = statement["Action"]
        actions.update(acts)
        assert not any(a.endswith("*") for a in acts)
    assert "dynamodb:Scan" not in actions  # no Scan anywhere, enforced by IAM too
    referenced = json.dumps(policy)
    for logical_id in LOGICAL_IDS.values():
        assert f'"{logical_id}"' in referenced or f"${{{logical_id}.Arn}}" in referenced
    for name, table in code_tables().items():
        for gsi in table.get("GlobalSecondaryIndexes", []):
            assert f"${{{LOGICAL_IDS[name]}.Arn}}/index/{gsi['IndexName']}" in referenced


def test_unknown_routes_and_gateway_errors_answer_in_the_envelope():
    responses = RESOURCES["RestAPI"]["Properties"]["DefinitionBody"][
        "x-amazon-apigateway-gateway-responses"
    ]
    assert responses["MISSING_AUTHENTICATION_TOKEN"]["statusCode"] == 404
    for kind in ("MISSING_AUTHENTICATION_TOKEN", "DEFAULT_4XX", "DEFAULT_5XX", "THROTTLED"):
        body = responses[kind]["responseTemplates"]["application/json"]
        parsed = json.loads(re.sub(r"\$context\.[A-Za-z.]+", "x", body))
        assert set(parsed) == {"error", "request_id"}
        assert set(parsed["error"]) == {"code", "message", "details"}
        assert responses[kind]["responseParameters"]["gatewayresponse.header.X-Request-ID"]
    code = json.loads(
        responses["MISSING_AUTHENTICATION_TOKEN"]["responseTemplates"]["application/json"].replace(
            "$context.requestId", "x"
        )
    )["error"]["code"]
    assert code == "not_found"


def test_alarms_watch_the_emitted_metrics_with_the_agreed_thresholds():
    params = TEMPLATE["Parameters"]
    assert params["AlarmLatencyP95Ms"]["Default"] == 100
    assert params["AlarmSuccessRatePercent"]["Default"] == 99.9
    assert params["AlarmErrorRatePercent"]["Default"] == 0.1
    latency = RESOURCES["LatencyP95Alarm"]["Properties"]
    assert latency["MetricName"] == "ApiLatency"
    assert latency["ExtendedStatistic"] == "p95"
    assert latency["Threshold"] == {"Ref": "AlarmLatencyP95Ms"}
    success = json.dumps(RESOURCES["SuccessRateAlarm"]["Properties"]["Metrics"])
    assert "ApiRequestCount" in success
    assert "ApiServerErrorCount" in success
    errors = json.dumps(RESOURCES["ErrorRateAlarm"]["Properties"]["Metrics"])
    assert "ApiErrorCount" in errors
    for alarm in ("LatencyP95Alarm", "SuccessRateAlarm", "ErrorRateAlarm"):
        ns = json.dumps(RESOURCES[alarm]["Properties"])
        assert "TriggersAPI/${Stage}" in ns


def test_dashboard_shows_latency_percentiles_rates_requests_and_ingestion():
    dashboard = (ROOT / "infra" / "dashboard.json").read_text()
    for needle in ('"p50"', '"p95"', '"p99"', "ApiRequestCount", "ApiErrorCount", "EventsIngested"):
        assert needle in dashboard
    assert "success rate" in dashboard
    assert "error rate" in dashboard


def test_log_groups_have_retention_and_functions_wait_for_them():
    for fn, group in (
        ("APIHandler", "APIHandlerLogGroup"),
        ("EventsStream", "EventsStreamLogGroup"),
    ):
        assert RESOURCES[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        assert group in RESOURCES[fn]["DependsOn"]


def _generated(paths):
    return {"Resources": {"RestAPI": {"Properties": {"DefinitionBody": {"paths": paths}}}}}


def test_render_points_every_api_route_at_the_alias_and_sets_stage_defaults(monkeypatch):
    monkeypatch.setenv("PROVISIONED_CONCURRENCY", "3")
    integ = {
        "x-amazon-apigateway-integration": {
            "uri": {"Fn::Sub": "arn:...:functions/${APIHandler.Arn}/invocations"}
        }
    }
    generated = _generated({"/v1/health": {"get": integ}, "/v1/events": {"post": integ}})
    merged = render_merge_template("prod", generated)
    paths = merged["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"]
    assert set(paths) == {"/v1/health", "/v1/events"}
    for methods in paths.values():
        for spec in methods.values():
            assert spec["x-amazon-apigateway-integration"]["uri"] == {"Fn::Sub": ALIAS_URI}
    assert merged["Parameters"]["Stage"]["Default"] == "prod"
    assert merged["Parameters"]["ProvisionedConcurrency"]["Default"] == 3
    body = merged["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    assert json.loads(body)["widgets"]
    api = merged["Resources"]["APIHandler"]["Properties"]
    assert api["AutoPublishAlias"] == "live"
    assert api["ProvisionedConcurrencyConfig"]["Fn::If"][0] == "HasProvisionedConcurrency"
    permission = merged["Resources"]["APIHandlerInvokePermission"]["Properties"]
    assert permission["FunctionName"] == {"Ref": "APIHandlerAliaslive"}


def test_render_refuses_a_bad_provisioned_concurrency(monkeypatch):
    monkeypatch.setenv("PROVISIONED_CONCURRENCY", "lots")
    with pytest.raises(SystemExit):
        render_merge_template("dev", _generated({}))


PACKAGED = ROOT / "build" / "dev" / "sam.json"


@pytest.mark.skipif(not PACKAGED.exists(), reason="run `make package STAGE=dev` first")
def test_packaged_template_uses_the_alias_everywhere_and_the_real_stream_arn():
    packaged = json.loads(PACKAGED.read_text())
    text = json.dumps(packaged["Resources"]["RestAPI"])
    assert "${APIHandler.Arn}" not in text
    assert "${APIHandlerAliaslive}" in text
    assert "PLACEHOLDER" not in json.dumps(packaged["Resources"]["EventsStream"])
