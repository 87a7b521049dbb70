"""Bulk calls over any number of items, as one plan shared by both clients.

Items go out in batches of 25 (the API's limit). Per-item results come back with their index
moved to the caller's list. Items that failed with ``service_unavailable`` (storage never took
them, docs/API.md "Bulk operations") are resent, alone, with the same backoff and bounds as a
request retry (``max_retries``, the deadline); a create item keeps its idempotency key, so a
resend never duplicates. A batch that fails as a whole fails each of its items.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from typing import Any, TypeVar

from ._core import BATCH_SIZE, Command, Options, Outcome, Sleep, plan
from ._errors import APIConnectionError, APIError
from ._operations import Call
from ._results import BulkResult, failure_of

T = TypeVar("T")
I = TypeVar("I")  # noqa: E741 - an item

BulkPlan = Generator[Command, Outcome | None, BulkResult[Any]]


def bulk_plan(
    options: Options, items: Sequence[I], make_call: Callable[[list[I]], Call[Any]]
) -> BulkPlan:
    result: BulkResult[Any] = BulkResult()
    for offset in range(0, len(items), BATCH_SIZE):
        yield from _batch(options, items, offset, make_call, result)
    return result.finish()


def _batch(
    options: Options,
    items: Sequence[I],
    offset: int,
    make_call: Callable[[list[I]], Call[Any]],
    result: BulkResult[Any],
) -> Generator[Command, Outcome | None, None]:
    start = options.monotonic()
    positions = list(range(offset, min(offset + BATCH_SIZE, len(items))))
    retry = 0
    while positions:
        call = make_call([items[p] for p in positions])
        try:
            # the batch's deadline bounds its resends and their retries alike
            response = call.parse((yield from plan(options, call.op, started=start)))
        except (APIError, APIConnectionError) as error:
            result.add_failed_positions(positions, error)
            return
        result.request_ids.append(response.request_id)
        for entry in response.successful:
            result.successful.append(entry.model_copy(update={"index": positions[entry.index]}))
        unavailable: list[int] = []
        for entry in response.failed:
            if entry.error.code == "service_unavailable":
                unavailable.append(positions[entry.index])
            else:
                result.failed.append(failure_of(entry, positions[entry.index]))
        if not unavailable:
            return
        wait = options.backoff(retry)
        remaining = options.deadline - (options.monotonic() - start)
        if retry >= options.max_retries or wait >= remaining:
            failed = {positions.index(p): p for p in unavailable}
            for entry in response.failed:
                if entry.index in failed:
                    result.failed.append(failure_of(entry, failed[entry.index]))
            return
        retry += 1
        yield Sleep(wait)
        positions = unavailable
