"""One settings object, read from the environment once.

Stages set their values in ``.chalice/config.json``; an unknown or missing ``STAGE`` fails at
start-up instead of silently running with another stage's tables (a misspelt ``--stage`` gives
Chalice an empty environment).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from chalicelib import __version__

KNOWN_STAGES = ("local", "dev", "prod")
TABLE_NAMES = ("events", "idempotency", "api-keys", "rate-limits", "analytics")
STREAM_ARN_PLACEHOLDER = (
    "arn:aws:dynamodb:us-east-1:000000000000:table/triggers-api-events/stream/"
    "PLACEHOLDER-set-by-infra-merge-template"
)


class SettingsError(RuntimeError):
    """The environment does not describe a runnable stage."""


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from exc
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from exc
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _networks(raw: str, name: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    nets = []
    for part in raw.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            nets.append(ipaddress.ip_network(part, strict=False))
        except ValueError as exc:
            raise SettingsError(f"{name}: {part!r} is not an IP address or CIDR") from exc
    return tuple(nets)


@dataclass(frozen=True)
class Settings:
    stage: str
    region: str
    table_prefix: str = "triggers-api"
    inbox_shards: int = 4
    key_cache_ttl_seconds: float = 10.0
    max_payload_bytes: int = 256 * 1024
    max_body_bytes: int = 6 * 1024 * 1024
    event_retention_days: int = 30
    idempotency_ttl_seconds: int = 24 * 3600
    default_rate_limit_per_minute: int = 1000
    cursor_signing_key: bytes = b""
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = field(
        default_factory=tuple
    )
    aws_connect_timeout: float = 1.0
    aws_read_timeout: float = 3.0
    aws_total_max_attempts: int = 3
    log_level: str = "INFO"
    # The events table stream, for on_dynamodb_record; the infra merge template overrides it.
    events_stream_arn: str = STREAM_ARN_PLACEHOLDER
    version: str = __version__

    def table_name(self, name: str) -> str:
        if name not in TABLE_NAMES:
            raise KeyError(name)
        return f"{self.table_prefix}-{name}-{self.stage}"

    @property
    def events_table(self) -> str:
        return self.table_name("events")

    @property
    def idempotency_table(self) -> str:
        return self.table_name("idempotency")

    @property
    def api_keys_table(self) -> str:
        return self.table_name("api-keys")

    @property
    def rate_limits_table(self) -> str:
        return self.table_name("rate-limits")

    @property
    def analytics_table(self) -> str:
        return self.table_name("analytics")


def _stream_arn(env: Mapping[str, str]) -> str:
    raw = env.get("EVENTS_STREAM_ARN") or STREAM_ARN_PLACEHOLDER
    if not raw.startswith("arn:aws") or ":table/" not in raw or "/stream/" not in raw:
        raise SettingsError(f"EVENTS_STREAM_ARN must be a DynamoDB stream ARN, got {raw!r}")
    return raw


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build :class:`Settings` from ``env`` (default ``os.environ``); raise on anything invalid."""
    env = os.environ if env is None else env
    stage = env.get("STAGE", "")
    if stage not in KNOWN_STAGES:
        raise SettingsError(
            f"STAGE must be one of {', '.join(KNOWN_STAGES)} (got {stage!r}); "
            "check the --stage given to chalice and .chalice/config.json"
        )
    cursor_key = env.get("CURSOR_SIGNING_KEY", "")
    if len(cursor_key) < 16:
        raise SettingsError("CURSOR_SIGNING_KEY must be set to at least 16 characters")
    log_level = env.get("LOG_LEVEL", "INFO").upper()
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise SettingsError(f"LOG_LEVEL {log_level!r} is not one of DEBUG, INFO, WARNING, ERROR")
    return Settings(
        stage=stage,
        region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
        table_prefix=env.get("TABLE_PREFIX", "triggers-api"),
        inbox_shards=_int(env, "INBOX_SHARDS", 4, 1, 64),
        key_cache_ttl_seconds=_float(env, "KEY_CACHE_TTL_SECONDS", 10.0, 0.0, 10.0),
        event_retention_days=_int(env, "EVENT_RETENTION_DAYS", 30, 1, 3650),
        default_rate_limit_per_minute=_int(env, "DEFAULT_RATE_LIMIT", 1000, 1, 1_000_000),
        cursor_signing_key=cursor_key.encode(),
        trusted_proxies=_networks(env.get("TRUSTED_PROXIES", ""), "TRUSTED_PROXIES"),
        aws_connect_timeout=_float(env, "AWS_CONNECT_TIMEOUT", 1.0, 0.05, 30.0),
        aws_read_timeout=_float(env, "AWS_READ_TIMEOUT", 3.0, 0.05, 60.0),
        aws_total_max_attempts=_int(env, "AWS_TOTAL_MAX_ATTEMPTS", 3, 1, 10),
        log_level=log_level,
        events_stream_arn=_stream_arn(env),
    )
