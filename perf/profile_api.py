"""Where a request's time goes: the app in-process, profiled with pyinstrument.

    python -m perf.profile_api [REQUESTS_PER_KIND]      # writes perf/results/profile-*.txt/.html

Starts a fresh DynamoDB Local with the tables (``devstack.stack.LocalStack``, no API), builds the
app exactly as the dev server does (chalice's LocalGateway: the same Lambda-event conversion,
routing and middleware) and sends creates, lookups, inbox polls, acks and bulk creates of 25
through it on one thread, so the profile shows the API's own CPU and its DynamoDB round trips
without the HTTP server or the load generator in the way.

``PROFILE_KINDS=create,bulk`` (a comma list of create, inbox, lookup, ack, bulk) profiles only
those kinds (lookups and acks need creates); the bulk kind sends REQUESTS_PER_KIND / 5 requests.
``PROFILE_CPU=1`` samples on the thread's CPU time instead of wall time (where the process's
CPU goes, without the waits on DynamoDB Local).
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from chalice.config import Config
from chalice.local import LocalGateway
from pyinstrument import Profiler
from pyinstrument.stack_sampler import get_stack_sampler

from chalicelib.api.application import create_app
from chalicelib.runtime import Runtime
from chalicelib.settings import load_settings
from devstack.stack import LocalStack
from devstack.stage_env import stage_environment

ROOT = Path(__file__).resolve().parent.parent
KINDS = ("create", "inbox", "lookup", "ack", "bulk")
BULK_SIZE = 25


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    count = int(args[0]) if args else 300
    out = ROOT / "perf" / "results"
    out.mkdir(parents=True, exist_ok=True)
    with LocalStack(out / "profile-logs", api=False, workers=(), access_key="profile") as stack:
        os.environ.update(stack.env())
        os.environ.update(stage_environment("local"))
        os.environ["LOG_LEVEL"] = os.environ.get("PROFILE_LOG_LEVEL", "INFO")
        runtime = Runtime.build(load_settings())
        _, secret = runtime.keys.create_key("profile", "profile", rate_limit_per_minute=10**6)
        gateway = LocalGateway(create_app(runtime), Config(chalice_stage="local"))
        headers = {"x-api-key": secret, "content-type": "application/json", "host": "local"}

        def call(method: str, path: str, body: object = None) -> dict[str, object]:
            raw = json.dumps(body).encode() if body is not None else b""
            resp = gateway.handle_request(method, path, dict(headers), raw)
            return json.loads(resp["body"]) if resp["body"] else {}

        body = {"source": "billing", "event_type": "invoice.paid", "payload": {"n": 1}}
        call("POST", "/v1/events", body)  # warm up: clients, caches
        bulk_body = {"items": [{**body, "payload": {"n": n}} for n in range(BULK_SIZE)]}
        call("POST", "/v1/events/bulk", bulk_body)
        kinds = set(os.environ.get("PROFILE_KINDS", ",".join(KINDS)).split(","))
        timings: dict[str, float] = {}
        event_ids: list[str] = []
        profiler = Profiler(interval=0.0005)
        if os.environ.get("PROFILE_CPU"):
            # Sample on this thread's CPU time, not wall time: what the process spends, without
            # the waits on DynamoDB Local (pyinstrument's timer hook).
            get_stack_sampler().timer_func = time.thread_time
        profiler.start()

        def timed(kind: str, calls: list[Callable[[], dict[str, object]]]) -> None:
            started = time.perf_counter()
            for fn in calls:
                answer = fn()
                if kind == "create":
                    event_ids.append(str(answer["event_id"]))
            timings[kind] = (time.perf_counter() - started) / max(1, len(calls)) * 1000

        if kinds & {"create", "lookup", "ack"}:
            timed(
                "create",
                [
                    functools.partial(call, "POST", "/v1/events", {**body, "payload": {"n": n}})
                    for n in range(count)
                ],
            )
        if "inbox" in kinds:
            timed("inbox", [functools.partial(call, "GET", "/v1/inbox?limit=50")] * count)
        if "lookup" in kinds:
            timed("lookup", [functools.partial(call, "GET", f"/v1/events/{e}") for e in event_ids])
        if "ack" in kinds:
            timed(
                "ack", [functools.partial(call, "POST", f"/v1/events/{e}/ack") for e in event_ids]
            )
        if "bulk" in kinds:
            bulk = functools.partial(call, "POST", "/v1/events/bulk", bulk_body)
            timed("bulk", [bulk] * max(1, count // 5))
        profiler.stop()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (out / f"profile-{stamp}.txt").write_text(profiler.output_text(unicode=False, color=False))
    (out / f"profile-{stamp}.html").write_text(profiler.output_html())
    if profiler.last_session is not None:  # re-render: pyinstrument --load FILE [-r text ...]
        profiler.last_session.save(str(out / f"profile-{stamp}.pyisession"))
    print(json.dumps({k: round(v, 2) for k, v in timings.items()}) + "  (ms per request)")
    print(f"profile: {out / f'profile-{stamp}.txt'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
