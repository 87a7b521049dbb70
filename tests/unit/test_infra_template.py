"""The deployable template (infra/ merge template, IAM policy files) against the code it deploys."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from chalicelib.settings import load_settings
from chalicelib.stores.queues import (
    DELIVERY_FUNCTION_TIMEOUT_SECONDS,
    QueueDefinition,
    dead_letter_queue,
    delivery_queue,
)
from chalicelib.stores.tables import REPLAY_INDEX, all_tables, replay_index
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
    "webhooks": "WebhooksTable",
    "deliveries": "DeliveriesTable",
}
STAGES = ("dev", "prod")
# Lambda functions: (template logical id, chalice function name, log group).
FUNCTIONS = {
    "APIHandler": ("api_handler", "APIHandlerLogGroup"),
    "EventsStream": ("events_stream", "EventsStreamLogGroup"),
    "WebhookFanout": ("webhook_fanout", "WebhookFanoutLogGroup"),
    "WebhookDeliveries": ("webhook_deliveries", "WebhookDeliveriesLogGroup"),
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
    if "ttl_attribute" in code:
        assert props["TimeToLiveSpecification"] == {
            "AttributeName": code["ttl_attribute"],
            "Enabled": True,
        }
    else:
        assert "TimeToLiveSpecification" not in props
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True}
    assert res["DeletionPolicy"] == "Retain"


def test_events_table_has_the_event_id_index_in_aws():
    indexes = {
        g["IndexName"] for g in RESOURCES["EventsTable"]["Properties"]["GlobalSecondaryIndexes"]
    }
    assert "event-id-index" in indexes


def test_events_table_has_the_replay_index_exactly_as_the_code_defines_it():
    props = RESOURCES["EventsTable"]["Properties"]
    by_name = {g["IndexName"]: g for g in props["GlobalSecondaryIndexes"]}
    assert by_name[REPLAY_INDEX] == replay_index()
    assert by_name[REPLAY_INDEX]["Projection"]["ProjectionType"] == "INCLUDE"
    defined = {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]}
    for key in by_name[REPLAY_INDEX]["KeySchema"]:
        assert defined[key["AttributeName"]] == "S"


def test_deliveries_expire_and_webhooks_do_not():
    deliveries = RESOURCES["DeliveriesTable"]["Properties"]
    assert deliveries["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert "TimeToLiveSpecification" not in RESOURCES["WebhooksTable"]["Properties"]


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


def test_webhook_fanout_has_its_own_stream_mapping_with_bisect_retries_and_failure_queue():
    source = RESOURCES["WebhookFanout"]["Properties"]["Events"]["WebhookFanoutDynamodbEventSource"]
    props = source["Properties"]
    assert props["Stream"] == {"Fn::GetAtt": ["EventsTable", "StreamArn"]}
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["BisectBatchOnFunctionError"] is True
    assert 0 < props["MaximumRetryAttempts"] <= 10
    assert props["DestinationConfig"]["OnFailure"] == {
        "Type": "SQS",
        "Destination": {"Fn::GetAtt": ["WebhookFanoutFailureQueue", "Arn"]},
    }
    failures = RESOURCES["WebhookFanoutFailureQueue"]
    assert failures["Type"] == "AWS::SQS::Queue"
    assert failures["Properties"]["SqsManagedSseEnabled"] is True


def test_webhook_deliveries_mapping_reports_item_failures_on_the_declared_queue():
    source = RESOURCES["WebhookDeliveries"]["Properties"]["Events"][
        "WebhookDeliveriesSqsEventSource"
    ]
    props = source["Properties"]
    # on_sqs_message never sets it: without it a returned batchItemFailures is ignored and
    # failed messages are deleted (docs/DESIGN.md, known traps).
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["Queue"] == {"Fn::GetAtt": ["WebhookDeliveryQueue", "Arn"]}
    assert "BatchSize" not in props  # app.py's WEBHOOK_BATCH_SIZE (10), see the packaged test


def _template_queue(definition: QueueDefinition, dead_letter: str | None = None) -> dict:
    """What the template must declare for a queue of chalicelib/stores/queues.py."""
    props: dict = {
        "QueueName": {"Fn::Sub": definition.name},
        "MessageRetentionPeriod": definition.retention_seconds,
        "SqsManagedSseEnabled": True,
    }
    if definition.visibility_timeout is not None:
        props["VisibilityTimeout"] = definition.visibility_timeout
    if definition.max_receive_count is not None:
        props["RedrivePolicy"] = {
            "deadLetterTargetArn": {"Fn::GetAtt": [dead_letter, "Arn"]},
            "maxReceiveCount": definition.max_receive_count,
        }
    return props


def test_webhook_queues_match_their_definition_in_code():
    queue = RESOURCES["WebhookDeliveryQueue"]
    dlq = RESOURCES["WebhookDeadLetterQueue"]
    assert queue["Type"] == dlq["Type"] == "AWS::SQS::Queue"
    stage = "${Stage}"  # the definitions, for every stage
    assert queue["Properties"] == _template_queue(delivery_queue(stage), "WebhookDeadLetterQueue")
    assert dlq["Properties"] == _template_queue(dead_letter_queue(stage))
    redrive = queue["Properties"]["RedrivePolicy"]
    assert redrive["maxReceiveCount"] == 1000  # a safety net: the handler dead-letters itself


@pytest.mark.parametrize("stage", STAGES)
def test_delivery_function_timeout_and_queue_visibility_agree(stage):
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())["stages"][stage]
    timeout = config["lambda_functions"]["webhook_deliveries"]["lambda_timeout"]
    assert timeout == DELIVERY_FUNCTION_TIMEOUT_SECONDS == 60
    visibility = RESOURCES["WebhookDeliveryQueue"]["Properties"]["VisibilityTimeout"]
    assert visibility >= 6 * timeout  # AWS's advice for an SQS event source


def test_functions_get_the_queue_urls_and_stream_arn_they_need():
    stream = {"Fn::GetAtt": ["EventsTable", "StreamArn"]}
    queue, dlq = {"Ref": "WebhookDeliveryQueue"}, {"Ref": "WebhookDeadLetterQueue"}
    env = {fn: RESOURCES[fn]["Properties"]["Environment"]["Variables"] for fn in FUNCTIONS}
    for variables in env.values():  # no function keeps config.json's placeholder
        assert variables["EVENTS_STREAM_ARN"] == stream
    assert env["APIHandler"]["WEBHOOK_QUEUE_URL"] == queue  # test deliveries and replays
    assert env["WebhookFanout"]["WEBHOOK_QUEUE_URL"] == queue
    assert env["WebhookDeliveries"]["WEBHOOK_QUEUE_URL"] == queue  # ChangeMessageVisibility
    assert env["WebhookDeliveries"]["WEBHOOK_DLQ_URL"] == dlq
    assert "WEBHOOK_DLQ_URL" not in env["WebhookFanout"]


def _strings(node):
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for v in node.values():
            yield from _strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from _strings(v)


def policy_files(stage: str) -> dict[str, dict]:
    """The stage's IAM policies: ``"*"`` (the stage's, every function without its own) and one
    per function that names its own file in config.json's ``lambda_functions``."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())["stages"][stage]
    assert config["autogen_policy"] is False
    files = {"*": config["iam_policy_file"]}
    for function, settings in config.get("lambda_functions", {}).items():
        assert "autogen_policy" not in settings
        if "iam_policy_file" in settings:
            files[function] = settings["iam_policy_file"]
    return {fn: json.loads((ROOT / ".chalice" / name).read_text()) for fn, name in files.items()}


