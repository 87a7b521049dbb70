"""A private local stack for load tests: fresh in-memory DynamoDB Local + tables + the dev server
(+ the local workers `make run` starts), on free loopback ports, stopped together.

It is `make run` without the shared state file: `make run` writes and, on exit, deletes
``.run/stack.json``, which other scripts (and other people's `make run`) rely on, so a load test
keeps its own. A fresh database every run matters: DynamoDB Local slows down on tables with a
stream as stream records pile up (docs/PERFORMANCE.md).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import requests

from chalicelib.runtime import Runtime
from chalicelib.settings import Settings, load_settings
from chalicelib.stores.schema import create_all
from devstack.dynamodb_local import DynamoDBLocal
from devstack.ports import free_port, wait_for_port
from devstack.stage_env import stage_environment
from devstack.state import LOCAL_REGION
from devstack.supervisor import Supervisor

ROOT = Path(__file__).resolve().parent.parent
STAGE = "local"


def worker_commands() -> list[tuple[str, list[str]]]:
    """The same local workers `make run` starts (read from scripts/run_local_stack.py)."""
    path = ROOT / "scripts" / "run_local_stack.py"
    spec = importlib.util.spec_from_file_location("run_local_stack", path)
    if spec is None or spec.loader is None:
        return []
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return list(module.worker_commands())


def aws_environment(endpoint: str, access_key: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
        "AWS_ENDPOINT_URL_DYNAMODB_STREAMS": endpoint,
        "AWS_ACCESS_KEY_ID": access_key,
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": LOCAL_REGION,
        "AWS_REGION": LOCAL_REGION,
    }


@dataclass
class PerfStack:
    log_dir: Path
    with_workers: bool = True
    api_url: str = ""
    dynamodb_endpoint: str = ""
    access_key: str = field(default_factory=lambda: "perf" + uuid.uuid4().hex[:12])
    engine: DynamoDBLocal | None = None
    supervisor: Supervisor = field(default_factory=Supervisor)

    def env(self) -> dict[str, str]:
        return aws_environment(self.dynamodb_endpoint, self.access_key)

    def settings(self) -> Settings:
        return load_settings({**os.environ, **stage_environment(STAGE), **self.env()})

    def start(self) -> PerfStack:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.engine = DynamoDBLocal(free_port(), log_path=str(self.log_dir / "dynamodb.log"))
        self.engine.start()
        self.dynamodb_endpoint = self.engine.endpoint
        try:
            settings = self.settings()
            saved = {k: os.environ.get(k) for k in self.env()}
            os.environ.update(self.env())
            try:
                create_all(Runtime.build(settings).dynamodb, settings)
            finally:
                for k, v in saved.items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v
            port = free_port()
            env = {**os.environ, **self.env(), "PYTHONUNBUFFERED": "1"}
            commands = [("api", [sys.executable, "-m", "devstack.server", "--port", str(port)])]
            if self.with_workers:
                commands += worker_commands()
            for name, cmd in commands:
                with open(self.log_dir / f"{name}.log", "ab") as log:
                    proc = subprocess.Popen(
                        cmd,
                        env=env,
                        cwd=str(ROOT),
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                self.supervisor.adopt(name, proc)
            wait_for_port(port, 60)
            self.api_url = f"http://127.0.0.1:{port}"
            requests.get(self.api_url + "/v1/health", timeout=10).raise_for_status()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        self.supervisor.stop_all()
        if self.engine is not None:
            self.engine.stop()
            self.engine = None

    def __enter__(self) -> PerfStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
