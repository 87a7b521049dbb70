"""The Chaos Toolkit control every experiment declares (``"module": "chaos.control"``).

Before the experiment it starts the experiment's own stack (fresh database, Toxiproxy on the
DynamoDB path, the API and workers, a key for a fresh tenant); it tracks the phase (before the
method, during it, after it) for the phase-aware probes; after the experiment it writes the
report (``chaos/reports/<timestamp>-<name>.json``, the journal plus the suite's summary, and
``.md``), prints the row, marks the journal deviated when a check failed (so ``chaos run`` exits
non-zero), and stops the stack.

The experiment names itself in its configuration: ``"configuration": {"experiment_name":
"ddb-latency"}``, beside what it expects as evidence that its fault bit (``expect_*``, see
chaos/catalog.py).
"""

from __future__ import annotations

import json
import time
import traceback
from pathlib import Path
from typing import Any

from chaos import harness
from chaos.report import failures, markdown, row, table

ROOT = Path(__file__).resolve().parent.parent
REPORTS = ROOT / "chaos" / "reports"
WORK = ROOT / "build" / "chaos"
FINAL_ANALYTICS_WAIT_SECONDS = 30.0


def _name(configuration: dict[str, Any] | None, experiment: dict[str, Any]) -> str:
    name = (configuration or {}).get("experiment_name")
    return str(name or experiment.get("title", "experiment")).replace(" ", "-").lower()


def before_experiment_control(
    context: dict[str, Any], configuration: dict[str, Any] | None = None, **kwargs: Any
) -> None:
    name = _name(configuration, context)
    started = time.monotonic()
    run = harness.begin(name, WORK / name)
    run.expectations = {
        key: value for key, value in (configuration or {}).items() if key.startswith("expect_")
    }
    run.notes.append(f"stack started in {time.monotonic() - started:.1f} s")


def before_method_control(context: Any, **kwargs: Any) -> None:
    harness.current().phase = "method"


def after_method_control(context: Any, **kwargs: Any) -> None:
    harness.current().phase = "after"


def after_experiment_control(context: dict[str, Any], state: dict[str, Any], **kwargs: Any) -> None:
    try:
        run = harness.current()
    except RuntimeError:
        return  # the stack never started: Chaos Toolkit reports why
    try:
        run.recovery = run.measure_recovery()
        # Chaos Toolkit stops a hypothesis at its first failed probe: the data checks run once
        # more here, so the report's figures are the final ones whatever failed first.
        run.check_events()
        run.analytics_match(FINAL_ANALYTICS_WAIT_SECONDS)
        run.inbox_matches_store()
        run.deadline_answers()
        summary = run.summary()
        found = failures(state, summary)
        if found:
            # `chaos run` exits non-zero on a deviated journal; a check that failed during the
            # fault (or a lost or duplicated event) is a deviation even if the after-state held.
            state["deviated"] = True
        state["triggers_api"] = {**summary, "failures": found, "row": row(state, summary)}
        write_report(run.name, state, summary)
        print("\n" + table([row(state, summary)]) + "\n", flush=True)
    except Exception:
        # Chaos Toolkit logs a control's exception at debug level and carries on: mark the run
        # deviated so `chaos run` exits non-zero, and say why on stderr.
        state["deviated"] = True
        traceback.print_exc()
        raise
    finally:
        harness.end()


def cleanup_control(**kwargs: Any) -> None:
    harness.end()


def write_report(name: str, journal: dict[str, Any], summary: dict[str, Any]) -> Path:
    REPORTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = REPORTS / f"{stamp}-{name}.json"
    path.write_text(json.dumps(journal, indent=2, default=str, ensure_ascii=False))
    path.with_suffix(".md").write_text(markdown(journal, summary))
    latest = WORK / name / "report.json"
    latest.parent.mkdir(parents=True, exist_ok=True)
    latest.write_text(json.dumps({"journal": str(path), **journal["triggers_api"]}, default=str))
    return path
