"""scripts/cost_estimate.py: the arithmetic behind docs/COSTS.md, and the doc's tables are the
script's output (so a changed price or input cannot leave the page stale)."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from scripts import cost_estimate as ce


def test_write_units_per_event_counted_from_the_code() -> None:
    w = ce.Workload()
    # 10 events/s: 2.5 records per stream batch, each its own group and tenant: 3 counters
    # and 3 roll-ups per record.
    units = ce.write_units(10, w)
    # 10 events/s over the 2 provisioned instances: 5 a second each, leases of 5 tokens.
    assert units["api: rate limit (token leases)"] == pytest.approx(0.2)
    assert units["api: event + idempotency record"] == 4  # two 1 KB puts in a transaction
    assert units["api: inbox GSIs (4)"] == 4
    assert units["api: event-id-index + replay-index"] == 2
    # A marker and 6 counter updates, 2 units each (items under 1 KB).
    assert ce.counter_update_units(w) == 2
    assert units["stream: analytics"] == pytest.approx(2 * (1 + 6))
    assert sum(units.values()) == pytest.approx(42.2)
    # 1,000 events/s: full batches of 100 with 10 groups of 3 tenants: 0.39 counters per record.
    assert ce.write_units(1000, w)["stream: analytics"] == pytest.approx(2 * 1.39)
    # With acks, hour and day items carry a histogram past 1 KB: 2, 4 and 4 units per update.
    acked = replace(w, counter_kb=(1, 2, 2))
    assert ce.write_units(10, acked)["stream: analytics"] == pytest.approx(2 + 6 * 10 / 3)
    assert sum(ce.write_units(10, acked).values()) == pytest.approx(58.2)
    # Without an idempotency key the event is one plain PutItem.
    plain = ce.write_units(10, replace(w, with_idempotency_key=False))
    assert plain["api: event + idempotency record"] == 1
    # Bigger events cost per started KB in the item and in every ALL-projection index.
    big = ce.write_units(10, replace(w, event_kb=3))
    assert big["api: event + idempotency record"] == 12
    assert big["api: inbox GSIs (4)"] == 12
    # No webhooks: nothing for the fan-out or the delivery worker.
    none = ce.write_units(10, replace(w, webhooks_per_event=0))
    assert none["fan-out: delivery put + queued"] == 0
    assert none["delivery: outcome analytics"] == 0


def test_rate_limit_writes_follow_the_lease_size() -> None:
    w = ce.Workload()
    # 1,000 events/s from one key over 61 instances: ~16 a second each.
    assert ce.rate_limit_writes(1000, w) == pytest.approx(61 / 1000)
    # Many keys, each slow per instance: one write per request, as without leases.
    assert ce.rate_limit_writes(10, replace(w, sending_keys=100)) == 1
    # Never fewer writes than one per 100 tokens.
    assert ce.rate_limit_writes(1e6, replace(w, api_ms=0.001)) == pytest.approx(0.01)


def test_batches_are_bounded() -> None:
    w = ce.Workload()
    assert ce.stream_batch(0.5, w) == 1
    assert ce.stream_batch(100, w) == 25
    assert ce.stream_batch(10_000, w) == 100
    assert ce.delivery_batch(1, w) == 1
    assert ce.delivery_batch(10_000, w) == 10
    # One event: its group's minute/hour/day items and its tenant's three roll-ups.
    assert ce.counters_per_item(1, w) == 6
    # A full batch: 10 groups of at most 3 tenants share 30 + 9 items among 100 events.
    assert ce.counters_per_item(100, w) == pytest.approx(0.39)


def test_api_gateway_tiers() -> None:
    assert ce._apigw(1e6) == pytest.approx(3.50)
    assert ce._apigw(333e6) == pytest.approx(333 * 3.50)
    assert ce._apigw(1e9) == pytest.approx(333 * 3.50 + 667 * 2.80)
    assert ce._apigw(2e9) == pytest.approx(333 * 3.50 + 667 * 2.80 + 1000 * 2.38)
    assert ce._apigw(21e9) == pytest.approx(333 * 3.50 + 667 * 2.80 + 19000 * 2.38 + 1000 * 1.51)


def test_provisioned_concurrency_follows_the_rate() -> None:
    w = ce.Workload()
    assert ce.provisioned_concurrency_for(1, w) == 2  # infra/stages.json's prod default
    assert ce.provisioned_concurrency_for(100, w) == 7  # mean 3 concurrent
    assert ce.provisioned_concurrency_for(1000, w) == 61


def test_the_estimate_adds_up() -> None:
    est = ce.estimate(100)
    events = 100 * ce.SECONDS_PER_MONTH
    lines = {f"{line.service}: {line.item}": line for line in est.lines}
    assert lines["API Gateway: REST requests"].quantity == events
    wru = lines["DynamoDB: writes"]
    assert wru.quantity == pytest.approx(sum(ce.write_units(100, ce.Workload()).values()) * events)
    assert wru.cost == pytest.approx(wru.quantity * 0.625 / 1e6)
    pc = lines["Lambda: provisioned concurrency (7)"]
    assert pc.cost == pytest.approx(7 * 1.0 * ce.SECONDS_PER_MONTH * 0.0000041667)
    assert est.total == pytest.approx(sum(est.by_service().values()))
    assert math.isclose(est.total, sum(line.cost for line in est.lines))
    # Costs grow with the rate, and per event they fall (batching, fixed costs).
    totals = [ce.estimate(r).total for r in ce.RATES]
    assert totals == sorted(totals)
    per_event = [t / r for t, r in zip(totals, ce.RATES, strict=True)]
    assert per_event == sorted(per_event, reverse=True)


def test_every_price_says_where_it_came_from() -> None:
    for name, price in ce.PRICES.items():
        assert price.value > 0, name
        assert price.source, name


def test_docs_costs_holds_the_scripts_tables() -> None:
    text = ce.DOC.read_text()
    inside = text.split(ce.START, 1)[1].split(ce.END, 1)[0]
    assert inside == "\n" + ce.render(), "run: python scripts/cost_estimate.py --write"


def test_cli_rejects_a_non_positive_rate(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        ce.main(["--rate", "0"])
    assert exc.value.code == 2
    assert ce.main(["--rate", "250"]) == 0
    assert "250 events/s" in capsys.readouterr().out


def test_a_million_creates_from_measured_figures() -> None:
    # One write call and 2 ms of CPU, waiting on one call: at 1,024 MB the CPU takes 2 x
    # 1769/1024 ms, plus 5 ms of waiting.
    cost = ce.CreateCost(write_calls=1.0, api_cpu_ms=2.0, sequential_calls=1.0)
    assert cost.write_units == 7  # the event's item and its 6 index copies
    assert cost.duration_ms == pytest.approx(2.0 * 1769 / 1024 + 5.0)
    figures = cost.per_million()
    assert figures["wru_usd"] == pytest.approx(7e6 * 0.625 / 1e6)
    assert figures["gb_s"] == pytest.approx(1e6 * cost.duration_ms / 1000)
    assert figures["gb_s_usd"] == pytest.approx(figures["gb_s"] * 0.0000166667)
    # More memory than one vCPU's worth does not make the CPU faster.
    big = ce.CreateCost(1.0, 2.0, 1.0, memory_mb=4096)
    assert big.duration_ms == pytest.approx(2.0 + 5.0)
