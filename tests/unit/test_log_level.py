"""Settings.log_level (LOG_LEVEL) drives the service logger once the app is built."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.api.application import create_app
from chalicelib.observability.logging import logger
from chalicelib.runtime import Runtime
from chalicelib.settings import load_settings
from tests.conftest import TEST_ENV


class UncalledClient:
    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"DynamoDB client used while building the app: {name}")


@pytest.fixture(autouse=True)
def restore_level() -> Iterator[None]:
    before = logger.log_level
    yield
    logger.setLevel(before)


def build_app(**env: str) -> None:
    settings = load_settings({**TEST_ENV, **env})
    create_app(Runtime.build(settings, dynamodb=UncalledClient()))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "level"),
    [
        ("DEBUG", logging.DEBUG),
        ("warning", logging.WARNING),
        ("ERROR", logging.ERROR),
        ("", logging.INFO),
    ],
)
def test_log_level_setting_sets_the_logger_level(value: str, level: int) -> None:
    build_app(LOG_LEVEL=value) if value else build_app()
    assert logger.log_level == level


def test_lines_below_the_level_are_dropped(capsys: pytest.CaptureFixture[str]) -> None:
    build_app(LOG_LEVEL="WARNING")
    capsys.readouterr()
    logger.info("quiet-info-line")
    logger.warning("loud-warning-line")
    out = capsys.readouterr().out
    assert "quiet-info-line" not in out
    assert "loud-warning-line" in out
