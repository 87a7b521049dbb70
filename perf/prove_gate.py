"""Prove the CI perf gate both ways: it passes unmodified code on a busy machine and fails a
real slowdown (docs/PERFORMANCE.md, "Is the gate trustworthy?").

    .venv/bin/python -m perf.prove_gate [--runs 5] [--only hog|slow-post]

* ``hog``: ``make perf-gate``'s script ``--runs`` times on this code while one busy process
  pinned to CPU 0 runs beside it; every run must pass.
* ``slow-post``: ``--runs`` times with ``perf/inject/slow_post`` on ``PYTHONPATH``, which makes
  every ``POST /v1/events`` 10 ms slower in front of chalice's local gateway without touching the
  code; every run must fail.

Prints each run's exit code and the figures the gate judged, then a summary; exits 1 unless both
held. The runs are sequential (about 1-2 minutes each).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INJECT = ROOT / "perf" / "inject" / "slow_post"
HOG = "import os\nos.sched_setaffinity(0, {0})\nwhile True:\n    pass\n"
FIGURE = re.compile(r"^\s+(\S+)\s+([\d.]+) vs\s+([\d.]+)\s+x\s*([\d.]+).*\b(ok|FAIL)$")


@contextmanager
def cpu_hog() -> Iterator[None]:
    proc = subprocess.Popen([sys.executable, "-c", HOG])
    try:
        yield
    finally:
        proc.kill()
        proc.wait()


def run_gate(env: dict[str, str]) -> tuple[int, str, float]:
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "scripts/perf_gate.py"],
        cwd=str(ROOT),
        env=env,
        capture_output=True,
        text=True,
    )
    return proc.returncode, proc.stdout, time.monotonic() - started


def judged_figures(output: str) -> list[str]:
    """The gate's load lines, the micro-benchmark furthest over its baseline, and any failing
    line, each as ``name xchange verdict`` (change = now / baseline)."""
    keep, worst_bench = [], None
    for line in output.splitlines():
        m = FIGURE.match(line)
        if not m:
            continue
        name, change, verdict = m.group(1), float(m.group(4)), m.group(5)
        if "." in name or verdict == "FAIL":
            keep.append(f"{name} x{change:.2f} {verdict}")
        elif worst_bench is None or change > worst_bench[1]:
            worst_bench = (name, change)
    if worst_bench:
        keep.append(f"micro-benchmarks: highest {worst_bench[0]} x{worst_bench[1]:.2f}")
    return keep


def condition(name: str, runs: int) -> list[int]:
    env = dict(os.environ)
    if name == "slow-post":
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(INJECT), env.get("PYTHONPATH")]))
    codes = []
    with cpu_hog() if name == "hog" else _nothing():
        for n in range(1, runs + 1):
            code, out, seconds = run_gate(env)
            codes.append(code)
            print(f"[{name}] run {n}/{runs}: exit {code} in {seconds:.0f} s", flush=True)
            for figure in judged_figures(out):
                print(f"    {figure}", flush=True)
    return codes


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--only", choices=("hog", "slow-post"))
    args = p.parse_args(argv)
    held = True
    for name in ("hog", "slow-post"):
        if args.only and args.only != name:
            continue
        codes = condition(name, args.runs)
        want = 0 if name == "hog" else 1
        good = sum(1 for c in codes if c == want)
        verdict = "passed" if name == "hog" else "failed"
        print(f"[{name}] the gate {verdict} {good} of {args.runs} runs", flush=True)
        held = held and good == args.runs
    return 0 if held else 1


if __name__ == "__main__":
    sys.exit(main())
