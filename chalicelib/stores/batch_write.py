"""One BatchWriteItem, with DynamoDB's unprocessed items sent again: the loop every store that
writes items in batches (new events, replayed deliveries) shares.

DynamoDB may leave part of a batch unprocessed (throttling, partition limits): those requests
are sent again with exponential backoff and full jitter, at most ``max_attempts`` calls in all,
and only while the request's time budget has room for the sleep and one more call
(``stores/deadline_hook.py``): what is left then is returned as not written, as after the last
call.
BatchWriteItem takes no conditions, so callers only batch items whose keys are new.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from chalicelib.domain.backoff import full_jitter
from chalicelib.stores import deadline_hook
from chalicelib.stores.aws import translate_errors
from chalicelib.stores.errors import StorageUnavailable
from chalicelib.stores.protocols import BATCH_WRITE_ATTEMPTS, BATCH_WRITE_MAX_ITEMS

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

RETRY_BASE, RETRY_CAP = 0.025, 0.4  # seconds: full-jitter backoff between the calls


def write_batch(
    client: DynamoDBClient,
    table: str,
    requests: Sequence[Any],
    *,
    sleep: Callable[[float], None],
    rng: random.Random,
    max_attempts: int = BATCH_WRITE_ATTEMPTS,
) -> list[Any]:
    """Send up to 25 write requests; return those never processed. A storage failure on the
    first call raises (nothing was written); on a later one the rest is returned unwritten."""
    if len(requests) > BATCH_WRITE_MAX_ITEMS:
        raise ValueError(f"at most {BATCH_WRITE_MAX_ITEMS} items per BatchWriteItem")
    pending = list(requests)
    for attempt in range(max_attempts):
        if not pending:
            break
        if attempt:
            delay = full_jitter(attempt, RETRY_BASE, RETRY_CAP, rng)
            if not deadline_hook.time_for(client, delay):
                break  # the request's time is up: report the rest as not written
            sleep(delay)
        try:
            with translate_errors(f"BatchWriteItem {table}"):
                resp = client.batch_write_item(RequestItems={table: pending})
        except StorageUnavailable:
            if attempt == 0:
                raise
            break  # part of the batch is written: report the rest as not written
        pending = list(resp.get("UnprocessedItems", {}).get(table, []))
    return pending
