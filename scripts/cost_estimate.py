#!/usr/bin/env python3
"""The monthly AWS cost estimate of docs/COSTS.md, computed from stated inputs.

    python scripts/cost_estimate.py            # print the tables (10, 100, 1,000 events/s)
    python scripts/cost_estimate.py --write    # rewrite them in docs/COSTS.md
    python scripts/cost_estimate.py --rate 250 # one other rate

Pure arithmetic: every price carries its source and date (``PRICES``), every workload figure
is an input (``Workload``) and the writes per event are counted from the code's calls (see
``write_units``). ``tests/unit/test_cost_estimate.py`` checks the arithmetic and that the tables
in docs/COSTS.md are this script's output.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

from chalicelib.domain.token_bucket import DEFAULT_WINDOW_SECONDS
from chalicelib.domain.token_lease import LEASE_DIVISOR, MAX_LEASE_TOKENS

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "COSTS.md"
START = "<!-- cost-tables:start (scripts/cost_estimate.py --write) -->"
END = "<!-- cost-tables:end -->"
SECONDS_PER_MONTH = 730 * 3600  # AWS's pricing month: 730 hours
RATES = (10, 100, 1000)


@dataclass(frozen=True)
class Price:
    value: float
    unit: str
    source: str
    confirmed: bool  # seen on a stored copy of a page here, else an assumption (docs/COSTS.md)


# us-east-1, x86. "confirmed": read on a page the search tool had (date of that page);
# otherwise the figure AWS published when last checked, and docs/COSTS.md says so.
PRICES: dict[str, Price] = {
    "lambda_request": Price(
        0.20 / 1e6, "request", "aws.amazon.com/lambda/pricing (worked example)", True
    ),
    "lambda_gb_s": Price(
        0.0000166667, "GB-s", "aws.amazon.com/lambda/pricing; cubeapm.com 2024 guide", True
    ),
    "lambda_pc_gb_s": Price(
        0.0000041667, "GB-s provisioned", "aws.amazon.com/lambda/pricing (not readable here)", False
    ),
    "lambda_pc_duration_gb_s": Price(
        0.0000097222,
        "GB-s run on provisioned",
        "aws.amazon.com/lambda/pricing (not readable here)",
        False,
    ),
    "apigw_rest_first_333m": Price(
        3.50 / 1e6, "request", "AWS whitepaper 'Best practices ... private APIs', table 4", True
    ),
    "apigw_rest_next_667m": Price(2.80 / 1e6, "request", "same table", True),
    "apigw_rest_next_19b": Price(2.38 / 1e6, "request", "same table", True),
    "apigw_rest_over_20b": Price(1.51 / 1e6, "request", "same table", True),
    "ddb_wru": Price(
        0.625 / 1e6, "write request unit", "airbyte.com, July 2025 (Nov 2024 cut)", True
    ),
    "ddb_rru": Price(0.125 / 1e6, "read request unit", "airbyte.com, July 2025", True),
    "ddb_storage_gb_month": Price(
        0.25, "GB-month", "aws.amazon.com/dynamodb/pricing (not readable here)", False
    ),
    "ddb_pitr_gb_month": Price(
        0.20, "GB-month", "aws.amazon.com/dynamodb/pricing (not readable here)", False
    ),
    "sqs_request": Price(0.40 / 1e6, "request (64 KB)", "cloudburn.io, March 2026", True),
    "logs_ingest_gb": Price(
        0.50, "GB", "Lambda logs first tier: duckbillgroup.com, May 2025; hykell.com", True
    ),
    "logs_storage_gb_month": Price(0.03, "GB-month", "hykell.com (CloudWatch Logs guide)", True),
    "cw_custom_metric": Price(0.30, "metric-month", "signoz.io, Feb 2026 (first 10,000)", True),
    "cw_alarm_metric": Price(
        0.10, "alarm metric-month", "aws.amazon.com/cloudwatch/pricing (not readable here)", False
    ),
    "cw_dashboard": Price(3.00, "dashboard-month", "factualminds.com, June 2026", True),
}


@dataclass(frozen=True)
class Workload:
    """What one event costs to take in and push out. Every figure is an input."""

    event_kb: int = 1  # event item (and the idempotency record holding its answer), whole KB
    with_idempotency_key: bool = True  # POST /v1/events in a transaction with its key
    webhooks_per_event: float = 1.0  # matching endpoints per event
    api_ms: float = 30.0  # billed duration of one API invocation (assumption)
    # Token leases (issue 16): keys sending the events, spread evenly over the API's warm
    # instances; a lease holds what one instance spends of one key in about a second (at most
    # MAX_LEASE_TOKENS), so the limiter writes once per lease instead of once per request.
    sending_keys: int = 1
    memory_gb: float = 1.0  # lambda_memory_size 1024 for every function (.chalice/config.json)
    stream_polls_per_s: float = 4.0  # Lambda reads a stream shard about 4 times a second
    stream_batch_max: int = 100  # BatchSize of both stream mappings (infra/merge-template.json)
    delivery_batch_max: int = 10  # BatchSize of the delivery queue's mapping
    groups_per_batch_max: int = 10  # distinct (tenant, source, event_type) in one batch
    tenants_per_batch_max: int = 3  # distinct tenants in one batch (each has a total roll-up)
    # Billed size (whole KB) of a minute, an hour and a day counter item: an update is charged
    # on the larger of the item before and after. Without acknowledgements (this workload:
    # events pushed to webhooks) an item is ~0.45 KB. Consumers that ack add the ack-latency
    # histogram, ~50-130 bins of ~9 bytes in an hour or day item: then (1, 2, 2).
    counter_kb: tuple[int, int, int] = (1, 1, 1)
    stream_ms_base: float = 20.0  # stream invocation: fixed part (assumption)
    stream_ms_per_record: float = 2.0  # ... and per record (assumption)
    delivery_ms_base: float = 150.0  # delivery invocation incl. the receiver's answer (assumption)
    delivery_ms_per_message: float = 10.0
    reads_per_event: float = 2.0  # RRU: the delivery's GetItems, the fan-out's Query (assumption)
    retention_days: int = 30  # EVENT_RETENTION_DAYS
    delivery_item_kb: float = 0.5  # a delivery with one attempt, kept 30 days
    log_bytes_per_request: int = 1000 + 350  # measured locally + START/END/REPORT (assumption)
    log_bytes_per_delivery: int = 1000
    log_bytes_per_invocation: int = 700 + 350  # a batch line + its metrics, platform lines
    log_retention_days: int = 90  # LogRetentionDays, prod (infra/stages.json)
    custom_metrics: int = 120  # metric series the code emits (docs/COSTS.md counts them)
    alarm_metrics: int = 10  # the 7 alarms' metrics (the rate alarms have 2 each)
    dashboards: int = 1
    sqs_idle_receives: float = 5 * 3 * 60 * 730  # 5 pollers, 20 s long polls, all month


@dataclass(frozen=True)
class Line:
    service: str
    item: str
    quantity: float
    unit: str
    cost: float


@dataclass
class Estimate:
    rate: float
    provisioned_concurrency: int
    lines: list[Line] = field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(line.cost for line in self.lines)

    def by_service(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for line in self.lines:
            totals[line.service] = totals.get(line.service, 0.0) + line.cost
        return totals


def stream_batch(rate: float, w: Workload) -> float:
    """Records per stream invocation: what arrives between polls, at least 1, at most BatchSize."""
    return min(float(w.stream_batch_max), max(1.0, rate / w.stream_polls_per_s))


def delivery_batch(delivery_rate: float, w: Workload) -> float:
    """Messages per delivery invocation (5 pollers share the arrivals; at most 10)."""
    return min(float(w.delivery_batch_max), max(1.0, delivery_rate / 5.0))


def counter_update_units(w: Workload) -> float:
    """Write units of one transactional counter update, averaged over minute, hour and day."""
    return 2.0 * sum(w.counter_kb) / len(w.counter_kb)


def counters_per_item(batch: float, w: Workload) -> float:
    """Analytics counter updates per counted item: minute, hour and day per distinct group,
    and per distinct tenant (its total roll-up, which the time series reads)."""
    groups = min(batch, float(w.groups_per_batch_max))
    tenants = min(groups, float(w.tenants_per_batch_max))
    return 3.0 * (groups + tenants) / batch


# A per-minute limit's hold time: 1/60 of the window (the lease sizes' own constants).
LEASE_SECONDS = DEFAULT_WINDOW_SECONDS / LEASE_DIVISOR


def rate_limit_writes(rate: float, w: Workload) -> float:
    """The limiter's UpdateItems per event with token leases: one per lease, a lease being what
    one instance spends of one key in a hold time (at least 1 token, at most 100)."""
    per_instance_key = rate / provisioned_concurrency_for(rate, w) / max(1, w.sending_keys)
    lease = min(float(MAX_LEASE_TOKENS), max(1.0, per_instance_key * LEASE_SECONDS))
    return 1.0 / lease


def write_units(rate: float, w: Workload) -> dict[str, float]:
    """Write request units per event, by where they are made (from the code's calls).

    * API, ``POST /v1/events``: the rate limiter's conditional UpdateItem, one per token lease
      (:func:`rate_limit_writes`); the event and its
      idempotency record in one TransactWriteItems (2 units per KB each), or a PutItem without
      a key; the events table's GSIs: 4 sparse inbox indexes with ALL projection (a pending
      event is in all four), ``event-id-index`` and ``replay-index`` (1 each).
    * Analytics (events-stream): one TransactWriteItems per batch: a dedup marker per record
      and minute/hour/day ADDs per distinct group, 2 units each (transactional).
    * Fan-out, per delivery: the delivery's PutItem and its queued mark (UpdateItem).
    * Delivery worker, per delivery: the lease (UpdateItem), the attempt (UpdateItem) and the
      outcome counted in an analytics transaction (marker + counters, 2 units each).
    """
    kb = w.event_kb
    api_event = 2 * kb + 2 * kb if w.with_idempotency_key else kb
    d = w.webhooks_per_event
    d_batch = delivery_batch(rate * d, w)
    return {
        "api: rate limit (token leases)": rate_limit_writes(rate, w),
        "api: event + idempotency record": float(api_event),
        "api: inbox GSIs (4)": 4.0 * kb,
        "api: event-id-index + replay-index": 2.0,
        "stream: analytics": 2.0
        + counters_per_item(stream_batch(rate, w), w) * counter_update_units(w),
        "fan-out: delivery put + queued": 2.0 * d,
        "delivery: lease + attempt": 2.0 * d,
        "delivery: outcome analytics": d
        * (2.0 + counters_per_item(d_batch, w) * counter_update_units(w)),
    }


def provisioned_concurrency_for(rate: float, w: Workload) -> int:
    """The API alias's provisioned concurrency: twice the mean concurrency + 1, at least 2."""
    mean = rate * w.api_ms / 1000.0
    return max(2, math.ceil(2 * mean) + 1)


