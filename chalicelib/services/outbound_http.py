"""One outbound webhook POST, safe against SSRF and DNS rebinding (standard library only).

The host is resolved once; every address is checked with :func:`ssrf.check_address` before any
connection is made; the request then goes to a checked address (the next one if a connection
fails), never to a second lookup of the name. HTTPS runs TLS to that address with the URL's host
as SNI and as the name the certificate must match. Redirects are not followed. One deadline
bounds connect, TLS, send and every read. Network failures come back as an
:class:`HttpResult` with an error class, never as exceptions.
"""

from __future__ import annotations

import http.client
import io
import ipaddress
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from chalicelib.domain import ssrf
from chalicelib.domain.ssrf import Resolver

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

USER_AGENT = "TriggersAPI-Webhooks/1.0"
DEFAULT_TIMEOUT = 15.0
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024
_READ_CHUNK = 16 * 1024

# HttpResult.error: why no (complete) response was received.
ERROR_DNS = "dns"  # the host did not resolve
ERROR_REFUSED_TARGET = "refused_target"  # the URL or an address it resolves to is not allowed
ERROR_CONNECT = "connect"  # no address accepted a connection, or the connection broke
ERROR_TIMEOUT = "timeout"  # the deadline passed
ERROR_TLS = "tls"  # the TLS handshake failed (certificate, name, protocol)
ERROR_PROTOCOL = "protocol"  # the response was not valid HTTP
ERROR_CLASSES = (
    ERROR_DNS,
    ERROR_REFUSED_TARGET,
    ERROR_CONNECT,
    ERROR_TIMEOUT,
    ERROR_TLS,
    ERROR_PROTOCOL,
)


@dataclass(frozen=True)
class HttpResult:
    """What one POST got back. ``status`` is set whenever a status line arrived (``error`` may
    then describe a failure while reading the body); ``headers`` have lower-case names;
    ``body`` is at most ``max_response_bytes`` (``body_truncated`` says whether more was sent);
    ``latency_ms`` runs from the call to the end of the response; ``address`` is the IP
    connected to."""

    status: int | None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    latency_ms: float = 0.0
    error: str | None = None
    address: str | None = None
    error_detail: str | None = None
    body_truncated: bool = False


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses of ``host`` per ``getaddrinfo``, without duplicates, in the order given;
    an IP literal as it is. Raises ``OSError`` (``socket.gaierror``) when it does not resolve."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return [host]
    found: list[str] = []
    for *_, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        address = str(sockaddr[0])
        if address not in found:
            found.append(address)
    return found


class _Deadline:
    def __init__(self, at: float) -> None:
        self.at = at

    def remaining(self) -> float:
        """Seconds left; ``TimeoutError`` once there are none."""
        left = self.at - time.monotonic()
        if left <= 0:
            raise TimeoutError("the deadline passed")
        return left


class _DeadlineReader(io.RawIOBase):
    """The socket's receive side; each read may take only the time left."""

    def __init__(self, sock: socket.socket, deadline: _Deadline) -> None:
        super().__init__()
        self._sock = sock
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        self._sock.settimeout(self._deadline.remaining())
        return self._sock.recv_into(buffer)


class _DeadlineSocket:
    """The part of a socket ``http.client`` uses, bounded by the deadline. Closing is left to
    :func:`post`, which owns the real socket."""

    def __init__(self, sock: socket.socket, deadline: _Deadline) -> None:
        self._sock = sock
        self._deadline = deadline

    def sendall(self, data: bytes) -> None:
        self._sock.settimeout(self._deadline.remaining())
        self._sock.sendall(data)

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineReader(self._sock, self._deadline))

    def close(self) -> None:
        pass


def _connect(addresses: list[str], port: int, deadline: _Deadline) -> tuple[socket.socket, str]:
    """A TCP connection to the first of ``addresses`` that accepts one."""
    failure: OSError = ConnectionError("no address to connect to")
    for address in addresses:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(deadline.remaining())
            sock.connect((address, port))
        except OSError as exc:
            sock.close()
            failure = exc
            continue
        return sock, address
    raise failure


def _error_class(exc: Exception) -> str:
    if isinstance(exc, TimeoutError):
        return ERROR_TIMEOUT
    if isinstance(exc, ssl.SSLError):
        return ERROR_TLS
    if isinstance(exc, http.client.HTTPException):
        return ERROR_PROTOCOL
    return ERROR_CONNECT


