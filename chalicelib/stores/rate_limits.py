"""The rate-limits table: one item per API key, ``pk = key#{key_id}``, holding the key's GCRA
state ``tat`` (theoretical arrival time, integer microseconds) and ``expires_at`` (TTL).

One request is one conditional UpdateItem on one of two branches (see
:mod:`chalicelib.domain.token_bucket`); the condition makes each write correct whatever other
writers did in between:

* idle: ``SET tat = :now + :interval`` if ``attribute_not_exists(tat) OR tat <= :now``
* busy: ``SET tat = tat + :interval`` if ``tat > :now AND tat <= :tat_limit``

DynamoDB applies writes to one item one at a time, so two requests can never both take the
last token. A failed condition returns the item as it is (``ALL_OLD``): the caller learns the
current state in the same round trip and either refuses (over the limit) or tries the other
branch once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.domain.token_bucket import MICROS, Branch
from chalicelib.stores import codec
from chalicelib.stores.aws import translate_errors
from chalicelib.stores.errors import ConditionFailed, StoreError
from chalicelib.stores.protocols import WriteResult

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# The item is useless once the bucket is full again; keep it a little longer than that.
EXPIRY_SLACK_SECONDS = 60


def bucket_pk(key_id: str) -> str:
    return f"key#{key_id}"


__all__ = ["EXPIRY_SLACK_SECONDS", "RateLimitStore", "WriteResult", "bucket_pk"]


class RateLimitStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def take(
        self, key_id: str, branch: Branch, now_us: int, interval_us: int, tat_limit_us: int
    ) -> WriteResult:
        """Take one token on ``branch`` (IDLE or BUSY) with one conditional UpdateItem.

        Raises :class:`chalicelib.stores.errors.StoreError` subclasses when the table cannot
        be reached; a failed condition is a normal result (``written=False``).
        """
        if branch is Branch.IDLE:
            update = "SET tat = :now + :interval, expires_at = :expires"
            condition = "attribute_not_exists(tat) OR tat <= :now"
            values = {":now": codec.n(now_us), ":interval": codec.n(interval_us)}
            expires_tat = now_us + interval_us
        elif branch is Branch.BUSY:
            update = "SET tat = tat + :interval, expires_at = :expires"
            condition = "tat > :now AND tat <= :tat_limit"
            values = {
                ":now": codec.n(now_us),
                ":interval": codec.n(interval_us),
                ":tat_limit": codec.n(tat_limit_us),
            }
            expires_tat = tat_limit_us + interval_us
        else:
            raise ValueError("only the IDLE and BUSY branches write")
        values[":expires"] = codec.n(expires_tat // MICROS + 1 + EXPIRY_SLACK_SECONDS)
        try:
            with translate_errors("UpdateItem rate-limits"):
                resp = self._client.update_item(
                    TableName=self._table,
                    Key={"pk": codec.s(bucket_pk(key_id))},
                    UpdateExpression=update,
                    ConditionExpression=condition,
                    ExpressionAttributeValues=values,
                    ReturnValues="UPDATED_NEW",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
        except ConditionFailed as exc:
            current = codec.get_n(exc.item or {}, "tat")
            return WriteResult(False, int(current) if current is not None else None)
        new_tat = codec.get_n(resp.get("Attributes", {}), "tat")
        if new_tat is None:
            raise StoreError("UpdateItem rate-limits: the response has no tat")
        return WriteResult(True, int(new_tat))

    def read(self, key_id: str) -> int | None:
        """The stored TAT (strongly consistent), for tests and diagnostics."""
        with translate_errors("GetItem rate-limits"):
            resp = self._client.get_item(
                TableName=self._table,
                Key={"pk": codec.s(bucket_pk(key_id))},
                ConsistentRead=True,
            )
        tat = codec.get_n(resp.get("Item") or {}, "tat")
        return int(tat) if tat is not None else None
