"""Webhook filters, ids and secret rotation (chalicelib/domain/webhooks.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.webhooks import (
    DELIVERY_ID_PATTERN,
    STATUS_ACTIVE,
    STATUS_PAUSED,
    WEBHOOK_ID_PATTERN,
    Webhook,
    WebhookSecret,
    delivery_id_for_event,
    filter_matches,
    new_webhook_id,
    plan_secret_rotation,
    valid_filter,
)

NOW = 1_795_000_000.0
NAMES = st.text(alphabet="abcxyz._:/-0123", min_size=1, max_size=20)


def hook(**changes: object) -> Webhook:
    base = Webhook(
        tenant_id="t1",
        webhook_id=new_webhook_id(),
        url="https://example.com/hook",
        event_types=(),
        sources=(),
        description="",
        status=STATUS_ACTIVE,
        created_at=NOW,
        updated_at=NOW,
        secrets=(WebhookSecret("whsec_old", NOW - 100),),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("filters", "name", "passes"),
    [
        ((), "anything", True),
        (("invoice.paid",), "invoice.paid", True),
        (("invoice.paid",), "invoice.paid.late", False),
        (("invoice.*",), "invoice.paid", True),
        (("invoice.*",), "invoice.", True),
        (("invoice.*",), "invoices.paid", False),
        (("*",), "x", True),
        (("a", "b.*"), "b.c", True),
        (("a", "b.*"), "c", False),
    ],
)
def test_filters_match_exact_names_and_trailing_star_prefixes(
    filters: tuple[str, ...], name: str, passes: bool
) -> None:
    assert filter_matches(filters, name) is passes


@given(NAMES, NAMES)
def test_a_prefix_pattern_passes_exactly_the_names_that_start_with_it(
    prefix: str, name: str
) -> None:
    assert filter_matches((prefix + "*",), name) is name.startswith(prefix)
    assert filter_matches((name,), name)


def test_a_webhook_needs_both_filters_to_pass() -> None:
    webhook = hook(event_types=("invoice.*",), sources=("billing",))
    assert webhook.matches("billing", "invoice.paid")
    assert not webhook.matches("shop", "invoice.paid")
    assert not webhook.matches("billing", "order.paid")


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("invoice.paid", True),
        ("invoice.*", True),
        ("*", True),
        ("in*voice", False),
        ("**", False),
        ("", False),
        ("a b", False),
        ("x" * 128, True),
        ("x" * 129, False),
        ("x" * 127 + "*", True),
    ],
)
def test_valid_filters(value: str, ok: bool) -> None:
    assert valid_filter(value) is ok


def test_ids_have_their_documented_shape() -> None:
    assert WEBHOOK_ID_PATTERN.match(new_webhook_id())
    delivery = delivery_id_for_event("evt_01JDZ8Q7XKQ4S3N1M2P5R6T7V8")
    assert delivery == "msg_01JDZ8Q7XKQ4S3N1M2P5R6T7V8"
    assert DELIVERY_ID_PATTERN.match(delivery)


def test_only_active_webhooks_receive() -> None:
    assert hook().receives
    assert not hook(status=STATUS_PAUSED).receives


def test_rotation_signs_with_both_secrets_until_the_grace_ends() -> None:
    webhook = hook()
    secrets = plan_secret_rotation(webhook, "whsec_new", NOW, 3600)
    rotated = replace(webhook, secrets=secrets)
    assert rotated.signing_secrets(NOW) == ["whsec_new", "whsec_old"]
    assert rotated.signing_secrets(NOW + 3599) == ["whsec_new", "whsec_old"]
    assert rotated.signing_secrets(NOW + 3600) == ["whsec_new"]


def test_rotation_with_no_grace_drops_the_old_secret_and_never_lengthens_an_expiry() -> None:
    webhook = hook()
    assert [s.secret for s in plan_secret_rotation(webhook, "whsec_new", NOW, 0)] == ["whsec_new"]
    once = replace(webhook, secrets=plan_secret_rotation(webhook, "whsec_b", NOW, 600))
    twice = plan_secret_rotation(once, "whsec_c", NOW + 10, 86400)
    expiries = {s.secret: s.expires_at for s in twice}
    assert expiries == {"whsec_c": None, "whsec_b": NOW + 10 + 86400, "whsec_old": NOW + 600}