def _detail(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _request_headers(headers: Mapping[str, str], host_header: str) -> dict[str, str]:
    given = {name.lower() for name in headers}
    out = {"Host": host_header}
    out.update((name, value) for name, value in headers.items() if name.lower() != "host")
    if "user-agent" not in given:
        out["User-Agent"] = USER_AGENT
    if "content-type" not in given:
        out["Content-Type"] = "application/json"
    out["Connection"] = "close"
    return out


def _response_headers(response: http.client.HTTPResponse) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in response.getheaders():
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return headers


def post(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    allow_private: bool,
    timeout: float = DEFAULT_TIMEOUT,
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    resolve: Resolver = system_resolver,
    ssl_context: ssl.SSLContext | None = None,
) -> HttpResult:
    """POST ``body`` to ``url`` once; see the module docstring for the rules."""
    if timeout <= 0 or max_response_bytes < 0:
        raise ValueError("timeout must be positive and max_response_bytes not negative")
    started = time.monotonic()
    deadline = _Deadline(started + timeout)

    def failed(error: str, detail: str, address: str | None = None) -> HttpResult:
        latency = (time.monotonic() - started) * 1000
        return HttpResult(
            None, latency_ms=latency, error=error, address=address, error_detail=detail
        )

    try:
        target = ssrf.parse_target(url)
    except ssrf.TargetRefused as exc:
        return failed(ERROR_REFUSED_TARGET, exc.reason)
    if target.is_ip_literal:
        addresses = [target.host]
    else:
        try:
            addresses = resolve(target.host, target.port)
        except (OSError, UnicodeError) as exc:
            return failed(ERROR_DNS, f"{target.host} does not resolve ({_detail(exc)})")
        if not addresses:
            return failed(ERROR_DNS, f"{target.host} does not resolve")
    for address in addresses:
        try:
            ssrf.check_address(address, allow_private)
        except ssrf.TargetRefused as exc:
            return failed(ERROR_REFUSED_TARGET, exc.reason)

    try:
        sock, address = _connect(addresses, target.port, deadline)
    except OSError as exc:
        return failed(_error_class(exc), _detail(exc))
    try:
        if target.scheme == "https":
            context = ssl_context or ssl.create_default_context()
            try:
                sock.settimeout(deadline.remaining())
                sock = context.wrap_socket(sock, server_hostname=target.host)
            except ssl.SSLError as exc:
                return failed(ERROR_TLS, _detail(exc), address)
            except TimeoutError as exc:
                return failed(ERROR_TIMEOUT, f"TLS handshake: {_detail(exc)}", address)
            except OSError as exc:
                return failed(ERROR_TLS, _detail(exc), address)
        return _exchange(
            sock, address, target, body, headers, deadline, started, max_response_bytes
        )
    finally:
        sock.close()


def _exchange(
    sock: socket.socket,
    address: str,
    target: ssrf.Target,
    body: bytes,
    headers: Mapping[str, str],
    deadline: _Deadline,
    started: float,
    max_response_bytes: int,
) -> HttpResult:
    """Send the request on a connected socket and read the response."""
    connection = http.client.HTTPConnection(target.host, target.port)
    connection.sock = cast(socket.socket, _DeadlineSocket(sock, deadline))
    status: int | None = None
    response_headers: dict[str, str] = {}
    received = bytearray()
    try:
        connection.request(
            "POST", target.path, body=body, headers=_request_headers(headers, target.host_header)
        )
        response = connection.getresponse()
        status, response_headers = response.status, _response_headers(response)
        while len(received) <= max_response_bytes:
            chunk = response.read(min(_READ_CHUNK, max_response_bytes + 1 - len(received)))
            if not chunk:
                break
            received += chunk
    except (OSError, http.client.HTTPException) as exc:
        return HttpResult(
            status,
            headers=response_headers,
            body=bytes(received[:max_response_bytes]),
            latency_ms=(time.monotonic() - started) * 1000,
            error=_error_class(exc),
            address=address,
            error_detail=_detail(exc),
        )
    return HttpResult(
        status,
        headers=response_headers,
        body=bytes(received[:max_response_bytes]),
        latency_ms=(time.monotonic() - started) * 1000,
        address=address,
        body_truncated=len(received) > max_response_bytes,
    )
