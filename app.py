"""Triggers API: wiring only. Everything it registers lives in chalicelib/."""

from typing import Any

from chalice.app import DynamoDBEvent

from chalicelib.api.application import create_app
from chalicelib.runtime import Runtime
from chalicelib.settings import load_settings

runtime = Runtime.build(load_settings())
app = create_app(runtime)

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
