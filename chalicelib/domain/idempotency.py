"""Idempotency fingerprints: the same request always hashes the same, whatever its key order."""

from __future__ import annotations

import hashlib

from chalicelib.domain.events import EventDraft, canonical_json


def request_fingerprint(draft: EventDraft) -> str:
    return hashlib.sha256(canonical_json(draft.fingerprint_material()).encode()).hexdigest()
