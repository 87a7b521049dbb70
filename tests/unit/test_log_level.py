"""Settings.log_level (LOG_LEVEL) drives the service logger once the app is built."""

from __future__ import annotations

import io
import json
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


def test_lines_below_the_level_are_dropped() -> None:
    build_app(LOG_LEVEL="WARNING")
    stream = io.StringIO()
    previous = logger.registered_handler.setStream(stream)
    try:
        logger.info("quiet-info-line")
        logger.warning("loud-warning-line")
    finally:
        logger.registered_handler.setStream(previous)
    [line] = [json.loads(text) for text in stream.getvalue().splitlines()]
    assert line["message"] == "loud-warning-line"
    assert line["level"] == "WARNING"


def test_building_apps_never_adds_a_second_handler_to_the_service_logger(tmp_path) -> None:
    """Chalice names its logger after the app, which is the service logger's name: building an
    app (twice, while the logger writes to a file) must not add Chalice's plain-text handler."""
    service_logger = logging.getLogger(logger.service)
    before = list(service_logger.handlers)
    with (tmp_path / "log").open("w") as out:
        previous = logger.registered_handler.setStream(out)
        try:
            build_app()
            build_app()
        finally:
            logger.registered_handler.setStream(previous)
    assert service_logger.handlers == before
