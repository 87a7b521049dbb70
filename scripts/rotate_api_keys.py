#!/usr/bin/env python3
"""Rotate a tenant's API keys: each gets a new secret, printed once, and its previous secret
keeps working for a grace period.

    python scripts/rotate_api_keys.py --tenant acme --dry-run            # what it would rotate
    python scripts/rotate_api_keys.py --tenant acme --older-than-days 90
    python scripts/rotate_api_keys.py --tenant acme --grace-period 3600 --json
    python scripts/rotate_api_keys.py --tenant acme --older-than-days 0 --grace-period 0  # now

It pages through the tenant's keys (``KeyService.list``, the tenant index, never a Scan) and
picks the active, unexpired ones whose newest secret is older than ``--older-than-days`` (default:
every one). Each is rotated by the same use case as ``POST /v1/api-keys/{key_id}/rotate``
(``KeyService.rotate``), with ``--grace-period`` seconds (0-604800, default 86400) for the previous
secret; a signing key also gets a new signing secret. Text output is a line per key; ``--json``
prints one array of ``{key_id, name, secret, signing_secret, previous_secret_expires_at}``
(``--dry-run --json``: ``{key_id, name, newest_secret_created_at}``). A key that fails is named
on stderr and the others are still rotated; the exit status is then 1. The audit lines go to
stderr.

Run from the repo root while `make run` is up, it works on that stack's database with no extra
environment. ``--stage dev|prod`` works on AWS with your usual credentials.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterator
from typing import Any

from chalicelib import errors
from chalicelib.api.models.api_keys import parse_key_rotate
from chalicelib.domain.clock import format_ts
from chalicelib.domain.keys import STATUS_ACTIVE, ApiKey
from chalicelib.runtime import Runtime
from chalicelib.services.keys import IssuedSecret, KeyService
from devstack.operator_cli import logs_to_stderr, print_details, tenant_arg
from devstack.stage_env import script_settings

PAGE_SIZE = 100
DAY_SECONDS = 86400


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--tenant", type=tenant_arg, required=True, help="the tenant whose keys rotate")
    p.add_argument(
        "--older-than-days",
        type=_days,
        metavar="N",
        help="only keys whose newest secret is older than N days (default: every active key)",
    )
    p.add_argument(
        "--grace-period",
        type=int,
        default=None,
        metavar="SECONDS",
        help="how long each previous secret keeps working, 0-604800 (default: 86400)",
    )
    p.add_argument("--dry-run", action="store_true", help="list what would rotate; change nothing")
    p.add_argument("--json", action="store_true", help="print one JSON array instead of text")
    p.add_argument("--stage", default=os.environ.get("STAGE", "local"))
    return p


def _days(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    return value


def tenant_keys(keys: KeyService, tenant_id: str) -> Iterator[ApiKey]:
    """Every key of the tenant, page by page (ordered by key id)."""
    after: str | None = None
    while True:
        page = keys.list(tenant_id, after, PAGE_SIZE)
        yield from page.keys
        if page.next_after is None:
            return
        after = page.next_after


def due(key: ApiKey, now: float, older_than_days: int | None) -> bool:
    """Active, not expired, and its newest secret made before the cut-off (if there is one)."""
    if key.status != STATUS_ACTIVE:
        return False
    if key.expires_at is not None and key.expires_at <= now:
        return False
    if older_than_days is None or not key.secrets:
        return True
    # Stamps are fixed-width RFC 3339 UTC, so they compare in time order as strings.
    return key.secrets[0].created_at <= format_ts(now - older_than_days * DAY_SECONDS)


def previous_expiry(before: ApiKey, issued: IssuedSecret) -> str | None:
    """When the secret that was newest before the rotation stops working (None: it had none)."""
    if not before.secrets:
        return None
    after = issued.key
    for entry in after.secrets:
        if entry.key_hash == before.secrets[0].key_hash:
            expiry = after.secret_expiry(entry)
            return None if expiry is None else format_ts(expiry)
    return after.updated_at  # no grace period: it stopped at the rotation


def _text_line(item: dict[str, Any]) -> str:
    line = f"{item['key_id']}  {item['name']!r}  secret: {item['secret']}"
    if item["signing_secret"] is not None:
        line += f"  signing_secret: {item['signing_secret']}"
    previous = item["previous_secret_expires_at"]
    return line + (f"  previous secret works until {previous}" if previous else "")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logs_to_stderr()
    body = {} if args.grace_period is None else {"grace_period_seconds": args.grace_period}
    try:
        grace_seconds = parse_key_rotate(body)
    except errors.ValidationError as exc:
        print_details(exc.details, exc.message)
        return 2
    settings = script_settings(args.stage, require_stack=True)
    keys = Runtime.build(settings).keys
    now = time.time()
    try:
        listed = list(tenant_keys(keys, args.tenant))
    except errors.ApiError as exc:
        print(f"error: listing the keys of {args.tenant}: {exc.message}", file=sys.stderr)
        return 1
    chosen = [key for key in listed if due(key, now, args.older_than_days)]

    if args.dry_run:
        planned = [
            {
                "key_id": key.key_id,
                "name": key.name,
                "newest_secret_created_at": key.secrets[0].created_at if key.secrets else None,
            }
            for key in chosen
        ]
        if args.json:
            print(json.dumps(planned))
        else:
            for item in planned:
                print(
                    f"would rotate {item['key_id']}  {item['name']!r}  "
                    f"(newest secret {item['newest_secret_created_at'] or 'none'})"
                )
        summary = f"{len(chosen)} of {len(listed)} key(s) of {args.tenant} would rotate"
        print(summary, file=sys.stderr if args.json else sys.stdout)
        return 0

    rotated: list[dict[str, Any]] = []
    failed = 0
    try:
        for key in chosen:
            try:
                issued = keys.rotate(args.tenant, key.key_id, grace_seconds, actor=None)
            except Exception as exc:  # noqa: BLE001 - name the key, go on with the others
                failed += 1
                message = exc.message if isinstance(exc, errors.ApiError) else repr(exc)
                print(f"error: {key.key_id}: {message}", file=sys.stderr)
                continue
            item = {
                "key_id": key.key_id,
                "name": issued.key.name,
                "secret": issued.secret,
                "signing_secret": issued.signing_secret,
                "previous_secret_expires_at": previous_expiry(key, issued),
            }
            rotated.append(item)
            if not args.json:
                print(_text_line(item), flush=True)
    finally:
        # Even when interrupted: the secrets already made are shown, or they would be lost.
        if args.json:
            print(json.dumps(rotated))
    summary = (
        f"rotated {len(rotated)} of {len(listed)} key(s) of {args.tenant}"
        + (f", {failed} failed" if failed else "")
        + "; each new secret is shown once"
    )
    print(summary, file=sys.stderr if args.json else sys.stdout)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
