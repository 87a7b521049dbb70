"""One settings object, read from the environment once.

Stages set their values in ``.chalice/config.json``; an unknown or missing ``STAGE`` fails at
start-up instead of silently running with another stage's tables (a misspelt ``--stage`` gives
Chalice an empty environment). :class:`Settings` is a pydantic dataclass: its fields carry the
bounds, and a bad value becomes a :class:`SettingsError` naming the environment variable.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import field
from typing import Annotated, Any

import annotated_types
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic.dataclasses import dataclass
from pydantic_core import ErrorDetails, PydanticCustomError

from chalicelib import __version__
from chalicelib.domain.deadline import MARGIN_SECONDS, attempt_seconds

KNOWN_STAGES = ("local", "dev", "prod")
TABLE_NAMES = (
    "events",
    "idempotency",
    "api-keys",
    "rate-limits",
    "analytics",
    "webhooks",
    "deliveries",
)
STREAM_ARN_PLACEHOLDER = (
    "arn:aws:dynamodb:us-east-1:000000000000:table/triggers-api-events/stream/"
    "PLACEHOLDER-set-by-infra-merge-template"
)


class SettingsError(RuntimeError):
    """The environment does not describe a runnable stage."""


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# The environment variable that sets each field (``region`` has two: see load_settings).
ENVIRONMENT = {
    "STAGE": "stage",
    "TABLE_PREFIX": "table_prefix",
    "INBOX_SHARDS": "inbox_shards",
    "KEY_CACHE_TTL_SECONDS": "key_cache_ttl_seconds",
    "EVENT_RETENTION_DAYS": "event_retention_days",
    "DEFAULT_RATE_LIMIT": "default_rate_limit_per_minute",
    "CURSOR_SIGNING_KEY": "cursor_signing_key",
    "TRUSTED_PROXIES": "trusted_proxies",
    "AWS_CONNECT_TIMEOUT": "aws_connect_timeout",
    "AWS_READ_TIMEOUT": "aws_read_timeout",
    "AWS_TOTAL_MAX_ATTEMPTS": "aws_total_max_attempts",
    "LOG_LEVEL": "log_level",
    "EVENTS_STREAM_ARN": "events_stream_arn",
    "WEBHOOK_QUEUE_URL": "webhook_queue_url",
    "WEBHOOK_DLQ_URL": "webhook_dlq_url",
    "WEBHOOK_ALLOW_PRIVATE_TARGETS": "webhook_allow_private_targets",
    "WEBHOOK_SECRETS_KEY": "webhook_secrets_key",
    "CHAOS_FAULTS_FILE": "chaos_faults_file",
    "REQUEST_TIME_BUDGET_SECONDS": "request_time_budget_seconds",
}


def _refuse(message: str) -> PydanticCustomError:
    """A check whose message is already the whole sentence (see :func:`_message`)."""
    return PydanticCustomError("settings", "{message}", {"message": message})


def _seconds(low: float, high: float) -> Any:
    return Field(ge=low, le=high, allow_inf_nan=False)


@dataclass(frozen=True)
class Settings:
    stage: str
    region: str
    table_prefix: str = "triggers-api"
    inbox_shards: Annotated[int, Field(ge=1, le=64)] = 4
    key_cache_ttl_seconds: Annotated[float, _seconds(0.0, 10.0)] = 10.0
    max_payload_bytes: int = 256 * 1024
    max_body_bytes: int = 6 * 1024 * 1024
    event_retention_days: Annotated[int, Field(ge=1, le=3650)] = 30
    idempotency_ttl_seconds: int = 24 * 3600
    default_rate_limit_per_minute: Annotated[int, Field(ge=1, le=1_000_000)] = 1000
    cursor_signing_key: bytes = b""
    trusted_proxies: tuple[Network, ...] = field(default_factory=tuple)
    aws_connect_timeout: Annotated[float, _seconds(0.05, 30.0)] = 1.0
    aws_read_timeout: Annotated[float, _seconds(0.05, 60.0)] = 3.0
    aws_total_max_attempts: Annotated[int, Field(ge=1, le=10)] = 3
    # The longest a request may take to answer: the template's function timeout (API Gateway's
    # 29 s limit too). In Lambda the context's remaining time, if less, wins (domain/deadline.py).
    request_time_budget_seconds: Annotated[float, _seconds(0.1, 900.0)] = 27.0
    log_level: str = "INFO"
    # The events table stream, for on_dynamodb_record; the infra merge template overrides it.
    events_stream_arn: str = STREAM_ARN_PLACEHOLDER
    # The webhook delivery queue and its dead-letter queue (the template sets them in AWS, the
    # local stack to its moto server's queues); empty where nothing delivers webhooks.
    webhook_queue_url: str = ""
    webhook_dlq_url: str = ""
    # Whether webhook URLs may resolve to private, loopback or unique-local addresses (the
    # local stage, so a receiver on 127.0.0.1 works); link-local and metadata never may.
    webhook_allow_private_targets: bool = False
    # Seals webhook signing secrets at rest (stores/secret_box.py). Empty: derived from
    # CURSOR_SIGNING_KEY (local and tests); dev and prod set their own from Secrets Manager.
    webhook_secrets_key: bytes = b""
    # A JSON fault plan the chaos suite writes (stores/fault_injection.py): DynamoDB throttling
    # and 5xx injected by a botocore hook. The local stage only: refused anywhere else.
    chaos_faults_file: str = ""
    version: str = __version__

    @field_validator("stage")
    @classmethod
    def _known_stage(cls, stage: str) -> str:
        if stage not in KNOWN_STAGES:
            raise _refuse(
                f"STAGE must be one of {', '.join(KNOWN_STAGES)} (got {stage!r}); "
                "check the --stage given to chalice and .chalice/config.json"
            )
        return stage

    @field_validator("cursor_signing_key", mode="before")
    @classmethod
    def _long_key(cls, key: Any) -> Any:
        if len(key) < 16:
            raise _refuse("CURSOR_SIGNING_KEY must be set to at least 16 characters")
        return key

    @field_validator("log_level", mode="before")
    @classmethod
    def _known_level(cls, level: Any) -> Any:
        if isinstance(level, str):
            level = level.upper()
        if level not in LOG_LEVELS:
            raise _refuse(f"LOG_LEVEL {level!r} is not one of {', '.join(LOG_LEVELS)}")
        return level

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _networks(cls, raw: Any) -> Any:
        """A comma-separated list of addresses or CIDRs (blanks ignored)."""
        if not isinstance(raw, str):
            return raw
        nets = []
        for part in filter(None, (part.strip() for part in raw.split(","))):
            try:
                nets.append(ipaddress.ip_network(part, strict=False))
            except ValueError:
                raise _refuse(f"TRUSTED_PROXIES: {part!r} is not an IP address or CIDR") from None
        return tuple(nets)

    @field_validator("events_stream_arn")
    @classmethod
    def _stream_arn(cls, arn: str) -> str:
        if not arn.startswith("arn:aws") or ":table/" not in arn or "/stream/" not in arn:
            raise _refuse(f"EVENTS_STREAM_ARN must be a DynamoDB stream ARN, got {arn!r}")
        return arn

    @field_validator("webhook_secrets_key", mode="before")
    @classmethod
    def _secrets_key(cls, key: Any) -> Any:
        if key and len(key) < 16:
            raise _refuse("WEBHOOK_SECRETS_KEY must be at least 16 characters (or unset)")
        return key

    @model_validator(mode="after")
    def _chaos_local_only(self) -> Settings:
        if self.chaos_faults_file and self.stage != "local":
            raise _refuse(
                "CHAOS_FAULTS_FILE injects DynamoDB faults and is refused on stage "
                f"{self.stage!r}: only the local stage may set it"
            )
        return self

    @model_validator(mode="after")
    def _budget_fits_an_attempt(self) -> Settings:
        attempt = attempt_seconds(self.aws_connect_timeout, self.aws_read_timeout)
        if self.request_time_budget_seconds < attempt:
            raise _refuse(
                f"REQUEST_TIME_BUDGET_SECONDS ({self.request_time_budget_seconds:g} s) must be at "
                f"least one AWS attempt: AWS_CONNECT_TIMEOUT + AWS_READ_TIMEOUT + "
                f"{MARGIN_SECONDS:g} s = {attempt:g} s, or no request could reach storage"
            )
        return self

    @property
    def webhook_secrets_key_material(self) -> bytes:
        return self.webhook_secrets_key or b"derived-from-cursor-key\x00" + self.cursor_signing_key

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

    @property
    def webhooks_table(self) -> str:
        return self.table_name("webhooks")

    @property
    def deliveries_table(self) -> str:
        return self.table_name("deliveries")


_VARIABLE = {name: variable for variable, name in ENVIRONMENT.items()}


def _bounds(name: str) -> tuple[Any, Any]:
    metadata = Settings.__pydantic_fields__[name].metadata  # type: ignore[attr-defined]
    low = next(m.ge for m in metadata if isinstance(m, annotated_types.Ge))
    high = next(m.le for m in metadata if isinstance(m, annotated_types.Le))
    return low, high


def _message(error: ErrorDetails) -> str:
    """One pydantic error as a sentence that names the environment variable."""
    if error["type"] == "settings":
        return str(error["ctx"]["message"])
    name = str(error["loc"][0]) if error["loc"] else "?"
    variable, raw = _VARIABLE.get(name, name), error["input"]
    if error["type"].startswith("int_"):
        return f"{variable} must be an integer, got {raw!r}"
    if error["type"].startswith("float_") or error["type"] == "finite_number":
        return f"{variable} must be a number, got {raw!r}"
    if error["type"] in ("greater_than_equal", "less_than_equal"):
        low, high = _bounds(name)
        return f"{variable} must be between {low} and {high}, got {raw}"
    return f"{variable}: {error['msg']} (got {raw!r})"


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build :class:`Settings` from ``env`` (default ``os.environ``); raise on anything invalid.
    A variable set to the empty string means its default."""
    env = os.environ if env is None else env
    given: dict[str, Any] = {name: env[var] for var, name in ENVIRONMENT.items() if env.get(var)}
    given.setdefault("stage", "")
    given.setdefault("cursor_signing_key", "")
    given["region"] = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
    try:
        return Settings(**given)
    except ValidationError as exc:
        raise SettingsError(_message(exc.errors()[0])) from None
