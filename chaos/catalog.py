"""The experiments, declared once here and written out as Chaos Toolkit experiment files
(``chaos/experiments/<name>.json``) by ``python -m chaos.catalog --write``. The files are what
runs (``chaos run chaos/experiments/ddb-latency.json`` works on its own); a test fails when
they differ from this catalogue.

Every experiment: the ``chaos.control`` control (its own stack), the steady-state hypothesis
(the API answers by contract, health by contract, nothing lost or duplicated, analytics equal
to the events written; plus what the experiment adds), a method (load, fault, pause, faults
off, finish the load) and a rollback that takes every fault off.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EXPERIMENTS_DIR = Path(__file__).resolve().parent / "experiments"


def _probe(name: str, func: str) -> dict[str, Any]:
    return {
        "type": "probe",
        "name": name,
        "tolerance": True,
        "provider": {"type": "python", "module": "chaos.probes", "func": func},
    }


def action(name: str, func: str, pause_after: float = 0.0, **arguments: Any) -> dict[str, Any]:
    step: dict[str, Any] = {
        "type": "action",
        "name": name,
        "provider": {"type": "python", "module": "chaos.actions", "func": func},
    }
    if arguments:
        step["provider"]["arguments"] = arguments
    if pause_after:
        step["pauses"] = {"after": pause_after}
    return step


BASE_PROBES = (
    _probe("api-answers-by-contract", "api_answers_by_contract"),
    _probe("health-by-contract", "health_by_contract"),
    _probe("acknowledged-events-durable-once", "acknowledged_events_durable"),
    _probe("analytics-match-events", "analytics_match_events"),
    _probe("inbox-has-no-duplicates", "inbox_has_no_duplicates"),
)
WEBHOOK_PROBE = _probe("webhook-deliveries-complete", "webhook_deliveries_complete")
BUDGET_PROBE = _probe("answers-within-function-timeout", "answers_within_function_timeout")


@dataclass(frozen=True)
class Experiment:
    name: str
    title: str
    description: str
    fault: list[dict[str, Any]]  # the method's fault steps (the last one pauses)
    tags: tuple[str, ...] = ()
    ci: bool = False  # in the short set `.ci/run` runs
    load: dict[str, Any] = field(
        default_factory=lambda: {"events_per_second": 15, "max_seconds": 90}
    )
    lead_in: float = 5.0  # seconds of load before the fault
    webhook: bool = False
    extra: tuple[dict[str, Any], ...] = ()  # more probes
    after_fault: tuple[dict[str, Any], ...] = ()  # steps between faults-off and finish-load
    # Evidence the fault took effect (else the experiment proves nothing and fails): some 503 +
    # Retry-After while it was on, or a call at least this slow.
    expect_503_during: bool = False
    expect_slowest_at_least: float = 0.0
    expect_webhook_retries: bool = False  # some delivery needed more than one attempt
    expect_canary_failures: bool = False  # some unretried call through the proxy failed
    expect_canary_median_at_least: float = 0.0  # seconds, unretried calls through the proxy
    expect_deadline_exceeded: bool = False  # the API ended some request at its time budget

    def document(self) -> dict[str, Any]:
        method: list[dict[str, Any]] = []
        if self.webhook:
            method.append(action("create-webhook", "create_webhook"))
        method.append(action("start-load", "start_load", self.lead_in, **self.load))
        method.extend(self.fault)
        method.append(action("remove-faults", "remove_faults"))
        method.extend(self.after_fault)
        method.append(action("finish-load", "finish_load", settle_seconds=60))
        return {
            "version": "1.0.0",
            "title": self.title,
            "description": self.description,
            "tags": ["triggers-api", *self.tags, *(["ci"] if self.ci else [])],
            "configuration": {
                "experiment_name": self.name,
                **({"expect_503_during": True} if self.expect_503_during else {}),
                **(
                    {"expect_slowest_at_least": self.expect_slowest_at_least}
                    if self.expect_slowest_at_least
                    else {}
                ),
                **{
                    name: value
                    for name, value in (
                        ("expect_webhook_retries", self.expect_webhook_retries),
                        ("expect_canary_failures", self.expect_canary_failures),
                        ("expect_canary_median_at_least", self.expect_canary_median_at_least),
                        ("expect_deadline_exceeded", self.expect_deadline_exceeded),
                    )
                    if value
                },
            },
            "controls": [
                {
                    "name": "triggers-api-stack",
                    "provider": {"type": "python", "module": "chaos.control"},
                }
            ],
            "steady-state-hypothesis": {
                "title": "The API keeps its contract and loses nothing",
                "probes": [
                    *BASE_PROBES,
                    *((WEBHOOK_PROBE,) if self.webhook else ()),
                    *self.extra,
                ],
            },
            "method": method,
            "rollbacks": [action("remove-every-fault", "remove_faults")],
        }


def toxic(
    kind: str, seconds: float, attributes: dict[str, Any], proxy: str = "dynamodb", **more: Any
) -> dict[str, Any]:
    return action(
        f"{proxy}-{kind.replace('_', '-')}",
        "add_toxic",
        seconds,
        toxic_type=kind,
        attributes=attributes,
        **({"proxy": proxy} if proxy != "dynamodb" else {}),
        **more,
    )


EXPERIMENTS: tuple[Experiment, ...] = (
    Experiment(
        "ddb-latency",
        "DynamoDB answers 200 ms slower",
        "Toxiproxy adds 200 ms to every DynamoDB response for 20 s. Requests slow down; none "
        "fails, nothing is lost or duplicated.",
        [toxic("latency", 20, {"latency": 200, "jitter": 0})],
        tags=("dynamodb", "toxiproxy", "latency"),
        ci=True,
        expect_slowest_at_least=0.2,
    ),
    Experiment(
        "ddb-latency-jitter",
        "DynamoDB answers about a second slower, with jitter",
        "Toxiproxy adds 1 s +/- 500 ms to every DynamoDB response for 20 s: under the 3 s read "
        "timeout, so calls succeed slowly; answers are 2xx or 503 + Retry-After.",
        [toxic("latency", 20, {"latency": 1000, "jitter": 500})],
        tags=("dynamodb", "toxiproxy", "latency"),
        expect_slowest_at_least=1.0,
    ),
    Experiment(
        "ddb-timeout",
        "DynamoDB stops answering past the client's read timeout",
        "Toxiproxy's timeout toxic holds every DynamoDB response for 5 s (beyond the 3 s read "
        "timeout) and closes the connection, for 15 s. The API answers 503 + Retry-After, "
        "never hangs, and recovers when the toxic goes.",
        [toxic("timeout", 15, {"timeout": 5000})],
        tags=("dynamodb", "toxiproxy", "timeout"),
        expect_503_during=True,
    ),
    Experiment(
        "ddb-reset-peer",
        "DynamoDB connections are reset",
        "Toxiproxy resets 30 % of the connections to DynamoDB (TCP RST) for 20 s. botocore "
        "retries; what it cannot retry is a 503 + Retry-After; no write is doubled.",
        [toxic("reset_peer", 20, {"timeout": 0}, toxicity=0.3, canary=True)],
        tags=("dynamodb", "toxiproxy", "reset"),
        ci=True,
        expect_canary_failures=True,
    ),
    Experiment(
        "ddb-limit-data",
        "DynamoDB responses are cut short",
        "Toxiproxy closes every connection to DynamoDB after 1,500 bytes of responses for 20 s, "
        "so pooled connections die mid-response again and again: a truncated body must never "
        "read as an empty result (a GetItem as 'not found'), only as a retry or a 503.",
        [toxic("limit_data", 20, {"bytes": 1500}, canary=True)],
        tags=("dynamodb", "toxiproxy", "truncation"),
        expect_canary_failures=True,
    ),
    Experiment(
        "ddb-slicer",
        "DynamoDB responses arrive in tiny slices",
        "Toxiproxy slices every response into ~16-byte pieces with 1 ms between them, for 20 s.",
        [
            toxic(
                "slicer",
                20,
                {"average_size": 16, "size_variation": 8, "delay": 1000},
                canary=True,
            )
        ],
        tags=("dynamodb", "toxiproxy", "slicer"),
        expect_canary_median_at_least=0.1,
    ),
    Experiment(
        "ddb-bandwidth",
        "DynamoDB bandwidth is throttled",
        "Toxiproxy limits DynamoDB responses to 16 KB/s for 20 s.",
        [toxic("bandwidth", 20, {"rate": 16}, canary=True)],
        tags=("dynamodb", "toxiproxy", "bandwidth"),
        expect_canary_median_at_least=0.1,
    ),
    Experiment(
        "ddb-down",
        "Storage down, then back",
        "The DynamoDB proxy is disabled for 10 s (connections refused). Health answers 503 + "
        "Retry-After while it is down and 200 within 5 s after; writes during the outage are "
        "503s the clients retry, none is lost or doubled.",
        [action("storage-down", "disable_proxy", 10)],
        tags=("dynamodb", "toxiproxy", "outage"),
        ci=True,
        expect_503_during=True,
    ),
    Experiment(
        "ddb-throttling",
        "DynamoDB throttles half the requests",
        "DynamoDB answers ProvisionedThroughputExceededException to 50 % of requests for 20 s "
        "(LocalStack's error probability with CHAOS_BACKEND=localstack, else the local stage's "
        "fault-injection hook). botocore retries; the rest are 503 + Retry-After.",
        [
            action(
                "dynamodb-throttles",
                "inject_dynamodb_errors",
                20,
                error="ProvisionedThroughputExceededException",
                probability=0.5,
            )
        ],
        tags=("dynamodb", "throttling"),
        ci=True,
        expect_503_during=True,
    ),
    Experiment(
        "ddb-errors",
        "DynamoDB answers 500 to a third of the requests",
        "DynamoDB answers InternalServerError to 30 % of requests for 20 s (the local stage's "
        "fault-injection hook, or LocalStack's error probability).",
        [
            action(
                "dynamodb-5xx",
                "inject_dynamodb_errors",
                20,
                error="InternalServerError",
                probability=0.3,
            )
        ],
        tags=("dynamodb", "5xx"),
        expect_503_during=True,
    ),
    Experiment(
        "webhook-target-faults",
        "The webhook receiver is slower than the delivery timeout, then resets connections",
        "A webhook receives every event through Toxiproxy: 16 s of latency (over the 15 s "
        "delivery timeout), then 3 s of connection resets. Attempts that timed out or were "
        "reset are retried under the same webhook-id (the receiver sees the duplicate and "
        "answers 2xx); every event is delivered, once per delivery.",
        [
            # 7 s apart: a delivery that fails in one window retries 5 s (+/- 10 %) later,
            # outside the next, so each is retried before the schedule's 5-minute step.
            toxic("latency", 16, {"latency": 16000}, proxy="webhook"),
            action("receiver-ok", "remove_faults", 7),
            toxic("reset_peer", 3, {"timeout": 0}, proxy="webhook"),
        ],
        tags=("webhooks", "toxiproxy"),
        load={"events_per_second": 4, "max_seconds": 40},
        webhook=True,
        expect_webhook_retries=True,
    ),
    Experiment(
        "webhook-target-down",
        "The webhook receiver is down, then back",
        "The proxy in front of the receiver is disabled for 6 s (connections refused). "
        "Failed attempts are retried (after the circuit breaker's 60 s hold once five in a row "
        "failed); every event is delivered, once per delivery, none is lost.",
        [action("receiver-down", "disable_proxy", 6, proxy="webhook")],
        tags=("webhooks", "toxiproxy", "outage"),
        load={"events_per_second": 4, "max_seconds": 30},
        webhook=True,
        expect_webhook_retries=True,
    ),
    Experiment(
        "worker-kill",
        "The stream, fan-out and delivery workers are killed under load",
        "With a webhook on every event and 15 events/s keeping them busy, the stream worker, the "
        "fan-out worker and the delivery worker are each SIGKILLed and restarted 2 s later. "
        "Analytics counts stay exact, no delivery is lost.",
        [
            action(
                "kill-stream-worker",
                "kill_process",
                3,
                process="stream-worker",
                wait_for_events=60,
                down_seconds=2,
            ),
            action(
                "kill-fanout-worker",
                "kill_process",
                3,
                process="fanout-worker",
                wait_for_events=120,
                down_seconds=2,
            ),
            action(
                "kill-delivery-worker",
                "kill_process",
                3,
                process="delivery-worker",
                wait_for_events=180,
                down_seconds=2,
            ),
        ],
        tags=("workers", "process"),
        load={"events_per_second": 15, "max_seconds": 40},
        webhook=True,
    ),
    Experiment(
        "lambda-time-budget",
        "Slow storage never runs a request past the function timeout",
        "Toxiproxy adds 2.5 s to every DynamoDB response (under the read timeout) while bulk "
        "creates and inbox pages make many storage calls each (a keyed bulk of 25 alone would "
        "take about a minute): every answer (2xx, or 503 + Retry-After) comes 2 s before the "
        "API function's timeout in the template, because the API stops at its time budget.",
        [
            toxic("latency", 0, {"latency": 2500}),
            action("heavy-requests", "heavy_requests", seconds=40, concurrency=4),
        ],
        tags=("dynamodb", "toxiproxy", "timeout", "lambda"),
        expect_slowest_at_least=2.5,
        expect_deadline_exceeded=True,
        load={"events_per_second": 4, "max_seconds": 60},
        extra=(BUDGET_PROBE,),
    ),
)

BY_NAME = {experiment.name: experiment for experiment in EXPERIMENTS}
CI_SET = tuple(e.name for e in EXPERIMENTS if e.ci)


def render(experiment: Experiment) -> str:
    return json.dumps(experiment.document(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write or check chaos/experiments/*.json.")
    parser.add_argument("--write", action="store_true", help="write the files")
    args = parser.parse_args(argv)
    stale = []
    for experiment in EXPERIMENTS:
        path = EXPERIMENTS_DIR / f"{experiment.name}.json"
        text = render(experiment)
        if args.write:
            path.write_text(text)
        elif not path.exists() or path.read_text() != text:
            stale.append(path.name)
    if stale:
        print("stale (run python -m chaos.catalog --write): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
