"""``chalice local`` with two fixes, used by `make run` and the e2e tests.

* TCP_NODELAY on every connection: the stock handler stalls ~44 ms per request on a kept-alive
  connection (Nagle's algorithm meeting delayed ACKs).
* Unknown routes answer 404 in the contract's error envelope, as API Gateway does in AWS through
  the gateway responses in ``infra/`` (stock chalice local answers 403 "Missing Authentication
  Token").
* Every method reaches the app, so one it does not route (TRACE, PROPFIND, ...) answers 405 with
  ``Allow`` like any other wrong method (stock: an HTML 501 from ``http.server``), and the errors
  ``http.server`` answers itself (a malformed request line, a bad ``Content-Length``, an
  oversized header) come in the JSON envelope too, never as HTML or a dropped connection.

Otherwise it is chalice's own local server: the same config loading (stage environment
variables from .chalice/config.json), the same Lambda event conversion, the same routing.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from http import HTTPStatus
from pathlib import Path
from typing import Any

from chalice.cli.factory import CLIFactory
from chalice.local import (
    ChaliceRequestHandler,
    CustomLocalChalice,
    ForbiddenError,
    LocalChalice,
    LocalDevServer,
    LocalGatewayException,
    ThreadedHTTPServer,
)

from chalicelib import errors
from chalicelib.api.context import resolve_request_id

ROOT = Path(__file__).resolve().parent.parent


class BacklogServer(ThreadedHTTPServer):
    """socketserver's default listen backlog is 5: a burst of concurrent clients (load tests,
    the concurrency tests) would see connection resets before a thread could accept them."""

    request_queue_size = 256
    allow_reuse_address = True


class NoDelayHandler(ChaliceRequestHandler):
    disable_nagle_algorithm = True  # socketserver sets TCP_NODELAY in setup()

    def _send_error_response(self, error: LocalGatewayException) -> None:
        if isinstance(error, ForbiddenError) and b"Missing Authentication Token" in (
            error.body or b""
        ):
            request_id = resolve_request_id(self.headers.get("X-Request-ID"), None)
            body = json.dumps(errors.NotFound("No such route.").body(request_id))
            self._send_http_response(
                404, {"Content-Type": "application/json", "X-Request-ID": request_id}, body
            )
            return
        super()._send_error_response(error)

    def _handle_any(self) -> None:
        length = self.headers.get("content-length", "0")
        if not length.isdigit():  # stock: int() raises and the connection drops
            self.send_error(HTTPStatus.BAD_REQUEST, "Content-Length must be a whole number.")
            return
        self._generic_handle()

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _handle_any

    def __getattr__(self, name: str) -> Any:
        # http.server looks up do_<METHOD>; a miss is an HTML 501. The app answers 405 instead.
        if name.startswith("do_"):
            return self._handle_any
        raise AttributeError(name)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own error answers (bad request line, header too large, ...), in the
        contract's envelope instead of an HTML page."""
        # 505 (an HTTP version it does not speak) is the client's mistake: a 400, not a 5xx.
        status = HTTPStatus(code) if code < 500 else HTTPStatus.BAD_REQUEST
        code = status.value
        headers = getattr(self, "headers", None)
        request_id = resolve_request_id(headers.get("X-Request-ID") if headers else None, None)
        error = errors.NotFound if code == 404 else errors.ValidationError
        body = json.dumps(error(message or status.phrase).body(request_id)).encode()
        self.close_connection = True
        # A request line it could not read leaves HTTP/0.9, which sends no status line at all.
        self.request_version = self.protocol_version
        self.send_response(code, status.phrase)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Request-ID", request_id)
        self.send_header("Connection", "close")
        self.end_headers()
        if getattr(self, "command", None) != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        # The app writes one JSON access-log line per request; the stdlib line would duplicate it.
        return


def serve(host: str, port: int, stage: str) -> None:
    os.chdir(ROOT)
    factory = CLIFactory(str(ROOT), environ=os.environ)
    config = factory.create_config_obj(chalice_stage_name=stage)
    if stage not in config.config_from_disk.get("stages", {}):
        raise SystemExit(f"unknown stage {stage!r}: not in .chalice/config.json")
    app = config.chalice_app
    # What chalice's own create_local_server does: the server handles requests on threads, and
    # Chalice keeps `current_request` on the app object; LocalChalice makes it thread-local.
    # Without it, concurrent requests read each other's bodies and headers.
    CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)
    app.__class__ = CustomLocalChalice
    server = LocalDevServer(
        app, config, host, port, handler_cls=NoDelayHandler, server_cls=BacklogServer
    )
    print(f"Serving on http://{host}:{port} (stage {stage})", flush=True)
    server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--stage", default="local")
    args = parser.parse_args(argv)
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(message)s")
    serve(args.host, args.port, args.stage)


if __name__ == "__main__":
    main()
