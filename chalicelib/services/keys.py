"""API keys: authenticating them (with an in-process cache) and managing them (the admin API
and the operator scripts share these use cases).

Changes reach every process within the cache TTL (``KEY_CACHE_TTL_SECONDS``, 10 s): a process
that authenticated a secret keeps its answer that long. The process that made a change forgets
its cache at once.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from chalicelib import errors
from chalicelib.domain.clock import format_ts
from chalicelib.domain.keys import (
    DEFAULT_GRACE_SECONDS,
    LAST_USED_RESOLUTION_SECONDS,
    SCOPE_ADMIN,
    SCOPE_EVENTS,
    STATUS_ACTIVE,
    STATUS_REVOKED,
    TENANT_PATTERN,
    ApiKey,
    Principal,
    SecretEntry,
    hash_secret,
    key_id_prefix,
    looks_like_secret,
    new_key_id,
    new_secret,
    new_signing_secret,
    plan_rotation,
)
from chalicelib.observability.logging import logger
from chalicelib.services.storage_errors import storage_unavailable_as_503
from chalicelib.stores.errors import ConditionFailed
from chalicelib.stores.protocols import ApiKeyStorage, KeyPage, KeyRecord

NEGATIVE_CACHE_SECONDS = 2.0
SAVE_ATTEMPTS = 3  # a change that loses a race with another admin write re-reads and retries

Runner = Callable[[Callable[[], None]], None]  # runs a job later, off the request's path


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


@dataclass(frozen=True)
class KeySpec:
    """A key to create, already validated (api/models/api_keys.py parses the admin API's body
    and the seed script's flags into this)."""

    name: str
    tenant_id: str
    admin: bool = False
    rate_limit_per_minute: int | None = None
    allowed_ips: tuple[str, ...] = ()
    signing: bool = False
    expires_at: int | None = None

    def __post_init__(self) -> None:
        if not TENANT_PATTERN.match(self.tenant_id):
            raise ValueError("tenant must be 1-64 characters of letters, digits, _ and -")
        if not self.name or len(self.name) > 128:
            raise ValueError("name must be 1-128 characters")


@dataclass(frozen=True)
class KeyChanges:
    """A PATCH: only the fields in ``given`` change (``None`` there means: back to the default)."""

    name: str | None = None
    rate_limit_per_minute: int | None = None
    allowed_ips: tuple[str, ...] = ()
    given: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class IssuedSecret:
    """A key with a secret just made for it: the secrets are shown once, never stored."""

    key: ApiKey
    secret: str
    signing_secret: str | None


def _run_in_background() -> Runner:
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="key-last-used")

    def run(job: Callable[[], None]) -> None:
        pool.submit(job)

    return run


