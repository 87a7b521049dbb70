#!/usr/bin/env python3
"""`make run`: the whole local stack in one command, stopped together by Ctrl-C.

Starts DynamoDB Local (in memory, or on disk with DATA_DIR=...), creates the tables, creates a
dev API key and prints it, then serves the API with chalice local (stage `local`) on
http://127.0.0.1:$PORT (default 8000), plus the local workers. Environment:

    PORT            API port (default 8000)
    DYNAMODB_PORT   DynamoDB Local port (default 8001; 8000 is chalice local's)
    DATA_DIR        keep DynamoDB data in this directory instead of memory
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chalicelib.runtime import Runtime  # noqa: E402
from chalicelib.settings import load_settings  # noqa: E402
from chalicelib.stores.schema import create_all  # noqa: E402
from devstack import state  # noqa: E402
from devstack.dynamodb_local import DynamoDBLocal  # noqa: E402
from devstack.ports import port_open, wait_for_port  # noqa: E402
from devstack.stage_env import stage_environment  # noqa: E402
from devstack.supervisor import Supervisor  # noqa: E402

STAGE = "local"


class Stop(Exception):
    pass


def _on_signal(signum: int, frame: FrameType | None) -> None:
    raise Stop()


def worker_commands() -> list[tuple[str, list[str]]]:
    """The local stand-ins for Lambda's event-source mappings (see devstack/workers)."""
    commands = []
    worker = ROOT / "devstack" / "stream_worker.py"
    if worker.exists():
        commands.append(("stream-worker", [sys.executable, "-m", "devstack.stream_worker"]))
    return commands


def main() -> int:
    api_port = int(os.environ.get("PORT", "8000"))
    ddb_port = int(os.environ.get("DYNAMODB_PORT", "8001"))
    data_dir = os.environ.get("DATA_DIR") or None
    for name, port in (("PORT", api_port), ("DYNAMODB_PORT", ddb_port)):
        if port_open(port):
            print(
                f"error: port {port} ({name}) is already in use; set {name}=... to pick another",
                file=sys.stderr,
            )
            return 2
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    run_dir = ROOT / ".run"
    run_dir.mkdir(exist_ok=True)
    supervisor = Supervisor()
    ddb = DynamoDBLocal(ddb_port, data_dir, log_path=str(run_dir / "dynamodb-local.log"))
    try:
        where = f"data in {data_dir}" if data_dir else "in memory"
        print(f"[run] DynamoDB Local on {ddb.endpoint} ({where})", flush=True)
        ddb.start()
        assert ddb.process is not None
        supervisor.adopt("dynamodb-local", ddb.process)
        stack = state.StackState(
            dynamodb_endpoint=ddb.endpoint,
            api_url=f"http://127.0.0.1:{api_port}",
            supervisor_pid=os.getpid(),
        )
        env = {**os.environ, **stack.aws_environment(), "PYTHONUNBUFFERED": "1"}
        os.environ.update(stack.aws_environment())
        settings = load_settings({**env, **stage_environment(STAGE)})
        runtime = Runtime.build(settings)
        created = create_all(runtime.dynamodb, settings)
        print(f"[run] tables ready ({len(created)} created)", flush=True)
        record, secret = runtime.keys.create_key("dev", "default", admin=True)
        state.write(stack)
        (run_dir / "dev-key.json").write_text(
            json.dumps({"key_id": record.key_id, "tenant_id": record.tenant_id, "secret": secret})
        )
        supervisor.spawn(
            "api",
            [sys.executable, "-m", "devstack.server", "--port", str(api_port), "--stage", STAGE],
            env=env,
            cwd=str(ROOT),
        )
        for name, cmd in worker_commands():
            supervisor.spawn(name, cmd, env=env, cwd=str(ROOT))
        wait_for_port(api_port, 60)
        print(
            "\n"
            f"  Triggers API   http://127.0.0.1:{api_port}/v1/health\n"
            f"  Dev API key    {secret}   (tenant default, admin; also in .run/dev-key.json)\n"
            f"  DynamoDB Local {ddb.endpoint}\n"
            "  Ctrl-C stops everything.\n",
            flush=True,
        )
        while True:
            exited = supervisor.first_exited()
            if exited is not None:
                print(
                    f"[run] {exited[0]} exited with code {exited[1]}; stopping the stack",
                    file=sys.stderr,
                )
                return 1
            time.sleep(0.5)
    except Stop:
        print("\n[run] stopping", flush=True)
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        supervisor.stop_all()
        ddb.stop()
        state.clear()


if __name__ == "__main__":
    sys.exit(main())
