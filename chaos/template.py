"""What the deployed stack promises, read from the project's own configuration."""

from __future__ import annotations

import json
from pathlib import Path

# API Gateway's integration timeout: no API answer can take longer, whatever the function's.
API_GATEWAY_TIMEOUT_SECONDS = 29
# What API Gateway's clock counts beyond the function's (a cold start's init, the hops): an
# answer must leave the function this much before the timeout (REQUEST_TIME_BUDGET_SECONDS is
# 27 by default for this reason).
API_GATEWAY_HEADROOM_SECONDS = 2


def function_timeout(config_path: Path) -> int:
    """The API function's timeout in seconds: the shortest ``lambda_timeout`` a deployed stage
    sets in .chalice/config.json (chalice's default is 60), and never above API Gateway's 29 s."""
    config = json.loads(config_path.read_text())
    timeouts = [
        int(stage.get("lambda_timeout", config.get("lambda_timeout", 60)))
        for name, stage in config.get("stages", {}).items()
        if name != "local"
    ]
    return min([API_GATEWAY_TIMEOUT_SECONDS, *timeouts])
