"""Health: can we read from DynamoDB right now?"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.stores.aws import translate_errors
from chalicelib.stores.errors import StoreError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_PROBE_KEY = {"pk": {"S": "__health__#probe"}}


class HealthService:
    def __init__(self, client: DynamoDBClient, events_table: str, version: str) -> None:
        self._client = client
        self._table = events_table
        self._version = version

    def check(self) -> tuple[bool, dict[str, Any]]:
        """One GetItem on a key that never exists: cheap, and it proves the table answers."""
        try:
            with translate_errors("GetItem health"):
                self._client.get_item(TableName=self._table, Key=_PROBE_KEY)
            dynamodb = "ok"
        except StoreError:
            dynamodb = "unavailable"
        ok = dynamodb == "ok"
        body = {
            "status": "ok" if ok else "unavailable",
            "version": self._version,
            "checks": {"dynamodb": dynamodb},
        }
        return ok, body
