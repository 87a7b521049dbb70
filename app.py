"""Triggers API: wiring only. Everything it registers lives in chalicelib/."""

import os
from typing import Any

from chalice.app import DynamoDBEvent, SQSEvent

from chalicelib.api.application import create_app
from chalicelib.runtime import Runtime
from chalicelib.settings import load_settings
from chalicelib.stores.queues import placeholder_queue_arn

runtime = Runtime.build(load_settings())
app = create_app(runtime)
# Clients are built on first use (a cold start's import stays small), except where Lambda runs
# the init phase before any request arrives: there building them now is off every request's path.
if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") == "provisioned-concurrency":
    runtime.warm()

# Lambda calls `app.events_stream` (the handler string chalice derives from the function name);
# the infra merge template adds ReportBatchItemFailures, bisect, retries and the on-failure queue.
STREAM_BATCH_SIZE = 100


@app.on_dynamodb_record(
    stream_arn=runtime.settings.events_stream_arn,
    batch_size=STREAM_BATCH_SIZE,
    starting_position="TRIM_HORIZON",
    name="events_stream",
)
def events_stream(event: DynamoDBEvent) -> dict[str, Any]:
    return runtime.stream_ingest.handle(event.to_dict())


# Webhooks: the fan-out has its own mapping on the events stream; the deliveries function reads
# the delivery queue. The merge template replaces the placeholder queue ARN with the queue it
# declares and adds ReportBatchItemFailures (which on_sqs_message never sets).
WEBHOOK_BATCH_SIZE = 10
WEBHOOK_QUEUE_ARN_FOR_CHALICE = placeholder_queue_arn(runtime.settings.stage)


@app.on_dynamodb_record(
    stream_arn=runtime.settings.events_stream_arn,
    batch_size=STREAM_BATCH_SIZE,
    starting_position="TRIM_HORIZON",
    name="webhook_fanout",
)
def webhook_fanout(event: DynamoDBEvent) -> dict[str, Any]:
    return runtime.webhook_fanout.handle(event.to_dict())


@app.on_sqs_message(
    queue_arn=WEBHOOK_QUEUE_ARN_FOR_CHALICE,
    batch_size=WEBHOOK_BATCH_SIZE,
    name="webhook_deliveries",
)
def webhook_deliveries(event: SQSEvent) -> dict[str, Any]:
    return runtime.webhook_delivery.handle(event.to_dict())
