"""Which routes are deprecated (docs/VERSIONING.md, "Deprecating a route").

Mark a route by adding ``(METHOD, route template)`` here with its dates, e.g.::

    DEPRECATED_ROUTES = {
        ("GET", "/v1/events/{event_id}"): RouteDeprecation(
            deprecated_at=datetime(2027, 3, 1, tzinfo=UTC),
            sunset_at=datetime(2027, 9, 1, tzinfo=UTC),
            link="https://docs.example.com/changelog#2027-03-01",
        ),
    }

Every answer of that route (errors included) then carries ``Deprecation``, ``Sunset`` and
``Link`` (``chalicelib.api.middleware.deprecation_headers``), and the served OpenAPI document
says ``deprecated: true`` for the operation. ``tests/unit/test_deprecation.py`` checks that every
key names a route the app has. No route is deprecated in ``/v1`` yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.domain.deprecation import RouteDeprecation

# (HTTP method in upper case, Chalice route template) -> its deprecation.
Deprecations = Mapping[tuple[str, str], RouteDeprecation]

DEPRECATED_ROUTES: Deprecations = {}


def mark_deprecated_operations(document: dict[str, Any], routes: Deprecations) -> dict[str, Any]:
    """A copy of the OpenAPI ``document`` with ``deprecated: true`` on each route in ``routes``.

    A marked route missing from the document is an error: the mark would otherwise be silent.
    """
    if not routes:
        return document
    paths = dict(document["paths"])
    for method, path in sorted(routes):
        operation = paths.get(path, {}).get(method.lower())
        if operation is None:
            raise ValueError(f"deprecated route {method} {path} is not in the OpenAPI document")
        paths[path] = {**paths[path], method.lower(): {**operation, "deprecated": True}}
    return {**document, "paths": paths}
