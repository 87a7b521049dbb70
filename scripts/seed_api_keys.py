#!/usr/bin/env python3
"""Create an API key and print its secret once (only its SHA-256 is stored).

    python scripts/seed_api_keys.py --name "my laptop"                 # tenant "default"
    python scripts/seed_api_keys.py --name ci --tenant acme --admin --json

Run from the repo root while `make run` is up, it writes to that stack's database with no
extra environment. ``--stage dev|prod`` writes to AWS with your usual credentials.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chalicelib.runtime import Runtime
from chalicelib.settings import load_settings
from devstack import state
from devstack.stage_env import stage_environment


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--name", required=True, help="a label for the key (who or what uses it)")
    p.add_argument(
        "--tenant", default="default", help="tenant the key belongs to (default: default)"
    )
    p.add_argument("--admin", action="store_true", help="grant the admin scope")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.add_argument("--stage", default=os.environ.get("STAGE", "local"))
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    stack = state.apply_to_environment(args.stage)
    if args.stage == "local" and stack is None and not os.environ.get("AWS_ENDPOINT_URL_DYNAMODB"):
        print(
            "error: no local stack is running (start it with `make run`) and "
            "AWS_ENDPOINT_URL_DYNAMODB is not set",
            file=sys.stderr,
        )
        return 2
    settings = load_settings({**os.environ, **stage_environment(args.stage), "STAGE": args.stage})
    runtime = Runtime.build(settings)
    try:
        record, secret = runtime.keys.create_key(args.name, args.tenant, admin=args.admin)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = {
        "key_id": record.key_id,
        "tenant_id": record.tenant_id,
        "secret": secret,
        "signing_secret": record.signing_secret,
    }
    if args.json:
        print(json.dumps(out))
    else:
        print(f"key_id:    {record.key_id}")
        print(f"tenant_id: {record.tenant_id}")
        print(f"scopes:    {', '.join(sorted(record.scopes))}")
        print(f"secret:    {secret}")
        print("The secret is shown once; only its SHA-256 is stored.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
