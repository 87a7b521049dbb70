"""The webhook delivery queue (SQS) and its dead-letter queue.

A message names one delivery (``tenant_id``, ``webhook_id``, ``delivery_id``) and carries the
request id of the POST that created the event, for the logs. Everything else is read from the
tables when the message is handled, so a message never carries a secret or a payload.

Retries are scheduled by changing the message's visibility (SQS allows 12 hours in all from the
receive, so a little less is asked; a message back before its delivery is due waits again);
after the last attempt the worker copies the message to the dead-letter queue itself and lets
the original be deleted, so the queue's own redrive (``maxReceiveCount``) is only a safety net.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from chalicelib.domain.webhooks import DeliveryMessage
from chalicelib.stores.aws import translate_errors
from chalicelib.stores.errors import StorageUnavailable, StoreError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

MAX_VISIBILITY_SECONDS = 12 * 3600
# SQS refuses a visibility that would end more than 12 hours after the message was received; a
# message reaches its handler well within this margin of its receive (60 s function timeout).
MAX_DELAY_SECONDS = MAX_VISIBILITY_SECONDS - 15 * 60
SEND_BATCH = 10
MAX_SEND_DELAY_SECONDS = 900  # SQS's DelaySeconds limit


class DeliveryQueue:
    """``client``: the SQS client, or a function that builds it on first use (building one
    resolves credentials, which the API's requests that never queue anything should not pay)."""

    def __init__(
        self,
        client: SQSClient | Callable[[], SQSClient],
        queue_url: str,
        dead_letter_url: str,
    ) -> None:
        self._factory = client if callable(client) else None
        self._built: SQSClient | None = None if callable(client) else client
        self._lock = threading.Lock()
        self._url = queue_url
        self._dlq = dead_letter_url

    @property
    def _client(self) -> SQSClient:
        if self._built is None:
            with self._lock:
                if self._built is None:
                    assert self._factory is not None
                    self._built = self._factory()
        return self._built

    def _require(self) -> None:
        if not self._url:
            raise StoreError("no webhook queue configured (WEBHOOK_QUEUE_URL)")

    def send(self, messages: Sequence[DeliveryMessage]) -> list[DeliveryMessage]:
        """Send in batches of 10; return the messages SQS did not take."""
        self._require()
        refused: list[DeliveryMessage] = []
        for start in range(0, len(messages), SEND_BATCH):
            chunk = list(messages[start : start + SEND_BATCH])
            entries: list[Any] = [
                {"Id": str(i), "MessageBody": m.body()} for i, m in enumerate(chunk)
            ]
            try:
                with translate_errors("SendMessageBatch webhooks"):
                    resp = self._client.send_message_batch(QueueUrl=self._url, Entries=entries)
            except StorageUnavailable:
                refused.extend(messages[start:])
                break
            refused.extend(chunk[int(failed["Id"])] for failed in resp.get("Failed", []))
        return refused

    def delay(self, receipt_handle: str, seconds: float) -> None:
        """Make a received message visible again after ``seconds`` (its next attempt)."""
        self._require()
        timeout = max(0, min(MAX_DELAY_SECONDS, round(seconds)))
        with translate_errors("ChangeMessageVisibility webhooks"):
            self._client.change_message_visibility(
                QueueUrl=self._url, ReceiptHandle=receipt_handle, VisibilityTimeout=timeout
            )

    def requeue(self, message: DeliveryMessage, seconds: float) -> None:
        """Send ``message`` afresh, visible after ``seconds`` (SQS delays at most 15 minutes; a
        longer wait is taken up again when it is received). The caller then deletes the old
        copy: the new one starts its receive count at zero."""
        self._require()
        delay = max(0, min(MAX_SEND_DELAY_SECONDS, round(seconds)))
        with translate_errors("SendMessage webhooks requeue"):
            self._client.send_message(
                QueueUrl=self._url, MessageBody=message.body(), DelaySeconds=delay
            )

    def dead_letter(self, message: DeliveryMessage | str, reason: str) -> None:
        """Copy ``message`` (or a body that is not one of ours, as it is) to the DLQ."""
        if not self._dlq:
            raise StoreError("no webhook dead-letter queue configured (WEBHOOK_DLQ_URL)")
        attributes: Mapping[str, Any] = {
            "reason": {"DataType": "String", "StringValue": reason[:256] or "failed"}
        }
        with translate_errors("SendMessage webhooks DLQ"):
            self._client.send_message(
                QueueUrl=self._dlq,
                MessageBody=message if isinstance(message, str) else message.body(),
                MessageAttributes=attributes,
            )
