"""Consume the inbox with the Python SDK: poll, handle, acknowledge.

    .venv/bin/python examples/python/inbox_consumer.py --source billing          # one pass
    .venv/bin/python examples/python/inbox_consumer.py --source billing --follow # keep polling

Each event is handed to `handle`; the events it handled are acknowledged in bulk (batches of
25); one whose handler raised stays in the inbox and is reported. Prints one JSON line per
event acknowledged and a summary per pass. Reads TRIGGERS_API_URL and TRIGGERS_API_KEY (default:
the dev key of `make run`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from triggers import Triggers, TriggersError
from triggers.models import Event

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


def handle(event: Event) -> None:
    """Your business logic. Raise to leave the event in the inbox for a later pass."""
    if event.payload.get("poison"):
        raise ValueError(f"cannot handle {event.event_id}")


def main() -> int:
    parser = argparse.ArgumentParser(description="poll, handle, ack")
    parser.add_argument("--source", help="only this source (default: every source)")
    parser.add_argument("--follow", action="store_true", help="poll again every --interval s")
    parser.add_argument("--interval", type=float, default=2.0)
    args = parser.parse_args()
    url = os.environ.get("TRIGGERS_API_URL", "http://127.0.0.1:8000")
    try:
        with Triggers(api_key(), base_url=url) as client:
            while True:
                result = client.inbox.process(handle, source=args.source, limit=100)
                for event_id in result.acked:
                    print(json.dumps({"acked": event_id}))
                for failure in result.handler_failures:
                    print(
                        json.dumps({"failed": failure.event.event_id, "error": str(failure.error)})
                    )
                print(
                    json.dumps(
                        {
                            "pass": {
                                "acked": len(result.acked),
                                "handler_failures": len(result.handler_failures),
                                "ack_failures": len(result.ack_failures),
                            }
                        }
                    ),
                    flush=True,
                )
                if not args.follow:
                    return 0 if result.ok else 2
                time.sleep(args.interval)
    except TriggersError as error:
        print(f"inbox_consumer: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
