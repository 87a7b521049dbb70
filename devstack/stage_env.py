"""A stage's environment variables from .chalice/config.json, as Chalice would apply them."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / ".chalice" / "config.json"


def stage_environment(stage: str) -> dict[str, str]:
    config = json.loads(CONFIG.read_text())
    stages = config.get("stages", {})
    if stage not in stages:
        raise SystemExit(f"unknown stage {stage!r}; known: {', '.join(sorted(stages))}")
    env = dict(config.get("environment_variables", {}))
    env.update(stages[stage].get("environment_variables", {}))
    return env
