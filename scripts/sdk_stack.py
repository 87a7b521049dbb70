#!/usr/bin/env python3
"""`make test-sdks`: every SDK's test suite (unit and live) against one local stack.

Starts the stack `make run` starts (devstack.stack.LocalStack: DynamoDB Local, the tables,
moto's SQS, the API under chalice local, every worker) on free loopback ports under
``build/sdk-stack/``, then runs each SDK's suite with these variables:

    TRIGGERS_API_URL    the API, http://127.0.0.1:<port>
    TRIGGERS_ADMIN_KEY  an admin-scoped key of a fresh tenant of its own, one per suite; the
                        suite makes the other keys it needs through the API (POST /v1/api-keys)
    TRIGGERS_TENANT_ID  that tenant
    TRIGGERS_SDK_LIVE   "1": the live tests must run (a suite's live tests skip without the
                        variables when run by hand, and fail if this is set and one is missing)

After a language's suites, the API's access log must show that language's tenant called every
authenticated operation of ``sdks/openapi.json`` (method and route): a route the API gains is a
failing SDK suite until each SDK wraps it and a live test calls it. (The public routes, health
and the OpenAPI document and dashboard, carry no tenant and are not counted.)

Usage: ``python scripts/sdk_stack.py [python] [typescript] [go]`` (all three by default), or
``python scripts/sdk_stack.py --env -- CMD ARGS...`` to run one command with those variables
(e.g. an example by hand). Each suite prints its own runner's closing line; this script ends
with one line per suite and exits non-zero if any failed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LOG_DIR = ROOT / "build" / "sdk-stack"
DOCUMENT = ROOT / "sdks" / "openapi.json"
ADMIN_RATE_LIMIT = 1_000_000  # per minute: the suites' own requests never meet the limit


@dataclass(frozen=True)
class Suite:
    """One command of an SDK's tests: run in ``cwd`` (relative to the repo root)."""

    cwd: str
    command: tuple[str, ...]
    name: str = ""  # what the closing lines call it; else the command's first words

    @property
    def label(self) -> str:
        """``pytest in sdks/python``: the program (not its path), its first words, where."""
        if self.name:
            return f"{self.name} in {self.cwd}"
        program, *rest = self.command
        words = [Path(program).name, *rest][:4]
        if Path(program).name.startswith("python") and rest[:1] == ["-m"]:
            words = rest[1:4]
        return f"{' '.join(words)} in {self.cwd}"


def _go_env() -> dict[str, str]:
    # Never download a toolchain; keep the module cache deletable.
    return {"GOTOOLCHAIN": "local", "GOFLAGS": "-modcacherw"}


_GOFMT_CHECK = 'f=$(gofmt -l sdks/go examples/go); [ -z "$f" ] || { echo "gofmt: $f"; exit 1; }'
# The SDK's tests run under the race detector (the client claims goroutine safety). -race needs
# cgo and a C compiler: where either is missing, say so and run the tests without it.
_GO_TEST_RACE = (
    'cc=$(go env CC); if [ "$(go env CGO_ENABLED)" = 1 ] && command -v "${cc%% *}" >/dev/null; '
    "then exec go test -race -count=1 ./...; fi; "
    'echo "[sdk-stack] go test WITHOUT -race: the race detector needs cgo and a C compiler '
    '(CGO_ENABLED=$(go env CGO_ENABLED), CC=$cc)"; exec go test -count=1 ./...'
)

SUITES: dict[str, tuple[Suite, ...]] = {
    "python": (
        Suite(".", (sys.executable, "-m", "ruff", "check", "sdks/python", "examples/python")),
        Suite(
            ".",
            (sys.executable, "-m", "ruff", "format", "--check", "sdks/python", "examples/python"),
        ),
        Suite(".", (sys.executable, "-m", "mypy", "sdks/python/src", "examples/python")),
        Suite("sdks/python", (sys.executable, "-m", "pytest", "-p", "no:cacheprovider")),
    ),
    "typescript": (Suite("sdks/typescript", ("npm", "test", "--silent")),),
    "go": (
        # gofmt -l lists unformatted files and exits 0: fail when it lists any.
        Suite(".", ("sh", "-c", _GOFMT_CHECK), "gofmt -l sdks/go examples/go"),
        Suite("sdks/go", ("go", "vet", "./...")),
        Suite("sdks/go", ("sh", "-c", _GO_TEST_RACE), "go test -race ./..."),
        Suite("examples/go", ("go", "vet", "./...")),
        Suite("examples/go", ("go", "test", "-count=1", "./...")),
    ),
}


