"""What the key operator scripts (``scripts/seed_api_keys.py``, ``scripts/rotate_api_keys.py``)
share on the command line: stdout carries only the script's answer, so ``--json`` prints
exactly one JSON document, and the service logger's lines (the audit line of every change) go
to stderr, where the operator still sees them.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from chalicelib.domain.keys import TENANT_PATTERN
from chalicelib.observability.logging import logger


def logs_to_stderr() -> None:
    """Send the service logger's JSON lines to stderr (the app writes them to stdout)."""
    handler = logger.registered_handler
    if not isinstance(handler, logging.StreamHandler):
        raise TypeError(f"the service logger writes through {handler!r}, not a stream")
    handler.setStream(sys.stderr)


def tenant_arg(text: str) -> str:
    """An argparse ``type``: a tenant id as the service accepts it."""
    if not TENANT_PATTERN.match(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a tenant id (1-64 letters, digits, _ and -)"
        )
    return text


def print_details(details: list[dict[str, Any]], fallback: str) -> None:
    """A validation error's ``[{field, message}]`` as ``error: <field> <message>`` lines."""
    if not details:
        print(f"error: {fallback}", file=sys.stderr)
    for detail in details:
        print(f"error: {detail['field']} {detail['message']}", file=sys.stderr)
