"""The body parser and the serializers: every body the API accepts is strict RFC 8259 JSON in
UTF-8, stored and answered unchanged; everything else is a 400 naming the field, never a 500.

The property test drives hostile JSON text through the real path a create takes in-process:
``parse_json`` -> ``parse_event_create`` (or the bulk shape check) -> the stored item ->
the event read back -> ``json_response``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib import errors
from chalicelib.api.http import MAX_JSON_DEPTH, json_response, parse_json
from chalicelib.api.models.bulk import parse_bulk_create
from chalicelib.domain.events import (
    EventValidationError,
    PayloadTooLargeError,
    canonical_json,
    parse_event_create,
)
from chalicelib.services.events import EventService
from chalicelib.stores.events import event_to_item, item_to_event

EVENT = '{"source":"s","event_type":"t","payload":%s}'


def strict_loads(text: str | bytes) -> Any:
    """What JavaScript's JSON.parse accepts: no NaN/Infinity, and UTF-8 that decodes."""

    def refuse(literal: str) -> None:
        raise ValueError(f"not JSON: {literal}")

    if isinstance(text, bytes):
        text = text.decode("utf-8")
    return json.loads(text, parse_constant=refuse)


def refused(raw: bytes) -> errors.ApiError:
    with pytest.raises(errors.ApiError) as exc:
        parse_json(raw)
    assert exc.value.status == 400
    return exc.value


# -- the parser --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (EVENT % '{"x":NaN}', "payload.x"),
        (EVENT % '{"x":[1,Infinity]}', "payload.x[1]"),
        (EVENT % '{"x":-Infinity}', "payload.x"),
        ("NaN", "body"),
        (EVENT % '{"x":1e400}', "payload.x"),
        (EVENT % '{"x":-1E309}', "payload.x"),
        (EVENT % ('{"x":%s}' % ("9" * 309)), "payload.x"),  # > max double
        (EVENT % ('{"x":%s}' % ("1" * 5000)), "payload.x"),  # past int()'s 4300-digit limit
        (EVENT % '{"x":"\\ud800"}', "payload.x"),
        (EVENT % '{"x":"a\\udfffb"}', "payload.x"),
        (EVENT % '{"x":"\\ude00\\ud83d"}', "payload.x"),  # a pair in the wrong order
        (EVENT % '{"\\ud800":1}', "payload.\\ud800"),
        ('{"source":"s","event_type":"t","payload":{},"metadata":{"k":"\\ud800"}}', "metadata.k"),
        ('{"source":"s","event_type":"t","payload":{},"\\udbff":1}', "\\udbff"),
        (EVENT % '{"x":1,"x":2}', "payload.x"),
        ('{"payload":{},"payload":{}}', "payload"),
        (EVENT % ("[" * 150 + "]" * 150), "body"),
        ("[" * 100_000, "body"),  # RecursionError inside the json module
        ("[" * 5000 + "]" * 5000, "body"),
        ('{"items":[%s]}' % (EVENT % '{"x":NaN}'), "items[0].payload.x"),
    ],
)
def test_json_the_api_cannot_carry_is_a_validation_error_naming_the_field(
    raw: str, field: str
) -> None:
    exc = refused(raw.encode())
    assert exc.code == "validation_error"
    assert [d["field"] for d in exc.details] == [field]
    strict_loads(json_response(exc.body("req_1"), exc.status).body)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"{",
        b"nul",
        b"{'a': 1}",
        b'{"a": 1}}',
        b'{"a":"\xff"}',  # not UTF-8
        '{"a":"\ud800"}'.encode("utf-8", "surrogatepass"),  # CESU-8: a raw surrogate
        '{"a":1}'.encode("utf-16"),  # JSON is UTF-8 (RFC 8259 section 8.1)
        '{"a":1}'.encode("utf-32"),
        b"\xff\xfe",
    ],
)
def test_not_json_or_not_utf8_is_invalid_json(raw: bytes) -> None:
    assert refused(raw).code == "invalid_json"


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (
            b'{"x":1e308,"y":-1.7976931348623157e308,"z":1e-400}',
            {"x": 1e308, "y": -1.7976931348623157e308, "z": 0.0},
        ),
        (
            b'{"big":179769313486231570000000000000000000000}',
            {"big": 179769313486231570000000000000000000000},
        ),
        (b'{"x":-0,"y":-0.0,"z":9007199254740993}', {"x": 0, "y": -0.0, "z": 9007199254740993}),
        (
            b'{"s":"\\ud83d\\ude00 \\u0000 \\u001f","k\\u0000":""}',
            {"s": "\U0001f600 \x00 \x1f", "k\x00": ""},
        ),
        (b'\xef\xbb\xbf{"bom":true}', {"bom": True}),  # RFC 8259: a parser MAY ignore a BOM
        (b'{"a":{"a":{"a":1}},"b":{"a":2}}', {"a": {"a": {"a": 1}}, "b": {"a": 2}}),
        (b'"text"', "text"),
        (("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH).encode(), None),
    ],
)
def test_strict_json_is_accepted_unchanged(raw: bytes, value: Any) -> None:
    document = parse_json(raw)
    if value is not None:
        assert document == value
    assert strict_loads(json_response(document).body) == document


