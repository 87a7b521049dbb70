"""docs/RETRIES.md's examples (examples/retries/: Python standard library, Node 20 fetch) run
against the session stack: each starts on a key whose rate limit is spent, so its first attempt
is a 429 that it must wait out (Retry-After) and retry; its create answers 201 once, the resend
with the same Idempotency-Key answers 200 Idempotent-Replayed with the same event, and the
tenant's inbox holds exactly one event from it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.e2e.conftest import ApiClient, NewClient

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "retries"
RATE_LIMIT = 10  # per minute: a token every 6 s, so the example starts well inside the wait

COMMANDS = {
    "python": [sys.executable, str(EXAMPLES / "retry_post.py")],
    "node": ["node", str(EXAMPLES / "retry_post.mjs")],
}


def spend_the_rate_limit(client: ApiClient) -> None:
    for _ in range(RATE_LIMIT + 5):
        if client.get("/v1/inbox", params={"limit": 1}).status_code == 429:
            return
    pytest.fail("the key's rate limit was never reached")


@pytest.mark.parametrize("language", sorted(COMMANDS))
def test_the_retry_example_waits_out_a_429_and_replays_safely(
    language: str, new_client: NewClient
) -> None:
    if language == "node" and shutil.which("node") is None:
        pytest.fail("node is not installed (bootstrap installs Node 20)")
    client = new_client(rate_limit_per_minute=RATE_LIMIT)
    source = f"examples.{language}.{uuid.uuid4().hex[:8]}"
    spend_the_rate_limit(client)
    result = subprocess.run(
        COMMANDS[language],
        env={
            **os.environ,
            "TRIGGERS_API_URL": client.base_url,
            "TRIGGERS_API_KEY": client.secret,
            "EXAMPLE_SOURCE": source,
        },
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["status"] == 201
    assert summary["attempts"][0] == 429, summary
    assert summary["attempts"][-1] == 201
    assert set(summary["attempts"][:-1]) == {429}
    assert summary["replay_status"] == 200
    assert summary["replayed"] is True
    assert summary["replay_event_id"] == summary["event_id"]
    retries = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert retries
    assert all(r["status"] == 429 and r["code"] == "rate_limited" for r in retries)
    assert all(1 <= r["retry_in"] <= 30 for r in retries)

    # Exactly one event exists, whatever the retries did.
    inbox = client.get("/v1/inbox", params={"source": source})
    while inbox.status_code == 429:
        time.sleep(int(inbox.headers["Retry-After"]))
        inbox = client.get("/v1/inbox", params={"source": source})
    assert inbox.status_code == 200
    assert [e["event_id"] for e in inbox.json()["events"]] == [summary["event_id"]]
