"""The dashboard in a real browser: Debian's chromium driven by playwright-core (npm, in
dashboard/package.json) from ``dashboard/tests/browser.test.mjs`` (``node --test``).

This module starts its own local stack with every worker of `make run` (the analytics figures
need the stream worker, which the session's e2e stack leaves out) on a fresh database, makes an
admin key and a plain key for a fresh tenant, posts a known set of events, acknowledges some,
waits until the analytics summary shows them, starts a webhook receiver on 127.0.0.1 (the local
stage allows loopback targets) and runs the browser script against it. The script checks the
page against the API itself (see its header); this test then checks that the receiver got the
test delivery the script sent from the page.

Screenshots go to a temporary directory, or to ``DASHBOARD_SCREENSHOTS`` when set (``docs/img``
to refresh the pictures in the docs). Nothing is skipped: without chromium or the dashboard's npm
packages the test fails and says what to install (``make bootstrap`` installs both).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from devstack.dynamodb_local import DynamoDBLocal
from devstack.stack import WORKERS, LocalStack
from devstack.webhook_receiver import WebhookReceiver

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "dashboard"
SCRIPT = DASHBOARD / "tests" / "browser.test.mjs"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")

# (source, event_type, how many, how many of them are acknowledged)
EVENTS = [
    ("billing", "invoice.paid", 3, 1),
    ("billing", "invoice.failed", 1, 0),
    ("crm", "lead.created", 2, 1),
    ("shop", "order.placed", 1, 0),
]


def require_tools() -> str:
    """The node binary; fails (never skips) naming what bootstrap should have installed."""
    node = shutil.which("node")
    missing = []
    if node is None:
        missing.append("node (Debian package nodejs)")
    if not Path(CHROMIUM).exists():
        missing.append(f"chromium at {CHROMIUM} (Debian package chromium; or set CHROMIUM)")
    if not (DASHBOARD / "node_modules" / "playwright-core").is_dir():
        missing.append("dashboard/node_modules/playwright-core (npm ci in dashboard/)")
    if not (ROOT / "chalicelib" / "dashboard_static" / "manifest.json").is_file():
        missing.append("the dashboard build in chalicelib/dashboard_static/ (dashboard/build.mjs)")
    if missing:
        pytest.fail("the browser test needs " + "; ".join(missing) + ": run `make bootstrap`")
    assert node is not None
    return node


@pytest.fixture(scope="module")
def full_stack(
    dynamodb_local: DynamoDBLocal, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalStack]:
    log_dir = tmp_path_factory.mktemp("dashboard-stack")
    with LocalStack(
        log_dir, workers=WORKERS, engine=dynamodb_local, access_key="d" + uuid.uuid4().hex[:16]
    ) as local:
        yield local


def post_events(base_url: str, secret: str) -> None:
    session = requests.Session()
    session.headers["X-API-Key"] = secret
    for source, event_type, count, acked in EVENTS:
        for index in range(count):
            resp = session.post(
                base_url + "/v1/events",
                json={"source": source, "event_type": event_type, "payload": {"n": index}},
                timeout=30,
            )
            assert resp.status_code == 201, resp.text
            if index < acked:
                event_id = resp.json()["event_id"]
                ack = session.post(f"{base_url}/v1/events/{event_id}/ack", timeout=30)
                assert ack.status_code == 200, ack.text


def wait_for_analytics(base_url: str, secret: str, timeout: float = 60.0) -> dict[str, object]:
    want = {"ingested": sum(e[2] for e in EVENTS), "acknowledged": sum(e[3] for e in EVENTS)}
    deadline = time.monotonic() + timeout
    while True:
        resp = requests.get(
            base_url + "/v1/analytics/summary", headers={"X-API-Key": secret}, timeout=30
        )
        assert resp.status_code == 200, resp.text
        totals = resp.json()["totals"]
        if {k: totals[k] for k in want} == want:
            return dict(resp.json())
        if time.monotonic() > deadline:
            raise AssertionError(f"analytics did not reach {want}: {totals}")
        time.sleep(0.2)


def test_the_dashboard_in_chromium(full_stack: LocalStack, tmp_path: Path) -> None:
    node = require_tools()
    runtime = full_stack.runtime()
    tenant = "ten_dash_" + uuid.uuid4().hex[:8]
    _, admin_secret = runtime.keys.create_key("dashboard-admin", tenant, admin=True)
    _, plain_secret = runtime.keys.create_key("dashboard-plain", tenant)
    base_url = full_stack.api_url
    post_events(base_url, admin_secret)
    wait_for_analytics(base_url, admin_secret)

    screenshots = Path(
        os.environ.get("DASHBOARD_SCREENSHOTS") or tmp_path / "screenshots"
    ).resolve()
    screenshots.mkdir(parents=True, exist_ok=True)
    result_path = tmp_path / "result.json"
    by_source: dict[str, int] = {}
    for source, _, count, _ in EVENTS:
        by_source[source] = by_source.get(source, 0) + count
    with WebhookReceiver() as receiver:
        env = {
            **os.environ,
            "DASHBOARD_BASE_URL": base_url,
            "DASHBOARD_ADMIN_KEY": admin_secret,
            "DASHBOARD_PLAIN_KEY": plain_secret,
            "DASHBOARD_RECEIVER_URL": receiver.url("/dashboard-hooks"),
            "DASHBOARD_SCREENSHOTS": str(screenshots),
            "DASHBOARD_DOWNLOADS": str(tmp_path / "downloads"),
            "DASHBOARD_RESULT": str(result_path),
            "DASHBOARD_EXPECTED": json.dumps({"by_source": by_source}),
            "CHROMIUM": CHROMIUM,
        }
        try:
            run = subprocess.run(
                [node, "--test", "--test-reporter=spec", str(SCRIPT)],
                cwd=DASHBOARD,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
        except subprocess.TimeoutExpired as exc:
            raise AssertionError(
                f"the browser test ran over 300 s:\n{exc.stdout!r}\n{exc.stderr!r}"
            ) from None
        output = f"{run.stdout}\n{run.stderr}"
        assert run.returncode == 0, output
        result = json.loads(result_path.read_text())
        # The page's "Send test" reached the receiver, signed, as a webhook.test delivery.
        arrived = receiver.wait_for(1, timeout=30, path="/dashboard-hooks")
        assert [(r.webhook_id, r.type) for r in arrived] == [
            (result["test_delivery_id"], "webhook.test")
        ]
    for name in ("dashboard-overview.png", "dashboard-webhooks.png"):
        assert (screenshots / name).stat().st_size > 10_000, name
