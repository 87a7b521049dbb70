#!/usr/bin/env python3
"""`make perf-gate`: the CI performance gate (about two minutes), judged on same-run ratios only.

CI machines are shared and their speed drifts, so no absolute millisecond decides anything here.

1. Micro-benchmarks (perf/bench, pytest-benchmark). The suite runs ``--bench-runs`` (3) times;
   each benchmark's fastest round over those runs divided by the calibration benchmark's fastest
   round over the same runs (noise on a busy machine only ever adds time, so the minimum is the
   steadiest estimate of a function's own cost, and a slow window of the machine rarely lands on
   one benchmark in every run), compared with perf/baseline.json: over ``--bench-tolerance``
   (1.5) times the baseline is a regression if a second measurement (3 runs more) confirms it.
2. The paired load probe (``python -m perf.paired``, a fresh local stack): per request kind
   (ingest, lookup, inbox) the API's p50 latency over the raw engine's, interleaved at the same
   concurrency (``--latency-tolerance``, 1.5), and the API process's CPU time per request over
   the probe's CPU time per raw call (``--cpu-tolerance``, 1.3). Over the tolerance is a
   regression if a second probe on another fresh stack confirms it.

3. Efficiency (issue 16): DynamoDB write calls per POST (``python -m perf.write_calls``: 1,000
   POSTs through the app in-process, every DynamoDB call counted; the event's own PutItem makes
   it 1.0 at best, so it is a ratio by construction) and the cold start (``python -m
   perf.cold_start``: ``import app`` with the dev stage's environment over a reference import
   timed in the same run). Over ``EFFICIENCY_TOLERANCE`` times the baseline is a regression if a
   second measurement confirms it.

4. The webhook delivery smoke (``python -m perf.webhook_delivery`` on a fresh stack with its
   workers: 2 events/s to 2 webhooks for 8 s, ~25 s in all): every delivery arrives once and
   verifies, and the end-to-end p95 stays under 3 s (it measures ~0.3-0.5 s at this rate even on a
   machine loaded 4x over; a failed first attempt alone costs 5 s). A miss is measured again.

A figure in the baseline that did not run fails the gate, and so does a new one that is not in
the baseline yet. The probe also prints the absolute p95 of each kind against the seeds' targets
(information: ``make perf-targets`` enforces those on a quiet machine).

Refreshing the baseline is a deliberate act, committed with the change that explains it:

    .venv/bin/python scripts/perf_gate.py --update-baseline     # then review and commit
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from perf.gate import (
    OVER,
    WEBHOOK_SMOKE_LIMITS,
    PairLimit,
    Verdict,
    bench_ratios,
    compare,
    confirmed,
    fastest_of_runs,
    fixed_verdicts,
    pair_verdicts,
    webhook_figures,
)

ROOT = Path(__file__).resolve().parent.parent

BASELINE = ROOT / "perf" / "baseline.json"
RESULTS = ROOT / "perf" / "results"
CALIBRATION = "test_bench_calibration"
# Fixed same-run limits, whatever the baseline says (issue 9: pydantic may cost at most 1.5x
# the hand-written validator it replaced, kept frozen in perf/reference for this comparison).
SAME_RUN_PAIRS = (
    PairLimit(
        "pydantic_vs_handwritten.typical_event",
        "test_bench_validate_typical_event",
        "test_bench_validate_typical_event_handwritten_reference",
        1.5,
    ),
    # Issue 10's "verification under 20 µs", scaled by this machine's speed: 20 µs on the
    # machine where the calibration benchmark ran 102.7 µs (the baseline's).
    PairLimit(
        "request_signature_verify.within_20us",
        "test_bench_verify_request_signature",
        CALIBRATION,
        round(20 / 102.7, 4),
    ),
)
BENCH_TOLERANCE = 1.5
# Suite runs per measurement (perf.gate.fastest_of_runs): one run measures each benchmark in one
# window of ~0.1-1 s, and one slow window of a shared machine failed CI on unmodified code twice
# in a row (validation 1.68x and 1.78x its baseline, pydantic 1.80x and 1.89x its reference).
BENCH_RUNS = 3
LATENCY_TOLERANCE = 1.5
CPU_TOLERANCE = 1.3
# Write calls per POST hardly move (1.0 is the event's PutItem; leases add ~0.02); the cold
# start ratios move with the machine's load more than the load ratios do (fresh processes).
EFFICIENCY_TOLERANCE = {
    "write_calls_per_post": 1.15,
    "cold_start.import_vs_reference": 1.4,
    "cold_start.import_and_first_request_vs_reference": 1.4,
}
BASELINE_RUNS = 3
# The webhook smoke: far below the local stack's capacity (~20 deliveries/s with p95 < 1 s on a
# loaded 2-core machine; docs/PERFORMANCE.md), so only a regression moves its figures.
WEBHOOK_SMOKE_ARGS = ("--rate", "2", "--seconds", "8", "--webhooks", "2", "--raw-messages", "0")


def say(line: str) -> None:
    print(f"[perf-gate] {line}", flush=True)


# -- the two measurements -------------------------------------------------------------------------
def run_benchmarks(out: Path, runs: int) -> dict[str, float]:
    """Each benchmark's fastest round in seconds over ``runs`` fresh pytest-benchmark runs (the
    n-th writes ``<out stem>-<n>.json``)."""
    return fastest_of_runs(
        [run_benchmark_suite(out.with_name(f"{out.stem}-{n}{out.suffix}")) for n in range(runs)]
    )


def run_benchmark_suite(out: Path) -> dict[str, float]:
    """Each benchmark's fastest round in seconds, from one fresh pytest-benchmark run."""
    cmd = [sys.executable, "-m", "pytest", "perf/bench", "-m", "perf", "--benchmark-only"]
    cmd += [f"--benchmark-json={out}", "-q", "-p", "no:cacheprovider"]
    proc = subprocess.run(cmd, cwd=str(ROOT), capture_output=True, text=True)
    if proc.returncode != 0:
        print(proc.stdout[-4000:], proc.stderr[-4000:], sep="\n")
        raise SystemExit(f"benchmarks failed (pytest exit {proc.returncode})")
    data = json.loads(out.read_text())
    return {b["name"]: float(b["stats"]["min"]) for b in data["benchmarks"]}


