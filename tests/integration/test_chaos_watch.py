"""chaos.watch: the read-only probes judge each answer against the contract."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from chaos import watch


@pytest.fixture
def stage() -> Iterator[tuple[str, list[str]]]:
    """A stand-in stage: health 200, the inbox 503 without Retry-After, analytics 200."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(f"{self.path} key={self.headers.get('X-API-Key')}")
            status = 503 if self.path.startswith("/v1/inbox") else 200
            body = json.dumps({"ok": True}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", seen
    server.shutdown()
    server.server_close()


def test_watch_reads_only_and_reports_a_503_without_retry_after(
    stage: tuple[str, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    url, seen = stage
    code = watch.main(["--url", url, "--api-key", "tk_test_x", "--seconds", "0", "--interval", "0"])
    assert code == 1
    assert seen == [
        "/v1/health key=tk_test_x",
        "/v1/inbox?limit=1 key=tk_test_x",
        "/v1/analytics/summary key=tk_test_x",
    ]
    assert "inbox: 503 without a valid Retry-After (None)" in capsys.readouterr().err
