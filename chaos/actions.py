"""Actions (Chaos Toolkit python provider, ``"module": "chaos.actions"``): start and finish the
load, put faults on and take them off, kill processes. Every fault action records its window
in the ledger, so the report can say what happened while it was on.
"""

from __future__ import annotations

import math
import random
import signal
import threading
import time
from typing import Any

from chaos.harness import current
from chaos.ledger import NO_ANSWER
from chaos.load import LoadShape
from chaos.localstack import set_error_probability
from chaos.stack import DYNAMODB_PROXY, localstack_endpoint

# Chaos Toolkit's python provider passes the JSON arguments by name.
LOCALSTACK_ERROR = "ProvisionedThroughputExceededException"  # the only one LocalStack injects
# A canary through a toxic that bites some connections only (toxicity < 1) must not come back
# clean by chance: with 10 samples at toxicity 0.3, 0.7**10 = 2.8 % of runs saw no failure and
# failed CI for a fault that was on. Enough samples that the chance is at most this.
CANARY_MISS_CHANCE = 1e-6
CANARY_MIN_SAMPLES = 10


def canary_samples(toxicity: float, miss_chance: float = CANARY_MISS_CHANCE) -> int:
    """Unretried calls (each on a new connection) for at least one to meet a toxic Toxiproxy
    applies to ``toxicity`` of the connections, but for a ``miss_chance`` of runs."""
    if not 0.0 < toxicity <= 1.0:
        raise ValueError(f"toxicity must be in (0, 1], not {toxicity}")
    if toxicity == 1.0:
        return CANARY_MIN_SAMPLES
    return max(CANARY_MIN_SAMPLES, math.ceil(math.log(miss_chance) / math.log(1.0 - toxicity)))


def start_load(
    events_per_second: float = 15.0,
    max_events: int = 2_000,
    max_seconds: float = 120.0,
    producers: int = 3,
) -> dict[str, Any]:
    """Producers and an inbox consumer in the background (see chaos/load.py)."""
    shape = LoadShape(
        producers=producers,
        events_per_second=events_per_second,
        max_events=max_events,
        max_seconds=max_seconds,
    )
    current().start_load(shape)
    return {"producers": producers, "events_per_second": events_per_second}


def finish_load(settle_seconds: float = 60.0) -> dict[str, Any]:
    """Stop the load, then retry every key that never got a 2xx (the fault is gone by now)."""
    harness = current()
    harness.finish_load(settle_seconds)
    load = harness.load
    return {
        "issued": load.issued if load else 0,
        "created": len(harness.ledger.accepted),
        "unconfirmed": len(harness.ledger.unconfirmed),
    }


def add_toxic(
    toxic_type: str,
    attributes: dict[str, Any] | None = None,
    proxy: str = DYNAMODB_PROXY,
    stream: str = "downstream",
    toxicity: float = 1.0,
    description: str = "",
    canary: bool = False,
) -> dict[str, Any]:
    """A Toxiproxy toxic on ``proxy`` (``dynamodb`` or ``webhook``); with ``canary``, then
    unretried DynamoDB calls through it (``canary_samples(toxicity)`` of them), as evidence that
    it bites (see Harness.canary)."""
    harness = current()
    name = harness.stack.toxiproxy.add_toxic(
        proxy, toxic_type, attributes, stream=stream, toxicity=toxicity
    )
    if name not in harness.stack.toxiproxy.toxics(proxy):
        raise RuntimeError(f"Toxiproxy did not keep the toxic {name} on {proxy}")
    harness.fault_on(description or f"{proxy}: {toxic_type} {attributes or {}}")
    return {
        "toxic": name,
        **({"canary": harness.canary(canary_samples(toxicity))} if canary else {}),
    }


def disable_proxy(proxy: str = DYNAMODB_PROXY, description: str = "") -> None:
    """The upstream is down: the proxy drops its connections and stops listening."""
    harness = current()
    harness.stack.toxiproxy.set_enabled(proxy, False)
    harness.storage_down = proxy == DYNAMODB_PROXY
    harness.fault_on(description or f"{proxy}: down")


