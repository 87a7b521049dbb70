"""Cursor codec: encode and decode (HMAC check) of an inbox cursor, on every paged inbox call."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.cursor import CursorCodec, CursorPosition, scope_digest

CODEC = CursorCodec(b"bench-cursor-signing-key-0123456789")
POSITION = CursorPosition(
    "tenant-0123456789",
    scope_digest({"source": "billing", "event_type": "invoice.paid", "priority": "high"}),
    "2026-11-22T10:00:00.123Z#evt_01JABCDEFGHJKMNPQRSTVWXYZ0",
)


def test_bench_cursor_encode(benchmark: Any) -> None:
    token = benchmark(CODEC.encode, POSITION)
    assert CODEC.decode(token) == POSITION


def test_bench_cursor_decode(benchmark: Any) -> None:
    token = CODEC.encode(POSITION)
    assert benchmark(CODEC.decode, token) == POSITION
