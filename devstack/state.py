"""Where a running local stack can be found: `.run/stack.json`, written by `make run`.

Scripts such as ``seed_api_keys.py`` (and the local workers run by hand) read it so that, run
from the repo root while `make run` is up, they talk to the same local database and webhook
queues with no extra environment.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATE_FILE = ROOT / ".run" / "stack.json"
LOCAL_ACCESS_KEY = "local"
LOCAL_REGION = "us-east-1"


@dataclass(frozen=True)
class StackState:
    dynamodb_endpoint: str
    api_url: str
    stage: str = "local"
    access_key: str = LOCAL_ACCESS_KEY
    region: str = LOCAL_REGION
    supervisor_pid: int = 0
    # moto's server (SQS only) and the webhook queues on it; empty in a stack without SQS.
    sqs_endpoint: str = ""
    webhook_queue_url: str = ""
    webhook_dlq_url: str = ""

    def aws_environment(self) -> dict[str, str]:
        """What a process needs to reach this stack's DynamoDB and queues with boto3."""
        return {
            **aws_environment(self.dynamodb_endpoint, self.access_key, self.region),
            **sqs_environment(self.sqs_endpoint, self.webhook_queue_url, self.webhook_dlq_url),
        }


def aws_environment(
    endpoint: str, access_key: str = LOCAL_ACCESS_KEY, region: str = LOCAL_REGION
) -> dict[str, str]:
    """The one local-AWS environment: boto3 in any process with these variables talks to the
    DynamoDB Local at ``endpoint`` (streams included), in the database of ``access_key``
    (DynamoDB Local keeps one per access key + region)."""
    return {
        "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
        "AWS_ENDPOINT_URL_DYNAMODB_STREAMS": endpoint,
        "AWS_ACCESS_KEY_ID": access_key,
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
    }


def sqs_environment(endpoint: str, queue_url: str, dlq_url: str) -> dict[str, str]:
    """boto3's SQS endpoint and the app's webhook queue settings (nothing without an
    endpoint)."""
    if not endpoint:
        return {}
    return {
        "AWS_ENDPOINT_URL_SQS": endpoint,
        "WEBHOOK_QUEUE_URL": queue_url,
        "WEBHOOK_DLQ_URL": dlq_url,
    }


def write(state: StackState) -> None:
    STATE_FILE.parent.mkdir(parents=True, exist_ok=True)
    tmp = STATE_FILE.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(state), indent=2))
    tmp.replace(STATE_FILE)


def read() -> StackState | None:
    try:
        data = json.loads(STATE_FILE.read_text())
        state = StackState(**data)
    except (OSError, ValueError, TypeError):
        return None
    if state.supervisor_pid and not _alive(state.supervisor_pid):
        return None
    return state


def clear() -> None:
    with contextlib.suppress(FileNotFoundError):
        STATE_FILE.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def apply_to_environment(stage: str) -> StackState | None:
    """For the local stage with no endpoint configured, point boto3 (DynamoDB, SQS) and the
    webhook queue settings at the running stack."""
    if stage != "local" or os.environ.get("AWS_ENDPOINT_URL_DYNAMODB"):
        return None
    state = read()
    if state is not None:
        os.environ.update(state.aws_environment())
    return state
