"""Fault injection for proving the perf gate: every ``POST /v1/events`` 10 ms slower.

    PYTHONPATH=perf/inject/slow_post make perf-gate      # must fail (docs/PERFORMANCE.md)

Python imports ``sitecustomize`` at start-up from ``sys.path``, so with this folder on
``PYTHONPATH`` every Python process of the run loads it; only the dev server imports chalice's
local gateway, and only there does the wrapper do anything. The application code is untouched:
the delay sits in front of chalice's ``LocalGateway.handle_request``, where the HTTP request
becomes the Lambda event. ``SLOW_POST_MS`` changes the delay; ``SLOW_POST_BUSY=1`` spends it
on the CPU (a busy loop) instead of sleeping, which the gate's CPU ratio must catch as well.
"""

from __future__ import annotations

import os
import time

DELAY_SECONDS = float(os.environ.get("SLOW_POST_MS", "10")) / 1000
BUSY = os.environ.get("SLOW_POST_BUSY") == "1"


def _delay() -> None:
    if not BUSY:
        time.sleep(DELAY_SECONDS)
        return
    until = time.thread_time() + DELAY_SECONDS
    while time.thread_time() < until:
        pass


def _install() -> None:
    try:
        from chalice import local
    except ImportError:  # not a process of the project's virtualenv
        return
    original = local.LocalGateway.handle_request

    def handle_request(self, method, path, headers, body):  # type: ignore[no-untyped-def]
        if method == "POST" and path.split("?", 1)[0] == "/v1/events":
            _delay()
        return original(self, method, path, headers, body)

    local.LocalGateway.handle_request = handle_request


_install()
