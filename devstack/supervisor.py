"""Start child processes in their own process groups and stop all of them together."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from devstack.lifetime import die_with_parent


@dataclass
class Supervisor:
    children: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    def spawn(
        self,
        name: str,
        cmd: Sequence[str],
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        log_path: Path | None = None,
    ) -> subprocess.Popen[bytes]:
        """Start ``cmd``; its output goes to ``log_path`` (appended) or, without one, to this
        process's own stdout/stderr."""
        log = open(log_path, "ab") if log_path is not None else None  # noqa: SIM115
        try:
            proc = subprocess.Popen(
                list(cmd),
                env=dict(env) if env is not None else None,
                cwd=cwd,
                stdout=log,
                stderr=subprocess.STDOUT if log is not None else None,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )
        finally:
            if log is not None:
                log.close()
        self.children.append((name, proc))
        return proc

    def adopt(self, name: str, proc: subprocess.Popen[bytes]) -> None:
        self.children.append((name, proc))

    def stop_one(self, name: str, sig: int = signal.SIGTERM, timeout: float = 10.0) -> list[str]:
        """Send ``sig`` to one child's process group, wait for it to exit and forget it; return
        its command line (to start it again)."""
        for index, (child, proc) in enumerate(self.children):
            if child == name:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, sig)
                proc.wait(timeout=timeout)
                del self.children[index]
                args = proc.args
                return [str(a) for a in args] if isinstance(args, list) else [str(args)]
        raise KeyError(f"no child named {name!r}")

    def first_exited(self) -> tuple[str, int] | None:
        for name, proc in self.children:
            code = proc.poll()
            if code is not None:
                return name, code
        return None

    def stop_all(self, timeout: float = 10.0) -> None:
        for _, proc in reversed(self.children):
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for _, proc in reversed(self.children):
            remaining = max(0.1, deadline - time.monotonic())
            try:
                proc.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        self.children.clear()
