#!/usr/bin/env python3
"""Create the stage's DynamoDB tables if they do not exist (idempotent; local or AWS).

python scripts/create_tables.py --stage local      # the running `make run` stack
python scripts/create_tables.py --stage dev        # AWS, with your usual credentials
"""

from __future__ import annotations

import argparse
import os
import sys

from chalicelib.stores.aws import dynamodb_client
from chalicelib.stores.schema import create_all
from devstack.stage_env import script_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stage", default=os.environ.get("STAGE", "local"))
    args = parser.parse_args(argv)
    settings = script_settings(args.stage)
    client = dynamodb_client(settings)
    created = create_all(client, settings)
    for name in created:
        print(f"created {name}")
    print(f"{len(created)} table(s) created; all tables for stage {args.stage} are ACTIVE")
    return 0


if __name__ == "__main__":
    sys.exit(main())