def _short(resource) -> str:
    """``{"Fn::GetAtt": ["X", "Arn"]}`` -> ``X``; ``StreamArn`` -> ``X.StreamArn``;
    ``{"Fn::Sub": "${X.Arn}/index/i"}`` -> ``X/index/i``."""
    if "Fn::GetAtt" in resource:
        name, attribute = resource["Fn::GetAtt"]
        return name if attribute == "Arn" else f"{name}.{attribute}"
    return resource["Fn::Sub"].replace(".Arn}", "").replace("${", "")


def grants(policy: dict) -> dict[str, set[str]]:
    """Action -> the resources it is allowed on (short names)."""
    out: dict[str, set[str]] = {}
    for statement in policy["Statement"]:
        for action in statement["Action"]:
            out.setdefault(action, set()).update(_short(r) for r in statement["Resource"])
    return out


@pytest.mark.parametrize("stage", STAGES)
def test_every_policy_is_least_privilege_with_no_scan_and_no_wildcard(stage):
    for function, policy in policy_files(stage).items():
        actions = set()
        for statement in policy["Statement"]:
            assert statement["Effect"] == "Allow"
            resources = statement["Resource"]
            assert isinstance(resources, list)
            assert resources
            for resource in resources:
                assert resource != "*"
                assert not any("*" in s for s in _strings(resource)), (function, resource)
            actions.update(statement["Action"])
            assert not any(a.endswith("*") for a in statement["Action"])
        assert "dynamodb:Scan" not in actions, function
        assert set(grants(policy)) == actions


