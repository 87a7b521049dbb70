"""The outbound webhook POST against real loopback servers (plain HTTP, HTTPS with a
self-signed certificate made by openssl, and a TCP server that does not speak HTTP)."""

from __future__ import annotations

import shutil
import socket
import socketserver
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from chalicelib.services import outbound_http
from chalicelib.services.outbound_http import post
from devstack.ports import free_port

BODY = b'{"type":"invoice.paid","data":{"amount":4200}}'
HUGE = b"x" * (1024 * 1024)


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Recorder:
    requests: list[Seen] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)


class Handler(BaseHTTPRequestHandler):
    """Answers by path; records every request it reads."""

    server: Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass

    def reply(self, status: int, body: bytes = b"", **headers: str) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.server.recorder.requests.append(Seen(self.command, self.path, headers, body))
        route = self.path.partition("?")[0]
        if route == "/ok":
            self.reply(200, b"thanks", X_Reply="yes", Set_Cookie="a=1")
        elif route == "/fail":
            self.reply(500, b"oops")
        elif route == "/redirect":
            self.reply(302, Location="/ok")
        elif route == "/busy":
            self.reply(503, Retry_After="120")
        elif route == "/slow":
            self.server.recorder.release.wait(5)
            self.reply(200)
        elif route == "/trickle":
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            for _ in range(100):
                if self.server.recorder.release.wait(0.05):
                    return
                self.wfile.write(b".")
                self.wfile.flush()
        elif route == "/huge":
            self.reply(200, HUGE)
        elif route == "/huge-unsized":
            self.send_response(200)
            self.end_headers()
            self.wfile.write(HUGE)
        else:
            self.reply(404)


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, context: ssl.SSLContext | None = None) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.recorder = Recorder()
        if context is not None:
            self.socket = context.wrap_socket(self.socket, server_side=True)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # the client closing early (a capped body, a timeout) is expected here

    @property
    def port(self) -> int:
        return int(self.server_address[1])


@contextmanager
def serving(server: socketserver.BaseServer) -> Iterator[None]:
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield
    finally:
        if isinstance(server, Server):
            server.recorder.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def server() -> Iterator[Server]:
    http_server = Server()
    with serving(http_server):
        yield http_server


def url(server: Server, path: str, host: str = "127.0.0.1", scheme: str = "http") -> str:
    return f"{scheme}://{host}:{server.port}{path}"


