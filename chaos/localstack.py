"""A LocalStack process in host mode (no Docker) with only DynamoDB (and the DynamoDB Streams
and Kinesis it brings), on a loopback port of ours, its config changeable at run time.

    server = LocalStackServer(port, log_path).start()
    client = boto3.client("dynamodb", endpoint_url=server.endpoint, ...)
    server.set_error_probability(read=0.5, write=0.5)   # ProvisionedThroughputExceededException
    ...
    server.set_error_probability(read=0.0, write=0.0)
    server.stop()

Installed by ``scripts/install_localstack.sh`` into ``tools/localstack`` (its venv, and the
``lib`` folder holding what LocalStack would otherwise download: DynamoDB Local, a JRE, npm
kinesis-local). Each server gets a fresh ``FILESYSTEM_ROOT`` with that ``lib`` linked in, so
two servers never share state (kinesis-mock persists its streams under the root's tmp, and a
second LocalStack on the same root fails CreateTable with "Stream ... already exists").

What LocalStack's error injection does (seen with 4.9.2): with probability p, GetItem, Query,
Scan, BatchGetItem, TransactGetItems (read) and PutItem, UpdateItem, DeleteItem, BatchWriteItem,
TransactWriteItems (write) answer HTTP 400 ``ProvisionedThroughputExceededException``;
ListTables, DescribeTable and the rest are never failed. It has no 5xx setting.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3
import requests
from botocore.config import Config

from devstack.lifetime import die_with_parent, stop_group

ROOT = Path(__file__).resolve().parent.parent
INSTALL_DIR = ROOT / "tools" / "localstack"
PYTHON = INSTALL_DIR / "venv" / "bin" / "python"
LIB = INSTALL_DIR / "lib"
INSTALL_HINT = "run `bash scripts/install_localstack.sh` (after `make bootstrap`)"

READ_ERROR_PROBABILITY = "DYNAMODB_READ_ERROR_PROBABILITY"
WRITE_ERROR_PROBABILITY = "DYNAMODB_WRITE_ERROR_PROBABILITY"
ERROR_PROBABILITY = "DYNAMODB_ERROR_PROBABILITY"

# Everything LocalStack needs to run here without Docker and without the internet.
BASE_ENVIRONMENT = {
    "SERVICES": "dynamodb",
    "EAGER_SERVICE_LOADING": "1",  # DynamoDB Local is up when health says so
    "ENABLE_CONFIG_UPDATES": "1",  # POST /_localstack/config
    "DYNAMODB_IN_MEMORY": "1",
    "OVERRIDE_IN_DOCKER": "0",  # this sandbox looks like a container: host-mode directories
    "LOCALSTACK_CLI": "0",
    "SKIP_SSL_CERT_DOWNLOAD": "1",  # a self-signed certificate instead of a download
    "DISABLE_EVENTS": "1",  # no analytics
    "DNS_ADDRESS": "0",  # no DNS server (it would look for an upstream and bind port 53)
    "DEBUG": "0",
}
# Passed through from our environment; nothing else is (LocalStack reads many variables).
PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ")


def installed() -> bool:
    return (
        PYTHON.exists()
        and (LIB / "dynamodb-local" / "2" / "DynamoDBLocal.jar").exists()
        and (LIB / "kinesis-local" / "0.4.13" / "node_modules" / "kinesis-local").exists()
    )


class LocalStackServer:
    """One LocalStack process: ``start()``, ``stop()``, or use it as a context manager."""

    def __init__(
        self,
        port: int,
        log_path: str | Path,
        *,
        environment: dict[str, str] | None = None,
    ) -> None:
        self.port = port
        self.log_path = Path(log_path)
        self.environment = environment or {}
        self.process: subprocess.Popen[bytes] | None = None
        self.root: Path | None = None
        self.started_in: float | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- lifecycle ---------------------------------------------------------------------------
    def _environment(self, root: Path) -> dict[str, str]:
        env = {name: os.environ[name] for name in PASSED_THROUGH if name in os.environ}
        env.update(BASE_ENVIRONMENT)
        env.update(
            {
                "FILESYSTEM_ROOT": str(root),
                "GATEWAY_LISTEN": f"127.0.0.1:{self.port}",
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(self.environment)
        return env

    def start(self, timeout: float = 90.0, *, warm_streams: bool = True) -> LocalStackServer:
        """Start and wait until DynamoDB answers. ``warm_streams`` also starts the Kinesis engine
        behind DynamoDB Streams (kinesis-mock, a node process LocalStack starts on first use, per
        account): without it the first CreateTable with a stream takes 5-10 s, past a short
        client read timeout."""
        if not installed():
            raise FileNotFoundError(f"LocalStack is not installed in {INSTALL_DIR}; {INSTALL_HINT}")
        began = time.monotonic()
        self.root = Path(tempfile.mkdtemp(prefix="localstack-root-"))
        var_lib = self.root / "var" / "lib" / "localstack"
        var_lib.mkdir(parents=True)
        (var_lib / "lib").symlink_to(LIB.resolve(), target_is_directory=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as out:
            self.process = subprocess.Popen(
                [str(PYTHON), "-m", "localstack.runtime.main"],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self._environment(self.root),
                cwd=str(self.root),
                start_new_session=True,  # its own group: stop() ends DynamoDB Local and node too
                preexec_fn=die_with_parent,
            )
        try:
            self._wait_ready(timeout)
            if warm_streams:
                self._warm_streams(timeout)
        except BaseException:
            self.stop()
            raise
        self.started_in = time.monotonic() - began
        return self

    def health(self) -> dict[str, Any]:
        return health(self.endpoint)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer"
        while True:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"LocalStack exited during start-up (code {self.process.returncode}); "
                    f"see {self.log_path}"
                )
            try:
                state = self.health().get("services", {}).get("dynamodb")
                if state == "running":
                    return
                last = f"dynamodb is {state!r}"
            except requests.RequestException as exc:
                last = type(exc).__name__
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"LocalStack not ready within {timeout:.0f} s ({last}); see {self.log_path}"
                )
            time.sleep(0.2)

    def _warm_streams(self, timeout: float) -> None:
        kinesis = boto3.client(
            "kinesis",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",  # LocalStack's default account, as for any non-numeric key
            aws_secret_access_key="test",  # LocalStack ignores it
            config=Config(read_timeout=timeout, retries={"total_max_attempts": 1}),
        )
        kinesis.list_streams()

    def stop(self, timeout: float = 20.0) -> None:
        process, self.process = self.process, None
        if process is not None:
            # SIGTERM to the group: LocalStack shuts down and stops its children itself; what is
            # left after the timeout is killed.
            stop_group(process, timeout)
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __enter__(self) -> LocalStackServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- run-time configuration --------------------------------------------------------------
    def set_config(self, variable: str, value: object) -> object:
        return set_config(self.endpoint, variable, value)

    def set_error_probability(self, read: float, write: float) -> None:
        set_error_probability(self.endpoint, read, write)


# Module functions: they work on any LocalStack (an SRE's own at LOCALSTACK_ENDPOINT too).
def health(endpoint: str) -> dict[str, Any]:
    """``/_localstack/health``: each service's state (raises when LocalStack does not answer)."""
    answer = requests.get(endpoint.rstrip("/") + "/_localstack/health", timeout=2)
    answer.raise_for_status()
    return dict(answer.json())


def set_config(endpoint: str, variable: str, value: object) -> object:
    """Set one of LocalStack's config variables now; returns the value LocalStack reports
    (numbers come back as floats)."""
    answer = requests.post(
        endpoint.rstrip("/") + "/_localstack/config",
        json={"variable": variable, "value": value},
        timeout=10,
    )
    if answer.status_code != 200:
        raise RuntimeError(
            f"LocalStack refused {variable}={value!r} ({answer.status_code}: "
            f"{answer.text[:200]}); it needs ENABLE_CONFIG_UPDATES=1"
        )
    return answer.json().get("value")


def set_error_probability(endpoint: str, read: float, write: float) -> None:
    """The share of DynamoDB reads and writes answered 400
    ProvisionedThroughputExceededException from now on (0 to switch it off)."""
    for name, probability in ((READ_ERROR_PROBABILITY, read), (WRITE_ERROR_PROBABILITY, write)):
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"{name} must be within 0..1 (got {probability})")
        set_config(endpoint, name, float(probability))
