"""Create an event over plain HTTP with safe retries (docs/RETRIES.md). Standard library only.

    TRIGGERS_API_URL=http://127.0.0.1:8000 TRIGGERS_API_KEY=tk_... python retry_post.py

Creates one event with an ``Idempotency-Key`` generated once for it, retrying 429, 5xx and
network failures (``Retry-After`` honoured, else exponential backoff with full jitter), then
sends the very same request once more, as a client would after losing the first answer: the API
answers 200 with the same event and ``Idempotent-Replayed: true``. Prints one JSON summary line;
each attempt is logged to stderr.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import Any

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_ATTEMPTS = 6
BASE_SECONDS = 0.5
CAP_SECONDS = 30.0


def backoff_seconds(attempt: int, rng: random.Random) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2**attempt)] (attempt counts from 0)."""
    return rng.uniform(0, min(CAP_SECONDS, BASE_SECONDS * 2**attempt))


def delay_seconds(attempt: int, retry_after: str | None, rng: random.Random) -> float:
    """Wait at least ``Retry-After`` (whole seconds) when the API sent it, else back off."""
    jitter = backoff_seconds(attempt, rng)
    if retry_after is not None and retry_after.isdigit():
        return max(float(retry_after), jitter)
    return jitter


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: dict[str, Any]
    attempts: list[int] = field(default_factory=list)  # the status of each attempt (0: no answer)


def send_once(url: str, api_key: str, body: bytes, idempotency_key: str) -> Answer:
    request = urllib.request.Request(  # noqa: S310 - main() allows only http(s) URLs
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-API-Key": api_key,
            "Idempotency-Key": idempotency_key,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - as above
            return Answer(response.status, dict(response.headers), parse_body(response.read()))
    except urllib.error.HTTPError as error:
        return Answer(error.code, dict(error.headers), parse_body(error.read()))


def parse_body(raw: bytes) -> dict[str, Any]:
    """The JSON body, or ``{}``: a proxy's 502/504 answers HTML, and its status still decides."""
    try:
        body = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def post_with_retries(
    url: str, api_key: str, event: dict[str, Any], idempotency_key: str, rng: random.Random
) -> Answer:
    body = json.dumps(event).encode()  # serialised once: every retry sends the same bytes
    statuses: list[int] = []
    for attempt in range(MAX_ATTEMPTS):
        try:
            answer = send_once(url, api_key, body, idempotency_key)
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            # No answer: the event may or may not exist. The idempotency key makes resending safe.
            statuses.append(0)
            wait = delay_seconds(attempt, None, rng)
            log(attempt=attempt + 1, error=str(error), retry_in=round(wait, 2))
        else:
            statuses.append(answer.status)
            if answer.status not in RETRYABLE_STATUSES:
                answer.attempts = statuses
                return answer
            wait = delay_seconds(attempt, answer.headers.get("Retry-After"), rng)
            code = answer.body.get("error", {}).get("code")
            log(attempt=attempt + 1, status=answer.status, code=code, retry_in=round(wait, 2))
        if attempt + 1 < MAX_ATTEMPTS:
            time.sleep(wait)
    raise RuntimeError(f"gave up after {MAX_ATTEMPTS} attempts: {statuses}")


def log(**fields: Any) -> None:
    print(json.dumps(fields), file=sys.stderr, flush=True)


def main() -> int:
    base_url = os.environ.get("TRIGGERS_API_URL", "http://127.0.0.1:8000").rstrip("/")
    if not base_url.startswith(("http://", "https://")):
        raise SystemExit("TRIGGERS_API_URL must be an http(s) URL")
    api_key = os.environ["TRIGGERS_API_KEY"]
    source = os.environ.get("EXAMPLE_SOURCE", "examples.retries")
    rng = random.Random()
    url = f"{base_url}/v1/events"
    event = {"source": source, "event_type": "order.created", "payload": {"order_id": 42}}
    idempotency_key = str(uuid.uuid4())  # once per logical request, reused by every retry

    created = post_with_retries(url, api_key, event, idempotency_key, rng)
    if created.status != 201:
        log(unexpected=created.status, body=created.body)
        return 1
    again = post_with_retries(url, api_key, event, idempotency_key, rng)
    summary = {
        "event_id": created.body["event_id"],
        "status": created.status,
        "attempts": created.attempts,
        "replay_status": again.status,
        "replay_event_id": again.body.get("event_id"),
        "replayed": again.headers.get("Idempotent-Replayed") == "true",
        "replay_attempts": again.attempts,
    }
    print(json.dumps(summary))
    return 0 if summary["replayed"] and summary["replay_event_id"] == summary["event_id"] else 1


if __name__ == "__main__":
    sys.exit(main())
