"""`make chaos`: run the experiments, each exactly as an SRE would with Chaos Toolkit, and print
the suite's table.

    python -m chaos                      # every experiment
    python -m chaos ddb-latency ddb-down # some
    python -m chaos --ci                 # the short set .ci/run runs
    python -m chaos --list
    python -m chaos --localstack ddb-throttling   # on a LocalStack this command starts

Each experiment runs as ``chaos run --hypothesis-strategy continuously`` (steady state checked
before, every few seconds during, and after the method) in its own process, on its own stack.
Exits 1 when any experiment's hypothesis or checks failed.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from chaos import localstack
from chaos.catalog import BY_NAME, CI_SET, EXPERIMENTS, EXPERIMENTS_DIR
from chaos.control import REPORTS, WORK
from chaos.report import markdown_table, table
from devstack.ports import free_port

FREQUENCY_SECONDS = 4
# The longest experiment (webhook-target-down: a 60 s breaker hold, then the settle) takes about
# 4 minutes; one that runs past this is stuck, and is killed with its stack.
EXPERIMENT_TIMEOUT_SECONDS = 600


def command(name: str) -> list[str]:
    chaos = Path(sys.executable).with_name("chaos")
    return [
        str(chaos),
        "--no-version-check",
        "--log-file",
        str(WORK / name / "chaostoolkit.log"),
        "run",
        "--hypothesis-strategy",
        "continuously",
        "--hypothesis-frequency",
        str(FREQUENCY_SECONDS),
        "--rollback-strategy",
        "always",
        "--journal-path",
        str(WORK / name / "journal.json"),
        str(EXPERIMENTS_DIR / f"{name}.json"),
    ]


def run_one(name: str, env: dict[str, str] | None = None) -> dict[str, str]:
    (WORK / name).mkdir(parents=True, exist_ok=True)
    latest = WORK / name / "report.json"
    latest.unlink(missing_ok=True)
    started = time.monotonic()
    print(f"[chaos] {name}: {BY_NAME[name].title}", flush=True)
    with subprocess.Popen(command(name), env=env, start_new_session=True) as process:
        try:
            code = process.wait(timeout=EXPERIMENT_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # its stack's processes too
            process.wait()
            code = -1
            print(f"[chaos] {name}: killed after {EXPERIMENT_TIMEOUT_SECONDS} s", flush=True)
    seconds = time.monotonic() - started
    if not latest.exists():
        return {
            "experiment": name,
            "fault": "(did not run: see build/chaos/" + name + ")",
            "verdict": "FAILED",
        }
    found = json.loads(latest.read_text())
    row = dict(found["row"])
    if code != 0 and row.get("verdict") == "held":
        row["verdict"] = f"FAILED (exit {code})"
    print(f"[chaos] {name}: {row['verdict']} in {seconds:.0f} s", flush=True)
    reasons = list(found.get("failures") or [])
    if code != 0 and not reasons:
        reasons.append(f"the experiment exited {code}: see build/chaos/{name}")
    if reasons:
        row["why"] = "; ".join(reasons)  # not a table column: the closing lines print it
        print(f"[chaos] {name}: {row['why']}", flush=True)
    return row


def run_on_localstack(names: list[str]) -> list[dict[str, str]]:
    """Each experiment with CHAOS_BACKEND=localstack, on one LocalStack started here."""
    if not localstack.installed():
        raise SystemExit(f"LocalStack is not installed: {localstack.INSTALL_HINT}")
    log = WORK / "localstack.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with localstack.LocalStackServer(free_port(), log) as server:
        env = {**os.environ, "CHAOS_BACKEND": "localstack", "LOCALSTACK_ENDPOINT": server.endpoint}
        print(f"[chaos] LocalStack at {server.endpoint} (log {log})", flush=True)
        return [run_one(name, env) for name in names]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the chaos experiments.")
    parser.add_argument("experiments", nargs="*", help="names (default: all)")
    parser.add_argument("--ci", action="store_true", help="the short set CI runs")
    parser.add_argument("--list", action="store_true", help="list the experiments and exit")
    parser.add_argument(
        "--localstack",
        action="store_true",
        help="start LocalStack (scripts/install_localstack.sh installs it) and run on it",
    )
    args = parser.parse_args(argv)
    if args.list:
        for experiment in EXPERIMENTS:
            marker = " (ci)" if experiment.ci else ""
            print(f"{experiment.name:24} {experiment.title}{marker}")
        return 0
    names = list(args.experiments) or (list(CI_SET) if args.ci else list(BY_NAME))
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        print(f"unknown experiment(s): {', '.join(unknown)}; try --list", file=sys.stderr)
        return 2
    rows = run_on_localstack(names) if args.localstack else [run_one(name) for name in names]
    print("\n" + table(rows) + "\n", flush=True)
    REPORTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    (REPORTS / f"{stamp}-suite.md").write_text(markdown_table(rows) + "\n")
    failed = [r for r in rows if r.get("verdict") != "held"]
    if failed:
        # Last, where a CI log cut in the middle still shows it: which failed and why.
        for r in failed:
            why = r.get("why") or r.get("fault", "")
            print(f"[chaos] {r['experiment']} FAILED: {why}", file=sys.stderr)
        print(f"[chaos] FAILED: {', '.join(r['experiment'] for r in failed)}", file=sys.stderr)
        return 1
    print(f"[chaos] {len(rows)} experiments held", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