def _apigw(requests: float) -> float:
    """REST API requests, tiered per month: 333 M, the next 667 M, the next 19 B, the rest."""
    tiers = (
        (333e6, PRICES["apigw_rest_first_333m"].value),
        (667e6, PRICES["apigw_rest_next_667m"].value),
        (19e9, PRICES["apigw_rest_next_19b"].value),
        (math.inf, PRICES["apigw_rest_over_20b"].value),
    )
    cost, left = 0.0, requests
    for size, price in tiers:
        taken = min(left, size)
        cost += taken * price
        left -= taken
    return cost


def estimate(rate: float, w: Workload | None = None) -> Estimate:
    w = w or Workload()
    p = {k: v.value for k, v in PRICES.items()}
    events = rate * SECONDS_PER_MONTH
    deliveries = events * w.webhooks_per_event
    pc = provisioned_concurrency_for(rate, w)
    est = Estimate(rate, pc)
    add = est.lines.append

    # Lambda: the API (all on the provisioned alias), two stream functions, deliveries.
    api_gb_s = events * w.api_ms / 1000.0 * w.memory_gb
    s_batch = stream_batch(rate, w)
    stream_invocations = 2 * events / s_batch  # events-stream and webhook-fanout
    stream_gb_s = (
        stream_invocations * (w.stream_ms_base + w.stream_ms_per_record * s_batch) / 1000.0
    ) * w.memory_gb
    d_batch = delivery_batch(rate * w.webhooks_per_event, w)
    delivery_invocations = deliveries / d_batch
    delivery_gb_s = (
        delivery_invocations
        * (w.delivery_ms_base + w.delivery_ms_per_message * d_batch)
        / 1000.0
        * w.memory_gb
    )
    invocations = events + stream_invocations + delivery_invocations
    add(Line("Lambda", "requests", invocations, "invocations", invocations * p["lambda_request"]))
    add(
        Line(
            "Lambda",
            "API duration (on provisioned)",
            api_gb_s,
            "GB-s",
            api_gb_s * p["lambda_pc_duration_gb_s"],
        )
    )
    add(
        Line(
            "Lambda",
            "workers' duration",
            stream_gb_s + delivery_gb_s,
            "GB-s",
            (stream_gb_s + delivery_gb_s) * p["lambda_gb_s"],
        )
    )
    pc_gb_s = pc * w.memory_gb * SECONDS_PER_MONTH
    add(
        Line(
            "Lambda",
            f"provisioned concurrency ({pc})",
            pc_gb_s,
            "GB-s",
            pc_gb_s * p["lambda_pc_gb_s"],
        )
    )

    add(Line("API Gateway", "REST requests", events, "requests", _apigw(events)))

    wru = sum(write_units(rate, w).values()) * events
    add(Line("DynamoDB", "writes", wru, "WRU", wru * p["ddb_wru"]))
    rru = w.reads_per_event * events
    add(Line("DynamoDB", "reads", rru, "RRU", rru * p["ddb_rru"]))
    per_event_kb = (
        w.event_kb * 5  # the item and its four inbox index copies (never acknowledged)
        + 0.3  # event-id-index and replay-index entries
        + w.delivery_item_kb * w.webhooks_per_event
    )
    stored_gb = rate * 86400 * w.retention_days * per_event_kb / 1024 / 1024
    add(
        Line(
            "DynamoDB",
            f"storage ({w.retention_days} days)",
            stored_gb,
            "GB",
            stored_gb * p["ddb_storage_gb_month"],
        )
    )

    # Point-in-time recovery (on for every table, infra/merge-template.json) bills the tables'
    # own size, not their global secondary indexes.
    base_kb = w.event_kb + w.delivery_item_kb * w.webhooks_per_event
    base_gb = rate * 86400 * w.retention_days * base_kb / 1024 / 1024
    add(Line("DynamoDB", "PITR backups", base_gb, "GB", base_gb * p["ddb_pitr_gb_month"]))

    send_batch = min(10.0, max(1.0, s_batch * w.webhooks_per_event))
    sqs = deliveries * (1.0 / send_batch + 2.0 / d_batch) + w.sqs_idle_receives
    add(Line("SQS", "requests", sqs, "requests", sqs * p["sqs_request"]))

    log_bytes = (
        events * w.log_bytes_per_request
        + deliveries * w.log_bytes_per_delivery
        + (stream_invocations + delivery_invocations) * w.log_bytes_per_invocation
    )
    log_gb = log_bytes / 1024**3
    add(Line("CloudWatch", "logs ingested", log_gb, "GB", log_gb * p["logs_ingest_gb"]))
    stored_logs = log_gb * w.log_retention_days / 30.0
    add(
        Line(
            "CloudWatch",
            f"logs stored ({w.log_retention_days} days)",
            stored_logs,
            "GB",
            stored_logs * p["logs_storage_gb_month"],
        )
    )
    fixed = (
        w.custom_metrics * p["cw_custom_metric"]
        + w.alarm_metrics * p["cw_alarm_metric"]
        + w.dashboards * p["cw_dashboard"]
    )
    add(Line("CloudWatch", "metrics, alarms, dashboard", w.custom_metrics, "metrics", fixed))
    return est


