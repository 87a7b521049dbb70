"""Idempotency fingerprints: independent of key order, different on any change of the request."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.events import parse_event_create
from chalicelib.domain.idempotency import request_fingerprint

BASE: dict[str, Any] = {
    "source": "billing",
    "event_type": "invoice.paid",
    "payload": {"b": [1, 2, {"y": 1, "x": 2}], "a": "z"},
    "metadata": {"team": "core", "priority": "high"},
}


def fp(raw: dict[str, Any], header: str | None = None) -> str:
    return request_fingerprint(parse_event_create(raw, header_idempotency_key=header))


def test_key_order_does_not_matter() -> None:
    reordered = {
        "metadata": {"priority": "high", "team": "core"},
        "payload": {"a": "z", "b": [1, 2, {"x": 2, "y": 1}]},
        "event_type": "invoice.paid",
        "source": "billing",
    }
    assert fp(BASE) == fp(reordered)


def test_the_key_itself_and_where_it_came_from_are_not_hashed() -> None:
    assert fp({**BASE, "idempotency_key": "k1"}) == fp(BASE, header="k2") == fp(BASE)


def test_default_priority_equals_explicit_normal() -> None:
    plain = {k: v for k, v in BASE.items() if k != "metadata"}
    assert fp(plain) == fp({**plain, "metadata": {"priority": "normal"}})


@pytest.mark.parametrize(
    "change",
    [
        {"source": "billing2"},
        {"event_type": "invoice.sent"},
        {"payload": {"b": [1, 2, {"y": 1, "x": 3}], "a": "z"}},
        {"payload": {"b": [2, 1, {"y": 1, "x": 2}], "a": "z"}},
        {"payload": {"b": [1, 2, {"y": 1, "x": 2}], "a": "z", "c": None}},
        {"payload": {"b": [1, 2, {"y": 1, "x": "2"}], "a": "z"}},
        {"metadata": {"team": "core", "priority": "low"}},
        {"metadata": {"team": "core2", "priority": "high"}},
        {"metadata": {"team": "core", "priority": "high", "extra": ""}},
    ],
)
def test_any_field_change_changes_the_hash(change: dict[str, Any]) -> None:
    assert fp(BASE) != fp({**BASE, **change})


def test_field_boundaries_cannot_be_shifted() -> None:
    # Moving characters between fields must not collide.
    one = {"source": "ab", "event_type": "c", "payload": {}}
    two = {"source": "a", "event_type": "bc", "payload": {}}
    assert fp(one) != fp(two)


payloads = st.dictionaries(
    st.text(max_size=6), st.integers() | st.text(max_size=6) | st.booleans(), max_size=5
)


@given(payloads)
def test_hash_depends_only_on_content(payload: dict[str, Any]) -> None:
    shuffled = dict(reversed(list(payload.items())))
    assert fp({**BASE, "payload": payload}) == fp({**BASE, "payload": shuffled})


@given(payloads, payloads)
def test_different_payloads_hash_differently(a: dict[str, Any], b: dict[str, Any]) -> None:
    same = json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)  # True is not 1
    assert (fp({**BASE, "payload": a}) == fp({**BASE, "payload": b})) == same
