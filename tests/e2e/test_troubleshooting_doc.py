"""docs/TROUBLESHOOTING.md's shell snippets, held to their markers (the HTML comment before each
```bash block): ``local`` ones run from the repository root and must exit 0; ``stack`` ones run
against the session stack with ``TRIGGERS_API_URL``, an admin ``TRIGGERS_API_KEY`` and a webhook's
``WEBHOOK_ID`` and must exit 0; ``manual`` ones (long-running) must name make targets, modules and
files that exist; ``aws`` ones must name AWS CLI operations botocore knows. A bash block without a
marker fails the test."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from importlib.util import find_spec
from pathlib import Path

import botocore.session
import pytest
from botocore import xform_name

from tests.e2e.conftest import NewClient, Stack

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "TROUBLESHOOTING.md"
MARKERS = ("local", "stack", "manual", "aws")
BLOCK = re.compile(r"(?:<!-- check: (\w+) -->\n)?```bash\n(.*?)```", re.DOTALL)


def snippets() -> list[tuple[str, str]]:
    found = [(marker or "", body) for marker, body in BLOCK.findall(DOC.read_text())]
    assert found, "no bash blocks found"
    return found


def by_marker(marker: str) -> list[str]:
    return [body for kind, body in snippets() if kind == marker]


def test_every_bash_block_is_marked() -> None:
    kinds = [kind for kind, _ in snippets()]
    assert all(kind in MARKERS for kind in kinds), kinds
    assert {"local", "stack", "aws", "manual"} <= set(kinds)


def run(snippet: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", snippet],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.mark.parametrize("snippet", by_marker("local"))
def test_local_snippets_run(snippet: str) -> None:
    result = run(snippet, dict(os.environ))
    assert result.returncode == 0, f"{snippet}\n{result.stdout}\n{result.stderr}"


@pytest.mark.parametrize("snippet", by_marker("stack"))
def test_stack_snippets_run(snippet: str, stack: Stack, new_client: NewClient) -> None:
    admin = new_client(admin=True)
    created = admin.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hooks"})
    assert created.status_code == 201, created.text
    env = {
        **os.environ,
        "TRIGGERS_API_URL": stack.base_url,
        "TRIGGERS_API_KEY": admin.secret,
        "WEBHOOK_ID": created.json()["webhook_id"],
    }
    result = run(snippet, env)
    assert result.returncode == 0, f"{snippet}\n{result.stdout}\n{result.stderr}"
    assert '"internal_error"' not in result.stdout
    assert '"not_found"' not in result.stdout  # the routes and ids it names exist


def commands(snippet: str) -> list[list[str]]:
    joined = snippet.replace("\\\n", " ")
    return [shlex.split(line, comments=True) for line in joined.splitlines() if line.strip()]


def make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([a-z][a-z0-9-]*):", text, re.MULTILINE))


@pytest.mark.parametrize("snippet", by_marker("manual"))
def test_manual_snippets_name_what_exists(snippet: str) -> None:
    targets = make_targets()
    for words in commands(snippet):
        args = [w for w in words if not re.match(r"^[A-Z_]+=", w)]
        if args and args[0] == "make":
            assert set(args[1:]) <= targets, words
        if "-m" in args:
            module = args[args.index("-m") + 1]
            assert find_spec(module) is not None, module
        for word in args:
            if re.match(r"^(\.venv/bin|scripts|perf|devstack|examples)/", word):
                assert (ROOT / word).exists(), word


def aws_operations(snippet: str) -> list[tuple[str, str]]:
    return re.findall(r"\baws\s+([a-z0-9-]+)\s+([a-z0-9-]+)", snippet)


@pytest.mark.parametrize("snippet", by_marker("aws"))
def test_aws_snippets_name_real_operations(snippet: str) -> None:
    session = botocore.session.get_session()
    operations = aws_operations(snippet)
    assert operations
    for service, operation in operations:
        model = session.get_service_model(service)
        names = {xform_name(name, "-") for name in model.operation_names}
        assert operation in names, f"aws {service} {operation}"
    assert subprocess.run(["bash", "-n", "-c", snippet], check=False).returncode == 0
