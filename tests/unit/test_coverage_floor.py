"""The coverage floor fails when either line or branch coverage is under 80 %."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scripts.coverage_floor import main, verdict


def totals(lines: tuple[int, int], branches: tuple[int, int]) -> dict[str, int]:
    return {
        "covered_lines": lines[0],
        "num_statements": lines[1],
        "covered_branches": branches[0],
        "num_branches": branches[1],
    }


@pytest.mark.parametrize(
    ("lines", "branches", "ok"),
    [
        ((80, 100), (80, 100), True),
        ((95, 100), (79, 100), False),  # a high line figure does not hide low branch coverage
        ((79, 100), (95, 100), False),
        ((100, 100), (0, 0), True),
    ],
)
def test_verdict(lines: tuple[int, int], branches: tuple[int, int], ok: bool) -> None:
    assert verdict(totals(lines, branches))[0] is ok


def test_main_reads_the_report_and_sets_the_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "coverage.json"
    report.write_text(json.dumps({"totals": totals((90, 100), (70, 100))}))
    assert main([str(report)]) == 1
    assert "lines 90.0 %, branches 70.0 %" in capsys.readouterr().out
    report.write_text(json.dumps({"totals": totals((90, 100), (85, 100))}))
    assert main([str(report)]) == 0
