"""Webhook verification: the shared vectors and the standardwebhooks reference, both ways."""

from __future__ import annotations

import json
import time

import pytest
from conftest import VECTORS, event_json
from standardwebhooks.webhooks import Webhook as ReferenceWebhook

import triggers
from triggers import Webhook, WebhookVerificationError

DOC = json.loads((VECTORS / "webhook_signing.json").read_text())


def headers(msg_id: str, timestamp: int, signature: str) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }


@pytest.mark.parametrize("vector", DOC["sign"], ids=lambda v: v["name"])
def test_vectors_verify_under_each_secret(vector):
    h = headers(vector["msg_id"], vector["timestamp"], vector["header"])
    for secret in vector["secrets"]:
        verifier = Webhook(secret, clock=lambda: vector["timestamp"])
        assert verifier.verify_signature(vector["body"].encode(), h) == (
            vector["msg_id"],
            vector["timestamp"],
        )
    signer = Webhook(vector["secrets"], clock=lambda: vector["timestamp"])
    assert signer.sign(vector["msg_id"], vector["timestamp"], vector["body"]) == vector["header"]


@pytest.mark.parametrize("vector", DOC["sign"], ids=lambda v: v["name"])
def test_vectors_fail_when_tampered_or_stale(vector):
    verifier = Webhook(vector["secrets"][0], clock=lambda: vector["timestamp"])
    h = headers(vector["msg_id"], vector["timestamp"], vector["header"])
    with pytest.raises(WebhookVerificationError):
        verifier.verify_signature(vector["body"].encode() + b" ", h)
    with pytest.raises(WebhookVerificationError):
        verifier.verify_signature(vector["body"], {**h, "webhook-id": "msg_other"})
    late = Webhook(vector["secrets"][0], clock=lambda: vector["timestamp"] + 301)
    with pytest.raises(WebhookVerificationError, match="too old"):
        late.verify_signature(vector["body"], h)
    early = Webhook(vector["secrets"][0], clock=lambda: vector["timestamp"] - 301)
    with pytest.raises(WebhookVerificationError, match="too new"):
        early.verify_signature(vector["body"], h)
    edge = Webhook(vector["secrets"][0], clock=lambda: vector["timestamp"] + 300)
    edge.verify_signature(vector["body"], h)


def test_missing_headers_and_wrong_secret():
    vector = DOC["sign"][2]
    h = headers(vector["msg_id"], vector["timestamp"], vector["header"])
    verifier = Webhook(vector["secrets"][0], clock=lambda: vector["timestamp"])
    for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        with pytest.raises(WebhookVerificationError, match="missing"):
            verifier.verify(vector["body"], {k: v for k, v in h.items() if k != name})
    other = Webhook("whsec_" + "A" * 43 + "=", clock=lambda: vector["timestamp"])
    with pytest.raises(WebhookVerificationError, match="no matching"):
        other.verify(vector["body"], h)
    with pytest.raises(WebhookVerificationError, match="integer"):
        verifier.verify(vector["body"], {**h, "webhook-timestamp": "soon"})


def test_verify_returns_the_typed_event_and_reads_headers_case_insensitively():
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = json.dumps(
        {"type": "invoice.paid", "timestamp": "2026-11-30T10:00:00.000Z", "data": event_json()}
    )
    signer = Webhook(secret, clock=lambda: 1_764_460_800)
    sig = signer.sign("msg_1", 1_764_460_800, body)
    h = {"Webhook-Id": "msg_1", "Webhook-Timestamp": "1764460800", "Webhook-Signature": sig}
    message = signer.verify(body.encode(), h)
    assert message.id == "msg_1"
    assert message.type == "invoice.paid"
    assert isinstance(message.event, triggers.models.Event)
    assert message.event.event_id == event_json()["event_id"]
    test_body = json.dumps({"type": "webhook.test", "timestamp": "x", "data": {"hello": 1}})
    test_sig = signer.sign("msg_2", 1_764_460_800, test_body)
    test_message = signer.verify(test_body, headers("msg_2", 1_764_460_800, test_sig))
    assert test_message.event is None
    assert test_message.data == {"hello": 1}


def test_reference_signs_and_ours_verifies_and_back():
    secret = "whsec_p2G1tJkZUuSnGBCJbyvqxk3w88WiCNarg0W21M2ED4w="
    reference = ReferenceWebhook(secret)
    ours = Webhook(secret)
    body = json.dumps({"type": "invoice.paid", "timestamp": "t", "data": event_json()})
    from datetime import datetime, timezone

    now = datetime.now(tz=timezone.utc)
    ref_sig = reference.sign("msg_ref", now, body)
    assert ours.verify(body, headers("msg_ref", int(now.timestamp()), ref_sig)).type == (
        "invoice.paid"
    )
    our_sig = ours.sign("msg_ours", int(now.timestamp()), body)
    verified = reference.verify(body, headers("msg_ours", int(now.timestamp()), our_sig))
    assert verified["data"]["event_id"] == event_json()["event_id"]
    # both refuse the same tampered body
    tampered = body.replace("4200", "4201")
    with pytest.raises(WebhookVerificationError):
        ours.verify(tampered, headers("msg_ref", int(now.timestamp()), ref_sig))
    with pytest.raises(Exception, match=r"(?i)signature"):
        reference.verify(tampered, headers("msg_ours", int(now.timestamp()), our_sig))


def test_rotation_header_with_two_signatures_verifies_with_either_secret():
    old = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    new = "whsec_GcXNfr2tR249G+kXMTg5b6CttvpEwhsUekwqFIDKSg4="
    now = int(time.time())
    sig = Webhook([new, old]).sign("msg_r", now, "{}")
    assert len(sig.split(" ")) == 2
    for secret in (old, new):
        Webhook(secret).verify("{}", headers("msg_r", now, sig))
        assert ReferenceWebhook(secret).verify("{}", headers("msg_r", now, sig)) == {}


def test_bad_secret_is_refused_at_construction():
    with pytest.raises(ValueError, match="base64"):
        Webhook("whsec_not base64!")
    with pytest.raises(ValueError, match="at least one"):
        Webhook([])


def test_extra_whitespace_and_unknown_versions_in_the_signature_header():
    vector = DOC["sign"][0]
    sig = vector["header"].split(" ")[0]
    verifier = Webhook(vector["secrets"][0], clock=lambda: vector["timestamp"])
    for header in (f"  {sig}  ", f"v2,abc {sig}", f"v1,not-base64!! {sig}", f"v1a,{sig[3:]} {sig}"):
        h = headers(vector["msg_id"], f" {vector['timestamp']} ", header)
        assert verifier.verify_signature(vector["body"], h)[0] == vector["msg_id"]
    with pytest.raises(WebhookVerificationError, match="no matching"):
        verifier.verify_signature(
            vector["body"], headers(vector["msg_id"], vector["timestamp"], f"v2,{sig[3:]}")
        )


def test_a_secret_without_the_whsec_prefix_matches_the_reference():
    vector = DOC["sign"][0]
    bare = vector["secrets"][0].removeprefix("whsec_")
    ours = Webhook(bare, clock=lambda: vector["timestamp"])
    h = headers(vector["msg_id"], vector["timestamp"], vector["header"].split(" ")[0])
    ours.verify_signature(vector["body"], h)
    ref = ReferenceWebhook(bare)
    assert (
        ref.sign(vector["msg_id"], _dt(vector["timestamp"]), vector["body"])
        == h["webhook-signature"]
    )


def _dt(ts: int):
    from datetime import datetime, timezone

    return datetime.fromtimestamp(ts, tz=timezone.utc)
