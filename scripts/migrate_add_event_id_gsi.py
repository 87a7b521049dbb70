#!/usr/bin/env python3
"""Add the ``event-id-index`` GSI to an existing events table that lacks it; wait until ACTIVE.

python scripts/migrate_add_event_id_gsi.py --stage local --dry-run   # say what it would do
python scripts/migrate_add_event_id_gsi.py --stage dev               # AWS, your usual credentials

Safe to run twice: an index that exists is only waited for. While the index is missing or
backfilling the API is unaffected (GET /v1/events/{id} reads by primary key); only lookups by
event id alone answer "unknown" (docs/OBSERVABILITY.md, "event-id-index migration").
"""

from __future__ import annotations

import argparse
import os
import sys

from chalicelib.stores.aws import dynamodb_client
from chalicelib.stores.event_id_index import add_event_id_index
from devstack.stage_env import script_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stage", default=os.environ.get("STAGE", "local"))
    parser.add_argument("--dry-run", action="store_true", help="report, change nothing")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds to wait for ACTIVE")
    args = parser.parse_args(argv)
    settings = script_settings(args.stage)
    result = add_event_id_index(
        dynamodb_client(settings), settings, dry_run=args.dry_run, timeout=args.timeout
    )
    print(f"result: {result.action}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
