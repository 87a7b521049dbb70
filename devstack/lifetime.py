"""Child processes that cannot outlive the process that started them.

A test session or `make run` killed with SIGKILL runs no clean-up; without this, every such kill
would leave a DynamoDB Local JVM (or a dev server) behind. On Linux the kernel delivers SIGTERM to
the child when its parent dies (prctl PR_SET_PDEATHSIG); elsewhere this is a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import signal
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
