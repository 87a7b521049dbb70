"""Build on first use, once per process: cold starts pay only for what their requests need.

``app.py`` builds the :class:`~chalicelib.runtime.Runtime` while Lambda imports it (the init
phase of every cold start). An AWS client, or a service only a few routes or one of the event
handlers use, is wrapped in a :class:`Lazy`: it stands in for the object and builds it (importing
its modules then) the first time anything asks for one of its attributes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")


class Lazy(Generic[T]):
    """Stands in for the object ``build`` returns: built on first attribute access, once,
    however many threads ask at the same time (the others wait for it); afterwards every
    attribute is the object's own. Setting attributes on the stand-in is not forwarded.

    It has no public attribute of its own (one would hide the object's: a service's ``get``):
    :func:`force` and :func:`is_built` work on it from outside."""

    __slots__ = ("_lazy_build", "_lazy_lock", "_lazy_value")

    def __init__(self, build: Callable[[], T]) -> None:
        self._lazy_build = build
        self._lazy_value: T | None = None
        self._lazy_lock = threading.Lock()

    def _lazy_get(self) -> T:
        value = self._lazy_value
        if value is None:
            with self._lazy_lock:
                if self._lazy_value is None:
                    self._lazy_value = self._lazy_build()
                value = self._lazy_value
        return value

    def __getattr__(self, name: str) -> Any:
        return getattr(self._lazy_get(), name)

    def __repr__(self) -> str:
        value = self._lazy_value
        return f"Lazy({'not built yet' if value is None else repr(value)})"


@overload
def force(obj: Lazy[T]) -> T: ...


@overload
def force(obj: T) -> T: ...


def force(obj: Any) -> Any:
    """The object itself: a :class:`Lazy`'s, built now if it is not yet; anything else as it
    is."""
    if isinstance(obj, Lazy):
        return obj._lazy_get()
    return obj


def is_built(obj: object) -> bool:
    """Whether ``obj`` is built: a :class:`Lazy` once it has built its object; anything else
    always."""
    return not isinstance(obj, Lazy) or obj._lazy_value is not None