@pytest.mark.parametrize("stage", STAGES)
def test_webhook_functions_have_their_own_narrow_policies(stage):
    policies = policy_files(stage)
    assert set(policies) == {"*", "webhook_fanout", "webhook_deliveries"}
    assert grants(policies["webhook_fanout"]) == {
        "logs:CreateLogStream": {"WebhookFanoutLogGroup"},
        "logs:PutLogEvents": {"WebhookFanoutLogGroup"},
        "dynamodb:DescribeStream": {"EventsTable.StreamArn"},
        "dynamodb:GetRecords": {"EventsTable.StreamArn"},
        "dynamodb:GetShardIterator": {"EventsTable.StreamArn"},
        "dynamodb:ListStreams": {"EventsTable.StreamArn"},
        "dynamodb:Query": {"WebhooksTable"},
        "dynamodb:PutItem": {"DeliveriesTable"},
        "dynamodb:UpdateItem": {"DeliveriesTable"},
        "sqs:SendMessage": {"WebhookDeliveryQueue", "WebhookFanoutFailureQueue"},
    }
    assert grants(policies["webhook_deliveries"]) == {
        "logs:CreateLogStream": {"WebhookDeliveriesLogGroup"},
        "logs:PutLogEvents": {"WebhookDeliveriesLogGroup"},
        # The delivery record and the endpoint's health; the endpoint's rate-limit bucket; the
        # outcome's analytics counters (a transaction: a marker put and counter updates).
        "dynamodb:GetItem": {"EventsTable", "WebhooksTable", "DeliveriesTable"},
        "dynamodb:PutItem": {"AnalyticsTable"},
        "dynamodb:UpdateItem": {
            "DeliveriesTable",
            "WebhooksTable",
            "AnalyticsTable",
            "RateLimitsTable",
        },
        "sqs:ReceiveMessage": {"WebhookDeliveryQueue"},
        "sqs:DeleteMessage": {"WebhookDeliveryQueue"},
        "sqs:ChangeMessageVisibility": {"WebhookDeliveryQueue"},
        "sqs:GetQueueAttributes": {"WebhookDeliveryQueue"},
        # The dead-letter copy, and a long-waiting message sent afresh before redrive.
        "sqs:SendMessage": {"WebhookDeadLetterQueue", "WebhookDeliveryQueue"},
    }


@pytest.mark.parametrize("stage", STAGES)
def test_api_policy_manages_webhooks_replays_and_enqueues(stage):
    api = grants(policy_files(stage)["*"])
    for action in ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query"):
        assert {"WebhooksTable", "DeliveriesTable"} <= api[f"dynamodb:{action}"]
    assert "EventsTable/index/replay-index" in api["dynamodb:Query"]
    assert "WebhookDeliveryQueue" in api["sqs:SendMessage"]
    assert "WebhookDeadLetterQueue" not in api["sqs:SendMessage"]


@pytest.mark.parametrize("stage", STAGES)
def test_stage_policy_covers_every_table_and_index(stage):
    policy = policy_files(stage)["*"]
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


@pytest.mark.parametrize(
    ("alarm", "queue"),
    [
        ("WebhookDeadLettersAlarm", "WebhookDeadLetterQueue"),
        ("WebhookFanoutFailuresAlarm", "WebhookFanoutFailureQueue"),
    ],
)
def test_a_message_in_a_webhook_dead_letter_queue_raises_an_alarm(alarm, queue):
    props = RESOURCES[alarm]["Properties"]
    assert props["Namespace"] == "AWS/SQS"
    assert props["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert props["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": [queue, "QueueName"]}}
    ]
    assert props["ComparisonOperator"] == "GreaterThanThreshold"
    assert props["Threshold"] == 0
    assert props["AlarmActions"] == [{"Ref": "AlarmTopic"}]


