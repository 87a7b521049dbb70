"""Inbox filters: building the FilterExpression and parsing/validating the query string."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.api.models.inbox import parse_inbox_query
from chalicelib.domain.filters import MetadataFilters, build_filter

FILTERS = MetadataFilters(
    priority="high",
    metadata=(("customer tier.v2", "gold"), ("region", "eu-west-1"), ("size", "xl")),
)
QUERY = {
    "limit": "50",
    "source": "billing",
    "event_type": "invoice.paid",
    "created_after": "2026-11-22T10:00:00.000Z",
    "created_before": "2026-11-23T10:00:00.000Z",
    "priority": "high",
    "metadata.region": "eu-west-1",
    "metadata.customer tier.v2": "gold",
}


@pytest.mark.perf
def test_bench_build_filter_four_conditions(benchmark: Any) -> None:
    expression, _names, values = benchmark(build_filter, FILTERS)
    assert expression is not None
    assert len(values) == 4


@pytest.mark.perf
def test_bench_parse_inbox_query_all_filters(benchmark: Any) -> None:
    request = benchmark(parse_inbox_query, QUERY)
    assert request.filters.priority == "high"
