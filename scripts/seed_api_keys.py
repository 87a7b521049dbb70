#!/usr/bin/env python3
"""Create an API key and print its secret once (only its SHA-256 is stored).

    python scripts/seed_api_keys.py --name "my laptop"                 # tenant "default"
    python scripts/seed_api_keys.py --name ci --tenant acme --admin --json
    python scripts/seed_api_keys.py --name office --rate-limit 120 \
        --allowed-ips 203.0.113.0/24,2001:db8::/32
    python scripts/seed_api_keys.py --name partner --tenant acme --signing \
        --expires-at 2027-06-30T00:00:00Z

The flags become the body ``POST /v1/api-keys`` takes and go through the same validation
(``parse_key_create``) and the same use case (``KeyService.issue``): a key made here is
checked exactly as one made over HTTP. A bad value prints ``error: <field> <message>`` and
exits 2. ``--signing`` also prints the key's signing secret (once; the API keeps it to check
signatures). The audit line goes to stderr; stdout is only the answer (``--json``: one object
``{key_id, tenant_id, secret, signing_secret}``).

Run from the repo root while `make run` is up, it writes to that stack's database with no
extra environment. ``--stage dev|prod`` writes to AWS with your usual credentials.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

from chalicelib import errors
from chalicelib.api.models.api_keys import parse_key_create
from chalicelib.domain.client_ip import split_allowlist
from chalicelib.domain.clock import format_ts
from chalicelib.runtime import Runtime
from devstack.operator_cli import logs_to_stderr, print_details, tenant_arg
from devstack.stage_env import script_settings


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--name", required=True, help="a label for the key (who or what uses it)")
    p.add_argument(
        "--tenant",
        type=tenant_arg,
        default="default",
        help="tenant the key belongs to (default: default)",
    )
    p.add_argument("--admin", action="store_true", help="grant the admin scope")
    p.add_argument(
        "--rate-limit",
        type=int,
        metavar="PER_MIN",
        help="requests per minute for this key, 1-1000000 "
        "(default: the stage's DEFAULT_RATE_LIMIT, 1000)",
    )
    p.add_argument(
        "--allowed-ips",
        type=split_allowlist,
        default=[],
        metavar="CIDR,...",
        help="comma-separated IPv4/IPv6 addresses or CIDRs the key may be used from "
        "(default: any address)",
    )
    p.add_argument(
        "--signing",
        action="store_true",
        help="the key signs its requests; its signing secret is printed once",
    )
    p.add_argument(
        "--expires-at",
        metavar="RFC3339",
        help="when the key stops working, e.g. 2027-06-30T00:00:00Z "
        "(in the future, within 10 years; default: never)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.add_argument("--stage", default=os.environ.get("STAGE", "local"))
    return p


def create_body(args: argparse.Namespace) -> dict[str, Any]:
    """The flags as the body of ``POST /v1/api-keys``."""
    return {
        "name": args.name,
        "rate_limit": args.rate_limit,
        "allowed_ips": args.allowed_ips,
        "admin": args.admin,
        "signing": args.signing,
        "expires_at": args.expires_at,
    }


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logs_to_stderr()
    try:
        spec = parse_key_create(create_body(args), args.tenant, time.time())
    except errors.ValidationError as exc:
        print_details(exc.details, exc.message)
        return 2
    settings = script_settings(args.stage, require_stack=True)
    runtime = Runtime.build(settings)
    try:
        issued = runtime.keys.issue(spec, actor=None)
    except errors.ApiError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    key = issued.key
    if args.json:
        out = {
            "key_id": key.key_id,
            "tenant_id": key.tenant_id,
            "secret": issued.secret,
            "signing_secret": issued.signing_secret,
        }
        print(json.dumps(out))
        return 0
    print(f"key_id:    {key.key_id}")
    print(f"tenant_id: {key.tenant_id}")
    print(f"scopes:    {', '.join(sorted(key.scopes))}")
    if key.rate_limit_per_minute is not None:
        print(f"limit:     {key.rate_limit_per_minute} requests/minute")
    if key.allowed_ips:
        print(f"allowed:   {', '.join(key.allowed_ips)}")
    if key.expires_at is not None:
        print(f"expires:   {format_ts(key.expires_at)}")
    print(f"secret:    {issued.secret}")
    if issued.signing_secret is not None:
        print(f"signing:   {issued.signing_secret}")
        print(
            "The secret and the signing secret are shown once; only the secret's SHA-256 is "
            "stored (the API keeps the signing secret to check signatures)."
        )
    else:
        print("The secret is shown once; only its SHA-256 is stored.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