# -- one create, from measured figures (docs/PERFORMANCE.md, "Cost per million events") --------
LAMBDA_MB_PER_VCPU = 1769  # Lambda gives a function one vCPU at 1,769 MB, in proportion below
CREATE_GSI_WRITES = 6  # a new event lands in 4 inbox indexes, event-id-index and replay-index


@dataclass(frozen=True)
class CreateCost:
    """A million ``POST /v1/events`` (no idempotency key, 1 KB events) from measured inputs."""

    write_calls: float  # DynamoDB write calls per create (perf.write_calls)
    api_cpu_ms: float  # the API process's CPU ms per create (perf.cpu_per_request)
    sequential_calls: float  # DynamoDB calls a create waits for, one after the other
    memory_mb: int = 1024  # lambda_memory_size (.chalice/config.json)
    call_ms: float = 5.0  # one in-region DynamoDB call's wait (assumption)

    @property
    def write_units(self) -> float:
        """Per create: each write call's item (1 KB: 1 unit) plus the event's index copies."""
        return self.write_calls + CREATE_GSI_WRITES

    @property
    def duration_ms(self) -> float:
        """Billed duration: the CPU at this memory's share of a vCPU, plus the waits."""
        share = min(1.0, self.memory_mb / LAMBDA_MB_PER_VCPU)
        return self.api_cpu_ms / share + self.sequential_calls * self.call_ms

    @property
    def gb_s_per_million(self) -> float:
        return 1e6 * self.duration_ms / 1000.0 * self.memory_mb / 1024.0

    def per_million(self) -> dict[str, float]:
        p = {k: v.value for k, v in PRICES.items()}
        wru = self.write_units * 1e6
        return {
            "write_calls": self.write_calls * 1e6,
            "wru": wru,
            "wru_usd": wru * p["ddb_wru"],
            "gb_s": self.gb_s_per_million,
            "gb_s_usd": self.gb_s_per_million * p["lambda_gb_s"],
        }


