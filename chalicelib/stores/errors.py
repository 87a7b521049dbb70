"""Storage errors that services understand (the adapter translates botocore's)."""

from __future__ import annotations


class StoreError(Exception):
    """Base class for storage failures."""


class StorageUnavailable(StoreError):
    """Throttled, unreachable, timed out or answering 5xx: the caller should retry later."""


class ConditionFailed(StoreError):
    """A conditional write's condition did not hold."""

    def __init__(self, item: dict[str, object] | None = None) -> None:
        super().__init__("condition failed")
        self.item = item