class KeyService:
    def __init__(
        self,
        store: ApiKeyStorage,
        stage: str,
        cache_ttl_seconds: float,
        now: Callable[[], float] = time.time,
        cache: TtlCache | None = None,
        run_later: Runner | None = None,
    ) -> None:
        self._store = store
        self._stage = stage
        self._ttl = cache_ttl_seconds
        self._now = now
        self._cache = cache or TtlCache(10_000)
        self._run_later = run_later or _run_in_background()
        self._last_touched: dict[str, float] = {}
        self._touch_lock = threading.Lock()

    # -- authentication --------------------------------------------------------------------
    def authenticate(self, secret: str) -> Principal | None:
        """The principal for a secret, or None. A revoked key stops working within the TTL.
        Storage trouble raises :class:`chalicelib.errors.ServiceUnavailable`."""
        if not looks_like_secret(secret):
            return None
        digest = hash_secret(secret)
        hit, principal = self._cache.get(digest)
        if not hit:
            with storage_unavailable_as_503():
                record = self._store.find_active(digest)
            principal = record.principal() if record else None
            ttl = self._ttl if principal else min(self._ttl, NEGATIVE_CACHE_SECONDS)
            if record is not None and record.expires_at is not None:
                # Never cached past the secret's end (a rotation's grace, the key's expiry).
                ttl = min(ttl, record.expires_at - self._now())
            self._cache.put(digest, principal, ttl)
        if principal is not None:
            self._note_use(principal.key_id)
        return principal

    def _note_use(self, key_id: str) -> None:
        """Record ``last_used_at`` at most once a minute per key and process, on a background
        thread (never on the request's path); the store's condition keeps it to about once a
        minute across processes too."""
        now = self._now()
        with self._touch_lock:
            if now - self._last_touched.get(key_id, float("-inf")) < LAST_USED_RESOLUTION_SECONDS:
                return
            self._last_touched[key_id] = now

        def touch() -> None:
            try:
                self._store.touch(
                    key_id, format_ts(now), format_ts(now - LAST_USED_RESOLUTION_SECONDS)
                )
            except Exception as exc:  # noqa: BLE001 - best effort: a lost write is re-tried later
                with self._touch_lock:
                    self._last_touched.pop(key_id, None)
                logger.warning(
                    "last_used_at not recorded",
                    extra={"target_key_id": key_id_prefix(key_id), "error": str(exc)},
                )

        self._run_later(touch)

    # -- management ------------------------------------------------------------------------
    def issue(self, spec: KeySpec, actor: str | None = None) -> IssuedSecret:
        """Create a key and its first secret (and signing secret when ``spec.signing``)."""
        now = self._now()
        stamp = format_ts(now)
        secret = new_secret(self._stage)
        signing_secret = new_signing_secret() if spec.signing else None
        entry = SecretEntry(hash_secret(secret), stamp)
        key = ApiKey(
            key_id=new_key_id(),
            tenant_id=spec.tenant_id,
            name=spec.name,
            created_at=stamp,
            updated_at=stamp,
            scopes=frozenset({SCOPE_EVENTS} | ({SCOPE_ADMIN} if spec.admin else set())),
            rate_limit_per_minute=spec.rate_limit_per_minute,
            allowed_ips=spec.allowed_ips,
            signing=spec.signing,
            created_by=actor,
            expires_at=spec.expires_at,
            secrets=(entry,),
        )
        with storage_unavailable_as_503():
            self._store.create(key, KeyRecord.of_secret(key, entry, signing_secret))
        self._audit("api_key.created", key, actor)
        return IssuedSecret(key, secret, signing_secret)

    def create_key(
        self,
        name: str,
        tenant_id: str,
        admin: bool = False,
        rate_limit_per_minute: int | None = None,
        allowed_ips: tuple[str, ...] = (),
        signing: bool = False,
    ) -> tuple[KeyRecord, str]:
        """:meth:`issue` for code that wants the secret's record (tests, benchmarks)."""
        spec = KeySpec(name, tenant_id, admin, rate_limit_per_minute, tuple(allowed_ips), signing)
        issued = self.issue(spec)
        entry = issued.key.secrets[0]
        return KeyRecord.of_secret(issued.key, entry, issued.signing_secret), issued.secret

    def get(self, tenant_id: str, key_id: str) -> ApiKey:
        with storage_unavailable_as_503():
            key = self._store.get_key(tenant_id, key_id)
        if key is None:
            raise errors.NotFound("No API key with that id.")
        return key

    def list(self, tenant_id: str, after: str | None, limit: int) -> KeyPage:
        with storage_unavailable_as_503():
            return self._store.list_keys(tenant_id, after, limit)

    def update(
        self, tenant_id: str, key_id: str, changes: KeyChanges, actor: str | None = None
    ) -> ApiKey:
        def change(key: ApiKey, now: float) -> tuple[ApiKey, tuple[SecretEntry, ...], None]:
            self._refuse_revoked(key, now)
            updated = replace(
                key,
                name=changes.name if "name" in changes.given and changes.name else key.name,
                rate_limit_per_minute=changes.rate_limit_per_minute
                if "rate_limit" in changes.given
                else key.rate_limit_per_minute,
                allowed_ips=changes.allowed_ips
                if "allowed_ips" in changes.given
                else key.allowed_ips,
            )
            live = self._working(key, now)
            return replace(updated, secrets=live), live, None

        key, _ = self._save(tenant_id, key_id, change)
        self._audit("api_key.updated", key, actor, changed=sorted(changes.given))
        return key

    def rotate(
        self,
        tenant_id: str,
        key_id: str,
        grace_seconds: int = DEFAULT_GRACE_SECONDS,
        actor: str | None = None,
    ) -> IssuedSecret:
        secret = new_secret(self._stage)
        issued: dict[str, str | None] = {}

        def change(key: ApiKey, now: float) -> tuple[ApiKey, tuple[SecretEntry, ...], KeyRecord]:
            self._refuse_revoked(key, now)
            entry = SecretEntry(hash_secret(secret), format_ts(now))
            plan = plan_rotation(self._working(key, now), entry, int(now), grace_seconds)
            rotated = replace(key, secrets=plan.live)
            issued["signing"] = new_signing_secret() if key.signing else None
            return rotated, plan.ended, KeyRecord.of_secret(rotated, entry, issued["signing"])

        key, ended = self._save(tenant_id, key_id, change)
        previous = ended[0].expires_at if ended else None
        self._audit(
            "api_key.rotated",
            key,
            actor,
            grace_period_seconds=grace_seconds,
            previous_secret_expires_at=format_ts(previous) if previous is not None else None,
        )
        return IssuedSecret(key, secret, issued.get("signing"))

    def revoke(self, tenant_id: str, key_id: str, actor: str | None = None) -> ApiKey:
        """Revoke the key and every secret of it; revoking a revoked key changes nothing."""
        key = self.get(tenant_id, key_id)
        if key.status == STATUS_REVOKED:
            return key

        def change(key: ApiKey, now: float) -> tuple[ApiKey, tuple[SecretEntry, ...], None]:
            ended = tuple(replace(e, expires_at=int(now)) for e in self._working(key, now))
            return (
                replace(key, status=STATUS_REVOKED, revoked_at=format_ts(now), secrets=ended),
                ended,
                None,
            )

        key, _ = self._save(tenant_id, key_id, change)
        self._audit("api_key.revoked", key, actor)
        return key

    # -- helpers ---------------------------------------------------------------------------
    def _save(
        self,
        tenant_id: str,
        key_id: str,
        change: Callable[[ApiKey, float], tuple[ApiKey, tuple[SecretEntry, ...], KeyRecord | None]],
    ) -> tuple[ApiKey, tuple[SecretEntry, ...]]:
        """Read, change and write the key, conditional on its version; re-read on a lost race."""
        for _ in range(SAVE_ATTEMPTS):
            key = self.get(tenant_id, key_id)
            now = self._now()
            changed, secrets, new_secret_record = change(key, now)
            changed = replace(changed, updated_at=format_ts(now), version=key.version + 1)
            with storage_unavailable_as_503():
                try:
                    self._store.save(changed, key.version, secrets, new_secret_record)
                except ConditionFailed:
                    continue  # another write got there first: read it and apply on top
            self._cache.clear()  # this process sees its own change at once
            return changed, secrets
        raise errors.Conflict("The key was changed by another request at the same time; retry.")

    @staticmethod
    def _refuse_revoked(key: ApiKey, now: float) -> None:
        if key.status != STATUS_ACTIVE:
            raise errors.Conflict("The key is revoked; create a new key instead.")
        if key.expires_at is not None and key.expires_at <= now:
            raise errors.Conflict("The key has expired; create a new key instead.")

    @staticmethod
    def _working(key: ApiKey, now: float) -> tuple[SecretEntry, ...]:
        """The secrets that still work (their items exist: the TTL sweep removes the others)."""
        return tuple(e for e in key.secrets if (ends := key.secret_expiry(e)) is None or ends > now)

    @staticmethod
    def _audit(action: str, key: ApiKey, actor: str | None, **fields: object) -> None:
        """One structured line per change (ids and settings, never a secret or its digest)."""
        logger.info(
            "api key audit",
            extra={
                "audit": action,
                "target_key_id": key.key_id,
                "target_tenant": key.tenant_id,
                "actor_key_id": actor,
                "key_status": key.status,
                "key_version": key.version,
                **{name: value for name, value in fields.items() if value is not None},
            },
        )