def _money(value: float) -> str:
    return f"${value:,.2f}" if value < 100 else f"${value:,.0f}"


def _row(label: str, cells: list[str]) -> str:
    return f"| {label} | " + " | ".join(cells) + " |"


def render(rates: tuple[float, ...] = RATES, w: Workload | None = None) -> str:
    w = w or Workload()
    estimates = [estimate(r, w) for r in rates]
    head = "| | " + " | ".join(f"{r:,.0f} events/s" for r in rates) + " |"
    rule = "|---|" + "---:|" * len(rates)
    out = ["**Monthly cost (USD, us-east-1, 730 hours)**", "", head, rule]
    for i, line in enumerate(estimates[0].lines):
        label = f"{line.service}: {line.item}"
        if line.item.startswith("provisioned concurrency"):
            label = f"{line.service}: provisioned concurrency (API alias)"
        cells = []
        for est in estimates:
            this = est.lines[i]
            cells.append(_money(this.cost))
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    out.append(_row("**total**", [f"**{_money(e.total)}**" for e in estimates]))
    per_million = [_money(e.total / (e.rate * SECONDS_PER_MONTH / 1e6)) for e in estimates]
    out.append(_row("per million events", per_million))
    out.append(
        _row("provisioned concurrency used", [str(e.provisioned_concurrency) for e in estimates])
    )
    out += ["", "**Write request units per event**", "", head, rule]
    units = [write_units(r, w) for r in rates]
    for name in units[0]:
        out.append(f"| {name} | " + " | ".join(f"{u[name]:.2f}" for u in units) + " |")
    out.append("| **total** | " + " | ".join(f"**{sum(u.values()):.2f}**" for u in units) + " |")
    return "\n".join(out) + "\n"


