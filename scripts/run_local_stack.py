#!/usr/bin/env python3
"""`make run`: the whole local stack in one command, stopped together by Ctrl-C.

Starts DynamoDB Local (in memory, or on disk with DATA_DIR=...), creates the tables, starts
moto's server for SQS with the webhook delivery queue and its dead-letter queue, serves the API
with chalice local (stage `local`) on http://127.0.0.1:$PORT (default 8000) plus the local
workers (devstack.stack.WORKERS), creates a dev API key and prints it. The stack itself is
devstack.stack.LocalStack; this script adds the fixed ports, `.run/stack.json` (how the repo's
scripts and workers find the running stack: endpoints and queue URLs) and `.run/dev-key.json`.
Environment:

    PORT            API port (default 8000)
    DYNAMODB_PORT   DynamoDB Local port (default 8001; 8000 is chalice local's)
    SQS_PORT        moto's server, SQS only (default 8002); its queues are in memory
    DATA_DIR        keep DynamoDB data in this directory instead of memory
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from types import FrameType

from devstack import state
from devstack.stack import ROOT, LocalStack, PortInUse

RUN_DIR = ROOT / ".run"


class Stop(Exception):
    pass


def _on_signal(signum: int, frame: FrameType | None) -> None:
    raise Stop()


def main() -> int:
    data_dir = os.environ.get("DATA_DIR") or None
    stack = LocalStack(
        RUN_DIR,
        port=int(os.environ.get("PORT", "8000")),
        dynamodb_port=int(os.environ.get("DYNAMODB_PORT", "8001")),
        sqs_port=int(os.environ.get("SQS_PORT", "8002")),
        data_dir=data_dir,
        console=True,
    )
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    wrote_state = False
    try:
        where = f"data in {data_dir}" if data_dir else "in memory"
        print(f"[run] starting DynamoDB Local ({where}), tables, SQS, API, workers", flush=True)
        stack.start()
        print(f"[run] tables ready ({len(stack.tables_created)} created)", flush=True)
        record, secret = stack.runtime().keys.create_key("dev", "default", admin=True)
        state.write(
            state.StackState(
                dynamodb_endpoint=stack.dynamodb_endpoint,
                api_url=stack.api_url,
                access_key=stack.access_key,
                supervisor_pid=os.getpid(),
                sqs_endpoint=stack.sqs_endpoint,
                webhook_queue_url=stack.webhook_queue_url,
                webhook_dlq_url=stack.webhook_dlq_url,
            )
        )
        wrote_state = True
        (RUN_DIR / "dev-key.json").write_text(
            json.dumps({"key_id": record.key_id, "tenant_id": record.tenant_id, "secret": secret})
        )
        workers = ", ".join(w.name for w in stack.workers) or "none"
        print(
            "\n"
            f"  Triggers API   {stack.api_url}/v1/health\n"
            f"  Dev API key    {secret}   (tenant default, admin; also in .run/dev-key.json)\n"
            f"  DynamoDB Local {stack.dynamodb_endpoint}\n"
            f"  SQS (moto)     {stack.sqs_endpoint}\n"
            f"  Webhook queue  {stack.webhook_queue_url}\n"
            f"                 (dead letters: {stack.webhook_dlq_url})\n"
            f"  Workers        {workers}\n"
            "  Ctrl-C stops everything.\n",
            flush=True,
        )
        while True:
            exited = stack.first_exited()
            if exited is not None:
                print(
                    f"[run] {exited[0]} exited with code {exited[1]}; stopping the stack",
                    file=sys.stderr,
                )
                return 1
            time.sleep(0.5)
    except PortInUse as exc:
        print(
            f"error: port {exc.port} ({exc.what}) is already in use; "
            f"set {exc.what}=... to pick another",
            file=sys.stderr,
        )
        return 2
    except Stop:
        print("\n[run] stopping", flush=True)
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.stop()
        if wrote_state:  # a refused start must not remove another stack's state file
            state.clear()


if __name__ == "__main__":
    sys.exit(main())
