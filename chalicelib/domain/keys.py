"""API keys: secrets, the principal a key authenticates as, and the rotation rules.

Only the SHA-256 of a secret is stored. Looking a key up by that digest means no comparison
of secret bytes ever happens in our code, so there is no timing side channel on the secret.

A key (``key_id``) has one or more secrets over its life; each secret has its own expiry and,
for a key that signs its requests, its own signing secret (the pair rotates together: a request
authenticated by a secret is signed with that secret's signing secret). Rotation adds a new
secret and gives the previous one a grace period (:func:`plan_rotation`): a secret is never
reused or overwritten, and an older one's expiry only ever gets shorter.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

SECRET_PATTERN = re.compile(r"^tk_[a-z0-9]{1,16}_[A-Za-z0-9_-]{20,128}$")
TENANT_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
SCOPE_EVENTS = "events"
SCOPE_ADMIN = "admin"


def new_secret(stage: str) -> str:
    return f"tk_{stage}_{secrets.token_urlsafe(32)}"


SIGNING_SECRET_PREFIX = "tsig_"  # noqa: S105 - the prefix, not a secret
DEFAULT_GRACE_SECONDS = 24 * 3600  # Svix's default for a rotated secret
MAX_GRACE_SECONDS = 7 * 24 * 3600
LAST_USED_RESOLUTION_SECONDS = 60  # last_used_at is written at most once a minute per key
STATUS_ACTIVE = "active"
STATUS_REVOKED = "revoked"


def new_signing_secret() -> str:
    return SIGNING_SECRET_PREFIX + secrets.token_urlsafe(32)


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
    # The signing secret paired with the secret used; never in a repr (tracebacks, asserts).
    signing_secrets: tuple[str, ...] = field(default=(), repr=False)

    @property
    def admin(self) -> bool:
        return SCOPE_ADMIN in self.scopes


@dataclass(frozen=True)
class SecretEntry:
    """One secret of a key, as the key remembers it (the digest, never the secret)."""

    key_hash: str
    created_at: str
    expires_at: int | None = None  # epoch seconds; None: until the next rotation

    def live(self, now: float) -> bool:
        return self.expires_at is None or self.expires_at > now


@dataclass(frozen=True)
class ApiKey:
    """A key's settings and its live secrets (newest first). ``version`` increases with every
    change, so concurrent admin writes cannot overwrite each other."""

    key_id: str
    tenant_id: str
    name: str
    created_at: str
    updated_at: str
    scopes: frozenset[str] = field(default_factory=lambda: frozenset({SCOPE_EVENTS}))
    rate_limit_per_minute: int | None = None
    allowed_ips: tuple[str, ...] = ()
    signing: bool = False
    status: str = STATUS_ACTIVE
    created_by: str | None = None  # the admin key that created it; None: an operator script
    expires_at: int | None = None  # the key's own expiry (epoch seconds), whatever its secrets
    revoked_at: str | None = None
    last_used_at: str | None = None
    secrets: tuple[SecretEntry, ...] = ()
    version: int = 1

    @property
    def admin(self) -> bool:
        return SCOPE_ADMIN in self.scopes

    def secret_expiry(self, entry: SecretEntry) -> int | None:
        """When a secret stops working: its own expiry or the key's, whichever comes first."""
        ends = [t for t in (entry.expires_at, self.expires_at) if t is not None]
        return min(ends) if ends else None


@dataclass(frozen=True)
class RotationPlan:
    live: tuple[SecretEntry, ...]  # the key's secrets after the rotation, newest first
    ended: tuple[SecretEntry, ...]  # earlier secrets whose expiry the rotation set


def plan_rotation(
    current: Sequence[SecretEntry], new: SecretEntry, now: int, grace_seconds: int
) -> RotationPlan:
    """Rotate to ``new``: the newest live secret works for ``grace_seconds`` more (0: not at
    all), every older one still in a grace period stops now (a second rotation ends the first
    one's grace at once), and no expiry ever moves later."""
    if not 0 <= grace_seconds <= MAX_GRACE_SECONDS:
        raise ValueError(f"grace_seconds must be 0 to {MAX_GRACE_SECONDS}")
    live: list[SecretEntry] = [new]
    ended: list[SecretEntry] = []
    first = True
    for entry in current:
        if not entry.live(now):
            continue
        ends = now + grace_seconds if first else now
        first = False
        if entry.expires_at is not None:
            ends = min(ends, entry.expires_at)
        changed = replace(entry, expires_at=ends)
        ended.append(changed)
        if changed.live(now):
            live.append(changed)
    return RotationPlan(tuple(live), tuple(ended))
