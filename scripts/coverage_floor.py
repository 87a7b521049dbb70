#!/usr/bin/env python3
"""`make test`'s coverage floor: line and branch coverage of chalicelib, each at least 80 %.

pytest-cov (across the xdist workers) writes build/coverage.json; this prints both figures and
exits 1 when either is under the floor. coverage's own ``fail_under`` judges one blended figure,
which would let branch coverage sink below the floor behind a high line figure.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

FLOOR = 80.0


def figures(totals: dict[str, Any]) -> tuple[float, float]:
    def percent(covered: int, total: int) -> float:
        return 100.0 * covered / total if total else 100.0

    return (
        percent(totals["covered_lines"], totals["num_statements"]),
        percent(totals["covered_branches"], totals["num_branches"]),
    )


def verdict(totals: dict[str, Any], floor: float = FLOOR) -> tuple[bool, str]:
    lines, branches = figures(totals)
    ok = lines >= floor and branches >= floor
    text = (
        f"coverage of chalicelib: lines {lines:.1f} %, branches {branches:.1f} % "
        f"(floor {floor:.0f} % each): {'ok' if ok else 'FAIL'}"
    )
    return ok, text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("report", nargs="?", default="build/coverage.json")
    parser.add_argument("--floor", type=float, default=FLOOR)
    args = parser.parse_args(argv)
    totals = json.loads(Path(args.report).read_text(encoding="utf-8"))["totals"]
    ok, text = verdict(totals, args.floor)
    print(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
