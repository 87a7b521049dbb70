"""Settings fail fast: an unknown stage or a bad number stops start-up with a clear message."""

from __future__ import annotations

import ipaddress

import pytest

from chalicelib.settings import KNOWN_STAGES, SettingsError, load_settings
from devstack.stage_env import stage_environment

BASE = {"STAGE": "local", "CURSOR_SIGNING_KEY": "k" * 16}


def test_defaults() -> None:
    s = load_settings(BASE)
    assert s.stage == "local"
    assert s.inbox_shards == 4
    assert s.key_cache_ttl_seconds == 10.0
    assert s.max_payload_bytes == 256 * 1024
    assert s.idempotency_ttl_seconds == 24 * 3600
    assert s.aws_total_max_attempts == 3
    assert s.region == "us-east-1"
    assert s.events_table == "triggers-api-events-local"
    assert s.api_keys_table == "triggers-api-api-keys-local"


@pytest.mark.parametrize("stage", ["", "Local", "prd", "test", " local"])
def test_unknown_stage_fails(stage: str) -> None:
    with pytest.raises(SettingsError, match="STAGE must be one of"):
        load_settings({**BASE, "STAGE": stage})


def test_missing_stage_fails() -> None:
    with pytest.raises(SettingsError, match="STAGE"):
        load_settings({"CURSOR_SIGNING_KEY": "k" * 16})


@pytest.mark.parametrize("stage", KNOWN_STAGES)
def test_every_configured_stage_is_known(stage: str) -> None:
    env = stage_environment(stage)
    assert env["STAGE"] == stage


def test_local_stage_config_loads() -> None:
    settings = load_settings(stage_environment("local"))
    assert settings.trusted_proxies == (ipaddress.ip_network("127.0.0.1/32"),)


@pytest.mark.parametrize("key", ["", "short"])
def test_cursor_key_is_required(key: str) -> None:
    with pytest.raises(SettingsError, match="CURSOR_SIGNING_KEY"):
        load_settings({**BASE, "CURSOR_SIGNING_KEY": key})


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("INBOX_SHARDS", "four", "must be an integer"),
        ("INBOX_SHARDS", "0", "between 1 and 64"),
        ("INBOX_SHARDS", "65", "between 1 and 64"),
        ("INBOX_SHARDS", "2.5", "must be an integer"),
        ("KEY_CACHE_TTL_SECONDS", "11", "between"),
        ("KEY_CACHE_TTL_SECONDS", "-1", "between"),
        ("KEY_CACHE_TTL_SECONDS", "soon", "must be a number"),
        ("AWS_CONNECT_TIMEOUT", "0", "between"),
        ("AWS_READ_TIMEOUT", "x", "must be a number"),
        ("AWS_TOTAL_MAX_ATTEMPTS", "0", "between 1 and 10"),
        ("AWS_TOTAL_MAX_ATTEMPTS", "11", "between 1 and 10"),
        ("EVENT_RETENTION_DAYS", "0", "between"),
        ("DEFAULT_RATE_LIMIT", "-5", "between"),
    ],
)
def test_bad_numbers_fail_naming_the_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message) as exc:
        load_settings({**BASE, name: value})
    assert name in str(exc.value)


def test_numbers_are_read() -> None:
    s = load_settings({**BASE, "INBOX_SHARDS": "8", "AWS_READ_TIMEOUT": "0.5"})
    assert (s.inbox_shards, s.aws_read_timeout) == (8, 0.5)


def test_empty_value_means_default() -> None:
    assert load_settings({**BASE, "INBOX_SHARDS": ""}).inbox_shards == 4


def test_bad_log_level_fails() -> None:
    with pytest.raises(SettingsError, match="LOG_LEVEL"):
        load_settings({**BASE, "LOG_LEVEL": "loud"})


def test_bad_trusted_proxy_fails() -> None:
    with pytest.raises(SettingsError, match="TRUSTED_PROXIES"):
        load_settings({**BASE, "TRUSTED_PROXIES": "10.0.0.0/8, not-an-ip"})


def test_trusted_proxies_parse() -> None:
    s = load_settings({**BASE, "TRUSTED_PROXIES": "10.0.0.0/8, ::1 ,"})
    assert s.trusted_proxies == (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1"))


def test_unknown_table_name_is_an_error() -> None:
    with pytest.raises(KeyError):
        load_settings(BASE).table_name("nope")


def test_region_comes_from_the_environment() -> None:
    assert load_settings({**BASE, "AWS_DEFAULT_REGION": "eu-west-1"}).region == "eu-west-1"
    assert load_settings({**BASE, "AWS_REGION": "eu-central-1"}).region == "eu-central-1"


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_chaos_faults_file_is_refused_outside_local(stage: str) -> None:
    with pytest.raises(SettingsError, match=r"CHAOS_FAULTS_FILE .* only the local stage"):
        load_settings({**BASE, "STAGE": stage, "CHAOS_FAULTS_FILE": "/tmp/faults.json"})


def test_chaos_faults_file_is_allowed_on_local_and_off_by_default() -> None:
    assert load_settings(BASE).chaos_faults_file == ""
    settings = load_settings({**BASE, "CHAOS_FAULTS_FILE": "/tmp/faults.json"})
    assert settings.chaos_faults_file == "/tmp/faults.json"


def test_request_time_budget_defaults_to_the_function_timeout_less_headroom() -> None:
    assert load_settings(BASE).request_time_budget_seconds == 27.0
    assert (
        load_settings({**BASE, "REQUEST_TIME_BUDGET_SECONDS": "12.5"}).request_time_budget_seconds
        == 12.5
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"REQUEST_TIME_BUDGET_SECONDS": "0"}, "between 0.1 and 900"),
        ({"REQUEST_TIME_BUDGET_SECONDS": "901"}, "between 0.1 and 900"),
        ({"REQUEST_TIME_BUDGET_SECONDS": "soon"}, "must be a number"),
        # 1 + 3 + 0.25 s: no attempt would ever fit in 4 s.
        ({"REQUEST_TIME_BUDGET_SECONDS": "4"}, "must be at least one AWS attempt"),
        (
            {"AWS_READ_TIMEOUT": "30", "REQUEST_TIME_BUDGET_SECONDS": ""},
            r"REQUEST_TIME_BUDGET_SECONDS \(27 s\) must be at least one AWS attempt",
        ),
    ],
)
def test_request_time_budget_is_bounded(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings({**BASE, **env})
