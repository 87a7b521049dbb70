"""Write tests/vectors/request_signing.json: the request-signing test vectors.

    .venv/bin/python tests/vectors/make_request_signing_vectors.py

Every signature is computed by the ``openssl`` command line (HMAC-SHA256), not by the code the
vectors test; the canonical targets are written out by hand. Re-running it reproduces the file.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

OUT = Path(__file__).with_name("request_signing.json")
S1 = "tsig_3q9XbW2uTQJmHqJ8cZrQv0b1YwUeT9yD4kF7Lm2Np5s"
S2 = "tsig_Rr4kP0zXw9LmN2bV7cQ1tY6uH3jG8fD5sA0eK9iO4pW"
EVENT = "/v1/events/evt_01JD8ZK3ABCDEFGHJKMNPQRSTV"


def hmac_hex(secret: str, content: str) -> str:
    out = subprocess.run(
        ["openssl", "dgst", "-sha256", "-hmac", secret, "-hex"],
        input=content.encode(),
        capture_output=True,
        check=True,
    ).stdout.decode()
    return out.strip().split("= ")[-1]


def sign_case(
    name: str,
    secrets: list[str],
    timestamp: str,
    method: str,
    path: str,
    query: list[list[str]],
    target: str,
    body: str,
) -> dict[str, Any]:
    body_hash = hashlib.sha256(body.encode()).hexdigest()
    content = f"{timestamp}.{method.upper()}.{target}.{body_hash}"
    signatures = [hmac_hex(s, content) for s in secrets]
    return {
        "name": name,
        "secrets": secrets,
        "timestamp": timestamp,
        "method": method,
        "path": path,
        "query": query,
        "canonical_target": target,
        "body": body,
        "body_sha256": body_hash,
        "signed_content": content,
        "signatures": signatures,
        "header": ",".join("v1=" + s for s in signatures),
    }


def main() -> None:
    create = '{"source":"billing","event_type":"invoice.paid","payload":{"amount":4200}}'
    sign = [
        sign_case(
            "post create event", [S1], "1764460800", "POST", "/v1/events", [], "/v1/events", create
        ),
        sign_case("get with no body", [S1], "1764460800", "GET", EVENT, [], EVENT, ""),
        sign_case(
            "query sorted and percent-encoded",
            [S1],
            "1764460801",
            "get",
            "/v1/inbox",
            [
                ["source", "billing"],
                ["limit", "50"],
                ["event_type", "invoice.*"],
                ["created_after", "2026-11-30T00:00:00.000Z"],
            ],
            "/v1/inbox?created_after=2026-11-30T00%3A00%3A00.000Z&event_type=invoice.%2A"
            "&limit=50&source=billing",
            "",
        ),
        sign_case(
            "repeated parameter sorted by value, unicode and space encoded",
            [S1],
            "1764460802",
            "GET",
            "/v1/inbox",
            [["source", "z b"], ["source", "\u00e9t\u00e9"], ["source", "a"]],
            "/v1/inbox?source=a&source=z%20b&source=%C3%A9t%C3%A9",
            "",
        ),
        sign_case(
            "non-ascii body hashed as utf-8 bytes",
            [S1],
            "1764460803",
            "POST",
            "/v1/events/bulk/ack",
            [],
            "/v1/events/bulk/ack",
            '{"event_ids":["evt_01JD8ZK3ABCDEFGHJKMNPQRSTV"],"note":"caf\u00e9 \u2603"}',
        ),
        sign_case(
            "a client sending one value per signing secret (e.g. mid-rotation)",
            [S1, S2],
            "1764460804",
            "DELETE",
            EVENT,
            [],
            EVENT,
            "",
        ),
    ]
    base = sign[0]
    sig = base["signatures"][0]
    other = hmac_hex(S2, base["signed_content"])

    def verify(name: str, expected: str, **changes: Any) -> dict[str, Any]:
        case = {
            "name": name,
            "secrets": [S1],
            "now": 1764460800,
            "signature": f"v1={sig}",
            "timestamp": base["timestamp"],
            "method": base["method"],
            "target": base["canonical_target"],
            "body": base["body"],
            **changes,
        }
        case["expected"] = expected
        return case

    checks = [
        verify("valid", "ok"),
        verify("valid at +300 s", "ok", now=1764461100),
        verify("valid at -300 s (client clock ahead)", "ok", now=1764460500),
        verify("expired at +301 s", "signature_expired", now=1764461101),
        verify("too far in the future at -301 s", "signature_expired", now=1764460499),
        verify("one of several v1 values matches", "ok", signature=f"v1={'0' * 64}, v1={sig}"),
        verify(
            "a verifier holding two signing secrets accepts either (SDK-side check)",
            "ok",
            secrets=[S2, S1],
        ),
        verify("signed with another secret", "signature_invalid", signature=f"v1={other}"),
        verify("uppercase hex accepted", "ok", signature=f"v1={sig.upper()}"),
        verify("unknown scheme only", "signature_invalid", signature=f"v0={sig}"),
        verify(
            "non-ascii where the hex should be",
            "signature_invalid",
            signature="v1=" + "\u00e9" * 64,
        ),
        verify("missing signature header", "signature_invalid", signature=None),
        verify("missing timestamp", "signature_invalid", timestamp=None),
        verify("timestamp not an integer", "signature_invalid", timestamp="1764460800.0"),
        verify("timestamp other than the signed one", "signature_invalid", timestamp="1764460801"),
        verify("body changed", "signature_invalid", body=base["body"] + " "),
        verify("method changed", "signature_invalid", method="PUT"),
        verify("truncated signature", "signature_invalid", signature=f"v1={sig[:-1]}"),
    ]
    doc = {
        "description": (
            "Request-signing test vectors (docs/API.md, 'Request signing'), written by "
            "tests/vectors/make_request_signing_vectors.py with the openssl CLI, independently "
            "of the code under test. Every implementation (the API's verifier, each SDK's "
            "signer) must reproduce 'sign' and agree with every 'verify' verdict. Bodies are "
            "UTF-8 strings; 'query' is the list of decoded (name, value) pairs; 'now' is the "
            "verifier's clock in unix seconds. The API checks a request against the one signing "
            "secret paired with the API secret it authenticated with."
        ),
        "tolerance_seconds": 300,
        "sign": sign,
        "verify": checks,
    }
    OUT.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