def run_probe(out: Path, args: argparse.Namespace) -> dict[str, Any]:
    """The paired probe's figures (it prints its own table; its stack's logs go beside)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "perf.paired", "--json", str(out), "--logs", str(out.parent)]
    cmd += ["--rounds", str(args.rounds), "--block", str(args.block)]
    cmd += ["--threads", str(args.threads)]
    proc = subprocess.run(cmd, cwd=str(ROOT))
    if proc.returncode != 0:
        raise SystemExit(f"the paired probe failed (exit {proc.returncode})")
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def run_webhook_smoke(out: Path) -> dict[str, Any]:
    """The webhook delivery smoke's figures (it prints its own table; logs go beside)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "perf.webhook_delivery", *WEBHOOK_SMOKE_ARGS]
    cmd += ["--drain-timeout", "30", "--json", str(out)]
    proc = subprocess.run(cmd, cwd=str(ROOT))
    if not out.exists():  # exit 1 with figures is a verdict to judge; without, a crash
        raise SystemExit(f"the webhook delivery smoke failed (exit {proc.returncode})")
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def run_efficiency(out: Path) -> dict[str, float]:
    """Write calls per POST and the cold start ratio, each from its own tool's JSON."""
    out.mkdir(parents=True, exist_ok=True)
    figures: dict[str, float] = {}
    writes = out / "write-calls.json"
    cmd = [sys.executable, "-m", "perf.write_calls", "--json", str(writes)]
    proc = subprocess.run(cmd, cwd=str(ROOT), capture_output=True, text=True)
    if proc.returncode != 0 or not writes.exists():
        print(proc.stdout[-3000:], proc.stderr[-3000:], sep="\n")
        raise SystemExit(f"perf.write_calls failed (exit {proc.returncode})")
    figures["write_calls_per_post"] = float(json.loads(writes.read_text())["write_calls_per_post"])
    say(f"write calls per 1,000 POSTs: {figures['write_calls_per_post'] * 1000:.0f}")
    cold = out / "cold-start.json"
    cmd = [sys.executable, "-m", "perf.cold_start", "--json", str(cold)]
    cold_proc = subprocess.run(cmd, cwd=str(ROOT))
    if cold_proc.returncode != 0 or not cold.exists():
        raise SystemExit(f"perf.cold_start failed (exit {cold_proc.returncode})")
    result = json.loads(cold.read_text())
    figures["cold_start.import_vs_reference"] = round(float(result["ratio"]), 4)
    figures["cold_start.import_and_first_request_vs_reference"] = round(
        float(result["cold_ratio"]), 4
    )
    return figures


