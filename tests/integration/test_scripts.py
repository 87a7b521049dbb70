"""The operator scripts, run as a user runs them (subprocesses) against a private database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from chalicelib.api.models.inbox import parse_inbox_query
from chalicelib.domain.clock import format_ts, parse_ts
from chalicelib.domain.keys import hash_secret
from chalicelib.services.keys import IssuedSecret, KeySpec
from tests.conftest import TEST_ENV, Database

ROOT = Path(__file__).resolve().parents[2]


def run_script(ddb: Database, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **ddb.aws_environment(), **TEST_ENV}
    return subprocess.run(
        [sys.executable, *args],
        cwd=str(ROOT),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_create_tables_is_idempotent(ddb: Database) -> None:
    result = run_script(ddb, "scripts/create_tables.py", "--stage", "local")
    assert result.returncode == 0, result.stderr
    assert "0 table(s) created" in result.stdout


def test_seed_api_keys_prints_the_secret_once_and_stores_only_its_hash(ddb: Database) -> None:
    result = run_script(
        ddb,
        "scripts/seed_api_keys.py",
        "--name",
        "ops",
        "--tenant",
        "acme",
        "--rate-limit",
        "120",
        "--allowed-ips",
        "203.0.113.0/24,2001:db8::/32",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["tenant_id"] == "acme"
    assert out["secret"].startswith("tk_local_")
    stored = ddb.client.get_item(
        TableName=ddb.settings.api_keys_table, Key={"key_hash": {"S": hash_secret(out["secret"])}}
    )["Item"]
    assert out["secret"] not in json.dumps(stored)
    assert stored["rate_limit"] == {"N": "120"}
    principal = ddb.runtime().keys.authenticate(out["secret"])
    assert principal is not None
    assert principal.allowed_ips == ("203.0.113.0/24", "2001:db8::/32")
    assert out["signing_secret"] is None
    assert principal.signing_secrets == ()


def test_seed_api_keys_rejects_a_malformed_allowlist_entry_clearly(ddb: Database) -> None:
    result = run_script(
        ddb, "scripts/seed_api_keys.py", "--name", "bad", "--allowed-ips", "10.0.0.0/33"
    )
    assert result.returncode == 2
    assert "10.0.0.0/33" in result.stderr
    assert "Traceback" not in result.stderr


def test_preload_writes_pending_events_the_inbox_serves(ddb: Database) -> None:
    result = run_script(
        ddb, "scripts/preload_events.py", "--tenant", "bulk", "--count", "120", "--json"
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["count"] == 120
    inbox = ddb.runtime().inbox
    served, cursor = 0, None
    while True:
        params = {"limit": "100", **({"cursor": cursor} if cursor else {})}
        page = inbox.list_pending("bulk", parse_inbox_query(params))
        served += len(page["events"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert served == 120


# -- seed_api_keys.py: --signing, --expires-at, one validation path --------------------------
def one_json_document(stdout: str) -> Any:
    """stdout parsed as exactly one JSON document on one line (nothing before or after it)."""
    assert stdout.endswith("\n"), stdout
    assert stdout.count("\n") == 1, stdout
    return json.loads(stdout)


def audit_lines(stderr: str, action: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("audit") == action]


def test_seed_api_keys_signing_key_gets_a_signing_secret_and_an_expiry(ddb: Database) -> None:
    expires = format_ts(int(time.time()) + 30 * 86400)  # key expiries are whole seconds
    result = run_script(
        ddb,
        "scripts/seed_api_keys.py",
        "--name",
        "partner",
        "--tenant",
        "acme",
        "--signing",
        "--expires-at",
        expires,
        "--json",
    )
    assert result.returncode == 0, result.stderr
    out = one_json_document(result.stdout)
    assert set(out) == {"key_id", "tenant_id", "secret", "signing_secret"}
    assert out["signing_secret"].startswith("tsig_")
    keys = ddb.runtime().keys
    principal = keys.authenticate(out["secret"])
    assert principal is not None
    assert principal.signing_secrets == (out["signing_secret"],)
    key = keys.get("acme", out["key_id"])
    assert key.signing
    assert key.expires_at is not None
    assert format_ts(key.expires_at) == expires
    assert key.created_by is None
    # The audit line reached the operator, on stderr.
    [audit] = audit_lines(result.stderr, "api_key.created")
    assert audit["target_key_id"] == out["key_id"]
    assert out["secret"] not in result.stderr
    assert out["signing_secret"] not in result.stderr


def test_seed_api_keys_text_output_shows_the_signing_secret_once(ddb: Database) -> None:
    result = run_script(ddb, "scripts/seed_api_keys.py", "--name", "text", "--signing")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("tsig_") == 1
    assert "signing secret are shown once" in result.stdout
    assert "{" not in result.stdout  # no log line mixed into the answer
    assert audit_lines(result.stderr, "api_key.created")


@pytest.mark.parametrize(
    ("allowed_ips", "field"),
    [("10.0.0.0/33", "allowed_ips[0]"), ("10.0.0.0/8,10.1.2.3/8", "allowed_ips[1]")],
)
def test_seed_api_keys_names_the_malformed_allowlist_entry(
    ddb: Database, allowed_ips: str, field: str
) -> None:
    result = run_script(
        ddb,
        "scripts/seed_api_keys.py",
        "--name",
        "bad",
        "--tenant",
        "acme",
        "--allowed-ips",
        allowed_ips,
        "--json",
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"error: {field} allowlist entry ")
    assert ddb.runtime().keys.list("acme", None, 10).keys == []


def test_seed_api_keys_refuses_a_past_expiry_and_a_bad_rate_limit(ddb: Database) -> None:
    result = run_script(
        ddb,
        "scripts/seed_api_keys.py",
        "--name",
        "late",
        "--expires-at",
        "2020-01-01T00:00:00Z",
        "--rate-limit",
        "0",
    )
    assert result.returncode == 2
    assert "error: rate_limit must be a whole number from 1 to 1000000" in result.stderr
    result = run_script(
        ddb, "scripts/seed_api_keys.py", "--name", "late", "--expires-at", "2020-01-01T00:00:00Z"
    )
    assert result.returncode == 2
    assert result.stderr == "error: expires_at must be in the future, within 10 years\n"
    result = run_script(ddb, "scripts/seed_api_keys.py", "--name", "x", "--tenant", "no/slash")
    assert result.returncode == 2
    assert "is not a tenant id" in result.stderr
    assert ddb.runtime().keys.list("default", None, 10).keys == []


# -- rotate_api_keys.py -------------------------------------------------------------------------
@dataclass
class Seeded:
    issued: IssuedSecret

    @property
    def key_id(self) -> str:
        return self.issued.key.key_id


def seed(ddb: Database, tenant: str, name: str, signing: bool = False, at: float = 0) -> Seeded:
    runtime = ddb.runtime(now=(lambda: at)) if at else ddb.runtime()
    return Seeded(runtime.keys.issue(KeySpec(name, tenant, signing=signing)))


def test_rotate_api_keys_dry_run_changes_nothing(ddb: Database) -> None:
    plain = seed(ddb, "acme", "plain")
    signing = seed(ddb, "acme", "signer", signing=True)
    result = run_script(
        ddb, "scripts/rotate_api_keys.py", "--tenant", "acme", "--dry-run", "--json"
    )
    assert result.returncode == 0, result.stderr
    planned = one_json_document(result.stdout)
    assert sorted(item["key_id"] for item in planned) == sorted([plain.key_id, signing.key_id])
    assert all("secret" not in item for item in planned)
    assert audit_lines(result.stderr, "api_key.rotated") == []
    keys = ddb.runtime().keys
    for seeded in (plain, signing):
        assert keys.get("acme", seeded.key_id) == seeded.issued.key
        assert keys.authenticate(seeded.issued.secret) is not None
    text = run_script(ddb, "scripts/rotate_api_keys.py", "--tenant", "acme", "--dry-run")
    assert text.returncode == 0, text.stderr
    assert text.stdout.count("would rotate ") == 2
    assert "2 of 2 key(s) of acme would rotate" in text.stdout


def test_rotate_api_keys_rotates_every_active_key_of_the_tenant(ddb: Database) -> None:
    plain = seed(ddb, "acme", "plain")
    signing = seed(ddb, "acme", "signer", signing=True)
    revoked = seed(ddb, "acme", "gone")
    ddb.runtime().keys.revoke("acme", revoked.key_id)
    other = seed(ddb, "globex", "neighbour")
    revoked_before = ddb.runtime().keys.get("acme", revoked.key_id)

    result = run_script(
        ddb,
        "scripts/rotate_api_keys.py",
        "--tenant",
        "acme",
        "--older-than-days",
        "0",
        "--grace-period",
        "0",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    rotated = {item["key_id"]: item for item in one_json_document(result.stdout)}
    assert set(rotated) == {plain.key_id, signing.key_id}
    assert all(
        set(item) == {"key_id", "name", "secret", "signing_secret", "previous_secret_expires_at"}
        for item in rotated.values()
    )
    assert rotated[plain.key_id]["signing_secret"] is None
    assert rotated[signing.key_id]["signing_secret"].startswith("tsig_")
    assert {a["target_key_id"] for a in audit_lines(result.stderr, "api_key.rotated")} == set(
        rotated
    )

    keys = ddb.runtime().keys  # a fresh cache
    for seeded in (plain, signing):
        assert keys.authenticate(seeded.issued.secret) is None  # grace 0: the old one stopped
        principal = keys.authenticate(rotated[seeded.key_id]["secret"])
        assert principal is not None
        assert principal.key_id == seeded.key_id
        previous = rotated[seeded.key_id]["previous_secret_expires_at"]
        assert previous is not None
        assert parse_ts(previous) <= time.time()
    signed = keys.authenticate(rotated[signing.key_id]["secret"])
    assert signed is not None
    assert signed.signing_secrets == (rotated[signing.key_id]["signing_secret"],)
    # Another tenant's key and a revoked key are untouched.
    assert keys.get("globex", other.key_id) == other.issued.key
    assert keys.authenticate(other.issued.secret) is not None
    assert keys.get("acme", revoked.key_id) == revoked_before


def test_rotate_api_keys_older_than_days_and_grace_period(ddb: Database) -> None:
    old = seed(ddb, "acme", "old", at=time.time() - 10 * 86400)
    new = seed(ddb, "acme", "new")
    result = run_script(
        ddb,
        "scripts/rotate_api_keys.py",
        "--tenant",
        "acme",
        "--older-than-days",
        "5",
        "--grace-period",
        "3600",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("secret: tk_local_") == 1
    assert old.key_id in result.stdout
    assert new.key_id not in result.stdout
    assert "rotated 1 of 2 key(s) of acme" in result.stdout
    keys = ddb.runtime().keys
    assert keys.get("acme", new.key_id) == new.issued.key
    rotated = keys.get("acme", old.key_id)
    assert len(rotated.secrets) == 2
    previous = rotated.secrets[1].expires_at
    assert previous is not None
    assert 3590 < previous - time.time() <= 3600
    assert keys.authenticate(old.issued.secret) is not None  # still in its grace period
    assert f"previous secret works until {format_ts(previous)}" in result.stdout


def test_rotate_api_keys_goes_on_past_a_key_that_fails(ddb: Database) -> None:
    broken = seed(ddb, "acme", "broken")
    fine = seed(ddb, "acme", "fine")
    # The broken key's secret item is gone: its rotation cannot update it, so it fails.
    ddb.client.delete_item(
        TableName=ddb.settings.api_keys_table,
        Key={"key_hash": {"S": hash_secret(broken.issued.secret)}},
    )
    result = run_script(
        ddb, "scripts/rotate_api_keys.py", "--tenant", "acme", "--grace-period", "0", "--json"
    )
    assert result.returncode == 1
    [item] = one_json_document(result.stdout)
    assert item["key_id"] == fine.key_id
    assert f"error: {broken.key_id}: " in result.stderr
    keys = ddb.runtime().keys
    assert keys.authenticate(item["secret"]) is not None
    assert keys.get("acme", broken.key_id) == broken.issued.key


def test_rotate_api_keys_validates_the_grace_period(ddb: Database) -> None:
    seeded = seed(ddb, "acme", "plain")
    result = run_script(
        ddb, "scripts/rotate_api_keys.py", "--tenant", "acme", "--grace-period", "604801"
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("error: grace_period_seconds must be a whole number")
    assert ddb.runtime().keys.get("acme", seeded.key_id) == seeded.issued.key