def inject_dynamodb_errors(
    error: str = "ProvisionedThroughputExceededException",
    probability: float = 0.5,
    operations: list[str] | None = None,
    description: str = "",
) -> dict[str, Any]:
    """DynamoDB answers ``error`` to a share of requests: through LocalStack's error
    probability on the ``localstack`` backend (which can only throttle: HTTP 400
    ProvisionedThroughputExceededException on item reads and writes), else through the
    product's fault-injection hook (``CHAOS_FAULTS_FILE``, which only the ``local`` stage
    accepts, on either backend)."""
    harness = current()
    if harness.stack.backend == "localstack" and error == LOCALSTACK_ERROR:
        set_error_probability(localstack_endpoint(), probability, probability)
        how = "LocalStack's error probability"
    else:
        plan: dict[str, Any] = {"error": error, "probability": probability}
        if operations:
            plan["operations"] = operations
        harness.stack.write_faults({"dynamodb": plan})
        how = "botocore hook (local stage)"
    harness.fault_on(description or f"dynamodb: {error} p={probability} via {how}")
    return {"error": error, "probability": probability, "via": how}


def remove_faults() -> dict[str, Any]:
    """Every toxic off, every proxy up, no injected errors; then wait for health to say 200
    and report how long that took."""
    harness = current()
    if harness.stack.backend == "localstack":
        set_error_probability(localstack_endpoint(), 0.0, 0.0)
    harness.faults_off()
    return {"health_recovery_seconds": harness.health_recovery}


def kill_process(
    process: str, wait_for_events: int = 0, down_seconds: float = 0.0
) -> dict[str, Any]:
    """SIGKILL one of the stack's processes (``stream-worker``, ``fanout-worker``,
    ``delivery-worker``, ``api``) once ``wait_for_events`` events exist (the load keeps it busy:
    it dies with work in hand), keep it down ``down_seconds``, and start it again."""
    harness = current()
    deadline = time.monotonic() + 60
    while len(harness.ledger.accepted) < wait_for_events and time.monotonic() < deadline:
        time.sleep(0.05)
    stack = harness.stack.stack
    old = stack.process(process).pid
    harness.fault_on(f"{process}: SIGKILL, {down_seconds:g} s down, restarted")
    new = stack.restart(process, signal.SIGKILL, down_seconds).pid
    harness.faults_off()  # closes the window and measures recovery like any other fault
    return {"killed_pid": old, "new_pid": new}


def create_webhook() -> dict[str, str]:
    """A webhook for every event, pointed at the receiver behind the ``webhook`` proxy."""
    webhook = current().create_webhook()
    return {"webhook_id": webhook.webhook_id, "url": webhook.url}


def heavy_requests(seconds: float = 40.0, concurrency: int = 4) -> dict[str, Any]:
    """Calls that make many storage calls each (bulk creates of 25, filtered inbox pages,
    replays), from ``concurrency`` clients for ``seconds``: with storage slowed, each must still
    answer (2xx, or 503 with Retry-After) before the function timeout."""
    harness = current()
    stop = time.monotonic() + seconds
    counts: dict[str, int] = {}
    lock = threading.Lock()

    def run(worker: int) -> None:
        client = harness.client()
        rng = random.Random(worker)
        n = 0
        try:
            while time.monotonic() < stop:
                n += 1
                choice = rng.randrange(3)
                if choice == 0:
                    items = [
                        {
                            "source": "chaos.bulk",
                            "event_type": "thing.created",
                            "payload": {"n": i},
                            "idempotency_key": f"heavy-{worker}-{n}-{i}",
                        }
                        for i in range(25)
                    ]
                    outcome, _ = client.call(
                        "create", "POST", "/v1/events/bulk", json={"items": items}
                    )
                elif choice == 1:
                    outcome, _ = client.call(
                        "inbox", "GET", "/v1/inbox?limit=100&source=chaos.bulk&priority=normal"
                    )
                else:
                    outcome, _ = client.call("inbox", "GET", "/v1/inbox?limit=100")
                with lock:
                    key = "no answer" if outcome.status == NO_ANSWER else str(outcome.status)
                    counts[key] = counts.get(key, 0) + 1
        finally:
            client.close()

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return counts