def load_tolerance(name: str, args: argparse.Namespace) -> float:
    return float(args.cpu_tolerance if name.endswith(".cpu_vs_raw") else args.latency_tolerance)


def compare_load(
    current: dict[str, float], baseline: dict[str, float], args: argparse.Namespace
) -> list[Verdict]:
    """compare() with each figure's own tolerance (latency and CPU ratios differ)."""
    return compare(current, baseline, lambda name: load_tolerance(name, args))


def judged(
    title: str,
    first: list[Verdict],
    measure_again: Callable[[], list[Verdict]],
) -> list[str]:
    """Print the verdicts; measure once more when something is over; what fails the gate."""
    say(title)
    print("\n".join(v.line() for v in first))
    over = [v.name for v in first if v.status == OVER]
    second: list[Verdict] | None = None
    if over:
        say(f"over the baseline or limit, measuring again to confirm: {', '.join(over)}")
        second = measure_again()
        print("\n".join(v.line() for v in second if v.name in over))
    return confirmed(first, second)


# -- the gate -------------------------------------------------------------------------------------
def gate(args: argparse.Namespace, baseline: dict[str, Any], stamp: str) -> int:
    failed: list[str] = []
    if not args.skip_bench:
        bench_base = baseline.get("bench", {}).get("ratios", {})

        def bench_verdicts(suffix: str) -> list[Verdict]:
            mins = run_benchmarks(RESULTS / f"bench-{stamp}{suffix}.json", args.bench_runs)
            ratios = compare(bench_ratios(mins, CALIBRATION), bench_base, args.bench_tolerance)
            return ratios + pair_verdicts(mins, SAME_RUN_PAIRS)

        failed += judged(
            f"micro-benchmarks: fastest round of {args.bench_runs} suite runs / calibration's "
            "of the same runs; now vs baseline",
            bench_verdicts(""),
            lambda: bench_verdicts("-again"),
        )
    if not args.skip_load:
        recorded = baseline.get("load", {})
        load_base = recorded.get("ratios", {})
        if recorded.get("threads", args.threads) != args.threads:
            say(
                f"the load baseline was measured with {recorded['threads']} threads, not "
                f"{args.threads}: ratios at another concurrency do not compare"
            )
            return 1

        def load_verdicts(suffix: str) -> list[Verdict]:
            out = RESULTS / f"paired-{stamp}{suffix}" / "paired.json"
            return compare_load(run_probe(out, args)["ratios"], load_base, args)

        failed += judged(
            "load: API vs raw engine (p50 latency, CPU per request), same run; now vs baseline",
            load_verdicts(""),
            lambda: load_verdicts("-again"),
        )
    if not args.skip_efficiency:
        efficiency_base = baseline.get("efficiency", {}).get("ratios", {})

        def efficiency_verdicts(suffix: str) -> list[Verdict]:
            figures = run_efficiency(RESULTS / f"efficiency-{stamp}{suffix}")
            return compare(figures, efficiency_base, lambda name: EFFICIENCY_TOLERANCE[name])

        failed += judged(
            "efficiency: write calls per POST, cold start over a reference import; now vs baseline",
            efficiency_verdicts(""),
            lambda: efficiency_verdicts("-again"),
        )
    if not args.skip_webhooks:

        def webhook_verdicts(suffix: str) -> list[Verdict]:
            result = run_webhook_smoke(RESULTS / f"webhook-smoke-{stamp}{suffix}.json")
            return fixed_verdicts(webhook_figures(result), WEBHOOK_SMOKE_LIMITS)

        failed += judged(
            "webhook delivery smoke: lost, duplicated, unverified, p95 (fixed limits)",
            webhook_verdicts(""),
            lambda: webhook_verdicts("-again"),
        )
    if failed:
        say(f"FAILED: {', '.join(failed)}")
        say("a real slowdown, or a change that needs `--update-baseline` (docs/PERFORMANCE.md)")
        return 1
    say("passed")
    return 0


