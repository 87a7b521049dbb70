"""Read-only probes against any running stack, a deployed stage included:

    python -m chaos.watch --url https://abc.execute-api.us-east-1.amazonaws.com/api \\
        --api-key tk_live_... --seconds 300

Every ``--interval`` seconds it calls ``GET /v1/health``, ``GET /v1/inbox?limit=1`` and
``GET /v1/analytics/summary`` (reads only: nothing is written, acknowledged or deleted), judges
each answer against the contract (:data:`chaos.ledger.ALLOWED`: no 500, 429/503 only with
Retry-After, always an answer) and prints the tallies. Run it while AWS Fault Injection Service
(or anything else) disturbs a stage. Exits 1 when an answer broke the contract.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from chaos.ledger import Ledger, Tally
from chaos.load import Client


def watch(url: str, api_key: str, seconds: float, interval: float) -> Ledger:
    ledger = Ledger()
    client = Client(url.rstrip("/"), api_key, ledger)
    deadline = time.monotonic() + seconds
    try:
        while True:
            client.call("health", "GET", "/v1/health")
            client.call("inbox", "GET", "/v1/inbox?limit=1")
            client.call("analytics", "GET", "/v1/analytics/summary")
            if time.monotonic() + interval >= deadline:
                return ledger
            time.sleep(interval)
    finally:
        client.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="the API's base URL (before /v1)")
    parser.add_argument("--api-key", required=True, help="a key of that stage (read-only use)")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--interval", type=float, default=1.0)
    args = parser.parse_args(argv)
    ledger = watch(args.url, args.api_key, args.seconds, args.interval)
    print(json.dumps(Tally.of(ledger.snapshot()).as_dict(), indent=2))
    violations = ledger.violations()
    for violation in violations:
        print(f"violation: {violation}", file=sys.stderr)
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