def test_delivery_failure_rate_alarm_is_failures_over_attempts_above_20_percent_in_15_minutes():
    assert TEMPLATE["Parameters"]["AlarmDeliveryFailureRatePercent"]["Default"] == 20
    props = RESOURCES["WebhookDeliveryFailureRateAlarm"]["Properties"]
    metrics = {m["Id"]: m for m in props["Metrics"]}
    for metric_id, name in (
        ("attempts", "WebhookDeliveryAttempts"),
        ("failures", "WebhookDeliveryFailures"),
    ):
        stat = metrics[metric_id]["MetricStat"]
        assert stat["Metric"] == {
            "Namespace": {"Fn::Sub": "TriggersAPI/${Stage}"},
            "MetricName": name,
            "Dimensions": [{"Name": "service", "Value": "triggers-api"}],
        }
        assert stat["Stat"] == "Sum"
        assert stat["Period"] * props["EvaluationPeriods"] == 900
        assert metrics[metric_id]["ReturnData"] is False
    (rate,) = [m for m in props["Metrics"] if m["ReturnData"]]
    assert rate["Expression"] == "IF(attempts > 0, 100 * FILL(failures, 0) / attempts, 0)"
    assert props["Threshold"] == {"Ref": "AlarmDeliveryFailureRatePercent"}
    assert props["ComparisonOperator"] == "GreaterThanThreshold"
    assert props["TreatMissingData"] == "notBreaching"


def test_dashboard_shows_latency_percentiles_rates_requests_and_ingestion():
    dashboard = (ROOT / "infra" / "dashboard.json").read_text()
    for needle in ('"p50"', '"p95"', '"p99"', "ApiRequestCount", "ApiErrorCount", "EventsIngested"):
        assert needle in dashboard
    assert "success rate" in dashboard
    assert "error rate" in dashboard


def test_dashboard_shows_deliveries_attempted_succeeded_failed_and_dead_letters():
    dashboard = (ROOT / "infra" / "dashboard.json").read_text()
    for needle in (
        "WebhookDeliveryAttempts",
        "WebhookDeliveryFailures",
        '"attempted"',
        '"succeeded"',
        '"failed"',
        '"triggers-api-${Stage}-webhook-deliveries-dlq"',
        "triggers-api-${Stage}-webhook-fanout",
    ):
        assert needle in dashboard


def test_log_groups_have_retention_and_functions_wait_for_them():
    for fn, (_, group) in FUNCTIONS.items():
        assert RESOURCES[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        assert group in RESOURCES[fn]["DependsOn"]
        name = RESOURCES[fn]["Properties"]["FunctionName"]["Fn::Sub"]
        assert RESOURCES[group]["Properties"]["LogGroupName"] == {"Fn::Sub": f"/aws/lambda/{name}"}


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
    for fn in FUNCTIONS:
        assert "PLACEHOLDER" not in json.dumps(packaged["Resources"][fn]), fn


@pytest.mark.skipif(not PACKAGED.exists(), reason="run `make package STAGE=dev` first")
def test_packaged_delivery_mapping_reads_batches_of_ten_and_reports_item_failures():
    resources = json.loads(PACKAGED.read_text())["Resources"]
    function = resources["WebhookDeliveries"]["Properties"]
    source = function["Events"]["WebhookDeliveriesSqsEventSource"]
    assert source["Type"] == "SQS"
    assert source["Properties"] == {
        "Queue": {"Fn::GetAtt": ["WebhookDeliveryQueue", "Arn"]},
        "BatchSize": 10,
        "MaximumBatchingWindowInSeconds": 0,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
    }
    assert function["Timeout"] == 60
    assert function["Role"] == {"Fn::GetAtt": ["WebhookDeliveriesRole", "Arn"]}
    assert "dynamodb:Scan" not in json.dumps(resources["WebhookDeliveriesRole"])
    assert "dynamodb:Scan" not in json.dumps(resources["WebhookFanoutRole"])
