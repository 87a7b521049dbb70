"""The API calls the scenarios make, each checked against the contract.

A response with another status than the contract's is a Locust failure (and counts against the
success rate). One outcome is expected under concurrency and is a success, counted apart in the
summary: a second ack of the same event (409 ``already_acknowledged``, competing consumers).
Per-item failures inside a bulk answer are not expected for valid items: they fail the request.
"""

from __future__ import annotations

import itertools
import random
import uuid
from typing import Any
from urllib.parse import urlencode

from perf.locust import support

BULK_SIZE = 25
_counter = itertools.count()


def next_n() -> int:
    return next(_counter)


def create_event(client: Any, key: support.Key, with_idempotency: bool = False) -> str | None:
    """POST /v1/events; the new event's id, or None on failure."""
    idem = uuid.uuid4().hex if with_idempotency else None
    body = support.event_body(next_n(), idem)
    with client.post(
        "/v1/events", json=body, headers=key.headers, name="/v1/events", catch_response=True
    ) as resp:
        if resp.status_code != 201:
            resp.failure(f"{resp.status_code}: {(resp.text or '')[:160]}")
            return None
        support.EXTRA["events_created"] += 1
        return str(resp.json()["event_id"])


def create_bulk(client: Any, key: support.Key, size: int = BULK_SIZE) -> list[str]:
    """POST /v1/events/bulk with ``size`` items; the created ids."""
    items = [support.event_body(next_n()) for _ in range(size)]
    with client.post(
        "/v1/events/bulk",
        json={"items": items},
        headers=key.headers,
        name=f"/v1/events/bulk [{size}]",
        catch_response=True,
    ) as resp:
        if resp.status_code != 200:
            resp.failure(f"{resp.status_code}: {(resp.text or '')[:160]}")
            return []
        body = resp.json()
        # docs/API.md: each successful entry is {"index", "event", "replayed"}.
        created = [str(entry["event"]["event_id"]) for entry in body.get("successful", [])]
        failed = body.get("failed", [])
        support.EXTRA["events_created"] += len(created)
        if failed:
            support.EXTRA["bulk_item_failures"] += len(failed)
            resp.failure(f"{len(failed)} bulk items failed: {str(failed[0])[:160]}")
        return created


def poll_inbox(
    client: Any, key: support.Key, params: dict[str, str], name: str = "/v1/inbox"
) -> tuple[list[dict[str, Any]], str | None]:
    """GET /v1/inbox; the page's events and next cursor (empty on failure)."""
    url = "/v1/inbox?" + urlencode(params) if params else "/v1/inbox"
    with client.get(url, headers=key.headers, name=name, catch_response=True) as resp:
        if resp.status_code != 200:
            resp.failure(f"{resp.status_code}: {(resp.text or '')[:160]}")
            return [], None
        body = resp.json()
        return list(body.get("events", [])), body.get("next_cursor")


def acknowledge(client: Any, key: support.Key, event_id: str) -> None:
    """POST /v1/events/{id}/ack; a 409 from a competing consumer is expected."""
    with client.post(
        f"/v1/events/{event_id}/ack",
        headers=key.headers,
        name="/v1/events/{id}/ack",
        catch_response=True,
    ) as resp:
        if resp.status_code == 200:
            return
        if resp.status_code == 409 and "already_acknowledged" in (resp.text or ""):
            support.EXTRA["ack_conflicts"] += 1
            resp.success()
            return
        resp.failure(f"{resp.status_code}: {(resp.text or '')[:160]}")


def lookup(client: Any, key: support.Key, event_id: str) -> None:
    """GET /v1/events/{id} of one of the key's own events."""
    with client.get(
        f"/v1/events/{event_id}",
        headers=key.headers,
        name="/v1/events/{id}",
        catch_response=True,
    ) as resp:
        if resp.status_code != 200:
            resp.failure(f"{resp.status_code}: {(resp.text or '')[:160]}")


def inbox_filters(created_after: str) -> dict[str, str]:
    """One of the filter combinations consumers use, chosen at random."""
    source = random.choice(support.SOURCES)
    choices: list[dict[str, str]] = [
        {},
        {"source": source},
        {"source": source, "event_type": random.choice(support.EVENT_TYPES)},
        {"event_type": random.choice(support.EVENT_TYPES)},
        {"created_after": created_after},
        {"priority": "high"},
        {"metadata.region": "eu", "source": source},
    ]
    return random.choice(choices)
