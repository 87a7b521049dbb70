"""Event validation: parsing a create request into a draft, on every POST /v1/events."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.domain.events import EventValidationError, parse_event_create

TYPICAL = {
    "source": "billing",
    "event_type": "invoice.paid",
    "payload": {
        "invoice_id": "inv_123456",
        "amount_cents": 129900,
        "currency": "EUR",
        "lines": [{"sku": f"sku-{i}", "qty": i, "price": 1000 + i} for i in range(10)],
    },
    "metadata": {"priority": "high", "region": "eu", "customer": "cus_42"},
    "idempotency_key": "order-7781-paid",
}
INVALID = {**TYPICAL, "source": "bad source!", "metadata": {"priority": "urgent"}}


def test_bench_validate_typical_event(benchmark: Any) -> None:
    draft = benchmark(parse_event_create, TYPICAL)
    assert draft.source == "billing"
    assert draft.metadata["priority"] == "high"


def test_bench_validate_invalid_event(benchmark: Any) -> None:
    def rejected() -> list[dict[str, str]]:
        with pytest.raises(EventValidationError) as info:
            parse_event_create(INVALID)
        return info.value.details

    fields = {d["field"] for d in benchmark(rejected)}
    assert fields == {"source", "metadata.priority"}
