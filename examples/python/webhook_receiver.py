"""A webhook receiver that verifies every delivery's signature with the Python SDK.

    WEBHOOK_SECRET=whsec_... .venv/bin/python examples/python/webhook_receiver.py --port 9000

WEBHOOK_SECRET is the secret POST /v1/webhooks answered for http://127.0.0.1:9000/hooks (during
a rotation, both secrets separated by a space). Each delivery is verified on its raw body
(signature, timestamp within 5 minutes) before it is parsed: a verified one answers 204 and
prints {"verified": true, ...}; anything else answers 400 and prints {"verified": false,
"reason": ...}. Deliveries are at-least-once: a repeated webhook-id is acknowledged without
handling it twice. Stop with Ctrl-C or SIGTERM (or --max-deliveries).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from triggers import Webhook, WebhookVerificationError


def emit(record: dict[str, object]) -> None:
    print(json.dumps(record), flush=True)


class Receiver(ThreadingHTTPServer):
    def __init__(self, port: int, verifier: Webhook, max_deliveries: int | None) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.verifier = verifier
        self.max_deliveries = max_deliveries
        self.seen: set[str] = set()
        self.lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        headers = {name.lower(): value for name, value in self.headers.items()}
        try:
            message = self.server.verifier.verify(raw, headers)
        except WebhookVerificationError as error:
            emit({"verified": False, "reason": str(error)})
            self.send_response(400)
            self.end_headers()
            return
        with self.server.lock:
            duplicate = message.id in self.server.seen
        if not duplicate:
            try:
                event = message.event  # None for a webhook.test delivery
            except ValueError as error:  # signed by the API, yet not an event: report it
                emit({"verified": True, "webhook_id": message.id, "error": str(error)[:200]})
                self.send_response(400)
                self.end_headers()
                return
            emit(
                {
                    "verified": True,
                    "webhook_id": message.id,
                    "type": message.type,
                    "event_id": event.event_id if event else None,
                }
            )
        with self.server.lock:
            self.server.seen.add(message.id)  # handled: a redelivery is acknowledged only
            done = (
                self.server.max_deliveries is not None
                and len(self.server.seen) >= self.server.max_deliveries
            )
        self.send_response(204)
        self.end_headers()
        if done:
            threading.Thread(target=self.server.shutdown, daemon=True).start()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the API's name
        return  # one JSON line per delivery instead of the access log


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM stops it like Ctrl-C


def main() -> int:
    parser = argparse.ArgumentParser(description="verify webhook deliveries")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--max-deliveries", type=int, help="exit after this many deliveries")
    args = parser.parse_args()
    secrets = os.environ.get("WEBHOOK_SECRET", "").split()
    if not secrets:
        raise SystemExit("set WEBHOOK_SECRET to the whsec_ secret of your webhook")
    server = Receiver(args.port, Webhook(secrets), args.max_deliveries)
    emit({"listening": f"http://127.0.0.1:{args.port}/hooks"})
    signal.signal(signal.SIGTERM, _stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
