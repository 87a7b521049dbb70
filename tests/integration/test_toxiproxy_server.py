"""The real Toxiproxy server (built by bootstrap) as the chaos suite drives it: a proxy passes
traffic, a toxic changes it, a disabled proxy refuses connections, clearing restores it."""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from chaos.toxiproxy_server import ToxiproxyServer


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        data = self.request.recv(4096)
        self.request.sendall(data * 64)  # 64 times what it got: enough to be cut short


@pytest.fixture(scope="module")
def upstream() -> Iterator[int]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def toxiproxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ToxiproxyServer]:
    with ToxiproxyServer(Path(tmp_path_factory.mktemp("toxiproxy")) / "toxiproxy.log") as server:
        yield server


def _exchange(port: int, payload: bytes = b"ping") -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(payload)
        received = b""
        while len(received) < len(payload) * 64:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
        return received


def test_a_proxy_passes_traffic_and_a_toxic_cuts_it_short(
    toxiproxy: ToxiproxyServer, upstream: int
) -> None:
    port = toxiproxy.proxy("echo-limit", f"127.0.0.1:{upstream}")
    assert _exchange(port) == b"ping" * 64
    toxiproxy.add_toxic("echo-limit", "limit_data", {"bytes": 10})
    assert toxiproxy.toxics("echo-limit") == ["limit_data_downstream"]
    assert len(_exchange(port)) == 10  # the connection closed after 10 bytes
    toxiproxy.clear("echo-limit")
    assert toxiproxy.toxics("echo-limit") == []
    assert _exchange(port) == b"ping" * 64


def test_a_disabled_proxy_refuses_connections_until_enabled(
    toxiproxy: ToxiproxyServer, upstream: int
) -> None:
    port = toxiproxy.proxy("echo-down", f"127.0.0.1:{upstream}")
    toxiproxy.set_enabled("echo-down", False)
    with pytest.raises(ConnectionRefusedError):
        _exchange(port)
    toxiproxy.clear()  # every proxy enabled again, every toxic gone
    assert _exchange(port) == b"ping" * 64


def test_reset_peer_resets_the_connection(toxiproxy: ToxiproxyServer, upstream: int) -> None:
    port = toxiproxy.proxy("echo-reset", f"127.0.0.1:{upstream}")
    toxiproxy.add_toxic("echo-reset", "reset_peer", {"timeout": 0})
    assert _was_reset(port)
    toxiproxy.clear("echo-reset")
    assert not _was_reset(port)


def _was_reset(port: int) -> bool:
    """Whether the exchange ended in a reset (or closed with nothing: the reset came first)."""
    try:
        return _exchange(port) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True


def test_an_unknown_proxy_is_a_clear_error(toxiproxy: ToxiproxyServer) -> None:
    with pytest.raises(KeyError, match="no proxy named"):
        toxiproxy.add_toxic("nope", "latency", {"latency": 1})