class CountingResolver:
    """Answers ``answers`` in turn (the last one again once they run out); counts lookups."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append((host, port))
        return self.answers[min(len(self.calls), len(self.answers)) - 1]


# -- plain HTTP ---------------------------------------------------------------------------------


def test_a_delivery_and_what_the_server_saw(server: Server) -> None:
    signed = {"webhook-id": "msg_1", "webhook-timestamp": "1764460800", "webhook-signature": "v1,x"}
    result = post(url(server, "/ok?attempt=1"), BODY, signed, allow_private=True)
    assert (result.status, result.body, result.error, result.error_detail) == (
        200,
        b"thanks",
        None,
        None,
    )
    assert result.headers["x-reply"] == "yes"
    assert result.headers["set-cookie"] == "a=1"
    assert result.headers["content-length"] == "6"
    assert result.address == "127.0.0.1"
    assert 0 < result.latency_ms < 5000
    assert not result.body_truncated
    [seen] = server.recorder.requests
    assert (seen.method, seen.path, seen.body) == ("POST", "/ok?attempt=1", BODY)
    assert seen.headers["host"] == f"127.0.0.1:{server.port}"
    assert seen.headers["user-agent"] == "TriggersAPI-Webhooks/1.0"
    assert seen.headers["content-type"] == "application/json"
    assert seen.headers["content-length"] == str(len(BODY))
    assert seen.headers["connection"] == "close"
    assert {k: seen.headers[k] for k in signed} == signed


def test_the_callers_user_agent_and_content_type_win_but_not_its_host(server: Server) -> None:
    headers = {"user-agent": "custom/2", "Content-Type": "text/plain", "Host": "evil.example"}
    assert post(url(server, "/ok"), b"hi", headers, allow_private=True).status == 200
    [seen] = server.recorder.requests
    assert seen.headers["user-agent"] == "custom/2"
    assert seen.headers["content-type"] == "text/plain"
    assert seen.headers["host"] == f"127.0.0.1:{server.port}"


def test_a_server_error_is_a_status_not_an_error(server: Server) -> None:
    result = post(url(server, "/fail"), BODY, {}, allow_private=True)
    assert (result.status, result.body, result.error) == (500, b"oops", None)


def test_retry_after_is_passed_back(server: Server) -> None:
    result = post(url(server, "/busy"), BODY, {}, allow_private=True)
    assert (result.status, result.headers["retry-after"]) == (503, "120")


def test_redirects_are_not_followed(server: Server) -> None:
    result = post(url(server, "/redirect"), BODY, {}, allow_private=True)
    assert (result.status, result.headers["location"], result.error) == (302, "/ok", None)
    assert [seen.path for seen in server.recorder.requests] == ["/redirect"]


def test_a_server_that_does_not_answer_times_out(server: Server) -> None:
    started = time.monotonic()
    result = post(url(server, "/slow"), BODY, {}, allow_private=True, timeout=0.5)
    elapsed = time.monotonic() - started
    assert (result.status, result.error) == (None, "timeout")
    assert result.address == "127.0.0.1"
    assert 0.45 <= elapsed < 1.5
    assert 450 <= result.latency_ms < 1500


def test_the_deadline_bounds_the_whole_exchange_not_each_read(server: Server) -> None:
    """A byte every 50 ms never trips a per-read timeout; the total deadline still holds."""
    started = time.monotonic()
    result = post(url(server, "/trickle"), BODY, {}, allow_private=True, timeout=0.5)
    assert time.monotonic() - started < 1.5
    assert (result.status, result.error) == (200, "timeout")


def test_a_closed_port_is_a_connect_error() -> None:
    result = post(f"http://127.0.0.1:{free_port()}/", BODY, {}, allow_private=True, timeout=2)
    assert (result.status, result.error, result.address) == (None, "connect", None)
    assert result.error_detail is not None
    assert "ConnectionRefusedError" in result.error_detail


def test_the_next_address_is_tried_when_one_refuses(server: Server) -> None:
    # Nothing listens on 127.0.0.2 (the server is bound to 127.0.0.1 only).
    resolver = CountingResolver(["127.0.0.2", "127.0.0.1"])
    result = post(
        url(server, "/ok", "multi.example"), BODY, {}, allow_private=True, resolve=resolver
    )
    assert (result.status, result.address) == (200, "127.0.0.1")
    assert resolver.calls == [("multi.example", server.port)]


def test_a_private_target_is_refused_where_the_stage_forbids_it(server: Server) -> None:
    result = post(url(server, "/ok"), BODY, {}, allow_private=False)
    assert (result.status, result.error, result.address) == (None, "refused_target", None)
    assert result.error_detail == "127.0.0.1 is a loopback address, which this stage does not allow"
    resolver = CountingResolver(["93.184.215.14", "127.0.0.1"])
    named = post(
        url(server, "/ok", "mixed.example"), BODY, {}, allow_private=False, resolve=resolver
    )
    assert named.error == "refused_target"
    assert len(resolver.calls) == 1
    assert server.recorder.requests == []


def test_metadata_is_refused_even_where_private_targets_are_allowed(server: Server) -> None:
    resolver = CountingResolver(["169.254.169.254"])
    result = post("http://metadata.example/latest", BODY, {}, allow_private=True, resolve=resolver)
    assert result.error == "refused_target"
    assert result.error_detail is not None
    assert "never allowed" in result.error_detail


def test_a_bad_url_is_a_refused_target() -> None:
    result = post("ftp://files.example/", BODY, {}, allow_private=True)
    assert (result.error, result.error_detail) == (
        "refused_target",
        "only http and https URLs are allowed, not ftp:",
    )


def test_the_name_is_resolved_once_and_the_connection_pinned(server: Server) -> None:
    """A resolver that would answer the metadata address on a second lookup (DNS rebinding)
    is asked once; the request goes to the address it answered first."""
    resolver = CountingResolver(["127.0.0.1"], ["169.254.169.254"])
    result = post(
        url(server, "/ok", "rebind.example"), BODY, {}, allow_private=True, resolve=resolver
    )
    assert (result.status, result.address) == (200, "127.0.0.1")
    assert resolver.calls == [("rebind.example", server.port)]
    [seen] = server.recorder.requests
    assert seen.headers["host"] == f"rebind.example:{server.port}"


@pytest.mark.parametrize("answer", [socket.gaierror(-2, "Name or service not known"), []])
def test_a_name_that_does_not_resolve_is_a_dns_error(answer: Exception | list[str]) -> None:
    def resolver(host: str, port: int) -> list[str]:
        if isinstance(answer, Exception):
            raise answer
        return answer

    result = post("https://gone.example/", BODY, {}, allow_private=True, resolve=resolver)
    assert (result.status, result.error) == (None, "dns")
    assert result.error_detail is not None
    assert result.error_detail.startswith("gone.example does not resolve")


@pytest.mark.parametrize("path", ["/huge", "/huge-unsized"])
def test_a_huge_response_body_is_capped(server: Server, path: str) -> None:
    result = post(url(server, path), BODY, {}, allow_private=True, max_response_bytes=1000)
    assert (result.status, result.error, len(result.body)) == (200, None, 1000)
    assert result.body_truncated
    default = post(url(server, path), BODY, {}, allow_private=True)
    assert (len(default.body), default.body_truncated) == (64 * 1024, True)


def test_the_system_resolver() -> None:
    assert outbound_http.system_resolver("127.0.0.1", 80) == ["127.0.0.1"]
    assert outbound_http.system_resolver("::1", 80) == ["::1"]
    addresses = outbound_http.system_resolver("localhost", 80)
    assert "127.0.0.1" in addresses
    assert len(addresses) == len(set(addresses))


def test_localhost_through_the_system_resolver(server: Server) -> None:
    result = post(url(server, "/ok", "localhost"), BODY, {}, allow_private=True)
    assert (result.status, result.address) == (200, "127.0.0.1")
    assert server.recorder.requests[0].headers["host"] == f"localhost:{server.port}"


class Garbage(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.recv(65536)
        self.request.sendall(b"NOT HTTP AT ALL\r\n\r\n")


def test_a_response_that_is_not_http_is_a_protocol_error() -> None:
    tcp = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Garbage)
    tcp.daemon_threads = True
    with serving(tcp):
        port = tcp.server_address[1]
        result = post(f"http://127.0.0.1:{port}/", BODY, {}, allow_private=True, timeout=2)
        assert (result.status, result.error, result.address) == (None, "protocol", "127.0.0.1")


def test_time_spent_resolving_counts_against_the_deadline() -> None:
    def slow_resolver(host: str, port: int) -> list[str]:
        time.sleep(0.3)
        return ["127.0.0.1"]

    result = post(
        "http://slow-dns.example/", BODY, {}, allow_private=True, timeout=0.2, resolve=slow_resolver
    )
    assert (result.status, result.error) == (None, "timeout")


@pytest.mark.parametrize(("timeout", "cap"), [(0, 10), (-1.0, 10), (1.0, -1)])
def test_bad_arguments_are_programming_errors(timeout: float, cap: int) -> None:
    with pytest.raises(ValueError, match="timeout must be positive"):
        post(
            "http://example.com/",
            BODY,
            {},
            allow_private=True,
            timeout=timeout,
            max_response_bytes=cap,
        )


class Silent(socketserver.BaseRequestHandler):
    """Accepts the connection and says nothing until the test ends."""

    release = threading.Event()

    def handle(self) -> None:
        self.release.wait(5)


class Hangup(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.close()


# -- HTTPS --------------------------------------------------------------------------------------


@dataclass
class Certificate:
    cert: Path
    key: Path


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    openssl = shutil.which("openssl")
    assert openssl, "openssl is needed to make the test certificate"
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"),
            *("-nodes", "-days", "1", "-subj", "/CN=localhost", "-keyout", str(key)),
            *("-out", str(cert), "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    return Certificate(cert, key)


@pytest.fixture
def tls_server(certificate: Certificate) -> Iterator[tuple[Server, list[str | None]]]:
    names: list[str | None] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate.cert, certificate.key)

    def record_sni(_sock: ssl.SSLObject, name: str | None, _context: ssl.SSLContext) -> None:
        names.append(name)

    context.sni_callback = record_sni
    https_server = Server(context)
    with serving(https_server):
        yield https_server, names


@pytest.fixture
def trusting(certificate: Certificate) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate.cert))


def test_https_pins_the_address_and_checks_the_name(
    tls_server: tuple[Server, list[str | None]], trusting: ssl.SSLContext
) -> None:
    server, names = tls_server
    resolver = CountingResolver(["127.0.0.1"])
    result = post(
        url(server, "/ok", "localhost", "https"),
        BODY,
        {},
        allow_private=True,
        resolve=resolver,
        ssl_context=trusting,
    )
    assert (result.status, result.body, result.error) == (200, b"thanks", None)
    assert result.address == "127.0.0.1"
    assert names == ["localhost"]  # SNI
    assert server.recorder.requests[0].headers["host"] == f"localhost:{server.port}"
    assert resolver.calls == [("localhost", server.port)]


def test_https_to_an_ip_literal_checks_the_ip_in_the_certificate(
    tls_server: tuple[Server, list[str | None]], trusting: ssl.SSLContext
) -> None:
    server, names = tls_server
    result = post(
        url(server, "/ok", "127.0.0.1", "https"), BODY, {}, allow_private=True, ssl_context=trusting
    )
    assert (result.status, result.error) == (200, None)
    assert names == [None]  # no SNI for an IP address


def test_https_under_a_name_the_certificate_does_not_carry_is_a_tls_error(
    tls_server: tuple[Server, list[str | None]], trusting: ssl.SSLContext
) -> None:
    server, names = tls_server
    result = post(
        url(server, "/ok", "wrong.example", "https"),
        BODY,
        {},
        allow_private=True,
        resolve=CountingResolver(["127.0.0.1"]),
        ssl_context=trusting,
    )
    assert (result.status, result.error, result.address) == (None, "tls", "127.0.0.1")
    assert result.error_detail is not None
    assert "wrong.example" in result.error_detail
    assert names == ["wrong.example"]
    assert server.recorder.requests == []


def test_https_with_an_untrusted_certificate_is_a_tls_error(
    tls_server: tuple[Server, list[str | None]],
) -> None:
    server, _ = tls_server
    result = post(
        url(server, "/ok", "localhost", "https"),
        BODY,
        {},
        allow_private=True,
        resolve=CountingResolver(["127.0.0.1"]),
    )
    assert (result.status, result.error) == (None, "tls")
    assert result.error_detail is not None
    assert "certificate verify failed" in result.error_detail
    assert server.recorder.requests == []


# The silent server is only ever ended by the deadline, so it gets a short one; the hanging-up
# server gets a long one, so that a loaded machine (the handler thread scheduled late) cannot
# turn its hang-up into a timeout.
@pytest.mark.parametrize(
    ("handler", "timeout", "error"),
    [(Silent, 0.3, "timeout"), (Hangup, 5.0, "tls")],
    ids=["silent", "hangs up"],
)
def test_a_server_that_does_not_speak_tls(
    handler: type[socketserver.BaseRequestHandler], timeout: float, error: str
) -> None:
    tcp = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    tcp.daemon_threads = True
    with serving(tcp):
        port = tcp.server_address[1]
        started = time.monotonic()
        result = post(f"https://127.0.0.1:{port}/", BODY, {}, allow_private=True, timeout=timeout)
        Silent.release.set()
    assert time.monotonic() - started < timeout + 1.2
    assert (result.status, result.error, result.address) == (None, error, "127.0.0.1")
