#!/usr/bin/env python3
"""Add the events table's ``replay-index`` (webhook replay) and backfill its keys on old events.

python scripts/migrate_add_replay_index.py --stage local --dry-run   # say what it would do
python scripts/migrate_add_replay_index.py --stage dev               # AWS, your usual credentials

First the index (created if missing, waited for until ACTIVE), then every event written before
the API set ``replay_pk``/``replay_sk`` gets them (a Scan of the table: an operator's one-off).
Safe to run twice, and while the API runs. Until it has run, replay finds only events written
since the upgrade; nothing else is affected.
"""

from __future__ import annotations

import argparse
import os
import sys

from chalicelib.stores.aws import dynamodb_client
from chalicelib.stores.replay_index import add_replay_index, backfill
from devstack.stage_env import script_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stage", default=os.environ.get("STAGE", "local"))
    parser.add_argument("--dry-run", action="store_true", help="report, change nothing")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds to wait for ACTIVE")
    parser.add_argument(
        "--pause", type=float, default=0.0, help="seconds between Scan pages (throttle the load)"
    )
    args = parser.parse_args(argv)
    settings = script_settings(args.stage)
    client = dynamodb_client(settings)
    index = add_replay_index(client, settings, dry_run=args.dry_run, timeout=args.timeout)
    print(f"index: {index.action}")
    result = backfill(client, settings, dry_run=args.dry_run, pause=args.pause)
    print(f"backfill: scanned {result.scanned}, updated {result.updated}, skipped {result.skipped}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