def test_depth_limit_is_the_whole_body() -> None:
    parse_json(("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH).encode())
    exc = refused(("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)).encode())
    assert exc.details == [{"field": "body", "message": "nests deeper than 100 levels"}]


# -- the serializers ---------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_serializers_refuse_non_finite_numbers(bad: float) -> None:
    with pytest.raises(ValueError, match="JSON compliant"):
        json_response({"x": bad})
    with pytest.raises(ValueError, match="JSON compliant"):
        canonical_json({"x": bad})


# -- the property: hostile JSON text through parse -> validate -> store -> serialize ----------
_numbers = st.one_of(
    st.sampled_from(
        [
            "NaN",
            "Infinity",
            "-Infinity",
            "1e400",
            "-1e400",
            "1e-400",
            "-0",
            "-0.0",
            "1E308",
            "2e308",
            "0.1",
            "9007199254740993",
            "1" * 309,
            "9" * 309,
            "1" * 401,
            "1" * 4400,
        ]
    ),
    st.integers(min_value=-(10**330), max_value=10**330).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
)
_strings = st.one_of(
    st.text(max_size=12).map(lambda s: json.dumps(s, ensure_ascii=False)),
    st.text(max_size=12).map(json.dumps),
    st.sampled_from(
        [
            '"\\ud800"',
            '"\\udfff"',
            '"a\\ud83d"',
            '"\\ude00\\ud83d"',
            '"\\ud83d\\ude00"',
            '"\\u0000"',
            '"\\u001f\\u007f"',
            '"\\uffff\\ufffe"',
            '"\u2028"',
            '"k"',
            '"x"',
        ]
    ),
)
_keys = st.one_of(st.sampled_from(['"x"', '"y"', '"x"', '"\\ud800"', '"\\u0000"', '""']), _strings)
_json_text = st.recursive(
    st.one_of(_numbers, _strings, st.sampled_from(["true", "false", "null"])),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(lambda items: "[" + ",".join(items) + "]"),
        st.lists(st.tuples(_keys, inner), max_size=4).map(
            lambda pairs: "{" + ",".join(f"{k}:{v}" for k, v in pairs) + "}"
        ),
        st.tuples(st.integers(min_value=1, max_value=1200), inner).map(
            lambda deep: "[" * deep[0] + deep[1] + "]" * deep[0]
        ),
    ),
    max_leaves=12,
)
_event_text = st.builds(
    lambda payload, meta, key, extra: (
        '{"source":"s","event_type":"t","payload":'
        + payload
        + (',"metadata":' + meta if meta is not None else "")
        + (',"idempotency_key":' + key if key is not None else "")
        + ("," + extra[0] + ":" + extra[1] if extra is not None else "")
        + "}"
    ),
    _json_text,
    st.none() | _json_text,
    st.none() | _strings,
    st.none() | st.tuples(_keys, _json_text),
)
_body_text = st.one_of(
    _event_text,
    _json_text,
    st.lists(_event_text, min_size=1, max_size=3).map(
        lambda items: '{"items":[' + ",".join(items) + "]}"
    ),
)
_body_bytes = st.one_of(
    _body_text.map(lambda text: text.encode("utf-8")),
    _body_text.map(lambda text: text.encode("utf-8", "surrogatepass")),  # whatever st.text held
    st.binary(max_size=64),
)
_headers = st.none() | st.text(max_size=8) | st.sampled_from(["é", "Ã©", "k-1", "tab\t", " "])


def _is_strict_json(raw: bytes) -> bool:
    try:
        strict_loads(raw.decode("utf-8-sig"))
    except (ValueError, RecursionError):
        return False
    return True


def _assert_refusal(raw: bytes, exc: errors.ApiError) -> None:
    assert exc.status in (400, 413), exc
    if exc.code == "invalid_json":
        assert not _is_strict_json(raw), "strict JSON must never be called invalid_json"
    else:
        assert exc.code in ("validation_error", "payload_too_large")
        assert exc.details
        assert all(isinstance(d["field"], str) and d["field"] for d in exc.details)
    strict_loads(json_response(exc.body("req_1"), exc.status).body)


def _assert_named(details: list[dict[str, str]]) -> None:
    # A field is named as sent: an unknown key "" is named "".
    assert details
    assert all(isinstance(d["field"], str) for d in details)
    strict_loads(json_response({"details": details}).body)


def _accept(body: Any, header: str | None) -> None:
    """What the create view and the store do with a body that passed the parser."""
    if isinstance(body, dict) and "items" in body:
        parse_bulk_create(body, 256 * 1024)  # the shape check; the items are checked below
        items = body["items"]
        header = None
    else:
        items = [body]
    service = EventService(store=None, shards=4, retention_days=7, idempotency_ttl_seconds=60)  # type: ignore[arg-type]
    for item in items:
        try:
            draft = parse_event_create(item, header_idempotency_key=header)
        except EventValidationError as exc:
            _assert_named(exc.details)
            continue
        except PayloadTooLargeError:
            continue
        stored = event_to_item(service.new_event("tenant", draft), 0, 0)
        # boto3 sends every string as UTF-8: it must encode.
        json.dumps(stored, ensure_ascii=False, allow_nan=False).encode("utf-8")
        answered = strict_loads(json_response(item_to_event(stored).to_public(), 201).body)
        assert answered["payload"] == item["payload"]
        assert canonical_json(answered["payload"]) == draft.payload_json
        assert answered["idempotency_key"] is None or answered["idempotency_key"].isascii()


@given(_body_bytes, _headers)
def test_hostile_json_is_refused_with_a_field_or_answered_as_strict_json(
    raw: bytes, header: str | None
) -> None:
    try:
        body = parse_json(raw)
    except errors.ApiError as exc:
        _assert_refusal(raw, exc)
        return
    try:
        _accept(body, header)
    except errors.ApiError as exc:  # the bulk shape check
        _assert_refusal(raw, exc)
