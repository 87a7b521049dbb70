"""API key authentication through the in-process TTL cache, with a fake key store."""

from __future__ import annotations

import hashlib

from chalicelib.domain.clock import FixedClock
from chalicelib.domain.keys import (
    SCOPE_ADMIN,
    hash_secret,
    looks_like_secret,
    new_key_id,
    new_secret,
)
from chalicelib.services.keys import NEGATIVE_CACHE_SECONDS, KeyService, TtlCache
from chalicelib.stores.api_keys import STATUS_REVOKED, KeyRecord
from tests.fakes import FakeKeyStore


def service(ttl: float = 10.0) -> tuple[KeyService, FakeKeyStore, FixedClock]:
    clock = FixedClock(1000.0)
    store = FakeKeyStore(clock.now)
    svc = KeyService(store, "local", ttl, clock.now, TtlCache(100, clock.now))
    return svc, store, clock


def test_secrets_look_right_and_only_their_hash_is_stored() -> None:
    svc, store, _ = service()
    record, secret = svc.create_key("laptop", "acme")
    assert secret.startswith("tk_local_")
    assert looks_like_secret(secret)
    assert record.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in repr(store.records)
    assert record.key_id.startswith("key_")
    assert record.tenant_id == "acme"


def test_cache_hit_costs_no_lookup() -> None:
    svc, store, _ = service()
    _, secret = svc.create_key("a", "acme")
    first = svc.authenticate(secret)
    second = svc.authenticate(secret)
    assert first is not None
    assert first == second
    assert first.tenant_id == "acme"
    assert store.lookups == 1


def test_revocation_is_seen_after_the_ttl() -> None:
    svc, store, clock = service(ttl=10.0)
    record, secret = svc.create_key("a", "acme")
    assert svc.authenticate(secret) is not None
    store.records[record.key_hash] = KeyRecord(**{**record.__dict__, "status": STATUS_REVOKED})
    clock.advance(9.9)
    assert svc.authenticate(secret) is not None  # still cached
    clock.advance(0.2)
    assert svc.authenticate(secret) is None


def test_unknown_keys_are_cached_briefly() -> None:
    svc, store, clock = service()
    secret = new_secret("local")
    assert svc.authenticate(secret) is None
    assert svc.authenticate(secret) is None
    assert store.lookups == 1
    clock.advance(NEGATIVE_CACHE_SECONDS + 0.1)
    assert svc.authenticate(secret) is None
    assert store.lookups == 2


def test_a_key_created_after_a_miss_works_within_the_negative_ttl() -> None:
    svc, store, clock = service()
    secret = new_secret("local")
    assert svc.authenticate(secret) is None
    store.put(KeyRecord(hash_secret(secret), new_key_id(), "acme", "late", "now"))
    clock.advance(NEGATIVE_CACHE_SECONDS + 0.1)
    assert svc.authenticate(secret) is not None


def test_malformed_secrets_never_reach_the_store() -> None:
    svc, store, _ = service()
    for bad in ["", "abc", "tk_local_short", "Bearer tk_local_" + "a" * 40, "tk__" + "a" * 40]:
        assert svc.authenticate(bad) is None
    assert store.lookups == 0


def test_zero_ttl_disables_the_cache() -> None:
    svc, store, _ = service(ttl=0.0)
    _, secret = svc.create_key("a", "acme")
    svc.authenticate(secret)
    svc.authenticate(secret)
    assert store.lookups == 2


def test_cache_evicts_least_recently_used() -> None:
    clock = FixedClock()
    cache = TtlCache(2, clock.now)
    cache.put("a", None, 10)
    cache.put("b", None, 10)
    assert cache.get("a") == (True, None)  # a is now most recent
    cache.put("c", None, 10)
    assert cache.get("b") == (False, None)
    assert cache.get("a")[0]
    assert cache.get("c")[0]
    cache.clear()
    assert cache.get("a") == (False, None)


def test_bad_tenant_or_name_is_refused() -> None:
    svc, _, _ = service()
    for tenant, name in [
        ("has space", "n"),
        ("", "n"),
        ("t" * 65, "n"),
        ("ok", ""),
        ("ok", "n" * 129),
    ]:
        try:
            svc.create_key(name, tenant)
        except ValueError:
            continue
        raise AssertionError(f"accepted tenant={tenant!r} name={name!r}")


def test_admin_scope() -> None:
    svc, _, _ = service()
    _record, secret = svc.create_key("a", "acme", admin=True)
    principal = svc.authenticate(secret)
    assert principal is not None
    assert SCOPE_ADMIN in principal.scopes
    _, plain = svc.create_key("b", "acme")
    plain_principal = svc.authenticate(plain)
    assert plain_principal is not None
    assert SCOPE_ADMIN not in plain_principal.scopes
