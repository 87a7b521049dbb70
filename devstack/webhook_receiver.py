"""A webhook receiver for local development: it checks and prints every delivery it gets.

``python -m devstack.webhook_receiver --port 9000 --secret whsec_...`` listens on
``http://127.0.0.1:9000/`` (any path: register ``http://127.0.0.1:9000/hooks`` as the webhook's
URL), verifies each delivery's Standard Webhooks signature with
:func:`chalicelib.domain.webhook_signing.verify` and prints one JSON line per request::

    {"received_at": "...", "path": "/hooks", "webhook_id": "msg_...", "type": "invoice.paid",
     "verified": true, "latency_ms": 412.3, "status": 204, "duplicate": false}

``latency_ms`` runs from the event's ``created_at`` (the body's ``timestamp``) to the moment
the request was read. A delivery whose ``webhook-id`` the receiver has already accepted (2xx) on
the same path is a ``duplicate``: it is answered 2xx again and not counted twice (deliveries are
at-least-once). A request that does not verify is answered 400 (``--secret`` may be repeated:
any one of them verifying is enough; without ``--secret`` nothing is checked and ``verified`` is
null).

Scripting, for trying out retries: ``--fail-first N`` answers the first N requests with
``--fail-status`` (500), with ``Retry-After: --retry-after`` if given and after sleeping
``--delay`` seconds; later requests get ``--status`` (204).

The same receiver is a class for tests and the perf scenario::

    receiver = WebhookReceiver(secret="whsec_...", script=Script(first=1, status=500)).start()
    ...  # register receiver.url("/hooks") as a webhook, post events
    receiver.wait_for(3, timeout=10)
    receiver.deliveries  # accepted deliveries, one per (path, webhook-id)
    receiver.stop()

Each path is its own endpoint (several webhooks can point at one receiver): deduplication is
per (path, ``webhook-id``) and :meth:`WebhookReceiver.set_secret` gives a path its own secrets.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any, TextIO

from chalicelib.domain.clock import format_ts, parse_ts
from chalicelib.domain.webhook_signing import ID_HEADER, WebhookVerificationError, verify

MAX_BODY_BYTES = 1024 * 1024
ANY_PATH = "*"


@dataclass(frozen=True)
class Script:
    """The answer to the first ``first`` requests (counted over the whole receiver, every path):
    ``status``, with ``Retry-After: retry_after`` when set, after sleeping ``delay`` seconds."""

    first: int = 0
    status: int = 500
    retry_after: str | None = None
    delay: float = 0.0


@dataclass(frozen=True)
class Request:
    """One request the receiver answered."""

    number: int  # 1 for the receiver's first request
    path: str
    webhook_id: str | None
    type: str | None
    event_id: str | None
    verified: bool | None  # None: no secret to check against
    status: int  # what the receiver answered
    duplicate: bool  # a webhook-id this path had already accepted
    received_at: float  # epoch seconds, when the body had been read
    latency_ms: float | None  # from the body's timestamp (the event's created_at)
    headers: dict[str, str] = field(repr=False)
    body: bytes = field(repr=False)
    error: str | None = None  # why it did not verify, or why the body was refused

    def line(self) -> dict[str, Any]:
        """The JSON line the command prints."""
        out = {
            name: value
            for name, value in asdict(self).items()
            if name not in ("headers", "body", "received_at", "number")
        }
        if out["latency_ms"] is not None:
            out["latency_ms"] = round(out["latency_ms"], 1)
        if out["error"] is None:
            del out["error"]
        return {"received_at": format_ts(self.received_at), **out}


def _secrets(value: str | Sequence[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _created_at(document: Any) -> float | None:
    if not isinstance(document, dict) or not isinstance(document.get("timestamp"), str):
        return None
    try:
        return parse_ts(document["timestamp"])
    except ValueError:
        return None


def _event_id(document: Any) -> str | None:
    data = document.get("data") if isinstance(document, dict) else None
    value = data.get("event_id") if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256  # the delivery worker opens up to 40 connections at once
    receiver: WebhookReceiver


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_POST(self) -> None:
        receiver = self.server.receiver
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit() or int(length) > MAX_BODY_BYTES:
            self._answer(411 if length is None else 413, {})
            return
        body = self.rfile.read(int(length))
        received_at = receiver.clock()
        headers = {name.lower(): value for name, value in self.headers.items()}
        path = self.path.split("?", 1)[0]
        status, extra = receiver.handle(path, headers, body, received_at)
        self._answer(status, extra)

    def _answer(self, status: int, extra: Mapping[str, str]) -> None:
        self.send_response(status)
        for name, value in extra.items():
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's name
        pass  # one JSON line per request is printed by the receiver instead


class WebhookReceiver:
    """A threaded HTTP receiver on ``host:port`` (port 0: a free one; see :attr:`port`).

    * ``secret``: the secret(s) every path verifies with (``set_secret`` for one path's own);
      none: requests are not verified (``verified`` is None) and are accepted.
    * ``status``: the answer to a verified (or unchecked) request; ``script``: the first
      requests' answers instead (see :class:`Script`).
    * ``out``: where to print one JSON line per request (None: print nothing).
    """

    def __init__(
        self,
        secret: str | Sequence[str] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        status: int = 204,
        script: Script | None = None,
        out: TextIO | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.host = host
        self._port = port
        self.status = status
        self.script = script or Script()
        self.out = out
        self.clock = clock
        self._secrets: dict[str, tuple[str, ...]] = {ANY_PATH: _secrets(secret)}
        self._lock = threading.Condition()
        self._requests: list[Request] = []
        self._count = 0
        self._accepted: dict[tuple[str, str], Request] = {}
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- set-up --------------------------------------------------------------------------------
    def set_secret(self, secret: str | Sequence[str] | None, path: str = ANY_PATH) -> None:
        """Verify requests to ``path`` (every path: ``"*"``) with ``secret`` (several: any one
        verifying is enough)."""
        with self._lock:
            self._secrets[path] = _secrets(secret)

    @property
    def port(self) -> int:
        if self._server is None:
            return self._port
        return int(self._server.server_address[1])

    def url(self, path: str = "/hooks") -> str:
        return f"http://{self.host}:{self.port}{path}"

    def start(self) -> WebhookReceiver:
        server = _Server((self.host, self._port), _Handler)
        server.receiver = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="webhook-receiver",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what was received ---------------------------------------------------------------------
    @property
    def requests(self) -> list[Request]:
        """Every request answered, in order (failed attempts and duplicates included)."""
        with self._lock:
            return list(self._requests)

    @property
    def deliveries(self) -> list[Request]:
        """The accepted deliveries, one per (path, webhook-id): the first 2xx of each."""
        with self._lock:
            return list(self._accepted.values())

    @property
    def duplicates(self) -> list[Request]:
        """Requests that came again after their (path, webhook-id) had been accepted."""
        with self._lock:
            return [r for r in self._requests if r.duplicate]

    def wait_for(self, count: int, timeout: float, path: str | None = None) -> list[Request]:
        """Wait until ``count`` deliveries were accepted (on ``path``, or any); return them.
        Raises ``TimeoutError`` with what did arrive."""

        def accepted() -> list[Request]:
            return [r for r in self._accepted.values() if path is None or r.path == path]

        with self._lock:
            if not self._lock.wait_for(lambda: len(accepted()) >= count, timeout):
                raise TimeoutError(
                    f"{len(accepted())} of {count} deliveries arrived in {timeout} s"
                )
            return accepted()

    # -- one request -----------------------------------------------------------------------------
    def handle(
        self, path: str, headers: Mapping[str, str], body: bytes, received_at: float
    ) -> tuple[int, dict[str, str]]:
        """Check one request and decide the answer: ``(status, extra headers)``."""
        with self._lock:
            secrets = self._secrets.get(path, self._secrets[ANY_PATH])
            self._count += 1
            number = self._count
        verified: bool | None = None
        error: str | None = None
        if secrets:
            verified, error = self._verify(secrets, headers, body, received_at)
        try:
            document: Any = json.loads(body)
        except ValueError:
            document = None
        created_at = _created_at(document)
        webhook_id = headers.get(ID_HEADER)
        extra: dict[str, str] = {}
        if number <= self.script.first:
            status = self.script.status
            if self.script.retry_after is not None:
                extra["Retry-After"] = self.script.retry_after
            if self.script.delay > 0:
                time.sleep(self.script.delay)
        elif verified is False:
            status = 400
        else:
            status = self.status
        with self._lock:
            key = (path, webhook_id or "")
            duplicate = webhook_id is not None and key in self._accepted
            if duplicate and number > self.script.first and verified is not False:
                status = self.status  # seen already: acknowledge, do nothing
            request = Request(
                number=number,
                path=path,
                webhook_id=webhook_id,
                type=document.get("type") if isinstance(document, dict) else None,
                event_id=_event_id(document),
                verified=verified,
                status=status,
                duplicate=duplicate,
                received_at=received_at,
                latency_ms=None if created_at is None else (received_at - created_at) * 1000,
                headers=dict(headers),
                body=body,
                error=error,
            )
            self._requests.append(request)
            if 200 <= status < 300 and webhook_id is not None and not duplicate:
                self._accepted[key] = request
            self._lock.notify_all()
        if self.out is not None:
            self.out.write(json.dumps(request.line()) + "\n")
            self.out.flush()
        return status, extra

    @staticmethod
    def _verify(
        secrets: Sequence[str], headers: Mapping[str, str], body: bytes, now: float
    ) -> tuple[bool, str | None]:
        error = "no secret"
        for secret in secrets:
            try:
                verify(secret, headers, body, now)
            except (WebhookVerificationError, ValueError) as exc:
                error = str(exc)
                continue
            return True, None
        return False, error


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument(
        "--secret",
        action="append",
        default=[],
        help="the webhook's signing secret (whsec_...); repeat for several",
    )
    parser.add_argument("--status", type=int, default=204, help="the answer to a good request")
    parser.add_argument("--fail-first", type=int, default=0, metavar="N")
    parser.add_argument("--fail-status", type=int, default=500)
    parser.add_argument("--retry-after", default=None, help="Retry-After on the first N answers")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before the first N")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    receiver = WebhookReceiver(
        args.secret or None,
        host=args.host,
        port=args.port,
        status=args.status,
        script=Script(args.fail_first, args.fail_status, args.retry_after, args.delay),
        out=sys.stdout,
    )
    try:
        receiver.start()
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2
    checked = "verifying signatures" if args.secret else "NOT verifying (no --secret)"
    print(f"[receiver] listening on {receiver.url('/')} ({checked})", file=sys.stderr, flush=True)
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        stop.wait()
    finally:
        receiver.stop()
        print(
            f"[receiver] {len(receiver.deliveries)} deliveries, {len(receiver.requests)} requests,"
            f" {len(receiver.duplicates)} duplicates",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
