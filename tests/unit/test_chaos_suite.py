"""The chaos suite's pure parts: the ledger's verdicts, the report, the catalogue, the checks of
stored events, the function timeout read from the template."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chaos import catalog, report
from chaos.ledger import (
    NO_ANSWER,
    Ledger,
    Outcome,
    Tally,
    health_holds,
    recovery_seconds,
    retry_after_seconds,
)
from chaos.load import retry_wait
from chaos.template import function_timeout
from chaos.verify import StoredEvent, analytics_expected, analytics_seen, check_events

ROOT = Path(__file__).resolve().parents[2]


def outcome(op: str, status: int, at: float = 0.0, retry_after: str | None = None) -> Outcome:
    return Outcome(op, status, at, 0.01, retry_after=retry_after)


# -- the contract each answer is judged against -----------------------------------------------
@pytest.mark.parametrize(
    ("op", "status", "retry_after", "violation"),
    [
        ("create", 201, None, False),
        ("create", 200, None, False),
        ("create", 503, "1", False),
        ("create", 503, None, True),  # a 503 must say when to retry
        ("create", 429, None, True),
        ("create", 500, None, True),
        ("create", 409, None, True),  # same key, same body: never a conflict
        ("get", 404, None, True),  # an event the API said exists: "not found" is a loss
        ("ack", 409, None, False),  # a retried ack whose first try went through
        ("health", 503, "1", False),
        ("health", 500, None, True),
        ("inbox", NO_ANSWER, None, True),  # the API must always answer
    ],
)
def test_violations(op: str, status: int, retry_after: str | None, violation: bool) -> None:
    assert (outcome(op, status, retry_after=retry_after).violation() is not None) is violation


def test_a_503_with_retry_after_is_not_a_server_error_but_a_500_is() -> None:
    tally = Tally.of(
        [outcome("create", 503, retry_after="1"), outcome("create", 500), outcome("create", 201)]
    )
    assert (tally.server_errors, tally.retryable_503, tally.violations) == (1, 1, 1)
    assert tally.as_dict()["by_status"] == {"201": 1, "500": 1, "503": 1}


def test_fault_windows_select_what_happened_during_them() -> None:
    ledger = Ledger()
    for at in (1.0, 5.0, 9.0):
        ledger.record(outcome("create", 201, at))
    ledger.fault_on("latency", 4.0)
    assert ledger.fault_active()
    ledger.fault_off(6.0)
    assert not ledger.fault_active()
    assert [o.at for o in ledger.during_fault(ledger.snapshot())] == [5.0]
    assert ledger.last_fault_end() == 6.0


def test_recovery_is_the_first_success_after_the_fault() -> None:
    outcomes = [outcome("create", 503, 6.5, "1"), outcome("create", 201, 7.25)]
    assert recovery_seconds(outcomes, 6.0, "create") == pytest.approx(1.25)
    assert recovery_seconds(outcomes, 8.0, "create") is None


def test_a_key_answered_with_two_event_ids_is_a_duplicate() -> None:
    ledger = Ledger()
    ledger.created("k1", "evt_1")
    ledger.created("k1", "evt_2")
    ledger.created("k2", "evt_3")
    assert ledger.keys_with_several_events() == ["k1"]


def test_a_key_that_gave_up_then_succeeded_is_confirmed() -> None:
    ledger = Ledger()
    ledger.gave_up("k1")
    assert ledger.unconfirmed == {"k1"}
    ledger.created("k1", "evt_1")
    assert ledger.unconfirmed == set()
    ledger.gave_up("k1")  # a later retry that failed does not unconfirm it
    assert ledger.unconfirmed == set()


# -- checks of what was stored -----------------------------------------------------------------
def test_check_events_finds_lost_and_duplicated() -> None:
    ledger = Ledger()
    ledger.created("k1", "evt_1")
    ledger.created("k2", "evt_2")
    ledger.created("k3", "evt_3")
    stored = [
        StoredEvent("evt_1", "k1", "pending"),
        StoredEvent("evt_3", "k3", "acknowledged"),
        StoredEvent("evt_4", "k3", "pending"),  # a second event for k3
        StoredEvent("evt_5", None, "pending"),  # no key: bulk load, not counted
    ]
    found = check_events(ledger, stored)
    assert (found.lost, found.duplicated, found.written, found.stored) == (
        ["evt_2"],
        ["k3"],
        3,
        4,
    )
    assert not found.holds
    assert analytics_expected(stored) == {"ingested": 4, "acknowledged": 1}


def test_check_events_holds_when_everything_is_stored_once() -> None:
    ledger = Ledger()
    ledger.created("k1", "evt_1")
    assert check_events(ledger, [StoredEvent("evt_1", "k1", "pending")]).holds


def test_analytics_seen_reads_the_summary_totals() -> None:
    summary = {"totals": {"ingested": 3, "acknowledged": 1, "deleted": 0}}
    assert analytics_seen(summary) == {"ingested": 3, "acknowledged": 1}
    assert analytics_seen({"error": {}}) is None


# -- the load's retry wait ----------------------------------------------------------------------
@given(st.integers(0, 30), st.integers(0, 1000))
def test_retry_wait_is_bounded(attempt: int, seed: int) -> None:
    wait = retry_wait(attempt, None, 4.0, random.Random(seed))
    assert 0 <= wait <= min(4.0, 0.2 * 2**attempt)


def test_retry_wait_honours_retry_after_up_to_the_cap() -> None:
    rng = random.Random(1)
    assert retry_wait(0, "2", 4.0, rng) == 2.0
    assert retry_wait(0, "30", 4.0, rng) == 4.0


# -- the template's function timeout ------------------------------------------------------------
def test_function_timeout_is_the_shortest_deployed_stage_and_at_most_29(tmp_path: Path) -> None:
    assert function_timeout(ROOT / ".chalice" / "config.json") == 29
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps({"stages": {"local": {"lambda_timeout": 5}, "dev": {"lambda_timeout": 20}}})
    )
    assert function_timeout(config) == 20
    config.write_text(json.dumps({"stages": {"dev": {}}}))  # chalice's default, 60, capped
    assert function_timeout(config) == 29


# -- the report ---------------------------------------------------------------------------------
def journal(before: bool = True, during: tuple[bool, ...] = (True,), after: bool = True) -> dict:
    def state(met: bool) -> dict:
        return {
            "steady_state_met": met,
            "probes": [{"activity": {"name": "health-by-contract"}, "tolerance_met": met}],
        }

    return {
        "status": "completed",
        "deviated": not after,
        "steady_states": {
            "before": state(before),
            "during": [state(m) for m in during],
            "after": state(after),
        },
        "experiment": {"title": "t"},
    }


SUMMARY = {
    "experiment": "ddb-down",
    "fault": "dynamodb: down",
    "backend": "local",
    "load": {"server_errors": 0, "retryable_503": 12},
    "during": {},
    "recovery_seconds": 0.42,
    "checks": {"events": {"written": 10, "lost": 0, "duplicated": 0}},
}


def test_a_run_that_held_has_no_failures() -> None:
    row = report.row(journal(), SUMMARY)
    assert row["verdict"] == "held"
    assert (row["before"], row["during"], row["after"]) == ("met", "met 1/1", "met")
    assert (row["retryable_503"], row["recovery"]) == ("12", "0.42")
    assert "ddb-down" in report.table([row])
    assert report.markdown_table([row]).count("\n") == 2


def test_a_check_that_failed_during_the_fault_fails_the_experiment() -> None:
    found = report.failures(journal(during=(True, False)), SUMMARY)
    assert found == ["steady state during the fault (check 2): health-by-contract"]
    assert report.row(journal(during=(True, False)), SUMMARY)["during"] == "DEVIATED 1/2"


def test_lost_events_and_500s_fail_the_experiment_even_if_the_hypothesis_held() -> None:
    summary = {
        **SUMMARY,
        "load": {"server_errors": 2, "retryable_503": 0},
        "checks": {"events": {"written": 10, "lost": 1, "duplicated": 3}},
    }
    found = report.failures(journal(), summary)
    assert len(found) == 3
    assert "FAILED" in report.markdown(journal(), summary)


# -- the catalogue ------------------------------------------------------------------------------
def test_the_experiment_files_are_the_catalogue() -> None:
    """chaos/experiments/*.json are written by `python -m chaos.catalog --write`."""
    assert catalog.main([]) == 0
    files = {p.stem for p in catalog.EXPERIMENTS_DIR.glob("*.json")}
    assert files == set(catalog.BY_NAME)


def test_every_experiment_is_a_valid_chaos_toolkit_experiment() -> None:
    from chaoslib.experiment import ensure_experiment_is_valid

    for experiment in catalog.EXPERIMENTS:
        document = json.loads(catalog.render(experiment))
        ensure_experiment_is_valid(document)
        assert document["controls"][0]["provider"]["module"] == "chaos.control"
        assert document["rollbacks"], experiment.name


def test_the_ci_set_is_the_issue_s_short_set() -> None:
    assert set(catalog.CI_SET) == {"ddb-latency", "ddb-reset-peer", "ddb-down", "ddb-throttling"}


def test_every_probe_and_action_the_experiments_name_exists() -> None:
    import importlib

    for experiment in catalog.EXPERIMENTS:
        document = experiment.document()
        steps = [
            *document["steady-state-hypothesis"]["probes"],
            *document["method"],
            *document["rollbacks"],
        ]
        for step in steps:
            provider = step["provider"]
            assert callable(getattr(importlib.import_module(provider["module"]), provider["func"]))


def test_a_fault_without_visible_effect_fails_the_experiment() -> None:
    """An experiment whose fault never bit proves nothing: it fails rather than 'holds'."""
    quiet = {**SUMMARY, "during": {"retryable_503": 0, "max_seconds": 0.05}}
    assert report.failures(journal(), {**quiet, "expect_503_during": True}) == [
        "the fault showed no effect: no 503 + Retry-After while it was on"
    ]
    assert report.failures(journal(), {**quiet, "expect_slowest_at_least": 0.2}) == [
        "the fault showed no effect: no call took 0.2 s or more while it was on"
    ]
    bit = {**SUMMARY, "during": {"retryable_503": 3, "max_seconds": 0.9}}
    assert (
        report.failures(
            journal(), {**bit, "expect_503_during": True, "expect_slowest_at_least": 0.2}
        )
        == []
    )


def test_a_ledger_copy_does_not_see_later_events() -> None:
    ledger = Ledger()
    ledger.created("k1", "evt_1")
    told = ledger.copy()
    ledger.created("k2", "evt_2")  # answered while the check reads the store
    assert check_events(told, [StoredEvent("evt_1", "k1", "pending")]).holds
    assert not check_events(ledger, [StoredEvent("evt_1", "k1", "pending")]).holds


def test_a_webhook_fault_that_caused_no_retry_fails_the_experiment() -> None:
    summary = {**SUMMARY, "expect_webhook_retries": True}
    quiet = {**summary, "checks": {**SUMMARY["checks"], "webhook": {"retried": 0}}}
    bit = {**summary, "checks": {**SUMMARY["checks"], "webhook": {"retried": 4}}}
    assert report.failures(journal(), quiet) == [
        "the fault showed no effect: no webhook delivery needed a second attempt"
    ]
    assert report.failures(journal(), bit) == []


def test_a_failed_method_step_fails_the_experiment() -> None:
    """Chaos Toolkit leaves the journal `completed` when an action raises: we do not."""
    failed_step = {
        **journal(),
        "run": [
            {"activity": {"name": "start-load"}, "status": "succeeded"},
            {
                "activity": {"name": "dynamodb-latency"},
                "status": "failed",
                "exception": ["Traceback ...", "KeyError: no proxy named 'dynamodb'\n"],
            },
        ],
    }
    assert report.failures(failed_step, SUMMARY) == [
        "method step dynamodb-latency failed: KeyError: no proxy named 'dynamodb'"
    ]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"checks": {"events": {"written": 0}}}, "no event was written: the load never ran"),
        ({"recovery_seconds": None}, "no recovery measured"),
        ({"recovery_seconds": 7.5}, "recovery took 7.50 s (target 5 s)"),
        (
            {
                "checks": {
                    **SUMMARY["checks"],
                    "analytics": {"expected": {"ingested": 3}, "seen": {"ingested": 2}},
                }
            },
            "analytics {'ingested': 2} != stored {'ingested': 3}",
        ),
        (
            {"checks": {**SUMMARY["checks"], "inbox": {"seen": 5, "duplicates": 1}}},
            "the inbox repeated 1 events in one pass",
        ),
        (
            {
                "checks": {
                    **SUMMARY["checks"],
                    "inbox": {"seen": 5, "duplicates": 0, "stored_pending": 6},
                }
            },
            "the inbox showed 5 pending events, the table holds 6",
        ),
        (
            {"expect_canary_failures": True, "checks": {**SUMMARY["checks"], "canary": []}},
            "every unretried call through it succeeded",
        ),
        (
            {
                "expect_canary_median_at_least": 0.1,
                "checks": {**SUMMARY["checks"], "canary": [{"median_seconds": 0.01}]},
            },
            "unretried calls took under 0.1 s",
        ),
        ({"expect_deadline_exceeded": True}, "no request reached its time budget"),
    ],
)
def test_what_fails_an_experiment(change: dict, reason: str) -> None:
    found = report.failures(journal(), {**SUMMARY, **change})
    assert len(found) == 1
    assert reason in found[0]


@pytest.mark.parametrize(
    ("status", "retry_after", "storage_down", "faulted", "holds"),
    [
        (200, None, False, False, True),
        (503, "1", False, False, False),  # no fault: health must be 200
        (503, "1", False, True, True),
        (200, None, False, True, True),
        (200, None, True, True, False),  # storage down and health says ok: a lie
        (503, None, True, True, False),  # 503 without Retry-After
        (503, "1", True, True, True),
        (500, None, False, True, False),
    ],
)
def test_health_holds(
    status: int, retry_after: str | None, storage_down: bool, faulted: bool, holds: bool
) -> None:
    assert (
        health_holds(outcome("health", status, retry_after=retry_after), storage_down, faulted)
        is holds
    )


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("1", 1),
        ("30", 30),
        ("0", None),
        ("-1", None),
        ("soon", None),
        ("\uff11", None),
        (None, None),
    ],
)
def test_retry_after_is_whole_seconds_at_least_one(value: str | None, seconds: int | None) -> None:
    assert retry_after_seconds(value) == seconds
    assert (outcome("create", 503, retry_after=value).violation() is None) is (seconds is not None)


def test_fault_off_says_whether_a_fault_was_on() -> None:
    """The rollback's remove_faults must not overwrite the recovery measured after the fault."""
    ledger = Ledger()
    ledger.fault_on("latency", 1.0)
    assert ledger.fault_off(2.0) is True
    assert ledger.fault_off(3.0) is False
    assert ledger.last_fault_end() == 2.0


# -- the canary's sample count and the suite's closing lines ----------------------------------
@given(st.floats(min_value=0.01, max_value=1.0))
def test_a_partial_toxic_s_canary_misses_it_at_most_once_in_a_million_runs(
    toxicity: float,
) -> None:
    from chaos.actions import CANARY_MIN_SAMPLES, CANARY_MISS_CHANCE, canary_samples

    samples = canary_samples(toxicity)
    assert samples >= CANARY_MIN_SAMPLES
    assert (1.0 - toxicity) ** samples <= CANARY_MISS_CHANCE
    # and no more than needed (above the floor)
    if samples > CANARY_MIN_SAMPLES:
        assert (1.0 - toxicity) ** (samples - 1) > CANARY_MISS_CHANCE


def test_the_reset_peer_canary_samples_enough_to_see_a_30_percent_toxic() -> None:
    # Ten samples at toxicity 0.3 came back clean in 2.8 % of runs: a CI failure (stop 23).
    from chaos.actions import canary_samples

    steps = [s for e in catalog.EXPERIMENTS for s in e.fault if s["name"] == "dynamodb-reset-peer"]
    toxicity = steps[0]["provider"]["arguments"]["toxicity"]
    assert toxicity == 0.3
    assert 0.7**10 > 0.02  # what the old fixed ten missed
    assert canary_samples(toxicity) == 39


@pytest.mark.parametrize("toxicity", [0.0, -0.1, 1.5])
def test_a_toxicity_outside_zero_to_one_is_refused(toxicity: float) -> None:
    from chaos.actions import canary_samples

    with pytest.raises(ValueError, match="toxicity"):
        canary_samples(toxicity)


def test_the_suite_ends_with_each_failed_experiment_and_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A CI log cut in the middle kept the table's FAILED but not the reason: the reason is in
    the closing lines now. The experiment process is a stand-in writing the report a real run
    writes (chaos/control.py's write_report)."""
    import sys

    import chaos.__main__ as suite

    reason = "the fault showed no effect: every unretried call through it succeeded"
    written = {
        "journal": "j.json",
        "failures": [reason],
        "row": {
            "experiment": "ddb-reset-peer",
            "fault": "dynamodb: reset_peer",
            "verdict": "FAILED",
        },
    }
    script = "import json, pathlib, sys; p = pathlib.Path(sys.argv[1]); p.write_text(sys.argv[2])"

    def fake_command(name: str) -> list[str]:
        target = tmp_path / "work" / name / "report.json"
        return [sys.executable, "-c", script, str(target), json.dumps(written)]

    monkeypatch.setattr(suite, "WORK", tmp_path / "work")
    monkeypatch.setattr(suite, "REPORTS", tmp_path / "reports")
    monkeypatch.setattr(suite, "command", fake_command)
    assert suite.main(["ddb-reset-peer"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-2] == f"[chaos] ddb-reset-peer FAILED: {reason}"
    assert err[-1] == "[chaos] FAILED: ddb-reset-peer"


def test_an_experiment_that_exits_non_zero_without_a_reason_says_where_to_look(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    import chaos.__main__ as suite

    written = {"failures": [], "row": {"experiment": "ddb-latency", "verdict": "held"}}
    script = "import pathlib, sys; pathlib.Path(sys.argv[1]).write_text(sys.argv[2]); sys.exit(3)"
    monkeypatch.setattr(suite, "WORK", tmp_path / "work")
    monkeypatch.setattr(suite, "REPORTS", tmp_path / "reports")
    monkeypatch.setattr(
        suite,
        "command",
        lambda name: [
            sys.executable,
            "-c",
            script,
            str(tmp_path / "work" / name / "report.json"),
            json.dumps(written),
        ],
    )
    assert suite.main(["ddb-latency"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert (
        err[-2]
        == "[chaos] ddb-latency FAILED: the experiment exited 3: see build/chaos/ddb-latency"
    )
