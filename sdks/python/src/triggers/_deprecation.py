"""Route deprecation (docs/VERSIONING.md): the ``Deprecation``, ``Sunset`` and ``Link`` headers.

A deprecated route answers, on every response (errors included)::

    Deprecation: @1803859200                     (RFC 9745: Unix seconds, may be in the future)
    Sunset: Wed, 01 Sep 2027 00:00:00 GMT        (RFC 8594: after it the route may answer 404)
    Link: <https://...>; rel="deprecation"; type="text/html"

The SDK parses them into :class:`Deprecation` (on ``last_response.deprecation`` and
``APIError.deprecation``) and logs one warning per route (method and route template) per
process on the ``triggers`` logger, as docs/VERSIONING.md promises.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

logger = logging.getLogger("triggers")

_LINK = re.compile(r"<([^>]*)>((?:\s*;\s*[^;,]*)*)")
_REL = re.compile(r"""rel\s*=\s*(?:"([^"]*)"|([^\s;,"]+))""", re.IGNORECASE)


@dataclass(frozen=True)
class Deprecation:
    """A response's deprecation notice. ``deprecated_at`` may be in the future (the route
    still works; the header is the warning); ``sunset`` is when it may stop answering."""

    raw: str  # the Deprecation header as sent
    deprecated_at: datetime | None  # None if the value is not a date (e.g. a bare "true")
    sunset: datetime | None  # the Sunset header, if any
    link: str | None  # the Link header's rel="deprecation" target, if any


def _http_date(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)


def _deprecated_at(value: str) -> datetime | None:
    text = value.strip()
    if text.startswith("@"):
        try:
            return datetime.fromtimestamp(int(text[1:]), tz=timezone.utc)
        except (ValueError, OverflowError, OSError):
            return None
    return _http_date(text)  # the pre-RFC drafts' HTTP-date form


def _deprecation_link(value: str | None) -> str | None:
    if not value:
        return None
    for match in _LINK.finditer(value):
        for rel in _REL.finditer(match.group(2)):
            if "deprecation" in (rel.group(1) or rel.group(2) or "").lower().split():
                return match.group(1).strip()
    return None


def parse_deprecation(headers: Mapping[str, str]) -> Deprecation | None:
    """The notice in ``headers`` (case-insensitive mapping), or None without ``Deprecation``."""
    value = headers.get("deprecation")
    if value is None:
        return None
    return Deprecation(
        raw=value,
        deprecated_at=_deprecated_at(value),
        sunset=_http_date(headers.get("sunset")),
        link=_deprecation_link(headers.get("link")),
    )


class WarnedRoutes:
    """The routes a client has already warned about: one set per client (no process-wide
    state), so each client logs a deprecated route once however often it calls it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: set[tuple[str, str]] = set()

    def first(self, method: str, route: str) -> bool:
        with self._lock:
            if (method, route) in self._seen:
                return False
            self._seen.add((method, route))
            return True


def warn_once(warned: WarnedRoutes, method: str, route: str, notice: Deprecation) -> None:
    if not warned.first(method, route):
        return
    logger.warning(
        "%s %s is deprecated (Deprecation: %s); sunset %s; see %s",
        method,
        route,
        notice.raw,
        notice.sunset.isoformat() if notice.sunset else "not set",
        notice.link or "-",
    )
