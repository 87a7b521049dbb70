"""Stress: the mixed workload, stepped up until errors or a p95 cross the targets.

    locust -f perf/locust/stress.py --host http://127.0.0.1:8000 --headless -t 180s --pace 3 \
        --step-users 4 --step-seconds 15 --max-users 64 --summary-json perf/results/stress.json

Every ``--step-seconds`` the shape adds ``--step-users`` users. At the end of each step it checks
that step's own requests (exact p95 per request kind, error rate); the first step that crosses
a target ends the run, and the summary's ``extra.stress`` says which step, at how many users
and rps, and why, next to the last step that held (the capacity on this machine).
"""

from __future__ import annotations

import time
from typing import Any

from locust import LoadTestShape, events

from perf.locust import support
from perf.locust.mixed_workload import MixedUser
from perf.targets import MIN_SUCCESS_RATE, P95_TARGETS_MS, request_kind

__all__ = ["MixedUser", "StepShape"]

support.scenario("stress")
STEP: dict[str, Any] = {"times": {}, "count": 0, "failures": 0}
RESULT: dict[str, Any] = {"steps": [], "broke_at": None, "last_good": None}
support.EXTRA["stress"] = RESULT


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    parser.add_argument("--step-users", type=int, default=4)
    parser.add_argument("--step-seconds", type=float, default=15.0)
    parser.add_argument("--max-users", type=int, default=64)


@events.request.add_listener
def _record(
    request_type: str, name: str, response_time: float, exception: Any = None, **_: Any
) -> None:
    kind = request_kind(request_type, name)
    STEP["times"].setdefault(kind, []).append(response_time)
    STEP["count"] += 1
    STEP["failures"] += exception is not None


def judge_step(users: int, seconds: float) -> dict[str, Any]:
    """The finished step's figures and the targets it crossed (empty ``crossed``: it held)."""
    count, failures = STEP["count"], STEP["failures"]
    p95 = {k: support.percentile(v, 0.95) for k, v in STEP["times"].items()}
    crossed = [
        f"{kind} p95 {p95[kind]:.0f} ms >= {limit:.0f} ms"
        for kind, limit in P95_TARGETS_MS.items()
        if kind in p95 and p95[kind] >= limit
    ]
    success = 1 - failures / count if count else 1.0
    if count and success <= MIN_SUCCESS_RATE:
        crossed.append(f"success {success:.4%} <= {MIN_SUCCESS_RATE:.1%}")
    STEP.update(times={}, count=0, failures=0)
    return {
        "users": users,
        "rps": round(count / seconds, 1) if seconds else 0.0,
        "requests": count,
        "p95_ms": {k: round(v, 1) for k, v in sorted(p95.items())},
        "error_rate": round(1 - success, 6),
        "crossed": crossed,
    }


class StepShape(LoadTestShape):
    def __init__(self) -> None:
        super().__init__()
        self.step = 0
        self.step_started = 0.0

    def tick(self) -> tuple[int, float] | None:
        opts = self.runner.environment.parsed_options if self.runner else None
        step_users = getattr(opts, "step_users", 4)
        step_seconds = getattr(opts, "step_seconds", 15.0)
        max_users = getattr(opts, "max_users", 64)
        limit = getattr(opts, "run_time", None)
        now = time.monotonic()
        if self.step == 0:
            self.step, self.step_started = 1, now
            STEP.update(times={}, count=0, failures=0)
        elif now - self.step_started >= step_seconds:
            verdict = judge_step(self.step * step_users, now - self.step_started)
            RESULT["steps"].append(verdict)
            if verdict["crossed"]:
                RESULT["broke_at"] = verdict
                return None
            RESULT["last_good"] = verdict
            if (self.step + 1) * step_users > max_users:
                return None
            self.step, self.step_started = self.step + 1, now
        if limit and self.get_run_time() >= limit:
            return None
        return self.step * step_users, float(step_users)
