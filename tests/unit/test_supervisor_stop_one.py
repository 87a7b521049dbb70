"""Supervisor.stop_one: what the chaos suite's process faults use to kill one child."""

from __future__ import annotations

import signal
import sys

import pytest

from devstack.supervisor import Supervisor


def test_stop_one_kills_that_child_only_and_returns_its_command() -> None:
    supervisor = Supervisor()
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    victim = supervisor.spawn("victim", sleeper)
    bystander = supervisor.spawn("bystander", sleeper)
    try:
        assert supervisor.stop_one("victim", signal.SIGKILL) == sleeper
        assert victim.returncode == -signal.SIGKILL
        assert bystander.poll() is None
        assert [name for name, _ in supervisor.children] == ["bystander"]
        assert supervisor.first_exited() is None
        with pytest.raises(KeyError, match="no child named 'victim'"):
            supervisor.stop_one("victim")
    finally:
        supervisor.stop_all()
