"""Cold start: what importing ``app`` builds and loads, what the lazy pieces do on first use,
and ``perf/cold_start.py``'s reading of ``-X importtime`` output."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from chalicelib.lazy import Lazy, force, is_built
from chalicelib.runtime import Runtime
from chalicelib.settings import Settings
from chalicelib.stores import aws
from perf import cold_start

# Loaded on first use only: the AWS SDK's client machinery (and boto3 not at all), the models of
# the rarely used routes, the OpenAPI document, and the services off the common HTTP path.
NOT_AT_IMPORT = (
    "boto3",
    "s3transfer",
    "urllib3",
    "botocore.session",
    "botocore.client",
    "botocore.config",
    "botocore.awsrequest",
    "chalicelib.api.openapi",
    "chalicelib.api.models.analytics",
    "chalicelib.api.models.api_keys",
    "chalicelib.api.models.webhooks",
    "chalicelib.api.models.bulk",
    "chalicelib.services.analytics",
    "chalicelib.services.bulk",
    "chalicelib.services.stream_ingest",
    "chalicelib.services.webhooks",
    "chalicelib.services.webhook_fanout",
    "chalicelib.services.webhook_delivery",
    "chalicelib.services.outbound_http",
    "chalicelib.stores.analytics",
    "chalicelib.stores.fault_injection",
)
LAZY_FIELDS = ("dynamodb", "limiter_dynamodb", *cold_start.LAZY_SERVICES)

IMPORT_PROBE = f"""
import json, socket, sys
def refuse(*args, **kwargs):
    raise OSError("importing app must not open a connection")
socket.socket.connect = refuse
socket.create_connection = refuse
import app
from chalicelib.lazy import is_built
print(json.dumps({{
    "modules": sorted(sys.modules),
    "built": {{name: is_built(getattr(app.runtime, name)) for name in {LAZY_FIELDS!r}}},
    "routes": sorted(f"{{m}} {{p}}" for p, ms in app.app.routes.items() for m in ms),
}}))
"""


def _import_app(**extra_env: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_PROBE],
        cwd=cold_start.ROOT,
        env={**cold_start.lambda_environment(), **extra_env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_importing_app_builds_no_client_and_loads_no_deferred_module() -> None:
    result = _import_app()
    modules = set(result["modules"])  # type: ignore[call-overload]
    deferred = (*NOT_AT_IMPORT, *cold_start.LAZY_ROUTE_MODULES)
    assert sorted(name for name in deferred if name in modules) == []
    assert result["built"] == dict.fromkeys(LAZY_FIELDS, False)
    routes = set(result["routes"])  # type: ignore[call-overload]
    # The deferred modules' routes are registered all the same.
    assert {
        "GET /v1/analytics/summary",
        "GET /v1/openapi.json",
        "POST /v1/api-keys",
        "POST /v1/webhooks",
        "POST /v1/events/bulk",
    } <= routes


def test_provisioned_concurrency_builds_the_clients_during_init() -> None:
    """Lambda runs a provisioned instance's init before any request: the clients are built
    there (no connection is opened: a client connects on its first call)."""
    result = _import_app(AWS_LAMBDA_INITIALIZATION_TYPE="provisioned-concurrency")
    built = result["built"]
    assert [name for name, done in built.items() if done] == [  # type: ignore[attr-defined]
        "dynamodb",
        "limiter_dynamodb",
    ]


def test_lazy_builds_once_across_threads() -> None:
    calls: list[int] = []

    def build() -> dict[str, int]:
        calls.append(1)
        time.sleep(0.05)  # every thread arrives while the first is still building
        return {"n": len(calls)}

    lazy: Lazy[dict[str, int]] = Lazy(build)
    assert not is_built(lazy)
    assert is_built(object())
    seen: list[object] = []
    threads = [threading.Thread(target=lambda: seen.append(force(lazy))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert all(value is seen[0] for value in seen)
    assert force(lazy) is seen[0]
    assert is_built(lazy)
    assert lazy.keys() == {"n": 1}.keys()  # attributes are the object's own
    assert lazy.get("n") == 1  # even those named like a lazy helper (a service's ``get``)
    plain = object()
    assert force(plain) is plain


@pytest.fixture
def lambda_credentials(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Credentials in the environment, as Lambda gives them (else building a client would look
    for them in instance metadata, over the network), and a fresh default session."""
    for name, value in cold_start.lambda_environment().items():
        if name.startswith("AWS_"):
            monkeypatch.setenv(name, value)
    aws.default_session.cache_clear()
    yield
    aws.default_session.cache_clear()


