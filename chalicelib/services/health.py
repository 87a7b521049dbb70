"""Health: can we read from storage right now?"""

from __future__ import annotations

from typing import Any

from chalicelib.stores.errors import StoreError
from chalicelib.stores.protocols import HealthProbe


class HealthService:
    def __init__(self, probe: HealthProbe, version: str) -> None:
        self._probe = probe
        self._version = version

    def check(self) -> tuple[bool, dict[str, Any]]:
        """One cheap read (the store's ``ping``): it proves the table answers."""
        try:
            self._probe.ping()
            dynamodb = "ok"
        except StoreError:
            dynamodb = "unavailable"
        ok = dynamodb == "ok"
        body = {
            "status": "ok" if ok else "unavailable",
            "version": self._version,
            "checks": {"dynamodb": dynamodb},
        }
        return ok, body
