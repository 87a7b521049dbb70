"""Webhook signing secrets sealed at rest (chalicelib/stores/secret_box.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.webhook_signing import new_webhook_secret
from chalicelib.stores.secret_box import SecretBox, SecretUnreadable

BOX = SecretBox(b"unit-test-webhook-secrets-key")
CONTEXT = "ten_a/wh_0123456789abcdef01234567"


@given(st.text(min_size=1, max_size=200))
def test_a_sealed_secret_opens_to_itself(secret: str) -> None:
    sealed = BOX.seal(secret, CONTEXT)
    assert BOX.open(sealed, CONTEXT) == secret


def test_the_sealed_value_reveals_nothing_and_differs_every_time() -> None:
    secret = new_webhook_secret()
    one, two = BOX.seal(secret, CONTEXT), BOX.seal(secret, CONTEXT)
    assert one != two
    assert secret not in one
    assert secret[6:] not in one
    assert one.startswith(f"enc1.{BOX.key_id}.")


def test_a_sealed_secret_does_not_open_for_another_webhook_or_key() -> None:
    sealed = BOX.seal(new_webhook_secret(), CONTEXT)
    with pytest.raises(SecretUnreadable, match="does not open"):
        BOX.open(sealed, "ten_b/wh_0123456789abcdef01234567")
    with pytest.raises(SecretUnreadable, match="sealed with key"):
        SecretBox(b"another-key-entirely-0123").open(sealed, CONTEXT)


@pytest.mark.parametrize(
    "stored", ["enc1", "enc1.x.y.z", "nope", f"enc1.{BOX.key_id}.!!!", f"enc1.{BOX.key_id}.AAAA"]
)
def test_damaged_values_are_unreadable_not_a_crash(stored: str) -> None:
    with pytest.raises(SecretUnreadable):
        BOX.open(stored, CONTEXT)


def test_a_plain_secret_from_before_sealing_reads_as_it_is() -> None:
    secret = new_webhook_secret()
    assert BOX.open(secret, CONTEXT) == secret


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 16"):
        SecretBox(b"short")
