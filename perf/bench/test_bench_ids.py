"""Idempotency fingerprint and ULID generation, on every create.

(No request signer exists in chalicelib/domain yet; when it lands, its verification gets a
benchmark here too.)
"""

from __future__ import annotations

from typing import Any

from chalicelib.domain.events import EventDraft, canonical_json
from chalicelib.domain.idempotency import request_fingerprint
from chalicelib.domain.ulid import UlidGenerator, decode_timestamp_ms

DRAFT = EventDraft(
    "billing",
    "invoice.paid",
    canonical_json({"invoice_id": "inv_1", "amount_cents": 1299, "lines": list(range(20))}),
    {"priority": "normal", "region": "eu"},
    "order-1-paid",
)


def test_bench_idempotency_fingerprint(benchmark: Any) -> None:
    digest = benchmark(request_fingerprint, DRAFT)
    assert len(digest) == 64
    assert digest == request_fingerprint(DRAFT)


def test_bench_ulid_generation(benchmark: Any) -> None:
    generator = UlidGenerator()
    ulid = benchmark(generator.new, 1_795_000_000_000)
    assert decode_timestamp_ms(ulid) >= 1_795_000_000_000