def suite_env(api_url: str, admin_key: str, tenant_id: str) -> dict[str, str]:
    return {
        **os.environ,
        **_go_env(),
        "TRIGGERS_API_URL": api_url,
        "TRIGGERS_ADMIN_KEY": admin_key,
        "TRIGGERS_TENANT_ID": tenant_id,
        "TRIGGERS_SDK_LIVE": "1",
    }


def run(command: Sequence[str], cwd: Path, env: Mapping[str, str]) -> int:
    if shutil.which(command[0]) is None and not Path(command[0]).exists():
        print(f"[sdk-stack] {command[0]} is not installed (make bootstrap installs it)")
        return 127
    return subprocess.run(list(command), cwd=str(cwd), env=dict(env), check=False).returncode


HTTP_METHODS = ("get", "put", "post", "patch", "delete")


def authenticated_operations(document: Mapping[str, Any]) -> set[str]:
    """``METHOD /path/{param}`` of every operation that takes a key (``security: []`` is
    public)."""
    found = set()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS and operation.get("security", document["security"]):
                found.add(f"{method.upper()} {path}")
    return found


def operations_called(log_lines: Iterable[str], tenant_id: str) -> set[str]:
    """``METHOD /route/{param}`` of every request the API logged for ``tenant_id`` (the access
    log's ``"message": "request"`` lines: method, endpoint, tenant)."""
    called = set()
    for line in log_lines:
        if f'"{tenant_id}"' not in line:
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if (
            isinstance(record, dict)
            and record.get("message") == "request"
            and record.get("tenant") == tenant_id
            and record.get("endpoint")
        ):
            called.add(f"{record['method']} {record['endpoint']}")
    return called


def uncovered(api_log: Path, offset: int, tenant_id: str) -> list[str]:
    """The authenticated operations the tenant never called in ``api_log`` past ``offset``."""
    document = json.loads(DOCUMENT.read_text())
    with api_log.open(errors="replace") as log:
        log.seek(offset)
        called = operations_called(log, tenant_id)
    return sorted(authenticated_operations(document) - called)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("languages", nargs="*", help=f"some of {', '.join(SUITES)} (all)")
    parser.add_argument("--env", action="store_true", help="run the command after -- instead")
    argv = list(sys.argv[1:] if argv is None else argv)
    split = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:split])
    command = argv[split + 1 :]
    if args.env and not command:
        parser.error("--env needs a command after --")
    unknown = sorted(set(args.languages) - set(SUITES))
    if unknown:
        parser.error(f"unknown SDK {', '.join(unknown)}; choose from {', '.join(SUITES)}")
    languages = tuple(args.languages) or tuple(SUITES)

    from devstack.stack import LocalStack

    started = time.monotonic()
    with LocalStack(LOG_DIR) as stack:
        keys = stack.runtime().keys
        print(
            f"[sdk-stack] stack up at {stack.api_url} in {time.monotonic() - started:.1f} s "
            f"(logs in {LOG_DIR.relative_to(ROOT)})",
            flush=True,
        )

        def admin_env(label: str) -> dict[str, str]:
            tenant_id = f"sdk-{label}-{uuid.uuid4().hex[:8]}"
            _, secret = keys.create_key(
                f"sdk {label} tests",
                tenant_id,
                admin=True,
                rate_limit_per_minute=ADMIN_RATE_LIMIT,
            )
            return suite_env(stack.api_url, secret, tenant_id)

        if args.env:
            return run(command, Path.cwd(), admin_env("shell"))
        results: list[tuple[str, int, float]] = []
        api_log = stack.log_path("api")
        for language in languages:
            env = admin_env(language)  # one tenant for all of the language's suites
            offset = api_log.stat().st_size if api_log.exists() else 0
            for suite in SUITES[language]:
                print(
                    f"\n[sdk-stack] {language}: {' '.join(suite.command)} (in {suite.cwd})",
                    flush=True,
                )
                begun = time.monotonic()
                code = run(suite.command, ROOT / suite.cwd, env)
                results.append((f"{language}: {suite.label}", code, time.monotonic() - begun))
            missing = uncovered(api_log, offset, env["TRIGGERS_TENANT_ID"])
            if missing:
                print(f"[sdk-stack] {language}: never called " + ", ".join(missing))
            results.append((f"{language}: every authenticated operation called", len(missing), 0.0))
    print()
    for name, code, seconds in results:
        verdict = "passed" if code == 0 else f"FAILED ({code})"
        print(f"[sdk-stack] {name}: {verdict}" + (f" in {seconds:.1f} s" if seconds else ""))
    return 0 if all(code == 0 for _, code, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
