"""Run one load scenario end to end and judge it against the targets.

    python -m perf.runner SCENARIO [DURATION_SECONDS]      (scripts/run_load_tests.sh wraps it)

1. Starts a private stack (fresh in-memory DynamoDB Local, tables, dev server, workers) on free
   loopback ports, unless ``PERF_HOST`` names a running one (its database is then taken from
   ``PERF_DYNAMODB_ENDPOINT``/``PERF_ACCESS_KEY`` or `make run`'s ``.run/stack.json``).
2. Prepares the scenario's data (the inbox scenario preloads 1,000 and ``PERF_BIG_PENDING``
   (100,000) pending events with scripts/preload_events.py) and, for ingestion, measures raw
   boto3 PutItem on the same engine in the same run.
3. Runs Locust headless (CSV + JSON summary under ``perf/results/<scenario>-<time>/``), prints
   the table against the targets, stops what it started, and exits 1 on a miss.

``PERF_REPEAT=3`` runs the whole scenario three times (a fresh stack each) and judges the median
of each figure: how docs/PERFORMANCE.md's table is measured. ``PERF_WORKERS`` (0 or 1) overrides
whether the local workers run. ``PERF_USERS`` overrides the
concurrency.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack.stack import WORKERS, LocalStack, aws_environment
from perf import targets
from perf.raw_engine import measure_batch_write, measure_put_item

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "perf" / "results"


@dataclass(frozen=True)
class Phase:
    name: str
    locustfile: str
    users: int
    share: float = 1.0  # of the scenario's duration
    classes: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    raw_put_item: bool = False  # measure raw PutItem right before this phase
    raw_batch_write: bool = False  # measure raw BatchWriteItem of 25 right before this phase
    preload: bool = False  # preload the 1k and 100k inbox tenants


@dataclass(frozen=True)
class Scenario:
    name: str
    default_seconds: int
    phases: tuple[Phase, ...]
    gates: frozenset[str] | None = None  # None: every target measured is a gate
    # The local workers (stream worker) run as in `make run`, except where a preload would keep
    # them busy through the whole measurement (100,000 stream records to process).
    workers: bool = True


SCENARIOS: dict[str, Scenario] = {
    "event_ingestion": Scenario(
        "event_ingestion",
        60,
        (
            Phase("single", "event_ingestion", 8, 0.5, ("SingleEventUser",), raw_put_item=True),
            Phase("bulk", "event_ingestion", 4, 0.5, ("BulkEventUser",), raw_batch_write=True),
        ),
        # The API against the engine: the local stream worker (a separate Lambda in AWS) would
        # take the same two cores and JVM the raw figure has to itself (issue 16: with it, the
        # ratios fell to ~0.5x / ~0.4x; PERF_WORKERS=1 runs it anyway).
        workers=False,
    ),
    "inbox_polling": Scenario(
        "inbox_polling", 60, (Phase("inbox", "inbox_polling", 8, preload=True),), workers=False
    ),
    "mixed_workload": Scenario(
        "mixed_workload",
        60,
        (Phase("mixed", "mixed_workload", 8, args=("--tenants", "4", "--keys-per-tenant", "2")),),
    ),
    # The targets smoke (make perf-targets, on a quiet machine): the mixed workload at a
    # moderate, paced load (about 30 requests/s: API, DynamoDB Local, the stream worker and
    # Locust share 2 cores, and at 40/s the engine alone used half a core), so its latencies are
    # the service's and not a queue's; throughput is not gated.
    "smoke": Scenario(
        "smoke",
        30,
        (
            Phase(
                "smoke",
                "smoke",
                7,  # 6 mixed-workload users + the lookup probe (perf/locust/smoke.py)
                # The first 10 s load the fresh stack but are not measured (JVM warm-up).
                args=(
                    "--tenants",
                    "3",
                    "--keys-per-tenant",
                    "2",
                    "--pace",
                    "3",
                    "--warmup",
                    "10",
                ),
            ),
        ),
        gates=frozenset({"ingest", "inbox", "lookup", "success"}),
    ),
    "stress": Scenario(
        "stress",
        180,
        (
            Phase(
                "stress",
                "stress",
                0,
                # Paced users (3 tasks/s, ~5 requests/s each), two more every step: the load
                # rises ~10 requests/s a step, so the knee is found below saturation rather than
                # starting past it (4 unpaced users already saturate 2 cores).
                args=(
                    "--tenants",
                    "4",
                    "--keys-per-tenant",
                    "2",
                    "--step-users",
                    "2",
                    "--pace",
                    "3",
                ),
            ),
        ),
    ),
}


@dataclass
class Target:
    """Where the load goes: a stack this run started, or one already running."""

    api_url: str
    dynamodb_endpoint: str
    access_key: str
    stack: LocalStack | None = None
    env: dict[str, str] = field(default_factory=dict)


@contextmanager
def target(out: Path, workers: bool = True) -> Iterator[Target]:
    host = os.environ.get("PERF_HOST", "")
    if host:
        endpoint = os.environ.get("PERF_DYNAMODB_ENDPOINT", "")
        access_key = os.environ.get("PERF_ACCESS_KEY", "local")
        if not endpoint:
            from devstack import state

            found = state.read()
            if found is None or found.api_url.rstrip("/") != host.rstrip("/"):
                raise SystemExit(
                    f"PERF_HOST={host}: set PERF_DYNAMODB_ENDPOINT (and PERF_ACCESS_KEY) to its "
                    "DynamoDB Local, or point it at the `make run` stack"
                )
            endpoint, access_key = found.dynamodb_endpoint, found.access_key
        yield Target(host, endpoint, access_key, env=aws_environment(endpoint, access_key))
        return
    stack = LocalStack(out / "logs", workers=WORKERS if workers else ())
    print(f"[perf] starting a fresh local stack (logs in {out / 'logs'})", file=sys.stderr)
    stack.start()
    try:
        yield Target(stack.api_url, stack.dynamodb_endpoint, stack.access_key, stack, stack.env())
    finally:
        stack.stop()
        print("[perf] stack stopped", file=sys.stderr)


def preload(tgt: Target, tenant: str, count: int) -> dict[str, Any]:
    cmd = [sys.executable, str(ROOT / "scripts" / "preload_events.py")]
    cmd += ["--tenant", tenant, "--count", str(count), "--json"]
    proc = subprocess.run(
        cmd, env={**os.environ, **tgt.env}, cwd=str(ROOT), capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise SystemExit(f"preload failed: {proc.stderr.strip()}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"[perf] preloaded {result}", file=sys.stderr)
    return result


def run_phase(tgt: Target, phase: Phase, seconds: int, out: Path) -> dict[str, Any]:
    users = int(os.environ.get("PERF_USERS", "0")) or phase.users
    extra: dict[str, Any] = {}
    args = list(phase.args)
    if phase.raw_put_item or phase.raw_batch_write:
        from chalicelib.settings import load_settings
        from devstack.stage_env import stage_environment

        settings = load_settings({**stage_environment("local"), **tgt.env})
        measure, name = (
            (measure_put_item, "raw_put_item")
            if phase.raw_put_item
            else (measure_batch_write, "raw_batch_write")
        )
        raw = measure(tgt.dynamodb_endpoint, settings, users, min(15.0, seconds / 3))
        extra[name] = raw.as_dict()
        print(f"[perf] {name}: {raw.as_dict()}", file=sys.stderr)
    if phase.preload:
        stamp = str(int(time.time()))
        small, big = f"perf-small-{stamp}", f"perf-big-{stamp}"
        big_count = int(os.environ.get("PERF_BIG_PENDING", "100000"))
        extra["preload"] = [preload(tgt, small, 1000), preload(tgt, big, big_count)]
        args += ["--small-tenant", small, "--big-tenant", big]
    summary_file = out / f"{phase.name}.json"
    cmd = [sys.executable, "-m", "locust", "-f", f"perf/locust/{phase.locustfile}.py"]
    cmd += ["--headless", "--host", tgt.api_url, "-t", f"{seconds}s", "--only-summary"]
    cmd += ["--csv", str(out / phase.name), "--summary-json", str(summary_file)]
    cmd += ["--stop-timeout", "5", "--exit-code-on-error", "0", "--loglevel", "WARNING"]
    if users:
        cmd += ["-u", str(users), "-r", str(users)]
    cmd += [*args, *phase.classes]
    print(f"[perf] phase {phase.name}: {users or 'stepped'} users, {seconds} s", file=sys.stderr)
    proc = subprocess.run(cmd, env={**os.environ, **tgt.env}, cwd=str(ROOT), timeout=seconds + 300)
    if proc.returncode != 0 or not summary_file.exists():
        raise SystemExit(f"locust failed in phase {phase.name} (exit {proc.returncode})")
    summary: dict[str, Any] = json.loads(summary_file.read_text())
    summary["phase"] = phase.name
    summary.update(extra)
    summary_file.write_text(json.dumps(summary, indent=2))
    return summary


def judge(scenario: Scenario, summary: dict[str, Any]) -> list[targets.Row]:
    raw = summary.get("raw_put_item", {}).get("items_per_second")
    raw_batch = summary.get("raw_batch_write", {}).get("items_per_second")
    if scenario.name != "stress":
        return targets.evaluate(summary, raw, scenario.gates, raw_batch)
    stress = summary.get("extra", {}).get("stress", {})
    rows = [
        targets.Row(
            f"step {n} ({s['users']} users)",
            s["rps"],
            "; ".join(s["crossed"]) or "held",
            None,
            "rps",
        )
        for n, s in enumerate(stress.get("steps", []), 1)
    ]
    good = stress.get("last_good")
    rows.append(
        targets.Row(
            "capacity within targets", good["rps"] if good else 0.0, "> 0", bool(good), "rps"
        )
    )
    return rows


def run_once(scenario: Scenario, seconds: int, out: Path) -> list[targets.Row]:
    rows: list[targets.Row] = []
    forced = os.environ.get("PERF_WORKERS", "")
    workers = scenario.workers if forced not in ("0", "1") else forced == "1"
    with target(out, workers) as tgt:
        total_share = sum(p.share for p in scenario.phases)
        for phase in scenario.phases:
            phase_seconds = max(10, round(seconds * phase.share / total_share))
            summary = run_phase(tgt, phase, phase_seconds, out)
            rows += judge(scenario, summary)
    return rows


def median_rows(runs: list[list[targets.Row]]) -> list[targets.Row]:
    """Each target's median over the runs (targets missing from a run are skipped there)."""
    first = runs[0]
    merged = []
    for row in first:
        values = [r.measured for rows in runs for r in rows if r.target == row.target]
        numbers = [v for v in values if v is not None]
        if not numbers:
            merged.append(row)
            continue
        merged.append(targets.rejudge(row, statistics.median(numbers)))
    return merged


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through the finally blocks that stop the stack


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _terminate)
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] not in SCENARIOS:
        print(f"usage: run_load_tests.sh {{{'|'.join(SCENARIOS)}}} [SECONDS]", file=sys.stderr)
        return 2
    scenario = SCENARIOS[args[0]]
    seconds = int(args[1]) if len(args) > 1 else scenario.default_seconds
    repeat = max(1, int(os.environ.get("PERF_REPEAT", "1")))
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = Path(os.environ.get("PERF_OUT", str(RESULTS / f"{scenario.name}-{stamp}")))
    runs = []
    for n in range(repeat):
        out = base / f"run{n + 1}" if repeat > 1 else base
        rows = run_once(scenario, seconds, out)
        if repeat > 1:
            print(targets.format_table(rows, f"\nrun {n + 1} of {repeat}"))
        runs.append(rows)
    rows = median_rows(runs) if repeat > 1 else runs[0]
    title = f"\n{scenario.name}: {seconds} s" + (f", median of {repeat} runs" if repeat > 1 else "")
    print(targets.format_table(rows, title))
    result = {
        "scenario": scenario.name,
        "seconds": seconds,
        "repeat": repeat,
        "rows": [
            {"target": r.target, "measured": r.measured, "limit": r.limit, "verdict": r.verdict}
            for r in rows
        ],
    }
    (base / "result.json").write_text(json.dumps(result, indent=2))
    print(f"\nresults in {base}")
    missed = targets.misses(rows)
    if missed:
        print(f"{len(missed)} target(s) missed: " + ", ".join(r.target for r in missed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
