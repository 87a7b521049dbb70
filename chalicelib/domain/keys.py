"""API key secrets and the principal a key authenticates as.

Only the SHA-256 of a secret is stored. Looking a key up by that digest means no comparison
of secret bytes ever happens in our code, so there is no timing side channel on the secret.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field

SECRET_PATTERN = re.compile(r"^tk_[a-z0-9]{1,16}_[A-Za-z0-9_-]{20,128}$")
TENANT_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
SCOPE_EVENTS = "events"
SCOPE_ADMIN = "admin"


def new_secret(stage: str) -> str:
    return f"tk_{stage}_{secrets.token_urlsafe(32)}"


def new_key_id() -> str:
    return "key_" + secrets.token_hex(8)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def looks_like_secret(value: str) -> bool:
    return bool(SECRET_PATTERN.match(value))


def key_id_prefix(key_id: str) -> str:
    """What logs show of a key: its public id, shortened."""
    return key_id[:12]


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key (public id) and the tenant it belongs to."""

    key_id: str
    tenant_id: str
    name: str
    scopes: frozenset[str] = field(default_factory=lambda: frozenset({SCOPE_EVENTS}))
    rate_limit_per_minute: int | None = None
    allowed_ips: tuple[str, ...] = ()
    signing_secrets: tuple[str, ...] = ()  # current ones: two during a rotation's grace
