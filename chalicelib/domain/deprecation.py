"""Deprecation and sunset headers for a route, from its dates (pure; docs/VERSIONING.md).

* ``Deprecation`` (RFC 9745): a Structured Field Date, ``@`` and the Unix seconds at which the
  route is (or was) deprecated, e.g. ``Deprecation: @1798761600``.
* ``Sunset`` (RFC 8594): an HTTP-date (IMF-fixdate), e.g. ``Sunset: Sat, 01 Jan 2028 00:00:00
  GMT``, after which the route may stop answering. It must not be earlier than the deprecation.
* ``Link: <url>; rel="deprecation"; type="text/html"`` (RFC 9745 section 3): where to read
  about it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime


def _utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} needs a timezone (use UTC)")
    return value.astimezone(UTC)


def deprecation_value(deprecated_at: datetime) -> str:
    """RFC 9745's value: ``@`` + whole Unix seconds (a Structured Field Date is an integer)."""
    moment = _utc(deprecated_at, "deprecated_at")
    if moment.microsecond:
        raise ValueError("deprecated_at must be a whole second (a Structured Field Date)")
    return f"@{int(moment.timestamp())}"


def sunset_value(sunset_at: datetime) -> str:
    """RFC 8594's value: an IMF-fixdate, ``Sat, 01 Jan 2028 00:00:00 GMT``."""
    return format_datetime(_utc(sunset_at, "sunset_at").replace(microsecond=0), usegmt=True)


def link_value(url: str) -> str:
    """The ``Link`` field value pointing at the deprecation's documentation."""
    if not url.startswith(("https://", "http://")) or any(c in url for c in '<>" \t\r\n'):
        raise ValueError("link must be an absolute http(s) URL without spaces, quotes or <>")
    return f'<{url}>; rel="deprecation"; type="text/html"'


@dataclass(frozen=True)
class RouteDeprecation:
    """A route's deprecation: when (required), when it goes away and where to read about it."""

    deprecated_at: datetime
    sunset_at: datetime | None = None
    link: str | None = None

    def __post_init__(self) -> None:
        # Validate eagerly, so a bad mark fails when the app is built, not on a request.
        deprecation_value(self.deprecated_at)
        if self.sunset_at is not None:
            sunset_value(self.sunset_at)
            if _utc(self.sunset_at, "sunset_at") < _utc(self.deprecated_at, "deprecated_at"):
                raise ValueError("sunset_at must not be earlier than deprecated_at")
        if self.link is not None:
            link_value(self.link)

    def headers(self) -> dict[str, str]:
        """The response headers every answer of the route carries."""
        result = {"Deprecation": deprecation_value(self.deprecated_at)}
        if self.sunset_at is not None:
            result["Sunset"] = sunset_value(self.sunset_at)
        if self.link is not None:
            result["Link"] = link_value(self.link)
        return result
