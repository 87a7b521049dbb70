"""The service logger: Powertools Logger, one JSON object per line on stdout.

Every line carries ``timestamp`` (RFC 3339 UTC, milliseconds), ``level``, ``message`` and
``service``; inside a request also the request's own fields (``request_id``, ``method``,
``endpoint``, ``key_id`` prefix, ``tenant``, ``event_id``), added when the line is written by
:class:`RequestFields` from a provider the HTTP layer installs. The provider reads a context
variable, so under ``chalice local`` (one thread per request) a line never carries another
request's fields, and nothing has to be cleared between requests.

Never log secrets or payload bodies: log ids, codes and sizes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools import Logger

SERVICE = "triggers-api"
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%FZ"

# INFO until the app is built: create_app sets Settings.log_level (LOG_LEVEL, validated).
# TIMESTAMP_FORMAT needs only time.strftime's codes (and Powertools' %F). Powertools'
# use_datetime_directive path adds the milliseconds to the record's time a second time before
# formatting the seconds (3.37: ``record.created + record.msecs / 1000``), so every line written
# in the second half of a second was stamped one second late; tests/unit/test_log_timestamp.py.
logger = Logger(
    service=SERVICE,
    level="INFO",
    utc=True,
    datefmt=TIMESTAMP_FORMAT,
)

FieldProvider = Callable[[], Mapping[str, Any]]


def set_level(level: str) -> None:
    """Lines below ``level`` (``DEBUG``, ``INFO``, ``WARNING`` or ``ERROR``) are dropped."""
    logger.setLevel(level)


class RequestFields(logging.Filter):
    """Adds the current request's fields to each record that does not already set them."""

    def __init__(self, provider: FieldProvider) -> None:
        super().__init__("triggers-request-fields")
        self.provider = provider

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in self.provider().items():
            if value is not None and not hasattr(record, name):
                setattr(record, name, value)
        return True


def install_request_fields(provider: FieldProvider) -> None:
    """Attach ``provider``'s fields to every line from now on (idempotent: replaces the last)."""
    handler = logger.registered_handler
    for existing in list(handler.filters):
        if isinstance(existing, RequestFields):
            handler.removeFilter(existing)
    handler.addFilter(RequestFields(provider))