def update_baseline(args: argparse.Namespace, stamp: str) -> int:
    doc: dict[str, Any] = {
        "about": "Same-run ratios the perf gate compares with (scripts/perf_gate.py). Refresh "
        "with `.venv/bin/python scripts/perf_gate.py --update-baseline` and commit with the "
        "reason.",
        "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": f"{platform.machine()} {platform.processor() or ''} python "
        f"{platform.python_version()}".replace("  ", " "),
    }
    old: dict[str, Any] = json.loads(BASELINE.read_text()) if BASELINE.exists() else {}
    doc["bench"], doc["load"] = old.get("bench"), old.get("load")
    doc["efficiency"] = old.get("efficiency")
    if not args.skip_bench:
        runs = [
            run_benchmarks(RESULTS / f"bench-{stamp}-m{n}.json", args.bench_runs)
            for n in range(args.baseline_runs)
        ]
        per_run = [bench_ratios(r, CALIBRATION) for r in runs]
        doc["bench"] = {
            "statistic": f"fastest round over {args.bench_runs} suite runs / the calibration's "
            "fastest round over the same runs; median of the measurements",
            "suite_runs_per_measurement": args.bench_runs,
            "runs": len(runs),
            "ratios": _medians(per_run, 4),
            "min_us": {k: round(v * 1e6, 3) for k, v in sorted(_medians(runs, 9).items())},
        }
    if not args.skip_load:
        probes = [
            run_probe(RESULTS / f"paired-{stamp}-{n}" / "paired.json", args)
            for n in range(args.baseline_runs)
        ]
        doc["load"] = {
            "statistic": "API p50 / raw p50 and API CPU per request / raw CPU per call",
            "threads": args.threads,
            "rounds": args.rounds,
            "block_seconds": args.block,
            "runs": len(probes),
            "ratios": _medians([p["ratios"] for p in probes], 4),
            "kinds_first_run": probes[0]["kinds"],
        }
    if not args.skip_efficiency:
        runs = [
            run_efficiency(RESULTS / f"efficiency-{stamp}-{n}") for n in range(args.baseline_runs)
        ]
        doc["efficiency"] = {
            "statistic": "write calls per POST (1,000 POSTs, 4 threads, in process); import of "
            "app (and import + first request) over a reference import, same run",
            "runs": len(runs),
            "ratios": _medians(runs, 4),
        }
    BASELINE.write_text(json.dumps(doc, indent=2) + "\n")
    say(f"baseline written to {BASELINE.relative_to(ROOT)}: review `git diff` and commit it")
    return 0


def _medians(runs: list[dict[str, float]], digits: int) -> dict[str, float]:
    names = sorted(set().union(*runs))
    return {n: round(statistics.median(r[n] for r in runs if n in r), digits) for n in names}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--bench-tolerance", type=float, default=BENCH_TOLERANCE)
    p.add_argument("--latency-tolerance", type=float, default=LATENCY_TOLERANCE)
    p.add_argument("--cpu-tolerance", type=float, default=CPU_TOLERANCE)
    p.add_argument("--update-baseline", action="store_true")
    p.add_argument("--baseline-runs", type=int, default=BASELINE_RUNS)
    p.add_argument(
        "--bench-runs",
        type=int,
        default=BENCH_RUNS,
        help="benchmark suite runs per measurement (each benchmark's fastest over them)",
    )
    p.add_argument("--skip-bench", action="store_true")
    p.add_argument("--skip-load", action="store_true")
    p.add_argument("--skip-webhooks", action="store_true", help="no webhook delivery smoke")
    p.add_argument("--skip-efficiency", action="store_true", help="no write calls / cold start")
    p.add_argument("--rounds", type=int, default=6, help="probe rounds (one block per kind)")
    p.add_argument("--block", type=float, default=2.0, help="probe seconds per kind per round")
    p.add_argument("--threads", type=int, default=2, help="probe concurrency")
    args = p.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    if args.update_baseline:
        return update_baseline(args, stamp)
    if not BASELINE.exists():
        say(f"no {BASELINE.name}: run with --update-baseline")
        return 1
    baseline: dict[str, Any] = json.loads(BASELINE.read_text())
    return gate(args, baseline, stamp)


if __name__ == "__main__":
    sys.exit(main())
