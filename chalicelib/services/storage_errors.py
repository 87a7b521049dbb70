"""The one place where storage failures become the contract's 503.

Every service wraps its store calls in :func:`storage_unavailable_as_503` (a context manager
that also works as a decorator): a :class:`~chalicelib.stores.errors.StoreError` that nothing
closer handled (a :class:`ConditionFailed` a use case expects is caught inside the block)
leaves the service as :class:`chalicelib.errors.ServiceUnavailable`, never as a 500. Callers
that report per-item failures instead of raising (bulk writes) use :func:`as_service_unavailable`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from chalicelib import errors
from chalicelib.stores.errors import StorageUnavailable, StoreError


def as_service_unavailable(exc: StoreError) -> errors.ServiceUnavailable:
    """Map a storage failure onto the contract: 503 with Retry-After, never a 500."""
    if isinstance(exc, StorageUnavailable):
        return errors.ServiceUnavailable("Storage is busy or unreachable; retry shortly.")
    return errors.ServiceUnavailable("Storage rejected the request; retry shortly.")


@contextmanager
def storage_unavailable_as_503() -> Iterator[None]:
    try:
        yield
    except StoreError as exc:
        raise as_service_unavailable(exc) from exc
