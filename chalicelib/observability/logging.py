"""The service logger: Powertools Logger, one JSON object per line on stdout."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger

SERVICE = "triggers-api"

logger = Logger(service=SERVICE, level=os.environ.get("LOG_LEVEL", "INFO"))
