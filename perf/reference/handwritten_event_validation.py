"""FROZEN REFERENCE — the hand-written event validator as it was before pydantic (issue 9).

Kept only so that the benchmarks can time it beside the pydantic model in the same run
(perf/bench/test_bench_event_validation.py, tests/unit/test_validation_speed.py). The app never
imports this module; do not fix or extend it: the point is that it stays what it was.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

NAME_PATTERN = re.compile(r"^[A-Za-z0-9._:/-]{1,128}$")
PRIORITIES = ("low", "normal", "high")
DEFAULT_PRIORITY = "normal"
MAX_METADATA_KEYS = 20
MAX_METADATA_KEY_CHARS = 128
MAX_METADATA_VALUE_CHARS = 256
MAX_IDEMPOTENCY_KEY_CHARS = 255
CREATE_FIELDS = frozenset({"source", "event_type", "payload", "metadata", "idempotency_key"})


class EventValidationError(Exception):
    """Raised with a list of ``{"field", "message"}`` details."""

    def __init__(self, details: list[dict[str, str]]) -> None:
        self.details = details
        super().__init__("; ".join(f"{d['field']}: {d['message']}" for d in details))


class PayloadTooLargeError(Exception):
    def __init__(self, size: int, limit: int) -> None:
        self.size, self.limit = size, limit
        super().__init__(f"payload is {size} bytes serialized; the limit is {limit}")


@dataclass(frozen=True)
class EventDraft:
    """A validated create request: what becomes an event."""

    source: str
    event_type: str
    payload_json: str  # canonical serialization, stored as is
    metadata: dict[str, str]
    idempotency_key: str | None

    def fingerprint_material(self) -> dict[str, Any]:
        """What the idempotency hash covers: the request minus the key itself."""
        return {
            "source": self.source,
            "event_type": self.event_type,
            "payload": self.payload_json,
            "metadata": self.metadata,
        }


def canonical_json(value: Any) -> str:
    return json.dumps(
        value, separators=(",", ":"), sort_keys=True, ensure_ascii=False, allow_nan=False
    )


def _check_name(field: str, value: Any, details: list[dict[str, str]]) -> str:
    if value is None:
        details.append({"field": field, "message": "is required"})
        return ""
    if not isinstance(value, str) or not NAME_PATTERN.match(value):
        details.append(
            {"field": field, "message": "must be 1-128 characters of letters, digits and ._:/-"}
        )
        return ""
    return value


def _check_metadata(value: Any, details: list[dict[str, str]]) -> dict[str, str]:
    if value is None:
        return {"priority": DEFAULT_PRIORITY}
    if not isinstance(value, dict):
        details.append({"field": "metadata", "message": "must be an object of string values"})
        return {}
    # The limit counts what is stored: the default `priority` is added when not given.
    stored_keys = len(value) + (0 if "priority" in value else 1)
    if stored_keys > MAX_METADATA_KEYS:
        details.append(
            {
                "field": "metadata",
                "message": f"must have at most {MAX_METADATA_KEYS} keys, counting priority",
            }
        )
        return {}
    out: dict[str, str] = {}
    for key, item in value.items():
        where = f"metadata.{key}"
        if not key or len(key) > MAX_METADATA_KEY_CHARS or not key.isprintable():
            details.append({"field": where, "message": "keys are 1-128 printable characters"})
            continue
        if not isinstance(item, str):
            details.append({"field": where, "message": "must be a string"})
            continue
        if len(item) > MAX_METADATA_VALUE_CHARS:
            details.append(
                {"field": where, "message": f"must be at most {MAX_METADATA_VALUE_CHARS} chars"}
            )
            continue
        out[key] = item
    priority = out.setdefault("priority", DEFAULT_PRIORITY)
    if priority not in PRIORITIES:
        details.append({"field": "metadata.priority", "message": "must be low, normal or high"})
    return out


def _check_idempotency_key(
    body_key: Any, header_key: str | None, details: list[dict[str, str]]
) -> str | None:
    if body_key is not None and not isinstance(body_key, str):
        details.append({"field": "idempotency_key", "message": "must be a string"})
        return None
    if body_key is not None and header_key is not None and body_key != header_key:
        details.append(
            {
                "field": "idempotency_key",
                "message": "differs from the Idempotency-Key header; send one or make them equal",
            }
        )
        return None
    key = header_key if header_key is not None else body_key
    if key is None:
        return None
    if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY_CHARS or not key.isprintable():
        details.append(
            {"field": "idempotency_key", "message": "must be 1-255 printable characters"}
        )
        return None
    if not key.isascii():
        # HTTP header values are bytes (servers decode them as Latin-1, API Gateway as UTF-8):
        # only ASCII reads back the same everywhere, so the header and the field allow only it.
        details.append(
            {"field": "idempotency_key", "message": "must be printable ASCII (U+0020-U+007E)"}
        )
        return None
    return key


def parse_event_create(
    body: Any, *, header_idempotency_key: str | None = None, max_payload_bytes: int = 256 * 1024
) -> EventDraft:
    """Validate a create request body; raise :class:`EventValidationError` or
    :class:`PayloadTooLargeError`."""
    if not isinstance(body, dict):
        raise EventValidationError([{"field": "body", "message": "must be a JSON object"}])
    details: list[dict[str, str]] = []
    for unknown in sorted(set(body) - CREATE_FIELDS):
        details.append({"field": unknown, "message": "is not a known field"})
    source = _check_name("source", body.get("source"), details)
    event_type = _check_name("event_type", body.get("event_type"), details)
    payload = body.get("payload")
    payload_json = ""
    if payload is None:
        details.append({"field": "payload", "message": "is required"})
    elif not isinstance(payload, dict):
        details.append({"field": "payload", "message": "must be a JSON object"})
    else:
        payload_json = canonical_json(payload)
    metadata = _check_metadata(body.get("metadata"), details)
    key = _check_idempotency_key(body.get("idempotency_key"), header_idempotency_key, details)
    if details:
        raise EventValidationError(details)
    size = len(payload_json.encode())
    if size > max_payload_bytes:
        raise PayloadTooLargeError(size, max_payload_bytes)
    return EventDraft(source, event_type, payload_json, metadata, key)
