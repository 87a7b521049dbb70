"""The events-table stream handler: count ingested / acknowledged / deleted events, exactly once.

Takes the event Lambda delivers for a DynamoDB stream (``{"Records": [...]}``, one shard's
records in order) and returns ``{"batchItemFailures": [{"itemIdentifier": <SequenceNumber>}]}``
(the event source mapping needs ``FunctionResponseTypes: [ReportBatchItemFailures]``).

* A record that cannot be parsed (a poison record) is logged and reported as failed, and so is
  every record after it: Lambda resumes from the lowest failed sequence number, so reporting the
  later ones too keeps them from being counted before it. Bisect, the retry limit and the
  on-failure destination (infra template) take it from there; the local worker does the same.
* Records are counted in transactions of at most 100 items (a dedup marker per record plus the
  summed counter ADDs). A redelivered record's marker already exists: the transaction is
  cancelled and retried without it, so replaying a batch adds nothing.
* A storage failure fails the rest of the batch, from the first record not yet counted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain.analytics import PoisonRecord, RecordEffect, aggregate, items_of, pack
from chalicelib.observability import metrics
from chalicelib.observability.logging import logger
from chalicelib.stores.errors import AlreadyCounted, StoreError
from chalicelib.stores.protocols import MAX_TRANSACTION_ITEMS, AnalyticsStorage
from chalicelib.stores.stream_records import record_effect, sequence_number_of

MAX_REDELIVERY_ROUNDS = 5
METRIC_VALUES_PER_DOCUMENT = 100


@dataclass
class BatchOutcome:
    counted: list[RecordEffect] = field(default_factory=list)
    already_counted: int = 0
    ignored: int = 0
    failed_from: int | None = None  # index of the first record reported as failed

    def failures(self, records: Sequence[Any]) -> list[dict[str, str]]:
        if self.failed_from is None:
            return []
        return [{"itemIdentifier": sequence_number_of(r)} for r in records[self.failed_from :]]


def _chunks(effects: Sequence[tuple[int, RecordEffect]]) -> list[list[tuple[int, RecordEffect]]]:
    """Consecutive groups whose markers plus distinct counter items fit one transaction."""
    return pack(effects, lambda entry: items_of(aggregate([entry[1]])), MAX_TRANSACTION_ITEMS)


class StreamIngestService:
    def __init__(
        self, store: AnalyticsStorage, metrics_config: metrics.MetricsConfig = metrics.DEFAULT
    ) -> None:
        self._metrics = metrics_config
        self._store = store

    def handle(self, event: Mapping[str, Any]) -> dict[str, list[dict[str, str]]]:
        records = event.get("Records")
        if not isinstance(records, list):
            logger.error("stream event without a Records list")
            return {"batchItemFailures": []}
        outcome = self.process(records)
        self._emit(outcome, len(records))
        return {"batchItemFailures": outcome.failures(records)}

    def process(self, records: Sequence[Any]) -> BatchOutcome:
        outcome = BatchOutcome()
        effects: list[tuple[int, RecordEffect]] = []
        for index, record in enumerate(records):
            try:
                effect = record_effect(record)
            except (PoisonRecord, KeyError, TypeError, ValueError) as exc:
                logger.error(
                    "poison stream record",
                    extra={
                        "sequence_number": sequence_number_of(record),
                        "event_name": record.get("eventName") if isinstance(record, dict) else None,
                        "reason": str(exc),
                    },
                )
                outcome.failed_from = index
                break
            if effect.increments:
                effects.append((index, effect))
            else:
                outcome.ignored += 1
        for chunk in _chunks(effects):
            try:
                self._count(chunk, outcome)
            except StoreError as exc:
                logger.warning(
                    "stream batch not counted; reporting it for redelivery",
                    extra={"sequence_number": chunk[0][1].sequence_number, "error": str(exc)},
                )
                outcome.failed_from = chunk[0][0]
                break
        return outcome

    def _count(self, chunk: list[tuple[int, RecordEffect]], outcome: BatchOutcome) -> None:
        pending = [effect for _, effect in chunk]
        for _ in range(MAX_REDELIVERY_ROUNDS):
            if not pending:
                return
            try:
                self._store.count([e.record_id for e in pending], aggregate(pending))
            except AlreadyCounted as exc:
                seen = set(exc.record_ids)
                outcome.already_counted += len(seen)
                pending = [e for e in pending if e.record_id not in seen]
                continue
            outcome.counted.extend(pending)
            return
        raise StoreError("records kept turning out counted; giving up on this batch")

    def _emit(self, outcome: BatchOutcome, received: int) -> None:
        counted = outcome.counted
        failed = 0 if outcome.failed_from is None else received - outcome.failed_from
        logger.info(
            "stream batch",
            extra={
                "records": received,
                "counted": len(counted),
                "already_counted": outcome.already_counted,
                "ignored": outcome.ignored,
                "failed": failed,
                # The POSTs whose events this batch counted: one Logs Insights query follows a
                # request id from the API through this handler (docs/OBSERVABILITY.md).
                "request_ids": sorted({e.request_id for e in counted if e.request_id}),
            },
        )
        with metrics.request_scope(self._metrics):
            for kind in ("ingested", "acknowledged", "deleted", "expired"):
                total = sum(1 for e in counted if e.kind == kind)
                if total:
                    metrics.record_metric(f"StreamEvents{kind.capitalize()}", "Count", total)
            if failed:
                metrics.record_metric("StreamRecordsFailed", "Count", failed)
        # An EMF document holds at most 100 values per metric: one document per slice.
        for start in range(0, len(counted), METRIC_VALUES_PER_DOCUMENT):
            with metrics.request_scope(self._metrics):
                for effect in counted[start : start + METRIC_VALUES_PER_DOCUMENT]:
                    if effect.ingestion_lag_ms is not None:
                        metrics.record_metric(
                            "IngestionLag", "Milliseconds", effect.ingestion_lag_ms
                        )
                    if effect.ack_latency_ms is not None:
                        metrics.record_metric("AckLatency", "Milliseconds", effect.ack_latency_ms)
