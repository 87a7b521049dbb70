"""The CI gate's verdicts, pure (no I/O): same-run ratios compared with a committed baseline.

Every load and benchmark figure the gate judges is a ratio formed inside one run, so a slower or
busier machine moves both of its sides:

* a micro-benchmark's fastest round divided by the calibration benchmark's fastest round, each
  the fastest over a few runs of the suite (``fastest_of_runs``, ``bench_ratios``);
* the API's latency divided by the raw engine's, measured interleaved at the same concurrency,
  and the API process's CPU time per request divided by the probe's CPU time per raw engine call
  (``perf/paired.py`` measures them, ``load_ratios`` names them).

:func:`compare` sets those against ``perf/baseline.json``. A ratio over ``tolerance`` times its
baseline is ``over``; a figure in the baseline that did not run is ``missing`` and one that is not
in the baseline is ``new``: both fail at once (a silently skipped or never-baselined benchmark
gates nothing). An ``over`` only fails when a second run is over as well (:func:`confirmed`): one
run can land on a slow moment, a regression is slow every time.

The webhook delivery smoke is judged on fixed limits instead (:func:`fixed_verdicts`): nothing
lost, duplicated or unverified, and a p95 bound far above what any machine measured at its rate,
the gate's only absolute figure.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from perf.stats import percentile

OK = "ok"
OVER = "over"
MISSING = "missing"
NEW = "new"
FAILING = frozenset({OVER, MISSING, NEW})


@dataclass(frozen=True)
class Verdict:
    name: str
    now: float | None
    then: float | None
    tolerance: float
    status: str  # OK, OVER, MISSING or NEW
    # None: a ratio against ``then`` (the baseline's, or 1.0 for a same-run pair). Else a
    # figure held to a fixed ``tolerance`` (at most) and printed with this unit.
    unit: str | None = None

    @property
    def change(self) -> float | None:
        if self.now is None or not self.then:
            return None
        return self.now / self.then

    @property
    def failed(self) -> bool:
        return self.status in FAILING

    def line(self) -> str:
        if self.unit is not None and self.status != MISSING:
            verdict = "FAIL" if self.status == OVER else "ok"
            return (
                f"  {self.name:46s} {self.now:9.4g} {self.unit:<4s} (at most"
                f" {self.tolerance:g} {self.unit})  {verdict}"
            )
        if self.status == MISSING:
            return f"  {self.name:46s} in the baseline but did not run          FAIL"
        if self.status == NEW:
            return (
                f"  {self.name:46s} {self.now:9.4f}  not in the baseline: refresh it  FAIL"
                if self.now is not None
                else f"  {self.name:46s} not in the baseline  FAIL"
            )
        change = self.change or 0.0
        verdict = "FAIL" if self.status == OVER else "ok"
        return (
            f"  {self.name:46s} {self.now:9.4f} vs {self.then:9.4f}  x{change:5.2f}"
            f" (limit x{self.tolerance:.2f})  {verdict}"
        )


def compare(
    current: Mapping[str, float],
    baseline: Mapping[str, float],
    tolerance: float | Callable[[str], float],
) -> list[Verdict]:
    """One verdict per name in either mapping, sorted by name. ``tolerance`` is one factor for
    every figure, or a function giving each name its own."""
    verdicts = []
    for name in sorted(set(current) | set(baseline)):
        allowed = tolerance(name) if callable(tolerance) else tolerance
        if allowed <= 1.0:
            raise ValueError(f"{name}: tolerance must be above 1.0, got {allowed}")
        now, then = current.get(name), baseline.get(name)
        if now is None:
            verdicts.append(Verdict(name, None, then, allowed, MISSING))
        elif then is None:
            verdicts.append(Verdict(name, now, None, allowed, NEW))
        elif not (math.isfinite(now) and math.isfinite(then)) or then <= 0:
            raise ValueError(f"{name}: ratios must be finite and positive ({now}, {then})")
        else:
            status = OVER if now > then * allowed else OK
            verdicts.append(Verdict(name, now, then, allowed, status))
    return verdicts


def failures(verdicts: Iterable[Verdict]) -> list[str]:
    return [v.name for v in verdicts if v.failed]


def confirmed(first: Sequence[Verdict], second: Sequence[Verdict] | None) -> list[str]:
    """What fails the gate: ``missing``/``new`` of the first run, and each ``over`` of the first
    run that the second run (measured only because of it) finds over again."""
    again = {v.name: v for v in second or ()}
    failed = []
    for verdict in first:
        if verdict.status in (MISSING, NEW):
            failed.append(verdict.name)
        elif verdict.status == OVER:
            repeat = again.get(verdict.name)
            if repeat is None or repeat.status != OK:
                failed.append(verdict.name)
    return failed


def fastest_of_runs(runs: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Each benchmark's fastest round over several runs of the whole suite, a few seconds apart.

    A shared machine has slow *windows*, not only slow rounds: for a second or more every round
    runs ~1.5x slower (measured: 2 of 8 suite runs on a quiet 2-vCPU VM had one, a benchmark's
    fastest round 17.8 us instead of 11.5 us), and one benchmark's rounds all fall in one such
    window while the calibration's, measured seconds earlier, do not. A window rarely lands on
    the same benchmark in every run; a regression is in every run.
    """
    if not runs:
        raise ValueError("no benchmark runs to take the fastest rounds of")
    names = set().union(*runs)
    return {name: min(run[name] for run in runs if name in run) for name in sorted(names)}


