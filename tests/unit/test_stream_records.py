"""The stream adapter: Lambda's DynamoDB stream records -> plain StreamChange values."""

from __future__ import annotations

from decimal import Decimal

import pytest

from chalicelib.domain.analytics import PoisonRecord, StreamChange, change_effect
from chalicelib.domain.clock import format_ts, parse_ts
from chalicelib.stores.stream_records import (
    Unreadable,
    plain_image,
    plain_value,
    sequence_number_of,
    stream_change,
)

T0 = parse_ts("2026-11-23T13:05:30.250Z")


@pytest.mark.parametrize(
    ("wire", "plain"),
    [
        ({"S": "billing"}, "billing"),
        ({"N": "1767000000"}, Decimal("1767000000")),
        ({"BOOL": False}, False),
        ({"NULL": True}, None),
        ({"M": {"priority": {"S": "high"}}}, {"priority": "high"}),
        ({"L": [{"S": "a"}, {"N": "2"}]}, ["a", Decimal(2)]),
        ({"SS": ["x", "y"]}, ["x", "y"]),
    ],
)
def test_attribute_values_become_plain_values(wire: object, plain: object) -> None:
    assert plain_value(wire) == plain


@pytest.mark.parametrize("wire", [{"S": 5}, {"N": "many"}, {"S": "a", "N": "1"}, "billing", None])
def test_malformed_attribute_values_are_unreadable_not_strings(wire: object) -> None:
    assert isinstance(plain_value(wire), Unreadable)


def test_a_record_becomes_a_change_without_wire_format() -> None:
    record = {
        "eventID": "id-1",
        "eventName": "REMOVE",
        "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"},
        "dynamodb": {
            "SequenceNumber": "100",
            "ApproximateCreationDateTime": T0,
            "OldImage": {"tenant_id": {"S": "ten_a"}, "expires_at": {"N": "5"}},
        },
    }
    assert stream_change(record) == StreamChange(
        sequence_number="100",
        record_id="id-1",
        event_name="REMOVE",
        arrival=T0,
        by_ttl=True,
        old_image={"tenant_id": "ten_a", "expires_at": Decimal(5)},
        new_image=None,
    )
    assert sequence_number_of(record) == "100"
    assert sequence_number_of({"dynamodb": {}}) == ""
    assert plain_image("not a map") is None


def test_a_removal_by_a_client_is_not_by_ttl_and_an_odd_arrival_is_none() -> None:
    change = stream_change(
        {
            "eventID": "id-2",
            "eventName": "REMOVE",
            "userIdentity": {"type": "Service", "principalId": "someone-else"},
            "dynamodb": {"SequenceNumber": "101", "ApproximateCreationDateTime": True},
        }
    )
    assert change.by_ttl is False
    assert change.arrival is None


def test_the_domain_counts_plain_changes() -> None:
    image = {
        "tenant_id": "ten_a",
        "source": "billing",
        "event_type": "invoice.paid",
        "created_at": format_ts(T0),
        "status": "pending",
    }
    effect = change_effect(StreamChange("7", "id-7", "INSERT", T0 + 2, False, None, image))
    assert effect.kind == "ingested"
    assert effect.ingestion_lag_ms == pytest.approx(2000)
    with pytest.raises(PoisonRecord, match="not a string"):
        change_effect(
            StreamChange("8", "id-8", "INSERT", T0, False, None, {**image, "source": Decimal(1)})
        )
    with pytest.raises(PoisonRecord, match="ApproximateCreationDateTime"):
        change_effect(StreamChange("9", "id-9", "INSERT", None, False, None, image))
