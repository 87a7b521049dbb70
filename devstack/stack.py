"""One local stack: DynamoDB Local, the stage's tables, SQS (moto's server) with the webhook
queues, the dev server and the local workers.

Everything that needs a running stack starts it here: `make run` (scripts/run_local_stack.py,
fixed ports), the e2e tests, the perf gate's probe and the load tests (free loopback ports, a
fresh in-memory database each), the perf scripts that need only the engine (``api=False,
workers=()``). ::

    with LocalStack(Path("perf/results/logs")) as stack:
        requests.get(stack.api_url + "/v1/health")
        subprocess.run([...], env={**os.environ, **stack.env()})

``env()`` is the one local-AWS environment (endpoints, access key, region, webhook queue URLs) a
process needs to reach the stack's database and queues with boto3; ``settings()`` the app's
settings for it in-process.

The local workers (stand-ins for Lambda's event-source mappings) are declared once, in
:data:`WORKERS`; a new one is one more line there.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import boto3
import requests

from chalicelib.runtime import Runtime
from chalicelib.settings import Settings, load_settings
from chalicelib.stores.aws import dynamodb_client, sqs_client
from chalicelib.stores.queues import QueueUrls
from chalicelib.stores.schema import create_all
from devstack.dynamodb_local import DynamoDBLocal
from devstack.ports import free_port, port_open
from devstack.sqs_local import SqsLocal
from devstack.stage_env import stage_environment
from devstack.state import LOCAL_ACCESS_KEY, LOCAL_REGION, aws_environment, sqs_environment
from devstack.supervisor import Supervisor

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

__all__ = ["WORKERS", "LocalStack", "PortInUse", "Worker", "aws_environment"]

ROOT = Path(__file__).resolve().parent.parent
STAGE = "local"


@dataclass(frozen=True)
class Worker:
    """A local worker: a name (its log file, its line in `make run`'s output) and the arguments
    after the Python interpreter."""

    name: str
    args: tuple[str, ...]


# The local stand-ins for Lambda's event-source mappings, started by `make run` and by the
# stacks that ask for workers. One line per worker. Like the two mappings on the events stream in
# AWS, the stream and fan-out workers read the same stream independently, each from its start.
WORKERS: tuple[Worker, ...] = (
    Worker("stream-worker", ("-m", "devstack.stream_worker")),
    Worker("fanout-worker", ("-m", "devstack.stream_worker", "--handler", "webhook_fanout")),
    Worker("delivery-worker", ("-m", "devstack.delivery_worker")),
)


class Engine(Protocol):
    """A running DynamoDB endpoint the stack does not own: a :class:`DynamoDBLocal`, or
    another engine (the chaos suite's LocalStack)."""

    @property
    def endpoint(self) -> str: ...


class PortInUse(RuntimeError):
    def __init__(self, what: str, port: int) -> None:
        super().__init__(f"port {port} ({what}) is already in use")
        self.what = what
        self.port = port


class LocalStack:
    """A local stack, ``start()``/``stop()`` or a context manager.

    * ``log_dir``: ``dynamodb-local.log`` and ``moto-sqs.log`` go here, and each child's output
      to ``<name>.log`` unless ``console`` (then the API and workers write to this process's
      terminal).
    * ``api``/``workers``: what runs beside the engine (the dev server; :data:`WORKERS`).
    * ``sqs``: run moto's server with the stage's webhook queues; by default (``None``) when the
      stack runs the API or any worker, the processes that use the queues.
    * ``port``/``dynamodb_port``/``sqs_port``: fixed ports (refused with :class:`PortInUse` when
      taken); free loopback ports when ``None``.
    * ``data_dir``: keep the database on disk there instead of in memory.
    * ``engine``: use this running DynamoDB Local (not stopped with the stack) instead of
      starting one; with a fresh ``access_key`` that is a fresh database. ``sqs_engine``
      likewise for moto's server (the stage's queues are created on it, idempotently).
    * ``environment``: extra variables for every child process and for :meth:`settings`.
    """

    def __init__(
        self,
        log_dir: Path,
        *,
        api: bool = True,
        workers: Sequence[Worker] = WORKERS,
        sqs: bool | None = None,
        port: int | None = None,
        dynamodb_port: int | None = None,
        sqs_port: int | None = None,
        data_dir: str | None = None,
        engine: Engine | None = None,
        sqs_engine: SqsLocal | None = None,
        access_key: str = LOCAL_ACCESS_KEY,
        stage: str = STAGE,
        environment: Mapping[str, str] | None = None,
        console: bool = False,
    ) -> None:
        self.log_dir = Path(log_dir)
        self.with_api = api
        self.workers = tuple(workers)
        if sqs is None:
            sqs = sqs_engine is not None or api or bool(self.workers)
        self.with_sqs = sqs
        self.port = port
        self.dynamodb_port = dynamodb_port
        self.sqs_port = sqs_port
        self.data_dir = data_dir
        self.access_key = access_key
        self.stage = stage
        self.environment = dict(environment or {})
        self.console = console
        self.supervisor = Supervisor()
        self._engine: Engine | None = engine
        self._own_engine: DynamoDBLocal | None = None
        self._sqs = sqs_engine
        self._own_sqs: SqsLocal | None = None
        self.queues: QueueUrls | None = None
        self.tables_created: list[str] = []

    # -- what callers read -------------------------------------------------------------------
    @property
    def dynamodb_endpoint(self) -> str:
        if self._engine is None:
            raise RuntimeError("the stack is not started")
        return self._engine.endpoint

    @property
    def sqs_endpoint(self) -> str:
        if self._sqs is None or self.queues is None:
            raise RuntimeError("the stack has no SQS (or is not started)")
        return self._sqs.endpoint

    @property
    def webhook_queue_url(self) -> str:
        return self._queues().queue_url

    @property
    def webhook_dlq_url(self) -> str:
        return self._queues().dlq_url

    @property
    def api_url(self) -> str:
        if not self.with_api or self.port is None:
            raise RuntimeError("the stack has no API")
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_pid(self) -> int:
        """The dev server's process id (the perf probe reads its CPU time)."""
        return self.process("api").pid

    def process(self, name: str) -> subprocess.Popen[bytes]:
        for child, proc in self.supervisor.children:
            if child == name:
                return proc
        raise KeyError(f"the stack has no process {name!r}")

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def env(self) -> dict[str, str]:
        """The local-AWS environment of this stack's database and queues: boto3's endpoints
        (``AWS_ENDPOINT_URL_DYNAMODB``, ``..._DYNAMODB_STREAMS``, ``..._SQS``), credentials,
        region, and the app's ``WEBHOOK_QUEUE_URL``/``WEBHOOK_DLQ_URL``."""
        env = aws_environment(self.dynamodb_endpoint, self.access_key, LOCAL_REGION)
        if self.queues is not None:
            env.update(
                sqs_environment(self.sqs_endpoint, self.queues.queue_url, self.queues.dlq_url)
            )
        return env

    def child_env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        return {
            **os.environ,
            **self.env(),
            **self.environment,
            "PYTHONUNBUFFERED": "1",
            **(extra or {}),
        }

    def settings(self, overrides: Mapping[str, str] | None = None) -> Settings:
        """The app's settings for this stack, as the dev server sees them."""
        return load_settings(
            {
                **os.environ,
                **stage_environment(self.stage),
                **self.environment,
                **self.env(),
                **(overrides or {}),
            }
        )

    def dynamodb_client(self, settings: Settings | None = None) -> DynamoDBClient:
        settings = settings or self.settings()
        session = boto3.Session(
            aws_access_key_id=self.access_key,
            aws_secret_access_key="local",  # noqa: S106 - DynamoDB Local ignores it
            region_name=LOCAL_REGION,
        )
        return dynamodb_client(settings, session=session, endpoint_url=self.dynamodb_endpoint)

    def sqs_client(self, settings: Settings | None = None) -> SQSClient:
        """An SQS client on this stack's moto server, configured as the app's."""
        settings = settings or self.settings()
        session = boto3.Session(
            aws_access_key_id=self.access_key,
            aws_secret_access_key="local",  # noqa: S106 - moto ignores it
            region_name=LOCAL_REGION,
        )
        return sqs_client(settings, session=session, endpoint_url=self.sqs_endpoint)

    def runtime(self, settings: Settings | None = None) -> Runtime:
        """The app's services on this stack's database, in this process."""
        settings = settings or self.settings()
        return Runtime.build(settings, dynamodb=self.dynamodb_client(settings))

    # -- starting and stopping ---------------------------------------------------------------
    def start(self, timeout: float = 60.0) -> LocalStack:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        if self.with_api:
            self.port = self._claim(self.port, "PORT")
        try:
            if self.with_sqs and self._sqs is None:
                # moto starts while DynamoDB Local does; it is waited for below.
                sqs_port = self._claim(self.sqs_port, "SQS_PORT")
                self._own_sqs = SqsLocal(sqs_port, log_path=str(self.log_path("moto-sqs")))
                self._sqs = self._own_sqs.launch()
                assert self._own_sqs.process is not None
                self.supervisor.adopt("moto-sqs", self._own_sqs.process)
            if self._engine is None:
                engine_port = self._claim(self.dynamodb_port, "DYNAMODB_PORT")
                self._own_engine = DynamoDBLocal(
                    engine_port, self.data_dir, log_path=str(self.log_path("dynamodb-local"))
                )
                self._own_engine.start(timeout)
                self._engine = self._own_engine
                assert self._own_engine.process is not None
                self.supervisor.adopt("dynamodb-local", self._own_engine.process)
            if self._own_sqs is not None:
                self._own_sqs.wait_ready(timeout)
            if self._sqs is not None:
                self.queues = self._sqs.create_queues(self.stage)
            settings = self.settings()
            self.tables_created = create_all(self.dynamodb_client(settings), settings)
            if self.with_api:
                args = ["-m", "devstack.server", "--port", str(self.port), "--stage", self.stage]
                self.spawn("api", args)
            for worker in self.workers:
                self.spawn(worker.name, worker.args)
            if self.with_api:
                self._wait_for_api(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def spawn(
        self, name: str, args: Sequence[str], env: Mapping[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """Start ``python ARGS`` in the repo root with the stack's environment (+ ``env``),
        stopped with the stack."""
        return self.supervisor.spawn(
            name,
            [sys.executable, *args],
            env=self.child_env(env),
            cwd=str(ROOT),
            log_path=None if self.console else self.log_path(name),
        )

    def restart(
        self, name: str, sig: int = signal.SIGKILL, down_seconds: float = 0.0
    ) -> subprocess.Popen[bytes]:
        """Kill one of the stack's Python children (the API or a worker) with ``sig``, wait for
        it, leave it down ``down_seconds`` and start it again with the same arguments and
        environment (the chaos suite's process faults)."""
        args = self.supervisor.stop_one(name, sig)
        time.sleep(down_seconds)
        return self.spawn(name, args[1:])

    def first_exited(self) -> tuple[str, int] | None:
        """The first child that has exited, and its exit code (a running stack has none)."""
        return self.supervisor.first_exited()

    def stop(self) -> None:
        self.supervisor.stop_all()
        if self._own_engine is not None:
            self._own_engine.stop()
            self._own_engine = None
            self._engine = None
        if self._own_sqs is not None:
            self._own_sqs.stop()
            self._own_sqs = None
            self._sqs = None
        self.queues = None

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- helpers -----------------------------------------------------------------------------
    def _queues(self) -> QueueUrls:
        if self.queues is None:
            raise RuntimeError("the stack has no SQS (or is not started)")
        return self.queues

    @staticmethod
    def _claim(port: int | None, what: str) -> int:
        if port is None:
            return free_port()
        if port_open(port):
            raise PortInUse(what, port)
        return port

    def _wait_for_api(self, timeout: float) -> None:
        assert self.port is not None
        proc = self.process("api")
        deadline = time.monotonic() + timeout
        while not port_open(self.port):
            if proc.poll() is not None:
                raise RuntimeError(
                    f"the dev server exited with code {proc.returncode}{self._tail()}"
                )
            if time.monotonic() > deadline:
                raise TimeoutError(f"the dev server did not start in {timeout:.0f} s{self._tail()}")
            time.sleep(0.05)
        requests.get(self.api_url + "/v1/health", timeout=10).raise_for_status()

    def _tail(self) -> str:
        if self.console:
            return ""
        try:
            return ":\n" + self.log_path("api").read_text(errors="replace")[-4000:]
        except OSError:
            return ""
