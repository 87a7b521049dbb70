"""The request signer and verifier against the shared vectors (which the SDKs read too)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain import request_signing as rs

VECTORS = json.loads(
    (Path(__file__).resolve().parents[1] / "vectors" / "request_signing.json").read_text()
)


def names(cases: list[dict[str, Any]]) -> list[str]:
    return [case["name"] for case in cases]


@pytest.mark.parametrize("case", VECTORS["sign"], ids=names(VECTORS["sign"]))
def test_signer_reproduces_every_vector(case: dict[str, Any]) -> None:
    target = rs.canonical_target(case["path"], [tuple(pair) for pair in case["query"]])
    assert target == case["canonical_target"]
    body = case["body"].encode()
    content = rs.signed_content(case["timestamp"], case["method"], target, body)
    assert content.decode() == case["signed_content"]
    assert [
        rs.sign(s, case["timestamp"], case["method"], target, body) for s in case["secrets"]
    ] == (case["signatures"])
    header = rs.signature_header(case["secrets"], case["timestamp"], case["method"], target, body)
    assert header == case["header"]
    verdict = rs.verify(
        case["secrets"],
        case["timestamp"],
        header,
        case["method"],
        target,
        body,
        float(case["timestamp"]),
    )
    assert verdict is rs.Verdict.OK


@pytest.mark.parametrize("case", VECTORS["verify"], ids=names(VECTORS["verify"]))
def test_verifier_agrees_with_every_vector(case: dict[str, Any]) -> None:
    verdict = rs.verify(
        case["secrets"],
        case["timestamp"],
        case["signature"],
        case["method"],
        case["target"],
        case["body"].encode(),
        case["now"],
        VECTORS["tolerance_seconds"],
    )
    assert verdict.value == case["expected"]


def test_the_vectors_cover_every_verdict() -> None:
    assert {case["expected"] for case in VECTORS["verify"]} == {v.value for v in rs.Verdict}


SECRET = "tsk_property-secret"


@given(
    signed_at=st.integers(min_value=0, max_value=10**11),
    skew=st.integers(min_value=-10_000, max_value=10_000),
)
def test_a_correct_signature_is_ok_exactly_within_the_tolerance(signed_at: int, skew: int) -> None:
    header = rs.signature_header([SECRET], signed_at, "POST", "/v1/events", b"{}")
    verdict = rs.verify(
        [SECRET], str(signed_at), header, "POST", "/v1/events", b"{}", signed_at + skew
    )
    expected = rs.Verdict.OK if abs(skew) <= rs.TOLERANCE_SECONDS else rs.Verdict.EXPIRED
    assert verdict is expected


@given(
    signed_at=st.integers(min_value=0, max_value=10**11),
    fraction=st.floats(min_value=-1.0, max_value=1.0, allow_nan=False),
)
def test_fractional_clocks_at_the_boundary(signed_at: int, fraction: float) -> None:
    now = signed_at + rs.TOLERANCE_SECONDS + fraction
    header = rs.signature_header([SECRET], signed_at, "GET", "/v1/inbox", b"")
    verdict = rs.verify([SECRET], str(signed_at), header, "GET", "/v1/inbox", b"", now)
    assert verdict is (
        rs.Verdict.OK if now - signed_at <= rs.TOLERANCE_SECONDS else rs.Verdict.EXPIRED
    )


@given(body=st.binary(max_size=64), tampered=st.binary(min_size=1, max_size=64))
def test_any_change_to_the_body_is_invalid(body: bytes, tampered: bytes) -> None:
    header = rs.signature_header([SECRET], 1000, "POST", "/v1/events", body)
    other = body + tampered
    assert (
        rs.verify([SECRET], "1000", header, "POST", "/v1/events", other, 1000) is rs.Verdict.INVALID
    )


@pytest.mark.parametrize(
    "header",
    [
        "",
        "v1",
        "v1=",
        "=abc",
        "v1=zz",
        "v1=" + "g" * 64,
        ",,,",
        "v2=" + "0" * 64,
        "v1=" + "\u00e9" * 64,  # non-ASCII: compare_digest would raise TypeError on it
        "v1=" + "\uff10" * 64,  # fullwidth digits
    ],
)
def test_malformed_signature_headers_are_invalid(header: str) -> None:
    assert rs.verify([SECRET], "1000", header, "GET", "/v1/inbox", b"", 1000) is rs.Verdict.INVALID


@pytest.mark.parametrize(
    "timestamp", ["", " ", "-1000", "1e3", "1000.5", "\uff11\uff10\uff10\uff10", "9" * 13]
)
def test_malformed_timestamps_are_invalid(timestamp: str) -> None:
    header = rs.signature_header([SECRET], timestamp, "GET", "/v1/inbox", b"")
    assert (
        rs.verify([SECRET], timestamp, header, "GET", "/v1/inbox", b"", 1000) is rs.Verdict.INVALID
    )


def test_a_key_without_signing_secrets_verifies_nothing() -> None:
    header = rs.signature_header([SECRET], 1000, "GET", "/v1/inbox", b"")
    assert rs.verify([], "1000", header, "GET", "/v1/inbox", b"", 1000) is rs.Verdict.INVALID


def test_only_the_first_values_of_a_long_header_are_tried() -> None:
    good = rs.sign(SECRET, 1000, "GET", "/v1/inbox", b"")
    padding = ",".join(["v1=" + "0" * 64] * rs.MAX_SIGNATURES)
    header = f"{padding},v1={good}"
    assert rs.verify([SECRET], "1000", header, "GET", "/v1/inbox", b"", 1000) is rs.Verdict.INVALID
    assert rs.verify([SECRET], "1000", f"v1={good},{padding}", "GET", "/v1/inbox", b"", 1000) is (
        rs.Verdict.OK
    )
