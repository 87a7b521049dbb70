"""Key management on the fake store: create, rotate with a grace period, revoke, update,
last_used_at, the audit lines; and the rotation rules as properties (Hypothesis)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib import errors
from chalicelib.domain.clock import FixedClock
from chalicelib.domain.keys import (
    MAX_GRACE_SECONDS,
    SecretEntry,
    plan_rotation,
)
from chalicelib.services.keys import KeyChanges, KeyService, KeySpec, TtlCache
from tests.fakes import FakeKeyStore

TENANT = "acme"


class Jobs:
    """Runs background jobs when told to (the service's last_used_at writes)."""

    def __init__(self) -> None:
        self.pending: list[Callable[[], None]] = []

    def __call__(self, job: Callable[[], None]) -> None:
        self.pending.append(job)

    def run(self) -> int:
        ran = len(self.pending)
        for job in self.pending:
            job()
        self.pending.clear()
        return ran


def service(ttl: float = 0.0) -> tuple[KeyService, FakeKeyStore, FixedClock, Jobs]:
    """A service whose cache is off by default, so each call sees the store."""
    clock = FixedClock(1_764_460_800.0)
    store = FakeKeyStore(clock.now)
    jobs = Jobs()
    svc = KeyService(store, "local", ttl, clock.now, TtlCache(100, clock.now), jobs)
    return svc, store, clock, jobs


def test_issue_makes_a_key_whose_secret_authenticates_with_its_settings() -> None:
    svc, store, _, _ = service()
    issued = svc.issue(
        KeySpec("ci", TENANT, admin=True, rate_limit_per_minute=60, signing=True), "key_admin"
    )
    principal = svc.authenticate(issued.secret)
    assert principal is not None
    assert principal.key_id == issued.key.key_id
    assert principal.rate_limit_per_minute == 60
    assert issued.signing_secret is not None
    assert issued.signing_secret.startswith("tsig_")
    assert principal.signing_secrets == (issued.signing_secret,)
    assert issued.key.created_by == "key_admin"
    assert issued.key.admin
    assert issued.secret not in repr(store.keys) + repr(store.records.keys())


def test_a_rotation_keeps_the_old_secret_for_the_grace_period_only() -> None:
    svc, _, clock, _ = service()
    first = svc.issue(KeySpec("ci", TENANT, signing=True))
    second = svc.rotate(TENANT, first.key.key_id, 3600)
    assert second.secret != first.secret
    assert second.signing_secret not in (None, first.signing_secret)
    assert svc.authenticate(first.secret) is not None
    assert svc.authenticate(second.secret) is not None
    assert [e.expires_at for e in second.key.secrets] == [None, int(clock.now()) + 3600]
    clock.advance(3599)
    assert svc.authenticate(first.secret) is not None
    clock.advance(1)
    assert svc.authenticate(first.secret) is None
    assert svc.authenticate(second.secret) is not None


def test_rotating_during_a_grace_period_ends_the_older_grace_at_once() -> None:
    svc, _, clock, _ = service()
    first = svc.issue(KeySpec("ci", TENANT))
    second = svc.rotate(TENANT, first.key.key_id, 3600)
    clock.advance(10)
    third = svc.rotate(TENANT, first.key.key_id, 600)
    assert svc.authenticate(first.secret) is None
    assert svc.authenticate(second.secret) is not None
    assert svc.authenticate(third.secret) is not None
    assert [e.expires_at for e in third.key.secrets] == [None, int(clock.now()) + 600]


def test_a_rotation_with_no_grace_ends_the_old_secret_now() -> None:
    svc, _, _, _ = service()
    first = svc.issue(KeySpec("ci", TENANT))
    second = svc.rotate(TENANT, first.key.key_id, 0)
    assert svc.authenticate(first.secret) is None
    assert svc.authenticate(second.secret) is not None
    assert len(second.key.secrets) == 1


def test_revoke_ends_every_secret_is_idempotent_and_freezes_the_key() -> None:
    svc, _, _, _ = service()
    first = svc.issue(KeySpec("ci", TENANT))
    second = svc.rotate(TENANT, first.key.key_id, 3600)
    revoked = svc.revoke(TENANT, first.key.key_id, "key_admin")
    assert revoked.status == "revoked"
    assert revoked.revoked_at is not None
    assert svc.authenticate(first.secret) is None
    assert svc.authenticate(second.secret) is None
    assert svc.revoke(TENANT, first.key.key_id) == revoked
    with pytest.raises(errors.Conflict):
        svc.rotate(TENANT, first.key.key_id, 0)
    with pytest.raises(errors.Conflict):
        svc.update(TENANT, first.key.key_id, KeyChanges(name="x", given=frozenset({"name"})))


def test_another_tenant_never_sees_or_changes_a_key() -> None:
    svc, _, _, _ = service()
    issued = svc.issue(KeySpec("ci", TENANT))
    for call in (
        lambda: svc.get("other", issued.key.key_id),
        lambda: svc.rotate("other", issued.key.key_id, 0),
        lambda: svc.revoke("other", issued.key.key_id),
    ):
        with pytest.raises(errors.NotFound):
            call()
    assert svc.authenticate(issued.secret) is not None


def test_an_update_changes_only_the_given_fields_on_every_live_secret() -> None:
    svc, _, _, _ = service()
    first = svc.issue(KeySpec("ci", TENANT, rate_limit_per_minute=60, allowed_ips=("10.0.0.0/8",)))
    second = svc.rotate(TENANT, first.key.key_id, 3600)
    changed = svc.update(
        TENANT,
        first.key.key_id,
        KeyChanges(
            name="renamed", rate_limit_per_minute=None, given=frozenset({"name", "rate_limit"})
        ),
    )
    assert (changed.name, changed.rate_limit_per_minute, changed.allowed_ips) == (
        "renamed",
        None,
        ("10.0.0.0/8",),
    )
    for secret in (first.secret, second.secret):
        principal = svc.authenticate(secret)
        assert principal is not None
        assert (principal.name, principal.rate_limit_per_minute) == ("renamed", None)
        assert principal.allowed_ips == ("10.0.0.0/8",)


def test_listing_pages_through_the_tenants_keys() -> None:
    svc, _, _, _ = service()
    made = sorted(svc.issue(KeySpec(f"k{n}", TENANT)).key.key_id for n in range(5))
    svc.issue(KeySpec("elsewhere", "other"))
    page = svc.list(TENANT, None, 3)
    assert [k.key_id for k in page.keys] == made[:3]
    rest = svc.list(TENANT, page.next_after, 3)
    assert [k.key_id for k in rest.keys] == made[3:]
    assert rest.next_after is None


def test_a_change_that_loses_a_race_reads_again_and_applies_on_top() -> None:
    svc, store, _, _ = service()
    issued = svc.issue(KeySpec("ci", TENANT))
    real_save = store.save
    raced: list[bool] = []

    def save_after_a_concurrent_rename(key, expected_version, secrets, new_secret=None):  # type: ignore[no-untyped-def]
        if not raced:
            raced.append(True)
            other = svc.update(
                TENANT, key.key_id, KeyChanges(name="other", given=frozenset({"name"}))
            )
            assert other.version == expected_version + 1
        return real_save(key, expected_version, secrets, new_secret)

    store.save = save_after_a_concurrent_rename  # type: ignore[method-assign]
    rotated = svc.rotate(TENANT, issued.key.key_id, 60)
    assert rotated.key.name == "other"
    assert rotated.key.version == 3  # created 1, the concurrent rename 2, the rotation 3


def test_last_used_is_written_off_the_request_path_at_most_once_a_minute() -> None:
    svc, store, clock, jobs = service(ttl=10.0)
    issued = svc.issue(KeySpec("ci", TENANT))
    for _ in range(5):
        assert svc.authenticate(issued.secret) is not None
    assert store.keys[issued.key.key_id].last_used_at is None  # nothing written inline
    assert jobs.run() == 1
    first = store.keys[issued.key.key_id].last_used_at
    assert first is not None
    clock.advance(59)
    svc.authenticate(issued.secret)
    assert jobs.run() == 0
    clock.advance(1)
    svc.authenticate(issued.secret)
    assert jobs.run() == 1
    assert store.keys[issued.key.key_id].last_used_at > first  # type: ignore[operator]


def test_every_change_is_one_audit_line_without_a_secret(caplog: pytest.LogCaptureFixture) -> None:
    svc, _, _, _ = service()
    caplog.set_level(logging.INFO)
    issued = svc.issue(KeySpec("ci", TENANT, signing=True), "key_admin")
    rotated = svc.rotate(TENANT, issued.key.key_id, 60, "key_admin")
    svc.revoke(TENANT, issued.key.key_id, "key_admin")
    audits = [r for r in caplog.records if getattr(r, "audit", None)]
    assert [r.audit for r in audits] == ["api_key.created", "api_key.rotated", "api_key.revoked"]  # type: ignore[attr-defined]
    assert all(r.actor_key_id == "key_admin" for r in audits)  # type: ignore[attr-defined]
    text = " ".join(str(r.__dict__) for r in audits)
    for secret in (issued.secret, rotated.secret, issued.signing_secret, rotated.signing_secret):
        assert secret is not None
        assert secret not in text
    assert all(e.key_hash not in text for e in rotated.key.secrets)


@given(
    ttl=st.floats(min_value=0.5, max_value=10.0),
    grace=st.integers(min_value=1, max_value=120),
    seen_before_end=st.floats(min_value=0.0, max_value=1.0),
)
def test_a_cached_secret_stops_exactly_when_its_grace_ends(
    ttl: float, grace: int, seen_before_end: float
) -> None:
    """Whatever the cache TTL, a secret is refused from the end of its grace period on (it is
    never cached past its own expiry)."""
    svc, _, clock, _ = service(ttl=ttl)
    first = svc.issue(KeySpec("ci", TENANT))
    svc.rotate(TENANT, first.key.key_id, grace)
    ends = clock.now() + grace
    clock.current = ends - seen_before_end * min(grace, ttl)
    if clock.current < ends:
        assert svc.authenticate(first.secret) is not None  # cached now, close to the end
    clock.current = ends
    assert svc.authenticate(first.secret) is None


def test_an_expired_key_cannot_be_changed_or_rotated_but_can_be_revoked() -> None:
    svc, _, clock, _ = service(ttl=10.0)
    issued = svc.issue(KeySpec("ci", TENANT, expires_at=int(clock.now()) + 60))
    assert svc.authenticate(issued.secret) is not None
    clock.advance(60)
    assert svc.authenticate(issued.secret) is None
    with pytest.raises(errors.Conflict, match="expired"):
        svc.rotate(TENANT, issued.key.key_id, 0)
    with pytest.raises(errors.Conflict, match="expired"):
        svc.update(TENANT, issued.key.key_id, KeyChanges(name="x", given=frozenset({"name"})))
    assert svc.revoke(TENANT, issued.key.key_id).status == "revoked"


# -- the rotation rules ------------------------------------------------------------------------
NOW = 1_764_460_800
expiries = st.one_of(st.none(), st.integers(min_value=NOW - 10_000, max_value=NOW + 10_000))


@given(
    current=st.lists(expiries, max_size=5),
    grace=st.integers(min_value=0, max_value=MAX_GRACE_SECONDS),
)
def test_rotation_rules(current: list[int | None], grace: int) -> None:
    entries = [SecretEntry(f"{n:064x}", "t", e) for n, e in enumerate(current)]
    new = SecretEntry("f" * 64, "t")
    plan = plan_rotation(entries, new, NOW, grace)
    assert plan.live[0] == new
    before = {e.key_hash: e.expires_at for e in entries}
    for entry in plan.ended:  # no expiry ever moves later, and every one is now bounded
        assert entry.expires_at is not None
        assert entry.expires_at <= NOW + grace
        old = before[entry.key_hash]
        assert old is None or entry.expires_at <= old
    # At most one earlier secret survives: the newest live one, for at most the grace period.
    survivors = plan.live[1:]
    assert len(survivors) <= (1 if grace > 0 else 0)
    first_live = next((e for e in entries if e.live(NOW)), None)
    if survivors:
        assert first_live is not None
        assert survivors[0].key_hash == first_live.key_hash
    assert all(e.live(NOW) for e in plan.live)


def test_a_grace_period_outside_zero_to_seven_days_is_refused() -> None:
    with pytest.raises(ValueError, match="grace_seconds"):
        plan_rotation([], SecretEntry("f" * 64, "t"), NOW, MAX_GRACE_SECONDS + 1)
    with pytest.raises(ValueError, match="grace_seconds"):
        plan_rotation([], SecretEntry("f" * 64, "t"), NOW, -1)
