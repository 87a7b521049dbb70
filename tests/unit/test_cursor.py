"""Paging cursors: opaque, tamper-checked, bound to a tenant and a filter scope."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.cursor import CursorCodec, CursorPosition, InvalidCursor, scope_digest

KEY = b"0123456789abcdef-cursor-key"
codec = CursorCodec(KEY)
texts = st.text(max_size=80)


@given(texts, texts, texts)
def test_round_trip(tenant: str, scope: str, after: str) -> None:
    position = CursorPosition(tenant, scope, after)
    cursor = codec.encode(position)
    assert codec.decode(cursor) == position
    # URL-safe: no characters that need escaping in a query string.
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


def test_short_key_is_refused() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        CursorCodec(b"short")


@given(st.data())
def test_any_single_character_change_is_detected(data: st.DataObject) -> None:
    cursor = codec.encode(CursorPosition("ten_a", "scope", "2026-11-22T10:00:00.000Z#evt_X"))
    i = data.draw(st.integers(min_value=0, max_value=len(cursor) - 1))
    replacement = data.draw(st.sampled_from("Aa0_-.x"))
    tampered = cursor[:i] + replacement + cursor[i + 1 :]
    if tampered == cursor:
        return
    try:
        decoded = codec.decode(tampered)
    except InvalidCursor:
        return
    # Base64 padding bits can change without changing the bytes: then it must decode the same.
    assert decoded == codec.decode(cursor)


def test_edited_body_with_old_mac_is_refused() -> None:
    cursor = codec.encode(CursorPosition("ten_a", "s", "x"))
    body, mac = cursor.split(".")
    data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    data["t"] = "ten_b"
    forged = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    with pytest.raises(InvalidCursor, match="altered"):
        codec.decode(f"{forged}.{mac}")


def test_another_key_cannot_read_it() -> None:
    cursor = codec.encode(CursorPosition("ten_a", "s", "x"))
    with pytest.raises(InvalidCursor):
        CursorCodec(b"another-key-of-16-bytes+").decode(cursor)


@pytest.mark.parametrize(
    "cursor", ["", ".", "abc", "a.b.c", "!!!.???", "é.é", "a" * 5000, "eyJ2IjoxfQ.AAAA"]
)
def test_garbage_is_invalid_cursor_never_another_error(cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        codec.decode(cursor)


def _signed(body: bytes) -> str:
    b64 = base64.urlsafe_b64encode(body).rstrip(b"=").decode()
    return f"{b64}.{base64.urlsafe_b64encode(codec._mac(body)).rstrip(b'=').decode()}"


@pytest.mark.parametrize(
    "body",
    [b"[]", b"not json", b'{"v":2,"t":"a","s":"b","a":"c"}', b'{"v":1}', b"\xff\xfe", b"null"],
)
def test_signed_but_malformed_bodies_are_invalid(body: bytes) -> None:
    with pytest.raises(InvalidCursor):
        codec.decode(_signed(body))


def test_scope_binding_differs_by_filter_and_ignores_order() -> None:
    a = scope_digest({"source": "billing", "event_type": ""})
    assert a == scope_digest({"event_type": "", "source": "billing"})
    assert a != scope_digest({"source": "billing", "event_type": "x"})
    assert a != scope_digest({"source": "billinG", "event_type": ""})


def test_tenant_is_part_of_the_cursor() -> None:
    one = codec.encode(CursorPosition("ten_a", "s", "x"))
    two = codec.encode(CursorPosition("ten_b", "s", "x"))
    assert one != two
    assert codec.decode(two).tenant_id == "ten_b"
