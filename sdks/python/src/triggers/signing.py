"""Request signing (docs/API.md, "Request signing").

A key created with ``signing: true`` must sign every request::

    X-Triggers-Timestamp: <unix seconds>
    X-Triggers-Signature: v1=<hex HMAC-SHA256(signing_secret,
                               "{timestamp}.{METHOD}.{target}.{hex SHA-256 of the body}")>

``target`` is the path from ``/v1`` on plus, when there is a query, ``?`` and the canonical
query: every ``name=value`` pair percent-encoded per RFC 3986 (only ``A-Z a-z 0-9 - _ . ~``
left as is), sorted by name then value, joined with ``&``. The client signs every attempt
afresh (a retry gets a new timestamp).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from typing import Literal
from urllib.parse import quote

TIMESTAMP_HEADER = "X-Triggers-Timestamp"
SIGNATURE_HEADER = "X-Triggers-Signature"
TOLERANCE_SECONDS = 300
_UNRESERVED = "-_.~"

Verdict = Literal["ok", "signature_invalid", "signature_expired"]


def percent_encode(value: str) -> str:
    """RFC 3986 percent-encoding of UTF-8 (a space is ``%20``, never ``+``)."""
    return quote(value, safe=_UNRESERVED)


def canonical_query(params: Iterable[tuple[str, str]]) -> str:
    """The canonical query: pairs sorted by name then value (as decoded), then encoded."""
    return "&".join(
        f"{percent_encode(name)}={percent_encode(value)}" for name, value in sorted(params)
    )


def canonical_target(path: str, params: Iterable[tuple[str, str]] = ()) -> str:
    query = canonical_query(params)
    return f"{path}?{query}" if query else path


def signed_content(timestamp: str, method: str, target: str, body: bytes) -> bytes:
    digest = hashlib.sha256(body).hexdigest()
    return f"{timestamp}.{method.upper()}.{target}.{digest}".encode()


def signature(secret: str, timestamp: str, method: str, target: str, body: bytes) -> str:
    """The hex HMAC-SHA256 of one request under one signing secret."""
    content = signed_content(timestamp, method, target, body)
    return hmac.new(secret.encode(), content, hashlib.sha256).hexdigest()


def sign_request(
    secrets: Sequence[str],
    *,
    timestamp: int | str,
    method: str,
    path: str,
    params: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
) -> dict[str, str]:
    """The two signing headers; one ``v1=`` value per secret (mid-rotation clients send both)."""
    if not secrets:
        raise ValueError("sign_request needs at least one signing secret")
    ts = str(timestamp)
    target = canonical_target(path, params)
    values = ",".join(f"v1={signature(s, ts, method, target, body)}" for s in secrets)
    return {TIMESTAMP_HEADER: ts, SIGNATURE_HEADER: values}


def verify_request(
    secrets: Sequence[str],
    *,
    timestamp: str | None,
    signature_header: str | None,
    method: str,
    target: str,
    body: bytes,
    now: float,
    tolerance: int = TOLERANCE_SECONDS,
) -> Verdict:
    """The API's verdict on a signed request, for tests and proxies that check signatures.

    ``target`` is already canonical. A value must match one of ``secrets`` (constant-time);
    a matching signature whose timestamp is over ``tolerance`` seconds away is expired.
    """
    if not timestamp or not signature_header or not timestamp.isascii():
        return "signature_invalid"
    if not timestamp.isdigit():
        return "signature_invalid"
    candidates: list[bytes] = []
    for part in signature_header.split(","):
        scheme, sep, value = part.strip().partition("=")
        if sep and scheme == "v1" and value.isascii():
            candidates.append(value.lower().encode())
    expected = [signature(s, timestamp, method, target, body).encode() for s in secrets]
    matched = False
    for candidate in candidates:
        for want in expected:
            matched = hmac.compare_digest(candidate, want) or matched
    if not matched:
        return "signature_invalid"
    if abs(now - int(timestamp)) > tolerance:
        return "signature_expired"
    return "ok"
