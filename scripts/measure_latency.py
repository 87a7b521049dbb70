#!/usr/bin/env python3
"""Latency probe against a running `make run` stack, next to the raw engine in the same run.

    make run                                   # in another terminal (PORT=... DYNAMODB_PORT=...)
    .venv/bin/python scripts/measure_latency.py [-n 1000]

Reads the stack from .run/stack.json, creates a probe key in its own tenant (with a rate limit
high enough not to throttle the probe: the dev key's default 1,000/min would answer 429 part-way),
then measures, one after the other and each over one kept-alive connection:

* ``POST /v1/events``  n sequential creates;
* ``GET /v1/events/{id}``  n sequential reads of the events just created;
* raw boto3 ``PutItem`` / ``GetItem``  n each against the same DynamoDB Local, on a scratch table
  with the events table's definition (same GSIs and stream) that it creates and deletes.

It prints p50/p95/p99, mean and throughput of each. DynamoDB Local, not the API, is the local
ceiling (docs/ARCHITECTURE.md): compare the API's figures with the raw ones of the same run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3

from chalicelib.runtime import Runtime
from chalicelib.settings import load_settings
from chalicelib.stores.aws import dynamodb_client
from chalicelib.stores.schema import create_table
from chalicelib.stores.tables import events_table
from devstack import state
from devstack.stage_env import stage_environment
from perf.paired import ApiConnection

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

ROOT = Path(__file__).resolve().parent.parent

PROBE_TENANT = "latency-probe"
PROBE_RATE_LIMIT = 1_000_000
EVENT = {
    "source": "latency-probe",
    "event_type": "probe.tick",
    "payload": {"order_id": "ord_0000", "amount": 4200, "currency": "EUR", "items": [1, 2, 3]},
    "metadata": {"priority": "normal"},
}


@dataclass(frozen=True)
class Figures:
    name: str
    samples_ms: list[float]
    wall_seconds: float

    def percentile(self, p: float) -> float:
        ordered = sorted(self.samples_ms)
        k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
        return ordered[k]

    def row(self) -> str:
        return (
            f"{self.name:<24} {len(self.samples_ms):>6} {self.percentile(50):>8.2f} "
            f"{self.percentile(95):>8.2f} {self.percentile(99):>8.2f} "
            f"{statistics.fmean(self.samples_ms):>8.2f} "
            f"{len(self.samples_ms) / self.wall_seconds:>9.0f}"
        )


def timed(name: str, n: int, call: Callable[[int], None]) -> Figures:
    samples = []
    started = time.perf_counter()
    for i in range(n):
        t0 = time.perf_counter()
        call(i)
        samples.append((time.perf_counter() - t0) * 1000)
    return Figures(name, samples, time.perf_counter() - started)


def measure_api(base_url: str, secret: str, n: int) -> list[Figures]:
    api = ApiConnection(base_url, secret)
    ids: list[str] = []
    body = json.dumps(EVENT).encode()

    def post(_: int) -> None:
        ids.append(api.call("POST", "/v1/events", body, 201)["event_id"])

    def get(i: int) -> None:
        api.call("GET", f"/v1/events/{ids[i]}", None, 200)

    figures = [timed("API POST /v1/events", n, post), timed("API GET /v1/events/{id}", n, get)]
    api.close()
    return figures


def measure_raw(client: DynamoDBClient, table: str, n: int) -> list[Figures]:
    payload = json.dumps(EVENT["payload"], separators=(",", ":"))

    def key(i: int) -> dict[str, Any]:
        return {"pk": {"S": f"probe#{i:08d}"}}

    def put(i: int) -> None:
        item = {
            **key(i),
            "tenant_id": {"S": "probe"},
            "source": {"S": "latency-probe"},
            "event_type": {"S": "probe.tick"},
            "payload": {"S": payload},
            "status": {"S": "pending"},
            "inbox_pk": {"S": f"probe#{i % 4}"},
            "inbox_sk": {"S": f"{time.time():.3f}#{i:08d}"},
        }
        client.put_item(TableName=table, Item=item, ConditionExpression="attribute_not_exists(pk)")

    def get(i: int) -> None:
        if "Item" not in client.get_item(TableName=table, Key=key(i), ConsistentRead=True):
            raise SystemExit(f"raw GetItem {i}: item missing")

    return [timed("raw boto3 PutItem", n, put), timed("raw boto3 GetItem", n, get)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=1000, help="requests per measurement")
    args = parser.parse_args(argv)
    stack = state.read()
    if stack is None:
        print("error: no local stack is running; start it with `make run`", file=sys.stderr)
        return 2
    settings = load_settings({**stage_environment("local"), "STAGE": "local"})
    env = stack.aws_environment()
    session = boto3.Session(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_REGION"],
    )
    client = dynamodb_client(settings, session=session, endpoint_url=stack.dynamodb_endpoint)
    _, secret = Runtime.build(settings, dynamodb=client).keys.create_key(
        "latency-probe", PROBE_TENANT, rate_limit_per_minute=PROBE_RATE_LIMIT
    )
    scratch = events_table(settings)
    scratch["TableName"] = f"latency-probe-{uuid.uuid4().hex[:8]}"
    scratch.pop("ttl_attribute", None)

    print(f"API {stack.api_url}, DynamoDB Local {stack.dynamodb_endpoint}, n={args.n}", flush=True)
    figures = measure_api(stack.api_url, secret, args.n)
    create_table(client, scratch)
    try:
        figures += measure_raw(client, scratch["TableName"], args.n)
    finally:
        client.delete_table(TableName=scratch["TableName"])
    print(
        f"\n{'':<24} {'n':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'req/s':>9}"
    )
    for f in figures:
        print(f.row())
    return 0


if __name__ == "__main__":
    sys.exit(main())
