"""The operator scripts, run as a user runs them (subprocesses) against a private database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from chalicelib.api.models.inbox import parse_inbox_query
from chalicelib.domain.keys import hash_secret
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
