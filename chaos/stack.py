"""The stack an experiment runs against: the local stack of `make run` with Toxiproxy on its
network path.

::

    load ──► API (chalice local) ──┐
             stream / fan-out /    ├──► Toxiproxy "dynamodb" ──► DynamoDB Local (or LocalStack)
             delivery workers ─────┘
             delivery worker ─────────► Toxiproxy "webhook"  ──► webhook receiver

The API and the workers get the proxy's address as their DynamoDB (and DynamoDB Streams)
endpoint, so every fault goes through botocore's real connection, timeout and retry code. The
tables are created, the experiment's key is issued and the data is checked on the engine
directly, never through the proxy: the checks see what was stored, whatever the fault.

Backends (``CHAOS_BACKEND``):

* ``local`` (default): DynamoDB Local. Throttling and DynamoDB 5xx come from the product's
  fault-injection hook, which only the ``local`` stage accepts (``CHAOS_FAULTS_FILE``: the
  suite writes the file, the API and workers read it at run time).
* ``localstack``: a LocalStack at ``LOCALSTACK_ENDPOINT`` (default http://127.0.0.1:4566), its
  DynamoDB behind the same proxy; throttling through its own error-probability settings (5xx,
  which LocalStack cannot inject, still through the hook).
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import boto3
import requests
from botocore.config import Config

from chalicelib.settings import Settings
from chaos import localstack
from chaos.toxiproxy_server import ToxiproxyServer
from devstack.dynamodb_local import DynamoDBLocal
from devstack.ports import free_port
from devstack.stack import LocalStack
from devstack.webhook_receiver import WebhookReceiver

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ("local", "localstack")
DYNAMODB_PROXY = "dynamodb"
WEBHOOK_PROXY = "webhook"
# The experiment's key: generous enough that the load never meets the rate limit by itself.
RATE_LIMIT_PER_MINUTE = 60_000


@dataclass(frozen=True)
class RemoteEngine:
    """An engine the suite did not start (LocalStack)."""

    endpoint: str


def backend() -> str:
    name = os.environ.get("CHAOS_BACKEND", "local") or "local"
    if name not in BACKENDS:
        raise SystemExit(f"CHAOS_BACKEND must be one of {', '.join(BACKENDS)} (got {name!r})")
    return name


def localstack_endpoint() -> str:
    return os.environ.get("LOCALSTACK_ENDPOINT", "http://127.0.0.1:4566").rstrip("/")


def localstack_reachable(endpoint: str) -> bool:
    try:
        services = localstack.health(endpoint).get("services", {})
    except requests.RequestException:
        return False
    return services.get("dynamodb") in ("available", "running")


class ChaosStack:
    """Start with :meth:`start`, stop with :meth:`stop`; one per experiment."""

    def __init__(self, work_dir: Path) -> None:
        self.work_dir = work_dir
        self.backend = backend()
        self.toxiproxy = ToxiproxyServer(work_dir / "toxiproxy.log")
        self.engine: DynamoDBLocal | None = None
        self.local: LocalStack | None = None
        self.receiver: WebhookReceiver | None = None
        self.faults_file = work_dir / "faults.json"
        self.api_key = ""
        self.proxied_endpoint = ""
        self.tenant_id = f"chaos-{secrets.token_hex(4)}"

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self, timeout: float = 90.0) -> ChaosStack:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.faults_file.write_text("{}")
        try:
            self.toxiproxy.start()
            if self.backend == "localstack":
                endpoint = localstack_endpoint()
                if not localstack_reachable(endpoint):
                    raise SystemExit(
                        f"CHAOS_BACKEND=localstack but no LocalStack with DynamoDB answers at "
                        f"{endpoint}/_localstack/health (set LOCALSTACK_ENDPOINT)"
                    )
                engine_address = urlsplit(endpoint).netloc
                engine: Any = RemoteEngine(endpoint)
            else:
                self.engine = DynamoDBLocal(
                    free_port(), log_path=str(self.work_dir / "dynamodb-local.log")
                ).start(timeout)
                engine_address = f"127.0.0.1:{self.engine.port}"
                engine = self.engine
            proxy_port = self.toxiproxy.proxy(DYNAMODB_PROXY, engine_address)
            self.proxied_endpoint = f"http://127.0.0.1:{proxy_port}"
            environment = {
                "AWS_ENDPOINT_URL_DYNAMODB": self.proxied_endpoint,
                "AWS_ENDPOINT_URL_DYNAMODB_STREAMS": self.proxied_endpoint,
                "CHAOS_FAULTS_FILE": str(self.faults_file),
            }
            self.local = LocalStack(
                self.work_dir,
                engine=engine,
                access_key=f"chaos{secrets.token_hex(6)}",
                environment=environment,
            )
            self.local.start(timeout)
            runtime = self.local.runtime(self.direct_settings())
            _, self.api_key = runtime.keys.create_key(
                "chaos",
                self.tenant_id,
                admin=True,
                rate_limit_per_minute=RATE_LIMIT_PER_MINUTE,
            )
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.receiver is not None:
            self.receiver.stop()
            self.receiver = None
        if self.local is not None:
            self.local.stop()
            self.local = None
        if self.engine is not None:
            self.engine.stop()
            self.engine = None
        self.toxiproxy.stop()

    # -- what probes and actions use ---------------------------------------------------------
    @property
    def stack(self) -> LocalStack:
        if self.local is None:
            raise RuntimeError("the chaos stack is not started")
        return self.local

    @property
    def api_url(self) -> str:
        return self.stack.api_url

    def direct_settings(self) -> Settings:
        """The app's settings aimed at the engine itself (not through the proxy), with the most
        attempts settings allow: LocalStack throttles the checks' own reads too."""
        return self.stack.settings(
            {
                "AWS_ENDPOINT_URL_DYNAMODB": self.stack.dynamodb_endpoint,
                "AWS_ENDPOINT_URL_DYNAMODB_STREAMS": self.stack.dynamodb_endpoint,
                "CHAOS_FAULTS_FILE": "",
                "AWS_TOTAL_MAX_ATTEMPTS": "10",
            }
        )

    def direct_client(self) -> DynamoDBClient:
        return self.stack.dynamodb_client(self.direct_settings())

    def canary_client(self) -> DynamoDBClient:
        """A plain boto3 DynamoDB client through the proxy: one attempt, the app's timeouts."""
        settings = self.direct_settings()
        session = boto3.Session(
            aws_access_key_id=self.stack.access_key,
            aws_secret_access_key="local",  # the local engines ignore it
            region_name=settings.region,
        )
        config = Config(
            connect_timeout=settings.aws_connect_timeout,
            read_timeout=settings.aws_read_timeout,
            retries={"total_max_attempts": 1, "mode": "standard"},
        )
        return session.client("dynamodb", endpoint_url=self.proxied_endpoint, config=config)

    def write_faults(self, plan: dict[str, Any]) -> None:
        """Switch the product's fault-injection hook (local backend): the API and the workers
        re-read this file at run time. Written atomically (a reader never sees half a file)."""
        tmp = self.faults_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(plan))
        os.replace(tmp, self.faults_file)

    def start_receiver(self) -> str:
        """A webhook receiver behind the "webhook" proxy; returns the URL to register."""
        if self.receiver is None:
            self.receiver = WebhookReceiver().start()
            port = self.toxiproxy.proxy(WEBHOOK_PROXY, f"127.0.0.1:{self.receiver.port}")
            self._receiver_url = f"http://127.0.0.1:{port}/hooks"
        return self._receiver_url
