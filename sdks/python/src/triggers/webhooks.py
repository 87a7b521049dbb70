"""Webhook signature verification, compatible with Standard Webhooks (docs/WEBHOOKS.md).

Verify the raw body bytes as received, before any JSON parsing::

    verifier = triggers.Webhook("whsec_...")            # or a list of secrets mid-rotation
    message = verifier.verify(raw_body, request.headers)  # raises WebhookVerificationError
    if message.event is not None:                         # None for a webhook.test delivery
        handle(message.event)
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._errors import WebhookVerificationError
from ._models import Event

__all__ = ["TEST_EVENT_TYPE", "Webhook", "WebhookMessage", "WebhookVerificationError"]

TOLERANCE_SECONDS = 300
TEST_EVENT_TYPE = "webhook.test"
_PREFIX = "whsec_"


@dataclass(frozen=True)
class WebhookMessage:
    """A verified delivery: ``{"type", "timestamp", "data"}`` plus the delivery's headers."""

    id: str  # webhook-id: the same on every retry of one delivery (dedupe on it)
    timestamp: int  # webhook-timestamp, Unix seconds
    type: str  # the event's event_type, or "webhook.test"
    data: dict[str, Any]
    payload: dict[str, Any]  # the whole parsed body

    @property
    def event(self) -> Event | None:
        """``data`` as a typed :class:`Event` (None for a ``webhook.test`` delivery)."""
        if self.type == TEST_EVENT_TYPE:
            return None
        return Event.model_validate(self.data)


def _decode_secret(secret: str) -> bytes:
    raw = secret[len(_PREFIX) :] if secret.startswith(_PREFIX) else secret
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("a webhook secret is 'whsec_' + base64") from exc


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    for key, candidate in headers.items():
        if key.lower() == name:
            return candidate
    return None


class Webhook:
    """Verifies deliveries against one or more ``whsec_`` secrets (several during a rotation).

    Thread-safe and reusable: it holds only the decoded keys. ``clock`` (Unix seconds) is
    injectable for tests.
    """

    def __init__(
        self,
        secret: str | Sequence[str],
        *,
        tolerance: int = TOLERANCE_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        secrets = [secret] if isinstance(secret, str) else list(secret)
        if not secrets:
            raise ValueError("Webhook needs at least one secret")
        self._keys = [_decode_secret(s) for s in secrets]
        self._tolerance = tolerance
        self._clock = clock

    def sign(self, msg_id: str, timestamp: int, body: bytes | str) -> str:
        """The ``webhook-signature`` value for a message (one ``v1,`` entry per secret)."""
        raw = body.encode() if isinstance(body, str) else body
        content = f"{msg_id}.{timestamp}.".encode() + raw
        return " ".join(
            "v1," + base64.b64encode(hmac.new(k, content, hashlib.sha256).digest()).decode()
            for k in self._keys
        )

    def verify_signature(self, body: bytes | str, headers: Mapping[str, str]) -> tuple[str, int]:
        """Check headers, timestamp tolerance and signature without parsing the body; the
        delivery's ``(webhook-id, webhook-timestamp)``. Raises :class:`WebhookVerificationError`."""
        raw = body.encode() if isinstance(body, str) else bytes(body)
        msg_id = _header(headers, "webhook-id")
        ts_text = _header(headers, "webhook-timestamp")
        sig_header = _header(headers, "webhook-signature")
        if not msg_id or not ts_text or not sig_header:
            raise WebhookVerificationError("missing webhook-id, webhook-timestamp or signature")
        try:
            timestamp = int(ts_text)
        except ValueError as exc:
            raise WebhookVerificationError("webhook-timestamp is not an integer") from exc
        now = self._clock()
        if timestamp < now - self._tolerance:
            raise WebhookVerificationError("message timestamp too old")
        if timestamp > now + self._tolerance:
            raise WebhookVerificationError("message timestamp too new")
        content = f"{msg_id}.{timestamp}.".encode() + raw
        expected = [hmac.new(k, content, hashlib.sha256).digest() for k in self._keys]
        matched = False
        for entry in sig_header.split(" "):
            version, sep, value = entry.partition(",")
            if not sep or version != "v1":
                continue
            try:
                candidate = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                continue
            for want in expected:
                matched = hmac.compare_digest(candidate, want) or matched
        if not matched:
            raise WebhookVerificationError("no matching signature")
        return msg_id, timestamp

    def verify(self, body: bytes | str, headers: Mapping[str, str]) -> WebhookMessage:
        """Check the signature and timestamp, then parse the JSON body. Raises
        :class:`WebhookVerificationError` on any failure."""
        raw = body.encode() if isinstance(body, str) else bytes(body)
        msg_id, timestamp = self.verify_signature(raw, headers)
        try:
            payload = json.loads(raw)
        except ValueError as exc:
            raise WebhookVerificationError("the body is not JSON") from exc
        if not isinstance(payload, dict):
            raise WebhookVerificationError("the body is not a JSON object")
        data = payload.get("data")
        return WebhookMessage(
            id=msg_id,
            timestamp=timestamp,
            type=str(payload.get("type", "")),
            data=data if isinstance(data, dict) else {},
            payload=payload,
        )
