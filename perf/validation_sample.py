"""The events the validation benchmarks and the same-run speed check validate."""

from __future__ import annotations

from typing import Any

TYPICAL: dict[str, Any] = {
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
INVALID: dict[str, Any] = {**TYPICAL, "source": "bad source!", "metadata": {"priority": "urgent"}}
