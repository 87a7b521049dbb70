"""Lambda's DynamoDB stream records -> :class:`chalicelib.domain.analytics.StreamChange`.

A record arrives in DynamoDB's wire format (``{"S": "..."}`` attribute values in its images);
it lives in ``stores/`` because only ``stores/`` reads that format. A record that is not a
stream record at all (no ``dynamodb`` map, no ``SequenceNumber`` or ``eventID``) raises
:class:`~chalicelib.domain.analytics.PoisonRecord`; what the domain needs from the images is
checked by the domain (:func:`~chalicelib.domain.analytics.change_effect`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from chalicelib.domain.analytics import PoisonRecord, RecordEffect, StreamChange, change_effect

TTL_PRINCIPAL = "dynamodb.amazonaws.com"  # the userIdentity of a removal by the TTL sweep


@dataclass(frozen=True)
class Unreadable:
    """An attribute value in no shape DynamoDB sends: the domain sees a value of no known type."""

    raw: str


def sequence_number_of(record: Any) -> str:
    """The record's SequenceNumber; "" when it has none (Lambda then retries the whole batch)."""
    try:
        return str(record["dynamodb"]["SequenceNumber"])
    except (KeyError, TypeError):
        return ""


def plain_value(value: Any) -> object:
    """One attribute value in plain Python: S -> str, N -> Decimal, BOOL, NULL -> None,
    M -> dict, L -> list, SS/NS -> list."""
    if isinstance(value, Mapping) and len(value) == 1:
        ((kind, inner),) = value.items()
        if kind == "S" and isinstance(inner, str):
            return inner
        if kind == "N" and isinstance(inner, str):
            try:
                return Decimal(inner)
            except InvalidOperation:
                pass
        elif kind == "BOOL" and isinstance(inner, bool):
            return inner
        elif kind == "NULL":
            return None
        elif kind == "M" and isinstance(inner, Mapping):
            return {str(k): plain_value(v) for k, v in inner.items()}
        elif kind == "L" and isinstance(inner, list):
            return [plain_value(v) for v in inner]
        elif kind == "SS" and isinstance(inner, list):
            return [str(v) for v in inner]
        elif kind == "NS" and isinstance(inner, list):
            return [plain_value({"N": v}) for v in inner]
    return Unreadable(repr(value))


def plain_image(image: Any) -> dict[str, object] | None:
    if not isinstance(image, Mapping):
        return None
    return {str(name): plain_value(value) for name, value in image.items()}


def _arrival(dynamodb: Mapping[str, Any]) -> float | None:
    value = dynamodb.get("ApproximateCreationDateTime")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _is_ttl_removal(record: Mapping[str, Any]) -> bool:
    identity = record.get("userIdentity")
    return (
        isinstance(identity, Mapping)
        and identity.get("type") == "Service"
        and identity.get("principalId") == TTL_PRINCIPAL
    )


def stream_change(record: Any) -> StreamChange:
    """One Lambda-shaped DynamoDB stream record as a :class:`StreamChange`."""
    if not isinstance(record, Mapping) or not isinstance(record.get("dynamodb"), Mapping):
        raise PoisonRecord("not a DynamoDB stream record")
    dynamodb: Mapping[str, Any] = record["dynamodb"]
    sequence = dynamodb.get("SequenceNumber")
    record_id = record.get("eventID")
    if not isinstance(sequence, str) or not sequence:
        raise PoisonRecord("record has no SequenceNumber")
    if not isinstance(record_id, str) or not record_id:
        raise PoisonRecord("record has no eventID")
    return StreamChange(
        sequence_number=sequence,
        record_id=record_id,
        event_name=record.get("eventName"),
        arrival=_arrival(dynamodb),
        by_ttl=_is_ttl_removal(record),
        old_image=plain_image(dynamodb.get("OldImage")),
        new_image=plain_image(dynamodb.get("NewImage")),
    )


def record_effect(record: Any) -> RecordEffect:
    """The counters one stream record adds; raises PoisonRecord."""
    return change_effect(stream_change(record))
