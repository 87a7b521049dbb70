#!/usr/bin/env python3
"""Create an API key and print its secret once (only its SHA-256 is stored).

    python scripts/seed_api_keys.py --name "my laptop"                 # tenant "default"
    python scripts/seed_api_keys.py --name ci --tenant acme --admin --json
    python scripts/seed_api_keys.py --name office --rate-limit 120 \
        --allowed-ips 203.0.113.0/24,2001:db8::/32

Run from the repo root while `make run` is up, it writes to that stack's database with no
extra environment. ``--stage dev|prod`` writes to AWS with your usual credentials.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from chalicelib.domain.client_ip import InvalidAllowlist, parse_allowlist, split_allowlist
from chalicelib.runtime import Runtime
from devstack.stage_env import script_settings


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--name", required=True, help="a label for the key (who or what uses it)")
    p.add_argument(
        "--tenant", default="default", help="tenant the key belongs to (default: default)"
    )
    p.add_argument("--admin", action="store_true", help="grant the admin scope")
    p.add_argument(
        "--rate-limit",
        type=_rate_limit,
        metavar="PER_MIN",
        help="requests per minute for this key (default: the stage's DEFAULT_RATE_LIMIT, 1000)",
    )
    p.add_argument(
        "--allowed-ips",
        type=_allowed_ips,
        default=[],
        metavar="CIDR,...",
        help="comma-separated IPv4/IPv6 addresses or CIDRs the key may be used from "
        "(default: any address)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.add_argument("--stage", default=os.environ.get("STAGE", "local"))
    return p


def _rate_limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= 1_000_000:
        raise argparse.ArgumentTypeError(f"{value} is not between 1 and 1000000")
    return value


def _allowed_ips(text: str) -> list[str]:
    entries = split_allowlist(text)
    try:
        networks = parse_allowlist(entries)
    except InvalidAllowlist as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return [str(network) for network in networks]


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    settings = script_settings(args.stage, require_stack=True)
    runtime = Runtime.build(settings)
    try:
        record, secret = runtime.keys.create_key(
            args.name,
            args.tenant,
            admin=args.admin,
            rate_limit_per_minute=args.rate_limit,
            allowed_ips=args.allowed_ips,
        )
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
        if record.rate_limit_per_minute is not None:
            print(f"limit:     {record.rate_limit_per_minute} requests/minute")
        if record.allowed_ips:
            print(f"allowed:   {', '.join(record.allowed_ips)}")
        print(f"secret:    {secret}")
        print("The secret is shown once; only its SHA-256 is stored.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
