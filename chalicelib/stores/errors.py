"""Storage errors that services understand (the adapter translates botocore's)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chalicelib.domain.events import Event
    from chalicelib.domain.webhooks import Delivery


class StoreError(Exception):
    """Base class for storage failures."""


class StorageUnavailable(StoreError):
    """Throttled, unreachable, timed out or answering 5xx: the caller should retry later."""


class DeadlineExceeded(StorageUnavailable):
    """The request's time budget has no room for another attempt (``stores/deadline_hook.py``):
    the call was not made, or not retried. The caller answers as for any unavailability."""


class ConditionFailed(StoreError):
    """A conditional write's condition did not hold. ``item`` is the stored item as the store
    read it back (its own format: only the store that raised it interprets it)."""

    def __init__(self, item: dict[str, object] | None = None) -> None:
        super().__init__("condition failed")
        self.item = item


class EventNotPending(ConditionFailed):
    """An acknowledge found no pending event: ``current`` is the live event as it is (already
    acknowledged), or ``None`` when there is none."""

    def __init__(self, current: Event | None) -> None:
        super().__init__()
        self.current = current


class AlreadyCounted(StoreError):
    """Some records of a transaction were counted before (their markers exist)."""

    def __init__(self, record_ids: Sequence[str]) -> None:
        super().__init__(f"{len(record_ids)} record(s) already counted")
        self.record_ids = tuple(record_ids)


class ClaimRefused(StoreError):
    """A delivery is not ours to attempt now: ``current`` says why (``None``: it is gone)."""

    def __init__(self, current: Delivery | None) -> None:
        super().__init__("delivery not claimable")
        self.current = current
