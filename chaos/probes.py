"""Steady-state probes (Chaos Toolkit python provider, ``"module": "chaos.probes"``). Each
returns ``True`` when its part of the steady state holds; an experiment's hypothesis lists them
with ``"tolerance": true``.

They run before the method, during it (``--hypothesis-strategy continuously``, which the
``python -m chaos`` runner uses) and after it. What "holds" means can depend on the phase, and
says so: while storage is down, health *must* answer 503 with Retry-After; after the fault it
must answer 200 within :data:`chaos.report.RECOVERY_TARGET_SECONDS`.
"""

from __future__ import annotations

import time

from chaos.harness import ANALYTICS_SETTLE_SECONDS, current
from chaos.ledger import health_holds
from chaos.report import RECOVERY_TARGET_SECONDS
from chaos.stack import ROOT
from chaos.template import API_GATEWAY_HEADROOM_SECONDS, function_timeout


def api_answers_by_contract() -> bool:
    """No 500 ever; every answer a status the contract allows for its call; every 429/503 with
    Retry-After; the API always answered."""
    harness = current()
    violations = harness.ledger.violations()
    harness.checks["contract_violations"] = violations
    return not violations


def health_by_contract() -> bool:
    """Before and after a fault: 200 (after: within the recovery target). While storage is
    down: 503 with Retry-After. Under any other fault: 200 or that 503. Never a 500, never
    silence (:func:`chaos.ledger.health_holds`)."""
    harness = current()
    outcome = harness.health()
    faulted = harness.phase == "method" or harness.ledger.fault_active()
    if faulted or harness.storage_down:
        return health_holds(outcome, harness.storage_down, faulted)
    deadline = time.monotonic() + RECOVERY_TARGET_SECONDS
    while outcome.status != 200 and time.monotonic() < deadline:
        time.sleep(0.1)
        outcome = harness.health()
    return health_holds(outcome, storage_down=False, faulted=False)


def inbox_has_no_duplicates() -> bool:
    """A pass over the inbox, cursor to cursor, never repeats an event (a pass a 503 cut short
    proves nothing either way); after the fault it is exactly the stored pending events."""
    harness = current()
    if harness.phase == "after":
        return harness.inbox_matches_store()
    return int(harness.inbox_pass()["duplicates"]) == 0


def acknowledged_events_durable() -> bool:
    """Every event a create answered 2xx for is stored; each idempotency key has one event."""
    return current().check_events().holds


def analytics_match_events() -> bool:
    """Analytics never count an event twice; after the fault (once the stream worker caught up)
    they equal the events stored: ingested and acknowledged."""
    harness = current()
    return harness.analytics_match(ANALYTICS_SETTLE_SECONDS if harness.phase == "after" else None)


def answers_within_function_timeout() -> bool:
    """No call took as long as the API function's timeout in the template (.chalice/config.json,
    `lambda_timeout`) less the headroom API Gateway's clock needs: slow storage makes the API
    answer (503, or bulk's per-item ``service_unavailable``) before it, not run out of time."""
    harness = current()
    limit = function_timeout(ROOT / ".chalice" / "config.json") - API_GATEWAY_HEADROOM_SECONDS
    slowest = max((o.seconds for o in harness.ledger.snapshot()), default=0.0)
    harness.checks["slowest_answer_seconds"] = round(slowest, 3)
    harness.checks["answer_limit_seconds"] = limit
    return slowest < limit


BROKEN_DELIVERIES = ("failed", "missing", "not_received", "several_per_event")


def webhook_deliveries_complete() -> bool:
    """Every event created while the webhook existed is delivered exactly as one delivery: the
    log shows it succeeded, and the receiver got it under the delivery's id (a retry keeps its
    ``webhook-id``). During the fault only a failed delivery breaks it."""
    harness = current()
    if harness.webhook is None and harness.phase == "before":
        return True  # the method creates it: nothing is delivered yet
    # After: pending deliveries may wait out a 60 s circuit-breaker hold before their retry.
    report = harness.webhook_report(wait=0.0 if harness.phase != "after" else 150.0)
    broken = ("failed",) if harness.phase != "after" else BROKEN_DELIVERIES
    return all(int(report[what]) == 0 for what in broken)
