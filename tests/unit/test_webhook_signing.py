"""The webhook signer and verifier: the spec's vector, the shared vectors (which the SDKs read
too), properties, and the reference ``standardwebhooks`` library verifying what we send."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError as ReferenceVerificationError

from chalicelib.domain import webhook_signing as ws

VECTORS = json.loads(
    (Path(__file__).resolve().parents[1] / "vectors" / "webhook_signing.json").read_text()
)
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
OLD = "whsec_p2G1tJkZUuSnGBCJbyvqxk3w88WiCNarg0W21M2ED4w="
NEW = "whsec_GcXNfr2tR249G+kXMTg5b6CttvpEwhsUekwqFIDKSg4="

secrets = st.binary(min_size=1, max_size=64).map(
    lambda key: ws.SECRET_PREFIX + base64.b64encode(key).decode()
)
msg_ids = st.text(min_size=1, max_size=40)
timestamps = st.integers(min_value=0, max_value=10**11)
bodies = st.binary(max_size=512)


def spec_headers(signature: str = SPEC_SIGNATURE) -> dict[str, str]:
    return {
        "webhook-id": SPEC_ID,
        "webhook-timestamp": str(SPEC_TIMESTAMP),
        "webhook-signature": signature,
    }


def test_the_spec_vector() -> None:
    assert ws.sign(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE
    assert ws.delivery_headers([SPEC_SECRET], SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == (
        spec_headers()
    )
    ws.verify(SPEC_SECRET, spec_headers(), SPEC_BODY, now=SPEC_TIMESTAMP)


def test_the_vector_file_holds_the_spec_vector() -> None:
    first = VECTORS["sign"][0]
    assert (first["secrets"], first["msg_id"], first["timestamp"]) == (
        [SPEC_SECRET],
        SPEC_ID,
        SPEC_TIMESTAMP,
    )
    assert (first["body"].encode(), first["header"]) == (SPEC_BODY, SPEC_SIGNATURE)
    assert any(len(case["secrets"]) == 2 for case in VECTORS["sign"])


@pytest.mark.parametrize("case", VECTORS["sign"], ids=[c["name"] for c in VECTORS["sign"]])
def test_signer_reproduces_every_vector(case: dict[str, Any]) -> None:
    body = case["body"].encode()
    msg_id, timestamp = case["msg_id"], case["timestamp"]
    assert case["signed_content"] == f"{msg_id}.{timestamp}.{case['body']}"
    assert [ws.sign(s, msg_id, timestamp, body) for s in case["secrets"]] == case["signatures"]
    assert ws.signature_header(case["secrets"], msg_id, timestamp, body) == case["header"]
    headers = ws.delivery_headers(case["secrets"], msg_id, timestamp, body)
    assert headers["webhook-signature"] == case["header"]
    for secret in case["secrets"]:
        ws.verify(secret, headers, body, now=timestamp, tolerance=VECTORS["tolerance_seconds"])


def test_new_secrets_are_32_random_bytes_in_standard_base64() -> None:
    first, second = ws.new_webhook_secret(), ws.new_webhook_secret()
    assert first != second
    for secret in (first, second):
        assert secret.startswith("whsec_")
        encoded = secret.removeprefix("whsec_")
        assert len(base64.b64decode(encoded, validate=True)) == 32
        assert ws.secret_key(secret) == base64.b64decode(encoded)


def test_secret_key_prefix_and_padding_are_optional() -> None:
    key = ws.secret_key(SPEC_SECRET)
    assert ws.secret_key(SPEC_SECRET.removeprefix("whsec_")) == key
    padded = ws.secret_key(NEW)
    assert ws.secret_key(NEW.rstrip("=")) == padded


@pytest.mark.parametrize("garbage", ["whsec_", "", "whsec_!!!!", "not base64 at all", "whsec_A"])
def test_secret_key_refuses_garbage(garbage: str) -> None:
    with pytest.raises(ValueError, match="webhook secret"):
        ws.secret_key(garbage)


def test_signing_with_no_secret_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="at least one secret"):
        ws.signature_header([], SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY)


@given(secret=secrets, msg_id=msg_ids, timestamp=timestamps, body=bodies)
def test_round_trip(secret: str, msg_id: str, timestamp: int, body: bytes) -> None:
    headers = ws.delivery_headers([secret], msg_id, timestamp, body)
    ws.verify(secret, headers, body, now=timestamp)


@given(
    secret=secrets,
    msg_id=msg_ids,
    timestamp=timestamps,
    body=bodies,
    data=st.data(),
)
def test_any_tampering_is_refused(
    secret: str, msg_id: str, timestamp: int, body: bytes, data: st.DataObject
) -> None:
    headers = ws.delivery_headers([secret], msg_id, timestamp, body)
    field = data.draw(st.sampled_from(["body", "id", "timestamp", "signature", "secret"]))
    if field == "body":
        other = data.draw(bodies.filter(lambda b: b != body))
        with pytest.raises(ws.WebhookVerificationError):
            ws.verify(secret, headers, other, now=timestamp)
        return
    if field == "secret":
        wrong = data.draw(secrets.filter(lambda s: ws.secret_key(s) != ws.secret_key(secret)))
        with pytest.raises(ws.WebhookVerificationError):
            ws.verify(wrong, headers, body, now=timestamp)
        return
    if field == "id":
        headers["webhook-id"] = data.draw(msg_ids.filter(lambda m: m != msg_id))
    elif field == "timestamp":
        headers["webhook-timestamp"] = str(timestamp + data.draw(st.integers(1, 300)))
    else:
        raw = bytearray(base64.b64decode(headers["webhook-signature"].removeprefix("v1,")))
        raw[data.draw(st.integers(0, len(raw) - 1))] ^= data.draw(st.integers(1, 255))
        headers["webhook-signature"] = "v1," + base64.b64encode(bytes(raw)).decode()
    with pytest.raises(ws.WebhookVerificationError, match="no matching signature"):
        ws.verify(secret, headers, body, now=timestamp)


def test_during_a_rotation_both_signatures_verify() -> None:
    body = b'{"type":"invoice.paid"}'
    headers = ws.delivery_headers([OLD, NEW], "msg_1", 1764460800, body)
    old_sig, new_sig = headers["webhook-signature"].split(" ")
    assert old_sig == ws.sign(OLD, "msg_1", 1764460800, body)
    assert new_sig == ws.sign(NEW, "msg_1", 1764460800, body)
    ws.verify(OLD, headers, body, now=1764460800)
    ws.verify(NEW, headers, body, now=1764460800)
    with pytest.raises(ws.WebhookVerificationError):
        ws.verify(SPEC_SECRET, headers, body, now=1764460800)


@pytest.mark.parametrize(
    ("offset", "message"), [(-301, "too new"), (301, "too old"), (-300, None), (300, None)]
)
def test_tolerance_both_ways(offset: int, message: str | None) -> None:
    now = SPEC_TIMESTAMP + offset
    if message is None:
        ws.verify(SPEC_SECRET, spec_headers(), SPEC_BODY, now=now)
        return
    with pytest.raises(ws.WebhookVerificationError, match=message):
        ws.verify(SPEC_SECRET, spec_headers(), SPEC_BODY, now=now)


def test_header_names_are_case_insensitive() -> None:
    headers = {name.title(): value for name, value in spec_headers().items()}
    assert "Webhook-Signature" in headers
    ws.verify(SPEC_SECRET, headers, SPEC_BODY, now=SPEC_TIMESTAMP)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_headers_are_refused(missing: str) -> None:
    headers = spec_headers()
    del headers[missing]
    with pytest.raises(ws.WebhookVerificationError, match="missing"):
        ws.verify(SPEC_SECRET, headers, SPEC_BODY, now=SPEC_TIMESTAMP)


@pytest.mark.parametrize("timestamp", ["abc", "1614265330.0", "-1614265330", "1" * 13, "١٢"])
def test_malformed_timestamps_are_refused(timestamp: str) -> None:
    headers = spec_headers() | {"webhook-timestamp": timestamp}
    with pytest.raises(ws.WebhookVerificationError, match="webhook-timestamp"):
        ws.verify(SPEC_SECRET, headers, SPEC_BODY, now=SPEC_TIMESTAMP)


@pytest.mark.parametrize(
    "header",
    [
        f"v2,{SPEC_SIGNATURE[3:]}",
        f"v1a,{SPEC_SIGNATURE[3:]}",
        SPEC_SIGNATURE[3:],
        "v1,not*base64",
        f"v1,{SPEC_SIGNATURE[3:].lower()}",
    ],
)
def test_other_versions_and_garbage_do_not_match(header: str) -> None:
    with pytest.raises(ws.WebhookVerificationError, match="no matching signature"):
        ws.verify(SPEC_SECRET, spec_headers(header), SPEC_BODY, now=SPEC_TIMESTAMP)


def test_any_v1_signature_may_match() -> None:
    header = f"v2,abcd v1,not*base64 v1,{base64.b64encode(bytes(32)).decode()} {SPEC_SIGNATURE}"
    ws.verify(SPEC_SECRET, spec_headers(header), SPEC_BODY, now=SPEC_TIMESTAMP)


def test_only_the_first_signatures_are_looked_at() -> None:
    filler = " ".join(["v1,AAAA"] * ws.MAX_SIGNATURES)
    with pytest.raises(ws.WebhookVerificationError):
        ws.verify(
            SPEC_SECRET, spec_headers(f"{filler} {SPEC_SIGNATURE}"), SPEC_BODY, SPEC_TIMESTAMP
        )


# The reference library reads the clock itself: these tests sign at the current time.


@pytest.mark.parametrize(
    "body",
    [
        SPEC_BODY,
        json.dumps({"data": {"text": "Grüße, 東京 🚀 — naïve"}}, ensure_ascii=False).encode(),
    ],
    ids=["ascii", "unicode"],
)
def test_the_reference_library_verifies_our_headers(body: bytes) -> None:
    now = int(time.time())
    headers = ws.delivery_headers([OLD, NEW], "msg_ref", now, body)
    for secret in (OLD, NEW):
        assert Webhook(secret).verify(body, headers) == json.loads(body)
    with pytest.raises(ReferenceVerificationError):
        Webhook(SPEC_SECRET).verify(body, headers)


def test_the_reference_library_accepts_a_fresh_secret() -> None:
    secret = ws.new_webhook_secret()
    now = int(time.time())
    headers = ws.delivery_headers([secret], "msg_fresh", now, SPEC_BODY)
    Webhook(secret).verify(SPEC_BODY, headers)


@given(
    secret=secrets,
    text=st.text(max_size=200),
    msg_id=st.from_regex(r"msg_[0-9A-Za-z]{1,26}", fullmatch=True),
)
def test_we_and_the_reference_library_agree(secret: str, text: str, msg_id: str) -> None:
    now = int(time.time())
    body = text.encode()
    ours = ws.delivery_headers([secret], msg_id, now, body)
    Webhook(secret).verify(body, ours, json_parse=False)
    theirs = Webhook(secret).sign(msg_id, datetime.fromtimestamp(now, tz=UTC), text)
    assert theirs == ours["webhook-signature"]
    ws.verify(secret, ours | {"webhook-signature": theirs}, body, now=now)
