"""SQS for the local stack: moto's server, on a loopback port, with the webhook queues.

moto serves every AWS service on one port, but only SQS is pointed at it
(``AWS_ENDPOINT_URL_SQS``): DynamoDB is always DynamoDB Local (moto accepts requests AWS refuses,
see docs/DESIGN.md). It keeps everything in memory, so a restarted server has no queues until
:meth:`SqsLocal.create_queues` runs again. Queue URLs look like
``http://127.0.0.1:<port>/123456789012/triggers-api-local-webhook-deliveries``.

``launch()`` starts the process without waiting, so the stack can start DynamoDB Local meanwhile;
``start()`` is ``launch()`` + ``wait_ready()``.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

from chalicelib.stores.queues import QueueUrls, ensure_queues
from devstack.lifetime import die_with_parent, stop_group
from devstack.ports import wait_for_port
from devstack.state import LOCAL_ACCESS_KEY, LOCAL_REGION

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

ROOT = Path(__file__).resolve().parent.parent


def command(port: int, host: str = "127.0.0.1") -> list[str]:
    """``moto_server`` of this interpreter's environment (``python -m moto.server``)."""
    return [sys.executable, "-m", "moto.server", "-H", host, "-p", str(port)]


class SqsLocal:
    """A moto server process: ``start()``, ``stop()``, or use it as a context manager."""

    def __init__(self, port: int, log_path: str | None = None) -> None:
        self.port = port
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def launch(self) -> SqsLocal:
        log = open(self.log_path, "ab") if self.log_path else None  # noqa: SIM115
        try:
            self.process = subprocess.Popen(
                command(self.port),
                stdout=log if log is not None else subprocess.DEVNULL,
                stderr=subprocess.STDOUT,
                cwd=str(ROOT),
                start_new_session=True,
                preexec_fn=die_with_parent,
            )
        finally:
            if log is not None:
                log.close()
        return self

    def wait_ready(self, timeout: float = 60.0) -> SqsLocal:
        """Wait until the server answers an SQS request (stops it when it never does)."""
        try:
            wait_for_port(self.port, timeout)
            client = self.client()
            deadline = time.monotonic() + timeout
            while True:
                try:
                    client.list_queues(MaxResults=1)
                    return self
                except Exception:
                    if time.monotonic() > deadline:
                        raise
                    if self.process is not None and self.process.poll() is not None:
                        raise RuntimeError("moto's server exited during start-up") from None
                    time.sleep(0.05)
        except BaseException:
            self.stop()
            raise

    def start(self, timeout: float = 60.0) -> SqsLocal:
        return self.launch().wait_ready(timeout)

    def client(self, region: str = LOCAL_REGION) -> SQSClient:
        return boto3.client(
            "sqs",
            endpoint_url=self.endpoint,
            region_name=region,
            aws_access_key_id=LOCAL_ACCESS_KEY,
            aws_secret_access_key="local",  # noqa: S106 - moto ignores it
            config=Config(
                retries={"total_max_attempts": 2, "mode": "standard"},
                connect_timeout=2,
                read_timeout=10,
            ),
        )

    def create_queues(self, stage: str) -> QueueUrls:
        """The stage's webhook delivery queue and dead-letter queue (idempotent)."""
        return ensure_queues(self.client(), stage)

    def stop(self) -> None:
        if self.process is None:
            return
        stop_group(self.process)
        self.process = None

    def __enter__(self) -> SqsLocal:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
