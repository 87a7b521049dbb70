"""perf/analytics_reads.py, run small: it seeds the counters the stream handler would write,
and every series it times answers the buckets and counts those counters hold."""

from __future__ import annotations

import json
from pathlib import Path

from perf import analytics_reads


def test_the_read_benchmark_seeds_and_times_every_series(tmp_path: Path) -> None:
    out = tmp_path / "reads.json"
    argv = ["--sources", "1", "--types", "1", "--minute-days", "1", "--hour-days", "1"]
    assert analytics_reads.main([*argv, "--reps", "2", "--threads", "1", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    # 1 day of minutes and 1 day of hours of one source and type: 1,440 + 24 increments.
    assert report["combinations"] == 1
    assert report["counter_items_written"] > 1440 + 24
    assert (report["minute_range_days"], report["hour_range_days"]) == (1, 2)
    assert report["buckets"] == {"minute_range": 1441, "hour_range": 49}
    assert set(report["reads"]) == {
        "minute_range",
        "minute_range_one_source",
        "hour_range",
        "hour_range_one_source",
        "minute_default_1_hour",
        "hour_default_1_day",
    }
    for figures in report["reads"].values():
        assert 0 < figures["p50_ms"] <= figures["p95_ms"] <= figures["max_ms"]
