"""`.ci/run` runs the suite with CI set, so tests/conftest.py loads the Hypothesis "ci" profile."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from hypothesis import settings

ROOT = Path(__file__).resolve().parents[2]


def test_ci_run_exports_ci_to_every_make_call(tmp_path: Path) -> None:
    fake_make = tmp_path / "make"
    record = tmp_path / "calls"
    fake_make.write_text(f'#!/usr/bin/env bash\necho "CI=${{CI:-}} $*" >> {record}\n')
    fake_make.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PATH"] = f"{tmp_path}{os.pathsep}{env['PATH']}"
    subprocess.run(["bash", str(ROOT / ".ci" / "run")], env=env, check=True, timeout=30)
    assert record.read_text().splitlines() == [
        "CI=true test",
        "CI=true perf-gate",
        "CI=true chaos-ci",
    ]


def test_the_loaded_profile_follows_ci() -> None:
    active = settings.default
    if os.environ.get("CI"):
        assert (active.max_examples, active.derandomize) == (400, True)
    else:
        assert (active.max_examples, active.derandomize) == (50, False)
