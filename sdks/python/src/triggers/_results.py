"""Results of the helpers that span several requests: bulk calls and poll-handle-ack."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from ._core import TriggersFailure
from ._errors import APIError, APITimeoutError, ErrorDetail, TriggersError
from ._models import Event

T = TypeVar("T")


@dataclass(frozen=True)
class BulkFailure:
    """One item of a bulk call that failed, at its index in the caller's list.

    ``code`` is a per-item code of docs/ERRORS.md (``validation_error``, ``not_found``,
    ``already_acknowledged``, ``idempotency_conflict``, ``service_unavailable``, ...), or, when
    its whole batch failed, that batch's error code (``rate_limited``, ``unauthorized``, ...,
    ``connection_error`` / ``timeout`` when there was no answer).
    """

    index: int
    code: str
    message: str
    details: tuple[ErrorDetail, ...] = ()


def failure_of(entry: Any, index: int) -> BulkFailure:
    """A per-item failure of the API (``BulkItemFailure``) at the caller's ``index``."""
    details = tuple(ErrorDetail(d.field, d.message) for d in entry.error.details or ())
    return BulkFailure(index, entry.error.code, entry.error.message, details)


@dataclass
class BulkResult(Generic[T]):
    """Per-item results of a bulk call over any number of items, merged from its batches of 25.

    Every ``index`` is the item's position in the list the caller passed. A batch that failed
    as a whole (connection error, 429/503 after the retries, 401) fails each of its items with
    that error's code (``connection_error`` / ``timeout`` when there was no answer); the other
    batches still run. Items failing with ``service_unavailable`` are resent (bounded like any
    retry) before they are reported. ``request_ids`` lists every bulk request's id.
    """

    successful: list[T] = field(default_factory=list)
    failed: list[BulkFailure] = field(default_factory=list)
    request_ids: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    def add_failed_positions(self, positions: Sequence[int], error: TriggersFailure) -> None:
        if isinstance(error, APIError):
            code, message, details = error.code, error.message, error.details
        elif isinstance(error, APITimeoutError):
            code, message, details = "timeout", str(error), ()
        else:
            code, message, details = "connection_error", str(error), ()
        self.failed.extend(BulkFailure(p, code, message, details) for p in positions)

    def finish(self) -> BulkResult[T]:
        self.successful.sort(key=lambda entry: getattr(entry, "index", 0))
        self.failed.sort(key=lambda entry: entry.index)
        return self


@dataclass(frozen=True)
class HandlerFailure:
    """An event whose handler raised: it was left un-acknowledged (it stays in the inbox)."""

    event: Event
    error: Exception


@dataclass(frozen=True)
class AckFailure:
    """An event that was handled but whose acknowledgement failed (``code`` as in bulk ack)."""

    event_id: str
    code: str
    message: str


@dataclass
class ProcessResult:
    """What :meth:`Inbox.process` did in one pass over the inbox."""

    acked: list[str] = field(default_factory=list)
    handler_failures: list[HandlerFailure] = field(default_factory=list)
    ack_failures: list[AckFailure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.handler_failures and not self.ack_failures

    def add_acks(self, event_ids: Sequence[str], result: BulkResult[Any]) -> None:
        for entry in result.successful:
            self.acked.append(event_ids[entry.index])
        for failure in result.failed:
            event_id = event_ids[failure.index]
            if failure.code == "already_acknowledged":
                self.acked.append(event_id)  # converged: acknowledged either way
            else:
                self.ack_failures.append(AckFailure(event_id, failure.code, failure.message))

    def raise_for_failures(self) -> None:
        """Raise :class:`ProcessingError` if any handler or acknowledgement failed."""
        if not self.ok:
            raise ProcessingError(self)


class ProcessingError(TriggersError):
    def __init__(self, result: ProcessResult) -> None:
        first = result.handler_failures[0].error if result.handler_failures else None
        super().__init__(
            f"{len(result.handler_failures)} handler failure(s), "
            f"{len(result.ack_failures)} acknowledgement failure(s)"
            + (f"; first: {first!r}" if first else "")
        )
        self.result = result
