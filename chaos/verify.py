"""Checks of what was stored against what the load was told: nothing lost, nothing duplicated,
analytics equal to the events written.

Reads go to the engine directly (never through the proxy the fault is on), strongly
consistent, by a client with the most attempts settings allow (LocalStack throttles the checks'
reads too). Listing a tenant's events is a Scan of the experiment's own fresh database: an
operator check here, never a request path.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chalicelib.settings import Settings
from chaos.ledger import Ledger

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


@dataclass(frozen=True)
class StoredEvent:
    event_id: str
    idempotency_key: str | None
    status: str


@dataclass
class EventCheck:
    written: int  # idempotency keys a create answered 2xx for
    stored: int
    lost: list[str] = field(default_factory=list)  # answered 2xx, not stored
    duplicated: list[str] = field(default_factory=list)  # keys with more than one event
    unconfirmed: int = 0  # keys the load never got a 2xx for (after settling)

    @property
    def holds(self) -> bool:
        return not self.lost and not self.duplicated

    def as_dict(self) -> dict[str, Any]:
        return {
            "written": self.written,
            "stored": self.stored,
            "lost": len(self.lost),
            "duplicated": len(self.duplicated),
            "unconfirmed": self.unconfirmed,
            "examples": {"lost": self.lost[:5], "duplicated": self.duplicated[:5]},
        }


def stored_events(client: DynamoDBClient, settings: Settings, tenant_id: str) -> list[StoredEvent]:
    found: list[StoredEvent] = []
    kwargs: dict[str, Any] = {
        "TableName": settings.events_table,
        "ConsistentRead": True,
        "FilterExpression": "tenant_id = :t",
        "ExpressionAttributeValues": {":t": {"S": tenant_id}},
        "ProjectionExpression": "event_id, idempotency_key, #s",
        "ExpressionAttributeNames": {"#s": "status"},
    }
    while True:
        page = client.scan(**kwargs)
        for item in page.get("Items", []):
            key = item.get("idempotency_key", {}).get("S")
            found.append(StoredEvent(item["event_id"]["S"], key, item["status"]["S"]))
        if "LastEvaluatedKey" not in page:
            return found
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def check_events(ledger: Ledger, stored: list[StoredEvent]) -> EventCheck:
    """Every event a create answered 2xx for is stored, and no idempotency key has more than
    one event (stored, or answered)."""
    stored_ids = {event.event_id for event in stored}
    answered = ledger.event_ids()
    per_key = Counter(event.idempotency_key for event in stored if event.idempotency_key)
    duplicated = {key for key, count in per_key.items() if count > 1}
    duplicated.update(ledger.keys_with_several_events())
    return EventCheck(
        written=len(ledger.accepted),
        stored=len(stored),
        lost=sorted(event_id for event_id in answered if event_id not in stored_ids),
        duplicated=sorted(duplicated),
        unconfirmed=len(ledger.unconfirmed),
    )


def analytics_expected(stored: list[StoredEvent]) -> dict[str, int]:
    return {
        "ingested": len(stored),
        "acknowledged": sum(event.status == "acknowledged" for event in stored),
    }


def analytics_seen(summary: Any) -> dict[str, int] | None:
    totals = summary.get("totals") if isinstance(summary, dict) else None
    if not isinstance(totals, dict):
        return None
    return {"ingested": int(totals["ingested"]), "acknowledged": int(totals["acknowledged"])}
