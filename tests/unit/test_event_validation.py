"""Every rule of the contract's Events section, as parse_event_create enforces it."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.events import (
    EventValidationError,
    PayloadTooLargeError,
    is_event_id,
    parse_event_create,
)

LIMIT = 256 * 1024


def body(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"source": "billing", "event_type": "invoice.paid", "payload": {"a": 1}}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not ...}


def fields_of(exc: pytest.ExceptionInfo[EventValidationError]) -> list[str]:
    return [d["field"] for d in exc.value.details]


def test_minimal_event_gets_defaults() -> None:
    draft = parse_event_create(body())
    assert draft.source == "billing"
    assert draft.event_type == "invoice.paid"
    assert json.loads(draft.payload_json) == {"a": 1}
    assert draft.metadata == {"priority": "normal"}
    assert draft.idempotency_key is None


@pytest.mark.parametrize("value", ["a", "A.b_c:d/e-f", "x" * 128, "0"])
@pytest.mark.parametrize("field", ["source", "event_type"])
def test_names_accept_the_allowed_alphabet(field: str, value: str) -> None:
    assert getattr(parse_event_create(body(**{field: value})), field) == value


@pytest.mark.parametrize(
    "value", ["", "x" * 129, "has space", "é", "a\nb", "a*b", 5, None, ["a"], {"a": 1}]
)
@pytest.mark.parametrize("field", ["source", "event_type"])
def test_names_reject_everything_else(field: str, value: Any) -> None:
    with pytest.raises(EventValidationError) as exc:
        parse_event_create(body(**{field: value}))
    assert fields_of(exc) == [field]


@pytest.mark.parametrize("field", ["source", "event_type", "payload"])
def test_required_fields(field: str) -> None:
    with pytest.raises(EventValidationError) as exc:
        parse_event_create(body(**{field: ...}))
    assert exc.value.details == [{"field": field, "message": "is required"}]


@pytest.mark.parametrize("payload", [[1, 2], "text", 3, True])
def test_payload_must_be_an_object(payload: Any) -> None:
    with pytest.raises(EventValidationError) as exc:
        parse_event_create(body(payload=payload))
    assert fields_of(exc) == ["payload"]


@pytest.mark.parametrize("raw", [[], "x", 1, None])
def test_body_must_be_an_object(raw: Any) -> None:
    with pytest.raises(EventValidationError) as exc:
        parse_event_create(raw)
    assert fields_of(exc) == ["body"]


def test_unknown_fields_are_named() -> None:
    with pytest.raises(EventValidationError) as exc:
        parse_event_create(body(extra=1, status="acknowledged"))
    assert fields_of(exc) == ["extra", "status"]


def test_all_problems_are_reported_at_once() -> None:
    with pytest.raises(EventValidationError) as exc:
        parse_event_create({"source": "", "payload": 1})
    assert set(fields_of(exc)) == {"source", "event_type", "payload"}


def _payload_of_size(size: int) -> dict[str, str]:
    # {"p":"..."} serializes to size bytes: 8 bytes of framing.
    return {"p": "x" * (size - 8)}


def test_payload_limit_is_inclusive_at_256_kib() -> None:
    draft = parse_event_create(body(payload=_payload_of_size(LIMIT)))
    assert len(draft.payload_json.encode()) == LIMIT


def test_payload_over_256_kib_is_too_large() -> None:
    with pytest.raises(PayloadTooLargeError) as exc:
        parse_event_create(body(payload=_payload_of_size(LIMIT + 1)))
    assert (exc.value.size, exc.value.limit) == (LIMIT + 1, LIMIT)


def test_payload_size_counts_utf8_bytes() -> None:
    # 3 bytes per character in UTF-8: 90,000 chars are 270,000 bytes.
    with pytest.raises(PayloadTooLargeError):
        parse_event_create(body(payload={"p": "€" * 90_000}))


def test_metadata_limits() -> None:
    twenty = {f"k{i}": "v" for i in range(19)} | {"priority": "high"}
    assert parse_event_create(body(metadata=twenty)).metadata == twenty
    with pytest.raises(EventValidationError) as exc:
        parse_event_create(body(metadata=twenty | {"one_more": "v"}))
    assert fields_of(exc) == ["metadata"]


def test_metadata_limit_counts_the_default_priority() -> None:
    nineteen = {f"k{i}": "v" for i in range(19)}
    stored = parse_event_create(body(metadata=nineteen)).metadata
    assert stored == nineteen | {"priority": "normal"}
    assert len(stored) == 20
    twenty_without_priority = nineteen | {"k19": "v"}
    with pytest.raises(EventValidationError) as exc:
        parse_event_create(body(metadata=twenty_without_priority))
    assert fields_of(exc) == ["metadata"]


def test_metadata_value_length() -> None:
    assert parse_event_create(body(metadata={"k": "v" * 256})).metadata["k"] == "v" * 256
    with pytest.raises(EventValidationError) as exc:
        parse_event_create(body(metadata={"k": "v" * 257}))
    assert fields_of(exc) == ["metadata.k"]


@pytest.mark.parametrize("value", [1, None, True, ["a"], {"a": "b"}])
def test_metadata_values_are_strings(value: Any) -> None:
    with pytest.raises(EventValidationError) as exc:
        parse_event_create(body(metadata={"k": value}))
    assert fields_of(exc) == ["metadata.k"]


@pytest.mark.parametrize("metadata", [["a"], "a", 1])
def test_metadata_must_be_an_object(metadata: Any) -> None:
    with pytest.raises(EventValidationError) as exc:
        parse_event_create(body(metadata=metadata))
    assert fields_of(exc) == ["metadata"]


@pytest.mark.parametrize("key", ["", "k" * 129, "a\nb"])
def test_metadata_keys_are_checked(key: str) -> None:
    with pytest.raises(EventValidationError):
        parse_event_create(body(metadata={key: "v"}))


@pytest.mark.parametrize("priority", ["low", "normal", "high"])
def test_priority_values(priority: str) -> None:
    draft = parse_event_create(body(metadata={"priority": priority, "team": "a"}))
    assert draft.metadata == {"priority": priority, "team": "a"}


@pytest.mark.parametrize("priority", ["urgent", "HIGH", ""])
def test_priority_outside_the_enum(priority: str) -> None:
    with pytest.raises(EventValidationError) as exc:
        parse_event_create(body(metadata={"priority": priority}))
    assert fields_of(exc) == ["metadata.priority"]


def test_priority_defaults_to_normal_when_metadata_has_other_keys() -> None:
    assert parse_event_create(body(metadata={"team": "a"})).metadata == {
        "team": "a",
        "priority": "normal",
    }


def test_idempotency_key_from_the_field() -> None:
    assert parse_event_create(body(idempotency_key="k-1")).idempotency_key == "k-1"


def test_idempotency_key_from_the_header() -> None:
    assert parse_event_create(body(), header_idempotency_key="h-1").idempotency_key == "h-1"


def test_header_and_field_may_agree() -> None:
    draft = parse_event_create(body(idempotency_key="same"), header_idempotency_key="same")
    assert draft.idempotency_key == "same"


def test_header_and_field_must_not_disagree() -> None:
    with pytest.raises(EventValidationError) as exc:
        parse_event_create(body(idempotency_key="a"), header_idempotency_key="b")
    assert fields_of(exc) == ["idempotency_key"]


@pytest.mark.parametrize("key", ["", "k" * 256, "tab\there"])
@pytest.mark.parametrize("where", ["field", "header"])
def test_idempotency_key_length_and_characters(key: str, where: str) -> None:
    raw, header = (body(idempotency_key=key), None) if where == "field" else (body(), key)
    with pytest.raises(EventValidationError) as exc:
        parse_event_create(raw, header_idempotency_key=header)
    assert fields_of(exc) == ["idempotency_key"]


def test_idempotency_key_at_255_chars_is_fine() -> None:
    assert parse_event_create(body(idempotency_key="k" * 255)).idempotency_key == "k" * 255


@pytest.mark.parametrize("key", [1, ["a"], {"a": 1}])
def test_idempotency_key_field_must_be_a_string(key: Any) -> None:
    with pytest.raises(EventValidationError) as exc:
        parse_event_create(body(idempotency_key=key))
    assert fields_of(exc) == ["idempotency_key"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(st.dictionaries(st.text(max_size=10), json_values, max_size=6))
def test_payload_round_trips_through_its_canonical_form(payload: dict[str, Any]) -> None:
    draft = parse_event_create(body(payload=payload))
    assert json.loads(draft.payload_json) == payload


@given(st.text(max_size=40))
def test_validation_never_raises_anything_else(name: str) -> None:
    with contextlib.suppress(EventValidationError, PayloadTooLargeError):
        parse_event_create(body(source=name, metadata={name: name}, idempotency_key=name))


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("evt_01JD0000000000000000000000", True),
        ("evt_01jd0000000000000000000000", False),
        ("evt_01JD000000000000000000000", False),
        ("evt_01JD000000000000000000000U", False),
        ("01JD0000000000000000000000", False),
        ("evt_../../etc/passwd", False),
    ],
)
def test_event_id_shape(value: str, ok: bool) -> None:
    assert is_event_id(value) is ok
