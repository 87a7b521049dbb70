"""An experiment's report: one row of the suite's table, a markdown summary, and the verdict.
Pure: the journal (Chaos Toolkit's) and the harness summary in, text out.
"""

from __future__ import annotations

import json
from typing import Any

# Health must answer 200 again within this many seconds of a fault's end (the target).
RECOVERY_TARGET_SECONDS = 5.0

COLUMNS = (
    ("experiment", "experiment"),
    ("fault", "fault"),
    ("before", "steady before"),
    ("during", "during"),
    ("after", "after"),
    ("written", "events written"),
    ("lost", "lost"),
    ("duplicated", "duplicated"),
    ("server_errors", "5xx"),
    ("retryable_503", "503 + Retry-After"),
    ("recovery", "recovery s"),
    ("verdict", "verdict"),
)


def _state(state: Any) -> str:
    if not isinstance(state, dict):
        return "n/a"
    return "met" if state.get("steady_state_met") else "DEVIATED"


def _during(states: Any) -> str:
    if not states:
        return "n/a"
    met = sum(bool(s and s.get("steady_state_met")) for s in states)
    return f"met {met}/{len(states)}" if met == len(states) else f"DEVIATED {met}/{len(states)}"


def failures(journal: dict[str, Any], summary: dict[str, Any]) -> list[str]:
    """Why the experiment failed (empty: it held)."""
    found: list[str] = []
    states = journal.get("steady_states", {})
    if journal.get("status") != "completed":
        found.append(f"the run ended {journal.get('status')}")
    for phase in ("before", "after"):
        state = states.get(phase)
        if isinstance(state, dict) and not state.get("steady_state_met"):
            found.append(f"steady state {phase} the fault: not met")
    for index, state in enumerate(states.get("during") or ()):
        if isinstance(state, dict) and not state.get("steady_state_met"):
            broken = [
                p["activity"]["name"] for p in state.get("probes", []) if not p.get("tolerance_met")
            ]
            found.append(f"steady state during the fault (check {index + 1}): {', '.join(broken)}")
    for section in ("run", "rollbacks"):
        for activity in journal.get(section) or ():
            if isinstance(activity, dict) and activity.get("status") not in (None, "succeeded"):
                name = activity.get("activity", {}).get("name", "?")
                step = "rollback" if section == "rollbacks" else "method"
                trace = activity.get("exception") or ["(no exception)"]
                found.append(f"{step} step {name} {activity.get('status')}: {trace[-1].strip()}")
    checks = summary.get("checks", {})
    events = checks.get("events", {})
    if not events.get("written"):
        found.append("no event was written: the load never ran")
    recovery = summary.get("recovery_seconds")
    if recovery is None:
        found.append("no recovery measured: health never answered 200 after the fault")
    elif recovery > RECOVERY_TARGET_SECONDS:
        found.append(f"recovery took {recovery:.2f} s (target {RECOVERY_TARGET_SECONDS:g} s)")
    analytics = checks.get("analytics", {})
    if analytics and analytics.get("seen") != analytics.get("expected"):
        found.append(f"analytics {analytics.get('seen')} != stored {analytics.get('expected')}")
    inbox = checks.get("inbox", {})
    if inbox.get("duplicates"):
        found.append(f"the inbox repeated {inbox['duplicates']} events in one pass")
    if "stored_pending" in inbox and inbox.get("seen") != inbox["stored_pending"]:
        found.append(
            f"the inbox showed {inbox.get('seen')} pending events, the table holds "
            f"{inbox['stored_pending']}"
        )
    if events.get("lost"):
        found.append(f"{events['lost']} acknowledged events lost")
    if events.get("duplicated"):
        found.append(f"{events['duplicated']} idempotency keys with several events")
    during = summary.get("during", {})
    if summary.get("expect_503_during") and not during.get("retryable_503"):
        found.append("the fault showed no effect: no 503 + Retry-After while it was on")
    slower = summary.get("expect_slowest_at_least")
    if slower and float(during.get("max_seconds", 0)) < float(slower):
        found.append(f"the fault showed no effect: no call took {slower} s or more while it was on")
    webhook = summary.get("checks", {}).get("webhook", {})
    if summary.get("expect_webhook_retries") and not webhook.get("retried"):
        found.append("the fault showed no effect: no webhook delivery needed a second attempt")
    canaries = checks.get("canary", [])
    if summary.get("expect_canary_failures") and not any(c.get("failed") for c in canaries):
        found.append("the fault showed no effect: every unretried call through it succeeded")
    slowest_canary = max((float(c.get("median_seconds", 0)) for c in canaries), default=0.0)
    wanted = summary.get("expect_canary_median_at_least")
    if wanted and slowest_canary < float(wanted):
        found.append(f"the fault showed no effect: unretried calls took under {wanted} s")
    if summary.get("expect_deadline_exceeded") and not checks.get("deadline_exceeded"):
        found.append("the fault showed no effect: no request reached its time budget")
    if summary.get("load", {}).get("server_errors"):
        found.append(f"{summary['load']['server_errors']} answers 5xx (not a 503 + Retry-After)")
    return found


