"""Every log line's ``timestamp`` is the moment it was written, to the millisecond, in UTC."""

from __future__ import annotations

import json
import logging

import pytest

from chalicelib.domain.clock import format_ts
from chalicelib.observability.logging import logger


@pytest.mark.parametrize("fraction", [0.0, 0.25, 0.499, 0.5, 0.75, 0.999])
def test_the_timestamp_is_the_records_time(fraction: float) -> None:
    created = 1_796_073_505 + fraction
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "x", None, None)
    record.created = created
    record.msecs = (created - int(created)) * 1000
    line = json.loads(logger.registered_handler.formatter.format(record))  # type: ignore[union-attr]
    assert line["timestamp"] == format_ts(int(created * 1000) / 1000)
    assert line["timestamp"].startswith("2026-11-30T21:18:25.")
