"""Webhook signatures per the Standard Webhooks spec (https://www.standardwebhooks.com).

A delivery carries::

    webhook-id: <message id>
    webhook-timestamp: <unix seconds>
    webhook-signature: v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>[ v1,<...>]

``key`` is the secret without its ``whsec_`` prefix, base64-decoded. During a secret rotation a
delivery carries one signature per live secret, space-separated. :func:`verify` mirrors the
reference ``standardwebhooks`` library (``libraries/python/standardwebhooks/webhooks.py``):
case-insensitive headers, a timestamp tolerance both ways, every ``v1,`` signature tried with a
constant-time compare, other versions ignored. ``tests/vectors/webhook_signing.json`` holds the
vectors the SDKs' verifiers share.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets as _secrets
from collections.abc import Mapping, Sequence

SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix, not a secret
SCHEME = "v1"
SECRET_BYTES = 32
TOLERANCE_SECONDS = 300
ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
MAX_SIGNATURES = 16  # signatures looked at per delivery (bounds the work a header can ask for)
_MAX_TIMESTAMP_DIGITS = 12


class WebhookVerificationError(Exception):
    """The headers are missing, malformed, out of tolerance, or no signature matches."""


def new_webhook_secret() -> str:
    """A fresh secret: ``whsec_`` + standard base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(_secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key of a secret (optional ``whsec_`` prefix, base64; padding may be left off)."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("webhook secret is not base64") from exc
    if not key:
        raise ValueError("webhook secret is empty")
    return key


def _signature(key: bytes, msg_id: str, timestamp: int | str, body: bytes) -> bytes:
    content = f"{msg_id}.{timestamp}.".encode() + body
    return hmac.new(key, content, hashlib.sha256).digest()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 signature>`` of one message under one secret."""
    digest = _signature(secret_key(secret), msg_id, timestamp, body)
    return f"{SCHEME},{base64.b64encode(digest).decode()}"


def signature_header(secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: one signature per secret, space-separated."""
    if not secrets:
        raise ValueError("at least one secret is needed to sign")
    return " ".join(sign(s, msg_id, timestamp, body) for s in secrets)


def delivery_headers(
    secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The three Standard Webhooks headers of one delivery."""
    return {
        ID_HEADER: msg_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature_header(secrets, msg_id, timestamp, body),
    }


def _timestamp(value: str) -> int:
    value = value.strip()
    if not value.isascii() or not value.isdigit() or len(value) > _MAX_TIMESTAMP_DIGITS:
        raise WebhookVerificationError("invalid webhook-timestamp header")
    return int(value)


def _candidates(header: str) -> list[bytes]:
    found = []
    for part in header.split(" ")[:MAX_SIGNATURES]:
        version, sep, value = part.partition(",")
        if not sep or version != SCHEME:
            continue
        try:
            found.append(base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError):
            continue
    return found


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    now: float,
    tolerance: int = TOLERANCE_SECONDS,
) -> None:
    """Raise :class:`WebhookVerificationError` unless ``headers`` sign ``body`` under
    ``secret`` with a timestamp within ``tolerance`` seconds of ``now``."""
    lowered = {name.lower(): value for name, value in headers.items()}
    msg_id = lowered.get(ID_HEADER)
    timestamp_value = lowered.get(TIMESTAMP_HEADER)
    signatures = lowered.get(SIGNATURE_HEADER)
    if not (msg_id and timestamp_value and signatures):
        raise WebhookVerificationError("missing required headers")
    timestamp = _timestamp(timestamp_value)
    if timestamp < now - tolerance:
        raise WebhookVerificationError("message timestamp too old")
    if timestamp > now + tolerance:
        raise WebhookVerificationError("message timestamp too new")
    expected = _signature(secret_key(secret), msg_id, timestamp, body)
    matched = False
    for candidate in _candidates(signatures):
        # Every comparison runs: the time taken does not say which signature matched.
        matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise WebhookVerificationError("no matching signature found")
