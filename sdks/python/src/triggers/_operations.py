"""Every API call as a pure pair: the :class:`Operation` to send and the parser of its result.

The sync and async resources are thin wrappers over these, so the two clients cannot differ in
what they send or how they read the answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from . import _models as m
from ._core import (
    Operation,
    Options,
    Result,
    at,
    format_query_value,
    json_body,
    query,
)
from ._errors import ResponseValidationError, api_error

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


class _NotGiven(Enum):
    NOT_GIVEN = "NOT_GIVEN"

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN = _NotGiven.NOT_GIVEN
"""A PATCH field left out (``None`` is sent as JSON null: e.g. ``rate_limit=None`` = default)."""
NotGiven = Literal[_NotGiven.NOT_GIVEN]

Priority = Literal["low", "normal", "high"]
Granularity = Literal["minute", "hour", "day"]
TimeValue = datetime | str


@dataclass(frozen=True)
class Call(Generic[T]):
    op: Operation
    parse: Callable[[Result], T]


def _invalid(result: Result, message: str) -> ResponseValidationError:
    return ResponseValidationError(
        message,
        status=result.status,
        request_id=result.info.request_id,
        body=result.content.decode("utf-8", errors="replace"),
        headers=result.info.headers,
    )


def _model(cls: type[M]) -> Callable[[Result], M]:
    def parse(result: Result) -> M:
        body = result.body  # None when the content is empty or not JSON (or is JSON null)
        if body is None:
            try:
                body = json.loads(result.content)
            except ValueError as error:  # includes UnicodeDecodeError
                raise _invalid(result, f"the response body is not JSON ({error})") from error
        try:
            return cls.model_validate(body)
        except ValidationError as error:
            count = error.error_count()
            raise _invalid(
                result, f"the response body is not a valid {cls.__name__} ({count} error(s))"
            ) from error

    return parse


def _none(_result: Result) -> None:
    return None


def _text(result: Result) -> str:
    try:
        return result.content.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _invalid(result, "the response body is not UTF-8 text") from error


def _dump(value: BaseModel | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_unset=True)
    return dict(value)


def _fields(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not NOT_GIVEN}


# --- events ---


def create_event(
    options: Options,
    *,
    source: str,
    event_type: str,
    payload: Mapping[str, Any],
    metadata: Mapping[str, str] | None,
    idempotency_key: str | None,
) -> Call[m.Event]:
    body: dict[str, Any] = {"source": source, "event_type": event_type, "payload": dict(payload)}
    if metadata is not None:
        body["metadata"] = dict(metadata)
    key = idempotency_key if idempotency_key is not None else options.idempotency_key_factory()
    op = Operation("POST", "/v1/events", content=json_body(body), idempotency_key=key)
    return Call(op, _model(m.Event))


def get_event(event_id: str) -> Call[m.Event]:
    return Call(
        Operation("GET", **at("/v1/events/{event_id}", event_id=event_id)),
        _model(m.Event),
    )


def ack_event(event_id: str) -> Call[m.Event]:
    op = Operation(
        "POST",
        **at("/v1/events/{event_id}/ack", event_id=event_id),
        converge="ack",
    )
    return Call(op, _model(m.Event))


def delete_event(event_id: str) -> Call[None]:
    return Call(
        Operation(
            "DELETE",
            **at("/v1/events/{event_id}", event_id=event_id),
            converge="delete",
        ),
        _none,
    )


def bulk_create(items: Sequence[dict[str, Any]]) -> Call[m.BulkCreateResult]:
    # Every item carries an idempotency_key (added by the caller): a retried batch never duplicates.
    op = Operation("POST", "/v1/events/bulk", content=json_body({"items": list(items)}))
    return Call(op, _model(m.BulkCreateResult))


def bulk_ack(event_ids: Sequence[str]) -> Call[m.BulkAckResult]:
    op = Operation("POST", "/v1/events/bulk/ack", content=json_body({"event_ids": list(event_ids)}))
    return Call(op, _model(m.BulkAckResult))


def bulk_delete(event_ids: Sequence[str]) -> Call[m.BulkDeleteResult]:
    op = Operation("DELETE", "/v1/events/bulk", content=json_body({"event_ids": list(event_ids)}))
    return Call(op, _model(m.BulkDeleteResult))


def create_item(item: m.EventCreate | Mapping[str, Any]) -> dict[str, Any]:
    return _dump(item)


# --- inbox ---


@dataclass(frozen=True)
class InboxFilter:
    """Every inbox filter of docs/API.md ("Inbox filters"); all ANDed."""

    source: str | None = None
    event_type: str | None = None
    created_after: TimeValue | None = None
    created_before: TimeValue | None = None
    priority: Priority | None = None
    metadata: Mapping[str, str] | None = None

    def params(self) -> tuple[tuple[str, str], ...]:
        pairs = query(
            source=self.source,
            event_type=self.event_type,
            created_after=self.created_after,
            created_before=self.created_before,
            priority=self.priority,
        )
        extra = tuple((f"metadata.{k}", v) for k, v in (self.metadata or {}).items())
        return pairs + extra


def list_inbox(filters: InboxFilter, limit: int | None, cursor: str | None) -> Call[m.InboxPage]:
    params = query(limit=limit, cursor=cursor) + filters.params()
    return Call(Operation("GET", "/v1/inbox", params), _model(m.InboxPage))


# --- API keys ---


def create_api_key(
    *,
    name: str,
    rate_limit: int | None,
    allowed_ips: Sequence[str] | None,
    admin: bool,
    signing: bool,
    expires_at: TimeValue | None,
) -> Call[m.ApiKeyIssued]:
    body: dict[str, Any] = {"name": name, "admin": admin, "signing": signing}
    if rate_limit is not None:
        body["rate_limit"] = rate_limit
    if allowed_ips is not None:
        body["allowed_ips"] = list(allowed_ips)
    if expires_at is not None:
        body["expires_at"] = format_query_value(expires_at)
    op = Operation("POST", "/v1/api-keys", content=json_body(body), retry="unsafe")
    return Call(op, _model(m.ApiKeyIssued))


def list_api_keys(limit: int | None, cursor: str | None) -> Call[m.ApiKeyList]:
    return Call(
        Operation("GET", "/v1/api-keys", query(limit=limit, cursor=cursor)),
        _model(m.ApiKeyList),
    )


def get_api_key(key_id: str) -> Call[m.ApiKeyOut]:
    return Call(
        Operation("GET", **at("/v1/api-keys/{key_id}", key_id=key_id)),
        _model(m.ApiKeyOut),
    )


def update_api_key(
    key_id: str,
    *,
    name: str | NotGiven,
    rate_limit: int | NotGiven | None,
    allowed_ips: Sequence[str] | NotGiven,
) -> Call[m.ApiKeyOut]:
    body = _fields(name=name, rate_limit=rate_limit, allowed_ips=allowed_ips)
    if "allowed_ips" in body:
        body["allowed_ips"] = list(body["allowed_ips"])
    op = Operation(
        "PATCH",
        **at("/v1/api-keys/{key_id}", key_id=key_id),
        content=json_body(body),
        retry="unsafe",
    )
    return Call(op, _model(m.ApiKeyOut))


def rotate_api_key(key_id: str, grace_period_seconds: int | None) -> Call[m.ApiKeyIssued]:
    body = {} if grace_period_seconds is None else {"grace_period_seconds": grace_period_seconds}
    op = Operation(
        "POST",
        **at("/v1/api-keys/{key_id}/rotate", key_id=key_id),
        content=json_body(body),
        retry="unsafe",
    )
    return Call(op, _model(m.ApiKeyIssued))


def revoke_api_key(key_id: str) -> Call[None]:
    # Revoking twice answers 204 again: safe to retry as it is.
    return Call(
        Operation("DELETE", **at("/v1/api-keys/{key_id}", key_id=key_id)),
        _none,
    )


# --- webhooks ---


def create_webhook(
    *,
    url: str,
    event_types: Sequence[str] | None,
    sources: Sequence[str] | None,
    description: str | None,
    rate_limit_per_second: int | None,
) -> Call[m.WebhookIssued]:
    body: dict[str, Any] = {"url": url}
    if event_types is not None:
        body["event_types"] = list(event_types)
    if sources is not None:
        body["sources"] = list(sources)
    if description is not None:
        body["description"] = description
    if rate_limit_per_second is not None:
        body["rate_limit_per_second"] = rate_limit_per_second
    op = Operation("POST", "/v1/webhooks", content=json_body(body), retry="unsafe")
    return Call(op, _model(m.WebhookIssued))


def list_webhooks(limit: int | None, cursor: str | None) -> Call[m.WebhookList]:
    return Call(
        Operation("GET", "/v1/webhooks", query(limit=limit, cursor=cursor)),
        _model(m.WebhookList),
    )


def get_webhook(webhook_id: str) -> Call[m.WebhookOut]:
    return Call(
        Operation("GET", **at("/v1/webhooks/{webhook_id}", webhook_id=webhook_id)),
        _model(m.WebhookOut),
    )


def update_webhook(webhook_id: str, fields: dict[str, Any]) -> Call[m.WebhookOut]:
    body = _fields(**fields)
    for name in ("event_types", "sources"):
        if body.get(name) is not None:
            body[name] = list(body[name])
    op = Operation(
        "PATCH",
        **at("/v1/webhooks/{webhook_id}", webhook_id=webhook_id),
        content=json_body(body),
        retry="unsafe",
    )
    return Call(op, _model(m.WebhookOut))


def delete_webhook(webhook_id: str) -> Call[None]:
    op = Operation(
        "DELETE",
        **at("/v1/webhooks/{webhook_id}", webhook_id=webhook_id),
        converge="delete",
    )
    return Call(op, _none)


def rotate_webhook_secret(
    webhook_id: str, grace_period_seconds: int | None
) -> Call[m.WebhookSecretRotated]:
    body = {} if grace_period_seconds is None else {"grace_period_seconds": grace_period_seconds}
    op = Operation(
        "POST",
        **at("/v1/webhooks/{webhook_id}/rotate-secret", webhook_id=webhook_id),
        content=json_body(body),
        retry="unsafe",
    )
    return Call(op, _model(m.WebhookSecretRotated))


def test_webhook(webhook_id: str) -> Call[m.DeliveryOut]:
    op = Operation(
        "POST",
        **at("/v1/webhooks/{webhook_id}/test", webhook_id=webhook_id),
        retry="unsafe",
    )
    return Call(op, _model(m.DeliveryOut))


def replay_webhook(
    webhook_id: str, since: TimeValue, until: TimeValue | None
) -> Call[m.ReplayAccepted]:
    body = dict(query(since=since, until=until))
    op = Operation(
        "POST",
        **at("/v1/webhooks/{webhook_id}/replay", webhook_id=webhook_id),
        content=json_body(body),
        retry="unsafe",
    )
    return Call(op, _model(m.ReplayAccepted))


DeliveryStatus = Literal["pending", "succeeded", "failed"]
WebhookStatus = Literal["active", "paused", "disabled"]


def list_deliveries(
    webhook_id: str, status: DeliveryStatus | None, limit: int | None, cursor: str | None
) -> Call[m.DeliveryList]:
    params = query(status=status, limit=limit, cursor=cursor)
    op = Operation(
        "GET",
        **at("/v1/webhooks/{webhook_id}/deliveries", webhook_id=webhook_id),
        params=params,
    )
    return Call(op, _model(m.DeliveryList))


# --- analytics, health ---


def analytics_summary(start: TimeValue | None, end: TimeValue | None) -> Call[m.AnalyticsSummary]:
    params = query(**{"from": start, "to": end})
    return Call(Operation("GET", "/v1/analytics/summary", params), _model(m.AnalyticsSummary))


def analytics_timeseries(
    granularity: Granularity | None,
    start: TimeValue | None,
    end: TimeValue | None,
    source: str | None,
    event_type: str | None,
) -> Call[m.AnalyticsTimeseries]:
    params = query(
        granularity=granularity,
        **{"from": start, "to": end},
        source=source,
        event_type=event_type,
    )
    return Call(Operation("GET", "/v1/analytics/timeseries", params), _model(m.AnalyticsTimeseries))


def _export_op(
    fmt: str, granularity: Granularity | None, start: TimeValue | None, end: TimeValue | None
) -> Operation:
    params = query(format=fmt, granularity=granularity, **{"from": start, "to": end})
    return Operation("GET", "/v1/analytics/export", params)


def analytics_export_csv(
    granularity: Granularity | None, start: TimeValue | None, end: TimeValue | None
) -> Call[str]:
    return Call(_export_op("csv", granularity, start, end), _text)


def analytics_export_json(
    granularity: Granularity | None, start: TimeValue | None, end: TimeValue | None
) -> Call[m.AnalyticsExport]:
    return Call(_export_op("json", granularity, start, end), _model(m.AnalyticsExport))


def _health(result: Result) -> m.Health:
    # A 503 from the API is the Health document itself ("status": "unavailable"), not the error
    # envelope; anything else (a gateway's 503 page) is raised as the error it is.
    body = result.body
    if result.status == 503 and not (isinstance(body, dict) and "checks" in body):
        raise api_error(result.status, result.info.headers, body)
    return _model(m.Health)(result)


def health() -> Call[m.Health]:
    """``GET /v1/health``: the Health document, on 200 and on 503 alike (not retried)."""
    return Call(Operation("GET", "/v1/health", ok_statuses=frozenset({200, 503})), _health)
