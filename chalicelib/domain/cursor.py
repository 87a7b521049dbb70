"""Opaque, tamper-checked paging cursors.

A cursor is ``base64url(json).base64url(hmac)``: it names the last position served and is bound
to the tenant and the filters it was made for, so it cannot be edited, replayed by another
tenant or reused with other filters.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass

_VERSION = 1


class InvalidCursor(ValueError):
    pass


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class CursorPosition:
    tenant_id: str
    scope: str  # a digest of the filters the cursor belongs to
    after: str  # the sort key of the last item served


class CursorCodec:
    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("cursor key must be at least 16 bytes")
        self._key = key

    def _mac(self, body: bytes) -> bytes:
        return hmac.new(self._key, body, hashlib.sha256).digest()[:16]

    def encode(self, position: CursorPosition) -> str:
        body = json.dumps(
            {"v": _VERSION, "t": position.tenant_id, "s": position.scope, "a": position.after},
            separators=(",", ":"),
        ).encode()
        return f"{_b64(body)}.{_b64(self._mac(body))}"

    def decode(self, cursor: str) -> CursorPosition:
        try:
            body_part, mac_part = cursor.split(".")
            body = _unb64(body_part)
            mac = _unb64(mac_part)
        except (ValueError, TypeError) as exc:
            raise InvalidCursor("malformed cursor") from exc
        if not hmac.compare_digest(mac, self._mac(body)):
            raise InvalidCursor("cursor has been altered")
        try:
            data = json.loads(body)
            if data["v"] != _VERSION:
                raise InvalidCursor("unsupported cursor version")
            return CursorPosition(str(data["t"]), str(data["s"]), str(data["a"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidCursor("malformed cursor") from exc


def scope_digest(parts: dict[str, str]) -> str:
    """A short digest of the query's filters; a cursor only works with the same filters."""
    text = json.dumps(sorted(parts.items()), separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]