def row(journal: dict[str, Any], summary: dict[str, Any]) -> dict[str, str]:
    states = journal.get("steady_states", {})
    events = summary.get("checks", {}).get("events", {})
    load = summary.get("load", {})
    recovery = summary.get("recovery_seconds")
    backend = summary.get("backend") or "local"
    return {
        "experiment": str(summary.get("experiment", ""))
        + ("" if backend == "local" else f" ({backend})"),
        "fault": str(summary.get("fault", "")),
        "before": _state(states.get("before")),
        "during": _during(states.get("during")),
        "after": _state(states.get("after")),
        "written": str(events.get("written", "n/a")),
        "lost": str(events.get("lost", "n/a")),
        "duplicated": str(events.get("duplicated", "n/a")),
        "server_errors": str(load.get("server_errors", 0)),
        "retryable_503": str(load.get("retryable_503", 0)),
        "recovery": "n/a" if recovery is None else f"{recovery:.2f}",
        "verdict": "FAILED" if failures(journal, summary) else "held",
    }


def table(rows: list[dict[str, str]]) -> str:
    """A fixed-width text table (what `make chaos` prints)."""
    widths = {
        key: max(len(title), *(len(r.get(key, "")) for r in rows)) if rows else len(title)
        for key, title in COLUMNS
    }
    lines = ["  ".join(title.ljust(widths[key]) for key, title in COLUMNS)]
    lines.append("  ".join("-" * widths[key] for key, _ in COLUMNS))
    lines.extend("  ".join(r.get(key, "").ljust(widths[key]) for key, _ in COLUMNS) for r in rows)
    return "\n".join(lines)


def markdown_table(rows: list[dict[str, str]]) -> str:
    head = "| " + " | ".join(title for _, title in COLUMNS) + " |"
    rule = "|" + "|".join("---" for _ in COLUMNS) + "|"
    body = [
        "| " + " | ".join(r.get(key, "").replace("|", "\\|") for key, _ in COLUMNS) + " |"
        for r in rows
    ]
    return "\n".join([head, rule, *body])


def markdown(journal: dict[str, Any], summary: dict[str, Any]) -> str:
    """The experiment's summary: the row, what failed, the load's tallies and the checks."""
    experiment = journal.get("experiment", {})
    found = failures(journal, summary)
    lines = [
        f"# {summary.get('experiment')}: {experiment.get('title', '')}",
        "",
        f"Backend `{summary.get('backend')}`, ran {journal.get('start', '')} for "
        f"{float(journal.get('duration') or 0):.1f} s; Chaos Toolkit status "
        f"`{journal.get('status')}`.",
        "",
        markdown_table([row(journal, summary)]),
        "",
        "**Verdict:** " + ("held." if not found else "FAILED: " + "; ".join(found) + "."),
        "",
        "## Load",
        "",
        "| | requests | by status | 5xx | 503 + Retry-After | contract violations | slowest s |",
        "|---|---|---|---|---|---|---|",
    ]
    for label in ("load", "during"):
        tally = summary.get(label, {})
        statuses = ", ".join(f"{k}: {v}" for k, v in tally.get("by_status", {}).items())
        lines.append(
            f"| {'whole run' if label == 'load' else 'while faulted'} | "
            f"{tally.get('requests', 0)} | {statuses} | {tally.get('server_errors', 0)} | "
            f"{tally.get('retryable_503', 0)} | {tally.get('violations', 0)} | "
            f"{tally.get('max_seconds', 0)} |"
        )
    lines += ["", "## Checks", "", "```json"]
    lines.append(json.dumps(summary.get("checks", {}), indent=2, sort_keys=True))
    lines.append("```")
    if summary.get("violations"):
        lines += ["", "## Contract violations (first 20)", ""]
        lines += [f"- {v}" for v in summary["violations"]]
    if summary.get("notes"):
        lines += ["", "## Notes", ""] + [f"- {n}" for n in summary["notes"]]
    return "\n".join(lines) + "\n"
