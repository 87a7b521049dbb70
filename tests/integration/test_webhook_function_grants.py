"""Each webhook function's own IAM policy grants exactly the DynamoDB calls its code makes.

The fan-out and the delivery worker (with its analytics counts, as ``Runtime`` builds it) run on
DynamoDB Local through every path (delivered, retried, 410, breaker, a success after failures, a
paused endpoint, an endpoint rate limit, a gone event), botocore reports every call with its
table (a transaction's items as the actions IAM checks), and the (action, table) pairs must be
what the function's ``.chalice/policy-<stage>-<function>.json`` grants on tables: nothing missing
(an AccessDenied in AWS), nothing unused (least privilege)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from chalicelib.domain.clock import FixedClock
from chalicelib.domain.events import EventDraft
from chalicelib.domain.webhook_signing import new_webhook_secret
from chalicelib.domain.webhooks import STATUS_ACTIVE, STATUS_PAUSED, Webhook, WebhookSecret
from chalicelib.services.events import EventService
from chalicelib.services.outbound_http import HttpResult
from chalicelib.services.rate_limiter import RateLimiter
from chalicelib.services.webhook_delivery import WebhookDeliveryService
from chalicelib.services.webhook_fanout import WebhookFanout
from chalicelib.stores.analytics import AnalyticsStore
from chalicelib.stores.deliveries import DeliveryStore
from chalicelib.stores.events import EventStore
from chalicelib.stores.protocols import NewEvent
from chalicelib.stores.rate_limits import RateLimitStore
from chalicelib.stores.webhooks import WebhookStore
from tests.conftest import Database
from tests.fakes import FakeDeliveryQueue, FakePoster
from tests.lambda_events import message_record, sqs_event, stream_record
from tests.unit.test_infra_template import LOGICAL_IDS, STAGES, grants, policy_files

TENANT = "ten_a"
TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


class Calls:
    """Every DynamoDB call of the function under way, as (``dynamodb:<Operation>``, the table's
    logical id)."""

    def __init__(self, tables: dict[str, str]) -> None:
        self.tables = tables
        self.seen: dict[str, set[tuple[str, str]]] = {}
        self.function: str | None = None

    def __call__(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if self.function is None:
            return
        seen = self.seen.setdefault(self.function, set())
        if model.name == "TransactWriteItems":
            # IAM authorizes each item of a transaction as its own action.
            for item in params["TransactItems"]:
                ((kind, request),) = item.items()
                action = TRANSACT_ACTIONS[kind]
                seen.add((f"dynamodb:{action}", self.tables[request["TableName"]]))
            return
        names = [params["TableName"]] if "TableName" in params else list(params["RequestItems"])
        seen.update((f"dynamodb:{model.name}", self.tables[name]) for name in names)

    def of(self, function: str) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for action, table in self.seen.get(function, set()):
            out.setdefault(action, set()).add(table)
        return out


class Stack:
    def __init__(self, ddb: Database, calls: Calls) -> None:
        settings, client = ddb.settings, ddb.client
        self.calls = calls
        # In the future, so that DynamoDB Local's TTL sweep (on the real clock) keeps the events.
        self.clock = FixedClock(round(time.time()) + 30 * 86400)
        now = self.clock.now
        self.webhooks = WebhookStore(client, settings.webhooks_table, now)
        self.deliveries = DeliveryStore(client, settings.deliveries_table, now)
        self.events = EventStore(client, settings.events_table, settings.idempotency_table, now)
        self.event_service = EventService(self.events, settings.inbox_shards, 7, 3600, now)
        self.queue = FakeDeliveryQueue()
        self.poster = FakePoster()
        self.fanout = WebhookFanout(self.webhooks, self.deliveries, self.queue, now)
        limiter = RateLimiter(RateLimitStore(client, settings.rate_limits_table), 1, 1, now=now)
        self.worker = WebhookDeliveryService(
            self.webhooks,
            self.deliveries,
            self.events,
            self.queue,
            limiter,
            analytics=AnalyticsStore(client, settings.analytics_table, now),
            allow_private_targets=False,
            post=self.poster,
            now=now,
        )
        self.sequence = 0

    def hook(self, n: int, **changes: Any) -> Webhook:
        """A webhook for events of ``type.n`` (the API's work: not recorded)."""
        hook = Webhook(
            tenant_id=TENANT,
            webhook_id=f"wh_{n:024x}",
            url="https://hooks.example.com/in",
            event_types=(f"type.{n}",),
            sources=(),
            description="",
            status=STATUS_ACTIVE,
            created_at=self.clock.now(),
            updated_at=self.clock.now(),
            secrets=(WebhookSecret(new_webhook_secret(), self.clock.now()),),
        )
        hook = dataclasses.replace(hook, **changes)
        self.webhooks.create(hook)
        return hook

    def send(
        self, n: int, answer: HttpResult, before_delivery: Callable[[NewEvent], None] | None = None
    ) -> None:
        """One event of ``type.n``, fanned out, then delivered once and answered with
        ``answer``; ``before_delivery`` runs in between (not recorded)."""
        self.clock.advance(1)
        draft = EventDraft("billing", f"type.{n}", "{}", {}, None)
        new = self.event_service.placed(self.event_service.new_event(TENANT, draft))
        self.events.put_new(new)
        self.sequence += 1
        before = len(self.queue.sent)
        self.calls.function = "webhook_fanout"
        self.fanout.process([stream_record(self.sequence, new=new)])
        self.calls.function = None
        if before_delivery is not None:
            before_delivery(new)
        self.poster.answers.append(answer)
        self.calls.function = "webhook_deliveries"
        self.worker.handle(sqs_event(*(message_record(m) for m in self.queue.sent[before:])))
        self.calls.function = None

    def pause(self, hook: Webhook) -> Callable[[NewEvent], None]:
        def pause(_: NewEvent) -> None:
            current = self.webhooks.get(TENANT, hook.webhook_id)
            assert current is not None
            paused = dataclasses.replace(current, status=STATUS_PAUSED)
            self.webhooks.save(paused, ("status",), current.updated_at)

        return pause

    def delete_event(self, new: NewEvent) -> None:
        self.events.delete(TENANT, new.event.event_id)


@pytest.fixture
def calls(ddb: Database) -> Iterator[Calls]:
    tables = {ddb.settings.table_name(name): logical for name, logical in LOGICAL_IDS.items()}
    recorder = Calls(tables)
    ddb.client.meta.events.register("before-parameter-build.dynamodb.*", recorder)
    yield recorder
    ddb.client.meta.events.unregister("before-parameter-build.dynamodb.*", recorder)


def table_grants(function: str, stage: str) -> dict[str, set[str]]:
    """What the function's policy grants on tables (streams, queues and logs left out)."""
    tables = set(LOGICAL_IDS.values())
    granted = grants(policy_files(stage)[function])
    return {
        action: resources & tables
        for action, resources in granted.items()
        if action.startswith("dynamodb:") and resources & tables
    }


def test_the_fan_out_and_delivery_policies_grant_what_the_code_does(
    ddb: Database, calls: Calls
) -> None:
    stack = Stack(ddb, calls)
    ok, error = HttpResult(200), HttpResult(500)
    stack.hook(1)
    stack.send(1, ok)  # delivered
    stack.hook(2)
    for _ in range(5):
        stack.send(2, error)  # retried; the fifth failure in a row opens the breaker
    stack.clock.advance(60)
    stack.send(2, ok)  # a success after failures
    stack.hook(3)
    stack.send(3, HttpResult(410))  # gone: the endpoint is disabled
    paused = stack.hook(4)
    stack.send(4, ok, before_delivery=stack.pause(paused))  # fails without an attempt
    stack.hook(5, rate_limit_per_second=1)
    stack.send(5, ok)
    stack.send(5, ok, before_delivery=stack.delete_event)  # its event is gone
    assert len(stack.poster.calls) == 9
    for stage in STAGES:
        assert calls.of("webhook_fanout") == table_grants("webhook_fanout", stage)
        assert calls.of("webhook_deliveries") == table_grants("webhook_deliveries", stage)