@pytest.mark.usefixtures("lambda_credentials")
def test_runtime_builds_clients_and_services_on_first_use_once(test_settings: Settings) -> None:
    runtime = Runtime.build(test_settings)
    assert not any(is_built(getattr(runtime, name)) for name in LAZY_FIELDS)
    # A client is built by its first attribute access (no connection), with its bounds.
    config = runtime.dynamodb.meta.config
    assert is_built(runtime.dynamodb)
    assert config.connect_timeout == test_settings.aws_connect_timeout
    assert config.read_timeout == test_settings.aws_read_timeout
    assert config.retries == {
        "total_max_attempts": test_settings.aws_total_max_attempts,
        "mode": "standard",
    }
    assert runtime.dynamodb.meta is runtime.dynamodb.meta  # the same client every time
    # The limiter's own client is tighter, and built on its first use too.
    limiter_client = runtime.rate_limiter._store._client  # type: ignore[attr-defined]
    assert not is_built(limiter_client)
    assert limiter_client.meta.config.read_timeout == min(test_settings.aws_read_timeout, 1.0)
    # Services sharing a store share one instance, built once.
    store = runtime.analytics._store  # type: ignore[attr-defined]
    assert runtime.stream_ingest._store is store  # type: ignore[attr-defined]
    assert runtime.webhook_delivery._analytics is store  # type: ignore[attr-defined]
    assert runtime.webhooks._webhooks is runtime.webhook_fanout._webhooks  # type: ignore[attr-defined]


def test_injected_clients_are_used_as_they_are(test_settings: Settings) -> None:
    client = object()
    runtime = Runtime.build(test_settings, dynamodb=client)  # type: ignore[arg-type]
    assert runtime.dynamodb is client
    assert runtime.rate_limiter._store._client is client  # type: ignore[attr-defined]


IMPORTTIME = """\
import time: self [us] | cumulative | imported package
import time:       120 |        120 |   _io
import time:      1000 |       1000 |         botocore.exceptions
import time:       500 |       1500 |       chalicelib.stores.aws
import time:       700 |       4000 |           botocore.session
import time:       300 |       5300 |         boto3.compat
import time:       100 |       6400 |       boto3
import time:       200 |       8200 |     chalicelib.runtime
import time:      3000 |      20000 |   chalicelib.api.application
import time:      2500 |      25000 | app
import time:       400 |       4000 | botocore.client
import time:       900 |       9000 | chalice.app
import time:        10 |         10 | unrelated
"""


def test_parse_importtime() -> None:
    lines = cold_start.parse_importtime(IMPORTTIME)
    assert len(lines) == 12  # the header is not an import
    assert lines[0] == cold_start.ImportLine(120, 120, 1, "_io")
    assert lines[1] == cold_start.ImportLine(1000, 1000, 4, "botocore.exceptions")
    assert lines[3].depth == 5
    assert lines[3].name == "botocore.session"
    assert lines[8] == cold_start.ImportLine(2500, 25000, 0, "app")


def test_app_figures() -> None:
    figures = cold_start.app_figures(IMPORTTIME)
    # botocore.exceptions (1.0 ms) and boto3 (6.4 ms, botocore.session inside it).
    assert figures == {"app_ms": 25.0, "botocore_ms": 7.4, "module_level_ms": 2.5}


def test_app_figures_need_the_app_line() -> None:
    with pytest.raises(ValueError, match="'app'"):
        cold_start.app_figures("import time:       100 |        100 | json\n")


def test_reference_ms_sums_the_reference_imports() -> None:
    assert cold_start.reference_ms(IMPORTTIME) == pytest.approx(13.0)  # client + chalice.app


def test_first_request_figures() -> None:
    out = 'log line\nCOLD_START_RESULT {"first_ms": 12.5, "second_ms": 2, "services_ms": 3}\n'
    assert cold_start.first_request_figures(out) == {
        "first_ms": 12.5,
        "second_ms": 2.0,
        "services_ms": 3.0,
    }


def test_lambda_environment_replaces_every_dynamic_reference() -> None:
    env = cold_start.lambda_environment()
    assert env["STAGE"] == "dev"
    assert env["AWS_REGION"] == "us-east-1"
    assert not any("{{resolve:" in value for value in env.values())
    assert len(env["CURSOR_SIGNING_KEY"]) >= 32
    assert not any(name.startswith("AWS_ENDPOINT_URL") for name in env)


def test_table_lists_every_figure() -> None:
    modules = dict.fromkeys(cold_start.LAZY_ROUTE_MODULES, 1.0)
    figures = {key: 2.0 for _, key in cold_start.ROWS}
    result = {
        "runs": 7,
        **figures,
        "route_module_ms": modules,
        "ratio": 0.5,
        "cold_ratio": 0.7,
        "loadavg": [1, 2, 3],
    }
    text = cold_start.table(result)
    assert "median of 7 runs" in text
    assert "ratio app / reference" in text
    assert "api.models.bulk" in text
    assert "ratio (import + first) / reference" in text
    assert len(text.splitlines()) == 1 + len(cold_start.ROWS) + len(modules) + 3
