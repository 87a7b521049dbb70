"""Authenticating API keys (with an in-process cache) and creating them."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable

from chalicelib.domain.clock import format_ts
from chalicelib.domain.keys import (
    SCOPE_ADMIN,
    SCOPE_EVENTS,
    TENANT_PATTERN,
    Principal,
    hash_secret,
    looks_like_secret,
    new_key_id,
    new_secret,
)
from chalicelib.services.storage_errors import storage_unavailable_as_503
from chalicelib.stores.protocols import ApiKeyStorage, KeyRecord

NEGATIVE_CACHE_SECONDS = 2.0


class TtlCache:
    """A small thread-safe LRU with per-entry expiry (keys are secret digests, never secrets)."""

    def __init__(self, max_entries: int, now: Callable[[], float] = time.monotonic) -> None:
        self._data: OrderedDict[str, tuple[float, Principal | None]] = OrderedDict()
        self._max = max_entries
        self._now = now
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[bool, Principal | None]:
        with self._lock:
            entry = self._data.get(key)
            if entry is None:
                return False, None
            expires, value = entry
            if expires <= self._now():
                del self._data[key]
                return False, None
            self._data.move_to_end(key)
            return True, value

    def put(self, key: str, value: Principal | None, ttl: float) -> None:
        if ttl <= 0:
            return
        with self._lock:
            self._data[key] = (self._now() + ttl, value)
            self._data.move_to_end(key)
            while len(self._data) > self._max:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


class KeyService:
    def __init__(
        self,
        store: ApiKeyStorage,
        stage: str,
        cache_ttl_seconds: float,
        now: Callable[[], float] = time.time,
        cache: TtlCache | None = None,
    ) -> None:
        self._store = store
        self._stage = stage
        self._ttl = cache_ttl_seconds
        self._now = now
        self._cache = cache or TtlCache(10_000)

    def authenticate(self, secret: str) -> Principal | None:
        """The principal for a secret, or None. A revoked key stops working within the TTL.
        Storage trouble raises :class:`chalicelib.errors.ServiceUnavailable`."""
        if not looks_like_secret(secret):
            return None
        digest = hash_secret(secret)
        hit, principal = self._cache.get(digest)
        if hit:
            return principal
        with storage_unavailable_as_503():
            record = self._store.find_active(digest)
        principal = record.principal() if record else None
        self._cache.put(
            digest, principal, self._ttl if principal else min(self._ttl, NEGATIVE_CACHE_SECONDS)
        )
        return principal

    def create_key(
        self,
        name: str,
        tenant_id: str,
        admin: bool = False,
        rate_limit_per_minute: int | None = None,
        allowed_ips: Iterable[str] = (),
        signing_secret: str | None = None,
    ) -> tuple[KeyRecord, str]:
        """Create a key; return its record and the secret (shown once, stored only hashed)."""
        if not TENANT_PATTERN.match(tenant_id):
            raise ValueError("tenant must be 1-64 characters of letters, digits, _ and -")
        if not name or len(name) > 128:
            raise ValueError("name must be 1-128 characters")
        secret = new_secret(self._stage)
        scopes = {SCOPE_EVENTS} | ({SCOPE_ADMIN} if admin else set())
        record = KeyRecord(
            key_hash=hash_secret(secret),
            key_id=new_key_id(),
            tenant_id=tenant_id,
            name=name,
            created_at=format_ts(self._now()),
            scopes=frozenset(scopes),
            rate_limit_per_minute=rate_limit_per_minute,
            allowed_ips=tuple(allowed_ips),
            signing_secret=signing_secret,
        )
        with storage_unavailable_as_503():
            self._store.put(record)
        return record, secret
