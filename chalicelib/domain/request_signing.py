"""Request signing for API keys with a signing secret: one pure signer and verifier.

A signed request carries::

    X-Triggers-Timestamp: <unix seconds>
    X-Triggers-Signature: v1=<hex HMAC-SHA256(signing_secret, signed_content)>[,v1=<hex>...]

    signed_content = "{timestamp}.{METHOD}.{target}.{hex SHA-256 of the raw body}"

``target`` is the request path from ``/v1`` on (no API Gateway stage or base-path prefix),
followed by ``?`` and the canonical query when there is one: every parameter as
``name=value``, both percent-encoded (RFC 3986: only ``A-Z a-z 0-9 - _ . ~`` left as they
are), the decoded pairs sorted by name then value by Unicode code point, joined with ``&``.
API Gateway hands Lambda the query already decoded, so the server can only rebuild a
canonical form, never the bytes as sent; a client signs that same form (the SDKs do it for
you; the shared vectors in ``tests/vectors/request_signing.json`` show each step).

Verification (mirrors Stripe's and the Standard Webhooks verifiers): the timestamp must be a
plain integer; every ``v1=`` value is compared, in constant time, with the signature under each
of ``secrets`` (the API passes one: the signing secret paired with the API secret used; an SDK
may hold more); no match is
``INVALID``. A match whose timestamp is more than :data:`TOLERANCE_SECONDS` away from now, either
way, is ``EXPIRED`` (so only a correctly signed request learns that its clock is off).
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
from collections.abc import Iterable, Sequence
from urllib.parse import quote

SCHEME = "v1"
TIMESTAMP_HEADER = "X-Triggers-Timestamp"
SIGNATURE_HEADER = "X-Triggers-Signature"
TOLERANCE_SECONDS = 300
MAX_SIGNATURES = 8  # v1= values looked at per request (bounds the work a header can ask for)
_MAX_TIMESTAMP_DIGITS = 12
_HEX_DIGEST = re.compile(r"^[0-9a-fA-F]{64}$")  # ASCII only: compare_digest refuses other str


class Verdict(enum.Enum):
    OK = "ok"
    INVALID = "signature_invalid"
    EXPIRED = "signature_expired"


def _encode(value: str) -> str:
    return quote(value, safe="-_.~")


def canonical_query(params: Iterable[tuple[str, str]]) -> str:
    """``a=1&b=x%20y``: each pair percent-encoded, sorted by name then value."""
    return "&".join(f"{_encode(k)}={_encode(v)}" for k, v in sorted(params))


def canonical_target(path: str, params: Iterable[tuple[str, str]] = ()) -> str:
    """The signed request target: the path, then ``?`` and the canonical query if any."""
    query = canonical_query(params)
    return f"{path}?{query}" if query else path


def signed_content(timestamp: str, method: str, target: str, body: bytes) -> bytes:
    body_hash = hashlib.sha256(body).hexdigest()
    return f"{timestamp}.{method.upper()}.{target}.{body_hash}".encode()


def sign(secret: str, timestamp: int | str, method: str, target: str, body: bytes) -> str:
    """The hex signature of one request under one secret."""
    content = signed_content(str(timestamp), method, target, body)
    return hmac.new(secret.encode(), content, hashlib.sha256).hexdigest()


def signature_header(
    secrets: Sequence[str], timestamp: int | str, method: str, target: str, body: bytes
) -> str:
    """``v1=<hex>[,v1=<hex>]``: one value per secret (a client mid-rotation may send both)."""
    return ",".join(f"{SCHEME}={sign(s, timestamp, method, target, body)}" for s in secrets)


def _candidates(header: str) -> list[str]:
    found = []
    for part in header.split(","):
        scheme, sep, value = part.strip().partition("=")
        if sep and scheme == SCHEME and _HEX_DIGEST.match(value):
            found.append(value.lower())
            if len(found) == MAX_SIGNATURES:
                break
    return found


def _timestamp(value: str | None) -> str | None:
    """The header's digits as sent (they are what was signed), or None if not an integer."""
    if value is None:
        return None
    value = value.strip()
    if not value.isascii() or not value.isdigit() or len(value) > _MAX_TIMESTAMP_DIGITS:
        return None
    return value


def verify(
    secrets: Sequence[str],
    timestamp_header: str | None,
    signature_header_value: str | None,
    method: str,
    target: str,
    body: bytes,
    now: float,
    tolerance: int = TOLERANCE_SECONDS,
) -> Verdict:
    """Check a request's signature headers against the key's current signing secrets."""
    timestamp = _timestamp(timestamp_header)
    if timestamp is None or not signature_header_value or not secrets:
        return Verdict.INVALID
    candidates = _candidates(signature_header_value)
    if not candidates:
        return Verdict.INVALID
    content = signed_content(timestamp, method, target, body)
    matched = False
    for secret in secrets:
        expected = hmac.new(secret.encode(), content, hashlib.sha256).hexdigest()
        for candidate in candidates:
            # Every comparison runs: the time taken does not say which value matched.
            matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        return Verdict.INVALID
    if abs(now - int(timestamp)) > tolerance:
        return Verdict.EXPIRED
    return Verdict.OK
