"""A stage's environment variables from .chalice/config.json, as Chalice would apply them."""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path
from types import FrameType

from chalicelib.settings import Settings, load_settings
from devstack import state

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


def script_settings(stage: str, require_stack: bool = False) -> Settings:
    """Settings for an operator script run against ``stage``.

    The stage's config.json variables apply as Chalice applies them, except that a shell
    ``TABLE_PREFIX`` wins (to aim a script at a copy of the tables). For ``local`` with no
    endpoint set, boto3 is pointed at the running `make run` stack; ``require_stack`` exits with a
    clear message when there is none (the script would otherwise try AWS).
    """
    stack = state.apply_to_environment(stage)
    if (
        require_stack
        and stage == "local"
        and stack is None
        and not os.environ.get("AWS_ENDPOINT_URL_DYNAMODB")
    ):
        raise SystemExit(
            "error: no local stack is running (start it with `make run`) and "
            "AWS_ENDPOINT_URL_DYNAMODB is not set"
        )
    env = {**os.environ, **stage_environment(stage), "STAGE": stage}
    if os.environ.get("TABLE_PREFIX"):
        env["TABLE_PREFIX"] = os.environ["TABLE_PREFIX"]
    return load_settings(env)


def worker_settings(stage: str, what: str) -> Settings:
    """Settings for a local worker (a stand-in for a Lambda event source): the ``local`` stage
    only; like chalice, the stage's config.json environment, then the running stack's
    endpoints."""
    if stage != "local":
        raise SystemExit(f"the {what} works on the local stack only (stage local)")
    os.environ.update(stage_environment(stage))
    state.apply_to_environment(stage)
    return load_settings()


def stop_on_signals(stop: threading.Event) -> None:
    """SIGTERM and SIGINT set ``stop`` (the worker ends between two polls)."""

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
