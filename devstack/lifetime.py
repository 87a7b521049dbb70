"""Child processes that cannot outlive the process that started them.

A test session or `make run` killed with SIGKILL runs no clean-up; without this, every such kill
would leave a DynamoDB Local JVM (or a dev server) behind. On Linux the kernel delivers SIGTERM to
the child when its parent dies (prctl PR_SET_PDEATHSIG); elsewhere this is a no-op.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Use as ``preexec_fn``: runs in the child between fork and exec."""
    if not sys.platform.startswith("linux"):
        return
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return
    libc = ctypes.CDLL(libc_name, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def stop_group(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Stop a child started with ``start_new_session=True`` and everything in its process group:
    SIGTERM, then SIGKILL to the group if it is still there after ``timeout`` seconds."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout)
    # Children left in the group (LocalStack's DynamoDB Local and kinesis-mock, say) go too.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(5)
