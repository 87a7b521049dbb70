"""A real Toxiproxy server (Shopify's, built from source by scripts/bootstrap.sh) on a free
loopback port, driven with the ``toxiproxy-python`` client.

    with ToxiproxyServer(log_path) as server:
        proxy = server.proxy("dynamodb", upstream="127.0.0.1:8001")
        server.add_toxic("dynamodb", "latency", {"latency": 200})
        ...
        server.clear("dynamodb")

Faults hit the product's real network path: the API and workers talk to the proxy's listener,
the proxy to DynamoDB Local (or a webhook receiver).
"""

from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path
from typing import Any

from toxiproxy import Toxiproxy

from devstack.lifetime import die_with_parent, stop_group
from devstack.ports import free_port, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
BINARY = ROOT / "tools" / "toxiproxy" / "bin" / "server"


def binary() -> Path:
    if not BINARY.exists():
        raise FileNotFoundError(
            f"the Toxiproxy server is not built at {BINARY}; run `make bootstrap` (it runs "
            "`go install github.com/Shopify/toxiproxy/v2/cmd/server@v2.12.0` into tools/toxiproxy)"
        )
    return BINARY


class ToxiproxyServer:
    """One Toxiproxy server process and its proxies (``name`` → listen port)."""

    def __init__(self, log_path: Path, port: int | None = None) -> None:
        self.log_path = log_path
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None
        self.client = Toxiproxy()
        self.listen_ports: dict[str, int] = {}

    def start(self, timeout: float = 15.0) -> ToxiproxyServer:
        self.port = self.port or free_port()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [str(binary()), "-host", "127.0.0.1", "-port", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )
        try:
            wait_for_port(self.port, timeout)
        except BaseException:
            self.stop()
            raise
        # toxiproxy-python keeps its server address in a class attribute: one server per process.
        self.client.update_api_consumer("127.0.0.1", self.port)
        return self

    def stop(self) -> None:
        if self.process is None:
            return
        stop_group(self.process, timeout=5)
        self.process = None

    def __enter__(self) -> ToxiproxyServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- proxies and toxics ------------------------------------------------------------------
    def proxy(self, name: str, upstream: str) -> int:
        """Create a proxy to ``upstream`` (host:port) listening on a loopback port the server
        picks, which is returned (and kept: disabling and enabling the proxy keeps its port)."""
        created = self.client.create(upstream=upstream, name=name, listen="127.0.0.1:0")
        port = int(str(created.listen).rsplit(":", 1)[1])
        self.listen_ports[name] = port
        return port

    def _proxy(self, name: str) -> Any:
        proxy = self.client.get_proxy(name)
        if proxy is None:
            raise KeyError(f"no proxy named {name!r}")
        return proxy

    def add_toxic(
        self,
        proxy: str,
        toxic_type: str,
        attributes: dict[str, Any] | None = None,
        *,
        stream: str = "downstream",
        toxicity: float = 1.0,
        name: str | None = None,
    ) -> str:
        """Add a toxic (Toxiproxy's types: latency, timeout, reset_peer, limit_data, slicer,
        bandwidth, slow_close); returns its name."""
        toxic_name = name or f"{toxic_type}_{stream}"
        self._proxy(proxy).add_toxic(
            type=toxic_type,
            name=toxic_name,
            stream=stream,
            toxicity=toxicity,
            attributes=attributes or {},
        )
        return toxic_name

    def set_enabled(self, proxy: str, enabled: bool) -> None:
        """Disabled, a proxy drops its connections and stops listening: the upstream is down."""
        target = self._proxy(proxy)
        if enabled:
            target.enable()
        else:
            target.disable()

    def clear(self, proxy: str | None = None) -> None:
        """Remove every toxic (of one proxy, or all) and enable the proxies again."""
        if proxy is None:
            self.client.reset()  # Toxiproxy's /reset: every proxy enabled, every toxic removed
            return
        self._remove_toxics(proxy)
        self.set_enabled(proxy, True)

    def _remove_toxics(self, proxy: str) -> None:
        target = self._proxy(proxy)
        for toxic_name in list(target.toxics()):
            with contextlib.suppress(Exception):
                target.destroy_toxic(toxic_name)

    def toxics(self, proxy: str) -> list[str]:
        return sorted(self._proxy(proxy).toxics())
