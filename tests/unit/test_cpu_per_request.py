"""perf/cpu_per_request.py's arithmetic and the paired probe's kinds (no stack started)."""

from __future__ import annotations

from pathlib import Path

import pytest

from perf import cpu_per_request, paired
from perf.raw_engine import RawFigure


def test_requests_split_over_threads_as_evenly_as_whole_numbers_go():
    assert cpu_per_request.split(1000, 2) == [500, 500]
    assert cpu_per_request.split(1001, 3) == [334, 334, 333]
    assert cpu_per_request.split(1, 4) == [1, 0, 0, 0]
    assert cpu_per_request.split(5, 0) == [5]


def test_cpu_per_request_and_percentiles_of_a_kind():
    result = cpu_per_request.KindResult("create", 4, 0.02, 2.0, (10.0, 20.0, 30.0, 40.0))
    assert result.cpu_ms_per_request == pytest.approx(5.0)
    assert result.requests_per_second == pytest.approx(2.0)
    figures = result.as_dict()
    assert figures["cpu_ms_per_request"] == 5.0
    assert (figures["p50_ms"], figures["p95_ms"]) == (20.0, 40.0)


def test_bulk_ratio_is_api_events_over_raw_items():
    assert cpu_per_request.bulk_ratio(600.0, 1000.0) == pytest.approx(0.6)
    assert cpu_per_request.bulk_ratio(600.0, 0.0) == 0.0
    raw = RawFigure(threads=2, seconds=10.0, items=25_000, p50_ms=20.0, p95_ms=40.0)
    assert raw.items_per_second == 2500.0


def test_the_report_names_every_kind_and_the_bulk_ratio():
    kind = {
        "requests": 1000,
        "cpu_ms_per_request": 4.2,
        "p50_ms": 20.0,
        "p95_ms": 40.0,
        "requests_per_second": 80.0,
    }
    figures = {
        "threads": 2,
        "load_average_before": [1.0, 1.0, 1.0],
        "load_average_after": [2.0, 1.0, 1.0],
        "kinds": dict.fromkeys(cpu_per_request.KINDS, kind),
        "bulk": {
            "api_events_per_second": 700.0,
            "raw_batch_write": {"items_per_second": 1000.0, "p50_ms": 40.0},
            "ratio": 0.7,
        },
    }
    text = cpu_per_request.format_figures(figures)
    for name in cpu_per_request.KINDS:
        assert f"\n{name} " in text
    assert "ratio 0.700" in text


def test_the_paired_probe_refuses_unknown_kinds_before_starting_a_stack():
    with pytest.raises(ValueError, match="kinds must be some of"):
        paired.measure(1, 0.1, 1, Path("/nonexistent"), print, ("ingest", "upload"))
    assert paired.KINDS == ("ingest", "lookup", "inbox", "bulk")  # the gate's default set