def bench_ratios(times: Mapping[str, float], calibration: str) -> dict[str, float]:
    """Each benchmark's time over the calibration's time from the same run (the gate passes
    fastest rounds)."""
    base = times.get(calibration)
    if not base or base <= 0:
        raise ValueError(f"{calibration} did not run: the gate needs it to compare")
    return {name: value / base for name, value in times.items() if name != calibration}


@dataclass(frozen=True)
class PairLimit:
    """Two benchmarks of one run whose ratio has a fixed limit (not a baseline): a rewrite
    measured against the frozen code it replaced, for instance."""

    name: str
    numerator: str
    denominator: str
    limit: float


def pair_verdicts(times: Mapping[str, float], pairs: Iterable[PairLimit]) -> list[Verdict]:
    """One verdict per pair: ``numerator / denominator`` of this run against the pair's limit
    (shown as a change from 1.0); a pair whose benchmarks did not both run is missing."""
    verdicts = []
    for pair in pairs:
        top, bottom = times.get(pair.numerator), times.get(pair.denominator)
        if top is None or bottom is None or bottom <= 0:
            verdicts.append(Verdict(pair.name, None, 1.0, pair.limit, MISSING))
            continue
        ratio = top / bottom
        status = OVER if ratio > pair.limit else OK
        verdicts.append(Verdict(pair.name, ratio, 1.0, pair.limit, status))
    return verdicts


@dataclass(frozen=True)
class FixedLimit:
    """A figure of one run held to a fixed limit (no baseline): ``value`` at most ``limit``."""

    name: str
    limit: float
    unit: str


def fixed_verdicts(
    figures: Mapping[str, float | None], limits: Iterable[FixedLimit]
) -> list[Verdict]:
    """One verdict per limit; a figure the run did not produce is missing."""
    verdicts = []
    for limit in limits:
        value = figures.get(limit.name)
        if value is None or not math.isfinite(value):
            verdicts.append(Verdict(limit.name, None, None, limit.limit, MISSING, limit.unit))
            continue
        status = OVER if value > limit.limit else OK
        verdicts.append(Verdict(limit.name, value, None, limit.limit, status, limit.unit))
    return verdicts


# The webhook delivery smoke (perf/webhook_delivery.py at a rate far below the local stack's
# capacity): correctness under load is exact, latency gets a generous fixed bound (the one
# absolute figure the gate judges; see docs/PERFORMANCE.md, "Webhook delivery").
WEBHOOK_SMOKE_LIMITS = (
    FixedLimit("webhook_delivery.undelivered", 0, "msgs"),
    FixedLimit("webhook_delivery.duplicated", 0, "msgs"),
    FixedLimit("webhook_delivery.unverified", 0, "msgs"),
    FixedLimit("webhook_delivery.p95_seconds", 3.0, "s"),
)


def webhook_figures(result: Mapping[str, Any]) -> dict[str, float | None]:
    """The gated figures of a perf.webhook_delivery result (its JSON)."""
    deliveries = result.get("deliveries", {})
    p95 = result.get("latency_ms", {}).get("p95")
    return {
        "webhook_delivery.undelivered": deliveries.get("undelivered"),
        "webhook_delivery.duplicated": deliveries.get("duplicated"),
        "webhook_delivery.unverified": deliveries.get("unverified"),
        "webhook_delivery.p95_seconds": None if p95 is None else p95 / 1000,
    }


@dataclass(frozen=True)
class KindFigures:
    """One request kind of the paired probe: the API and the raw engine, same run."""

    kind: str
    api_ms: tuple[float, ...]
    raw_ms: tuple[float, ...]
    api_cpu_seconds: float  # the API process's CPU time over the kind's windows
    raw_cpu_seconds: float  # the probe threads' CPU time inside the raw calls

    @property
    def api_p50(self) -> float:
        return percentile(self.api_ms, 0.50)

    @property
    def api_p95(self) -> float:
        return percentile(self.api_ms, 0.95)

    @property
    def raw_p50(self) -> float:
        return percentile(self.raw_ms, 0.50)

    @property
    def raw_p95(self) -> float:
        return percentile(self.raw_ms, 0.95)

    @property
    def latency_ratio(self) -> float:
        return self.api_p50 / self.raw_p50

    @property
    def api_cpu_ms_per_request(self) -> float:
        return self.api_cpu_seconds * 1000 / len(self.api_ms)

    @property
    def raw_cpu_ms_per_call(self) -> float:
        return self.raw_cpu_seconds * 1000 / len(self.raw_ms)

    @property
    def cpu_ratio(self) -> float:
        return self.api_cpu_ms_per_request / self.raw_cpu_ms_per_call


def load_ratios(figures: Iterable[KindFigures]) -> dict[str, float]:
    """The gated load figures: ``<kind>.latency_p50_vs_raw`` and ``<kind>.cpu_vs_raw``."""
    out: dict[str, float] = {}
    for f in figures:
        out[f"{f.kind}.latency_p50_vs_raw"] = f.latency_ratio
        out[f"{f.kind}.cpu_vs_raw"] = f.cpu_ratio
    return out
