"""Create events with the Python SDK: one by one (each retry-safe through an automatic
idempotency key), then a bulk batch of any size.

    .venv/bin/python examples/python/producer.py --source billing --count 3

Prints one JSON line per event created, then a summary line. Reads TRIGGERS_API_URL (default
http://127.0.0.1:8000) and TRIGGERS_API_KEY (default: the dev key `make run` writes to
.run/dev-key.json).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from triggers import Triggers, TriggersError

DEV_KEY = Path(__file__).resolve().parents[2] / ".run" / "dev-key.json"


def api_key() -> str:
    key = os.environ.get("TRIGGERS_API_KEY")
    if key:
        return key
    if DEV_KEY.exists():
        return str(json.loads(DEV_KEY.read_text())["secret"])
    raise SystemExit(
        "no API key: set TRIGGERS_API_KEY, or run `make run` (it writes .run/dev-key.json)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description="create events")
    parser.add_argument("--source", default="example.producer")
    parser.add_argument("--event-type", default="order.created")
    parser.add_argument("--count", type=int, default=3, help="events created one by one")
    parser.add_argument("--bulk", type=int, default=0, help="then this many in one bulk call")
    args = parser.parse_args()
    url = os.environ.get("TRIGGERS_API_URL", "http://127.0.0.1:8000")
    try:
        with Triggers(api_key(), base_url=url) as client:
            created = []
            for n in range(args.count):
                event = client.events.create(
                    source=args.source,
                    event_type=args.event_type,
                    payload={"order": n, "total_cents": 1000 + n},
                    metadata={"priority": "high" if n == 0 else "normal"},
                )
                created.append(event.event_id)
                print(json.dumps({"event_id": event.event_id, "status": event.status}))
            if args.bulk:
                result = client.events.create_many(
                    [
                        {
                            "source": args.source,
                            "event_type": args.event_type,
                            "payload": {"bulk": n},
                        }
                        for n in range(args.bulk)
                    ]
                )
                for entry in result.successful:
                    created.append(entry.event.event_id)
                    print(json.dumps({"event_id": entry.event.event_id, "bulk_index": entry.index}))
                for failure in result.failed:
                    print(json.dumps({"bulk_index": failure.index, "error": failure.code}))
            print(json.dumps({"created": len(created), "source": args.source}))
    except TriggersError as error:
        print(f"producer: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
