"""Per-call overhead of the SDK over raw HTTP: N x `events.get` through `Triggers` vs the same
GET with a plain `httpx.Client` (both keep one connection alive), interleaved in rounds so
drift in the server's speed hits both alike. Prints each median and the difference.

    .venv/bin/python scripts/sdk_stack.py --env -- .venv/bin/python sdks/python/bench/bench_get.py

Reads TRIGGERS_API_URL and TRIGGERS_ADMIN_KEY (or TRIGGERS_API_KEY). Not run by the tests.
With --mock, both clients talk to the same in-process httpx.MockTransport instead (no server,
no network): what is left is the SDK's own CPU time per call.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import httpx

from triggers import Triggers


def _mock_api() -> Callable[[httpx.Request], httpx.Response]:
    event = {
        "event_id": "evt_01JD8ZK3ABCDEFGHJKMNPQRSTV",
        "source": "sdk-bench",
        "event_type": "bench",
        "payload": {"n": 1},
        "metadata": {"priority": "normal"},
        "status": "pending",
        "created_at": "2026-12-01T00:00:00.000Z",
        "acknowledged_at": None,
        "idempotency_key": "k",
    }

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(201 if request.method == "POST" else 200, json=event)

    return answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--mock", action="store_true", help="in-process transport, no server")
    args = parser.parse_args()
    transport: httpx.BaseTransport | None = None
    if args.mock:
        url, key, transport = "http://mock", "tk_mock", httpx.MockTransport(_mock_api())
    else:
        url = os.environ["TRIGGERS_API_URL"]
        key = os.environ.get("TRIGGERS_ADMIN_KEY") or os.environ["TRIGGERS_API_KEY"]
    with (
        Triggers(key, base_url=url, transport=transport) as sdk,
        httpx.Client(base_url=url, transport=transport) as raw,
    ):
        event = sdk.events.create(source="sdk-bench", event_type="bench", payload={"n": 1})
        path = f"/v1/events/{event.event_id}"
        headers = {"X-API-Key": key, "Accept": "application/json"}

        def raw_get() -> None:
            response = raw.get(path, headers=headers)
            response.raise_for_status()
            response.json()

        def sdk_get() -> None:
            sdk.events.get(event.event_id)

        for _ in range(args.warmup):
            raw_get()
            sdk_get()
        timings: dict[str, list[float]] = {"sdk": [], "raw": []}
        for i in range(args.calls):
            order = (
                (("sdk", sdk_get), ("raw", raw_get))
                if i % 2
                else (("raw", raw_get), ("sdk", sdk_get))
            )
            for name, call in order:
                started = time.perf_counter()
                call()
                timings[name].append(time.perf_counter() - started)
        sdk.events.delete(event.event_id)
    sdk_median = statistics.median(timings["sdk"]) * 1000
    raw_median = statistics.median(timings["raw"]) * 1000
    where = "mock transport" if args.mock else url
    print(
        f"events.get x {args.calls} ({where}): SDK median {sdk_median:.3f} ms, "
        f"raw httpx median {raw_median:.3f} ms, overhead {sdk_median - raw_median:+.3f} ms "
        f"({(sdk_median - raw_median) * 1000:+.0f} us)"
    )


if __name__ == "__main__":
    main()