def write_doc(doc: Path = DOC) -> None:
    text = doc.read_text()
    before, rest = text.split(START, 1)
    _, after = rest.split(END, 1)
    doc.write_text(before + START + "\n" + render() + END + after)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite the tables in docs/COSTS.md")
    parser.add_argument("--rate", type=float, action="append", help="events/s (repeatable)")
    parser.add_argument(
        "--per-million-creates",
        nargs=3,
        type=float,
        metavar=("WRITE_CALLS", "CPU_MS", "SEQUENTIAL_CALLS"),
        help="cost of a million creates from measured figures (docs/PERFORMANCE.md)",
    )
    args = parser.parse_args(argv)
    if args.per_million_creates:
        calls, cpu, sequential = args.per_million_creates
        figures = CreateCost(calls, cpu, sequential).per_million()
        print(
            f"per million creates: {figures['write_calls']:,.0f} write calls, "
            f"{figures['wru']:,.0f} WRU (${figures['wru_usd']:.2f}), "
            f"{figures['gb_s']:,.0f} Lambda GB-s at 1,024 MB (${figures['gb_s_usd']:.2f})"
        )
        return 0
    if args.write:
        write_doc()
        print(f"wrote {DOC.relative_to(ROOT)}")
        return 0
    rates = tuple(args.rate) if args.rate else RATES
    if any(r <= 0 for r in rates):
        parser.error("--rate must be positive")
    sys.stdout.write(render(rates))
    return 0


if __name__ == "__main__":
    sys.exit(main())
