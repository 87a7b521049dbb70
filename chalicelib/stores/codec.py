"""DynamoDB attribute values <-> Python values, for the few shapes our items use."""

from __future__ import annotations

from typing import Any


def s(value: str) -> dict[str, Any]:
    return {"S": value}


def n(value: int | float) -> dict[str, Any]:
    return {"N": str(value)}


def str_map(values: dict[str, str]) -> dict[str, Any]:
    return {"M": {k: {"S": v} for k, v in values.items()}}


def get_s(item: dict[str, Any], name: str) -> str | None:
    value = item.get(name)
    return None if value is None else str(value["S"])


def get_n(item: dict[str, Any], name: str) -> float | None:
    value = item.get(name)
    return None if value is None else float(value["N"])


def get_str_map(item: dict[str, Any], name: str) -> dict[str, str]:
    value = item.get(name)
    if value is None:
        return {}
    return {k: str(v["S"]) for k, v in value["M"].items()}


def get_str_list(item: dict[str, Any], name: str) -> list[str]:
    value = item.get(name)
    if value is None:
        return []
    if "SS" in value:
        return sorted(str(v) for v in value["SS"])
    return [str(v["S"]) for v in value.get("L", [])]


def is_expired(item: dict[str, Any], now: float) -> bool:
    """Whether an item's ``expires_at`` (TTL) has passed. DynamoDB's TTL sweep runs late (up to
    days in AWS, unreliably in DynamoDB Local), so every read treats such an item as gone."""
    expires = get_n(item, "expires_at")
    return expires is not None and expires <= now
