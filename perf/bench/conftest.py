"""Benchmarks: every test here is marked ``perf`` and runs with `make bench` / `make perf-gate`."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.perf)
