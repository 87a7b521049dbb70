"""Request-signature verification: runs on every request of a key with signing on (issue 10:
under 20 µs median). A 1 KiB body, the one signing secret the server checks (the one paired
with the API secret used), and a client mid-rotation sending two v1= values."""

from __future__ import annotations

from typing import Any

from chalicelib.domain import request_signing as rs

SECRETS = ("tsig_bench-signing-secret-0123456789",)
SENT = ("tsig_bench-other-signing-secret-0123456789", *SECRETS)
BODY = b'{"source":"billing","event_type":"invoice.paid","payload":{"pad":"' + b"x" * 960 + b'"}}'
TARGET = rs.canonical_target("/v1/events", ())
TIMESTAMP = "1764460800"
HEADER = rs.signature_header(SENT, TIMESTAMP, "POST", TARGET, BODY)


def test_bench_verify_request_signature(benchmark: Any) -> None:
    verdict = benchmark(
        rs.verify, SECRETS, TIMESTAMP, HEADER, "POST", TARGET, BODY, float(TIMESTAMP) + 5
    )
    assert verdict is rs.Verdict.OK
