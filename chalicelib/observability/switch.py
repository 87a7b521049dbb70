"""One process-wide switch for request logging and metrics.

On everywhere; the overhead benchmark (perf/) turns it off to measure a request without them.
"""

from __future__ import annotations

_enabled = True


def enabled() -> bool:
    return _enabled


def set_enabled(value: bool) -> bool:
    """Turn request logging + metrics on or off; return the previous setting."""
    global _enabled
    previous, _enabled = _enabled, value
    return previous
