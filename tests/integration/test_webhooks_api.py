"""The webhook routes in-process (chalice's test client) on DynamoDB Local and a moto SQS server:
what each route answers (every 2xx validated with the response models, every error with the
envelope), what it stores and queues, who may call it, and what it refuses.

Host names resolve through a fixed table (``Runtime.build(resolve=...)``), so the SSRF checks
are exercised with names that point where a test wants, without DNS.
"""

from __future__ import annotations

import base64
import json
import re
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import pytest
from chalice.app import Chalice
from chalice.test import Client
from openapi_spec_validator import validate
from pydantic import BaseModel

from chalicelib.api.application import create_app
from chalicelib.api.models.responses import ErrorEnvelope
from chalicelib.api.models.webhooks import (
    DeliveryList,
    DeliveryOut,
    ReplayAccepted,
    WebhookIssued,
    WebhookList,
    WebhookOut,
    WebhookSecretRotated,
)
from chalicelib.domain.clock import format_ts, parse_ts
from chalicelib.domain.events import parse_event_create
from chalicelib.domain.webhooks import (
    DELIVERY_FAILED,
    DELIVERY_SUCCEEDED,
    MAX_FILTERS,
    MAX_WEBHOOKS_PER_TENANT,
    Attempt,
)
from chalicelib.runtime import Runtime
from chalicelib.services import webhooks as webhook_service
from chalicelib.settings import load_settings
from chalicelib.stores.deliveries import DeliveryStore
from chalicelib.stores.queues import QueueUrls
from chalicelib.stores.secret_box import SecretBox
from chalicelib.stores.webhooks import WebhookStore
from devstack.dynamodb_local import DynamoDBLocal
from tests.conftest import TEST_ENV, Database, new_database

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

# A fixed "DNS": what each test host name resolves to.
DNS: dict[str, list[str]] = {
    "hooks.example.com": ["93.184.215.14"],
    "v6.example.com": ["2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
    "metadata.attacker.test": ["169.254.169.254"],
    "linklocal6.attacker.test": ["fe80::1"],
    "half.attacker.test": ["93.184.215.14", "169.254.10.20"],
    "private.attacker.test": ["10.0.0.5"],
    "loopback.attacker.test": ["127.0.0.1"],
    "mapped.attacker.test": ["::ffff:169.254.169.254"],
}
URL = "https://hooks.example.com/triggers"


def fixed_dns(host: str, port: int) -> list[str]:
    if host in DNS:
        return list(DNS[host])
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


WEBHOOK_SECRET = re.compile(r"^whsec_[A-Za-z0-9+/]{43}=$")


@dataclass
class Api:
    app: Chalice
    client: Client
    runtime: Runtime
    ddb: Database
    sqs: SQSClient
    queues: QueueUrls
    tenant: str
    secret: str  # admin key of the tenant
    plain_secret: str  # a key of the same tenant without admin scope
    other_secret: str  # admin key of another tenant

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        secret: str | None = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        sent = {"X-API-Key": secret or self.secret, "Content-Type": "application/json"}
        sent.update(headers or {})
        payload = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        return self.client.http.request(method.upper(), path, headers=sent, body=payload)

    def create(self, **fields: Any) -> dict[str, Any]:
        return ok(self.call("POST", "/v1/webhooks", {"url": URL, **fields}), 201, WebhookIssued)

    def queued(self) -> list[dict[str, Any]]:
        """Every message on the delivery queue now (received and left in flight)."""
        bodies: list[dict[str, Any]] = []
        empty = 0
        while empty < 2:
            resp = self.sqs.receive_message(
                QueueUrl=self.queues.queue_url, MaxNumberOfMessages=10, VisibilityTimeout=300
            )
            messages = resp.get("Messages", [])
            empty = 0 if messages else empty + 1
            bodies.extend(json.loads(m["Body"]) for m in messages)
        return bodies

    def queue_depth(self) -> int:
        names: Any = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        got = self.sqs.get_queue_attributes(QueueUrl=self.queues.queue_url, AttributeNames=names)
        return sum(int(v) for v in got["Attributes"].values())


def build_runtime(
    ddb: Database, sqs: SQSClient, queues: QueueUrls, now: Callable[[], float] = time.time
) -> Runtime:
    settings = replace(
        ddb.settings, webhook_queue_url=queues.queue_url, webhook_dlq_url=queues.dlq_url
    )
    return Runtime.build(settings, dynamodb=ddb.client, sqs=sqs, resolve=fixed_dns, now=now)


@pytest.fixture(scope="module")
def webhook_db(dynamodb_local: DynamoDBLocal) -> Database:
    """One database for the module (creating the tables is the slow part); every test has
    tenants and queues of its own."""
    return new_database(dynamodb_local, load_settings(TEST_ENV))


@contextmanager
def open_api(db: Database, sqs: SQSClient, queues: QueueUrls) -> Iterator[Api]:
    """The app on ``db`` and ``queues``, with a new tenant (an admin key, a plain key) and an
    admin key of another new tenant."""
    runtime = build_runtime(db, sqs, queues)
    tenant = "ten_" + uuid.uuid4().hex[:10]
    many = 1_000_000  # requests per minute: the hostile-input tests send many
    _, secret = runtime.keys.create_key("ops", tenant, admin=True, rate_limit_per_minute=many)
    _, plain = runtime.keys.create_key("app", tenant)
    _, other = runtime.keys.create_key("ops", "ten_" + uuid.uuid4().hex[:10], admin=True)
    app = create_app(runtime)
    with Client(app, stage_name="local") as client:
        yield Api(app, client, runtime, db, sqs, queues, tenant, secret, plain, other)


@pytest.fixture
def api(webhook_db: Database, sqs_shared: SQSClient, sqs_queues: QueueUrls) -> Iterator[Api]:
    with open_api(webhook_db, sqs_shared, sqs_queues) as opened:
        yield opened


def ok(response: Any, status: int, model: type[BaseModel]) -> dict[str, Any]:
    assert response.status_code == status, response.body
    assert response.headers["Content-Type"] == "application/json"
    body: dict[str, Any] = json.loads(response.body)
    model.model_validate(body)
    return body


def error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.body
    assert response.headers["Content-Type"] == "application/json"
    body: dict[str, Any] = json.loads(response.body)
    ErrorEnvelope.model_validate(body)
    assert body["error"]["code"] == code, body
    assert body["request_id"] == response.headers["X-Request-ID"]
    return dict(body["error"])


def fields_of(problem: dict[str, Any]) -> list[str]:
    return [d["field"] for d in problem.get("details") or []]


def routes(webhook_id: str) -> list[tuple[str, str, Any]]:
    """Every route that names a webhook, with a body it accepts."""
    base = f"/v1/webhooks/{webhook_id}"
    return [
        ("GET", base, None),
        ("PATCH", base, {"description": "x"}),
        ("POST", base + "/rotate-secret", {}),
        ("POST", base + "/test", None),
        ("POST", base + "/replay", {"since": "2020-01-01T00:00:00Z"}),
        ("GET", base + "/deliveries", None),
        ("DELETE", base, None),
    ]


# -- create, read, list --------------------------------------------------------------------------
def test_create_shows_the_secret_once_and_never_again(api: Api) -> None:
    created = api.create(
        event_types=["invoice.*", "invoice.*", "order.paid"],
        sources=["billing"],
        description="Billing → ERP",
        rate_limit_per_second=25,
    )
    assert created["webhook_id"].startswith("wh_")
    assert created["url"] == URL
    assert created["event_types"] == ["invoice.*", "order.paid"]  # duplicates dropped
    assert created["sources"] == ["billing"]
    assert created["description"] == "Billing → ERP"
    assert created["rate_limit_per_second"] == 25
    assert created["status"] == "active"
    assert created["disabled_reason"] is None
    assert created["created_at"] == created["updated_at"]
    secret = created["secret"]
    assert WEBHOOK_SECRET.match(secret)
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32

    path = f"/v1/webhooks/{created['webhook_id']}"
    fetched = ok(api.call("GET", path), 200, WebhookOut)
    assert fetched == {k: v for k, v in created.items() if k != "secret"}
    listed = ok(api.call("GET", "/v1/webhooks"), 200, WebhookList)
    assert listed == {"webhooks": [fetched], "next_cursor": None}
    for response in (api.call("GET", path), api.call("GET", "/v1/webhooks")):
        assert secret not in response.body.decode()
        assert secret.removeprefix("whsec_") not in response.body.decode()
    # At rest the secret is sealed: the raw item holds neither it nor its key bytes.
    raw = api.ddb.client.get_item(
        TableName=api.ddb.settings.webhooks_table,
        Key={"tenant_id": {"S": api.tenant}, "webhook_id": {"S": created["webhook_id"]}},
    )["Item"]
    [stored] = raw["secrets"]["L"]
    assert stored["M"]["secret"]["S"].startswith("enc1.")
    assert secret.removeprefix("whsec_") not in json.dumps(raw)
    assert app_webhook_store(api).get(api.tenant, created["webhook_id"]).secrets[0].secret == secret

    minimal = api.create()
    assert minimal["event_types"] == []
    assert minimal["sources"] == []
    assert minimal["description"] == ""
    assert minimal["rate_limit_per_second"] is None
    assert minimal["secret"] != secret


def test_ipv6_and_ip_literal_public_urls_are_accepted(api: Api) -> None:
    for url in (
        "https://v6.example.com/hooks?x=1",
        "http://93.184.215.14:8080/a/b",
        "https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/hooks",
        "HTTPS://HOOKS.EXAMPLE.COM./x",
    ):
        assert api.create(url=url)["url"] == url


def test_the_list_pages_with_its_cursor(api: Api) -> None:
    made = {api.create(description=f"n{i}")["webhook_id"] for i in range(5)}
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = ok(api.call("GET", "/v1/webhooks" + query), 200, WebhookList)
        pages += 1
        assert len(page["webhooks"]) <= 2
        seen.extend(w["webhook_id"] for w in page["webhooks"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 5
    assert set(seen) == made
    assert pages == 3
    assert len(ok(api.call("GET", "/v1/webhooks?limit=100"), 200, WebhookList)["webhooks"]) == 5
    default = ok(api.call("GET", "/v1/webhooks"), 200, WebhookList)
    assert default["next_cursor"] is None


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=abc", "limit"),
        ("limit=1.5", "limit"),
        ("cursor=nope", "cursor"),
        ("cursor=wh_0123", "cursor"),
        ("limit=1&limit=2", "limit"),
        ("status=active", "status"),
    ],
)
def test_list_refuses_bad_query_parameters(api: Api, query: str, field: str) -> None:
    problem = error(api.call("GET", f"/v1/webhooks?{query}"), 400, "validation_error")
    assert field in fields_of(problem)


def app_webhook_store(api: Api) -> WebhookStore:
    """The webhooks table as the app reads it (secrets sealed with the stage's key)."""
    settings = api.ddb.settings
    box = SecretBox(settings.webhook_secrets_key_material)
    return WebhookStore(api.ddb.client, settings.webhooks_table, box=box)


def test_the_fifty_first_webhook_is_refused(api: Api) -> None:
    store = app_webhook_store(api)
    template = api.create()
    stored = store.get(api.tenant, template["webhook_id"])
    assert stored is not None
    for n in range(MAX_WEBHOOKS_PER_TENANT - 1):  # straight into the table: quicker
        store.create(replace(stored, webhook_id=f"wh_{n:024x}"))
    problem = error(api.call("POST", "/v1/webhooks", {"url": URL}), 409, "conflict")
    assert str(MAX_WEBHOOKS_PER_TENANT) in problem["message"]
    api.call("DELETE", f"/v1/webhooks/{template['webhook_id']}")
    api.create()  # room again


# -- edit, delete --------------------------------------------------------------------------------
def test_patch_changes_each_field_alone(api: Api) -> None:
    created = api.create(event_types=["a.*"], sources=["s"], description="d")
    path = f"/v1/webhooks/{created['webhook_id']}"
    current = {k: v for k, v in created.items() if k != "secret"}
    for change in (
        {"url": "https://v6.example.com/new"},
        {"event_types": ["invoice.paid", "order.*"]},
        {"event_types": []},
        {"sources": ["billing", "crm*"]},
        {"description": "new words"},
        {"description": ""},
        {"rate_limit_per_second": 1},
        {"rate_limit_per_second": 10_000},
        {"rate_limit_per_second": None},
    ):
        time.sleep(0.002)  # updated_at moves on (millisecond timestamps)
        answer = ok(api.call("PATCH", path, change), 200, WebhookOut)
        assert parse_ts(answer["updated_at"]) > parse_ts(current["updated_at"])
        expected = {**current, **change, "updated_at": answer["updated_at"]}
        assert answer == expected
        assert ok(api.call("GET", path), 200, WebhookOut) == expected
        current = expected
    several = {"description": "both", "sources": [], "rate_limit_per_second": 7}
    answer = ok(api.call("PATCH", path, several), 200, WebhookOut)
    assert {k: answer[k] for k in several} == several
    assert answer["created_at"] == created["created_at"]


def test_status_transitions(api: Api) -> None:
    created = api.create()
    webhook_id = created["webhook_id"]
    path = f"/v1/webhooks/{webhook_id}"
    store = app_webhook_store(api)

    def status(value: str) -> dict[str, Any]:
        return ok(api.call("PATCH", path, {"status": value}), 200, WebhookOut)

    paused = status("paused")
    assert (paused["status"], paused["disabled_reason"]) == ("paused", None)
    assert error(api.call("POST", path + "/test"), 409, "conflict")
    since = {"since": "2020-01-01T00:00:00Z"}
    assert error(api.call("POST", path + "/replay", since), 409, "conflict")
    disabled = status("disabled")
    assert disabled["status"] == "disabled"
    assert disabled["disabled_reason"] == "Disabled through the API."
    assert status("disabled")["disabled_reason"] == "Disabled through the API."  # no change

    # The worker's health record: a failure run with the breaker open...
    store.record_failure(api.tenant, webhook_id, time.time())
    store.open_breaker(api.tenant, webhook_id, time.time() + 60)
    active = status("active")
    assert (active["status"], active["disabled_reason"]) == ("active", None)
    stored = store.get(api.tenant, webhook_id)
    assert stored is not None
    assert (stored.consecutive_failures, stored.failing_since, stored.breaker_open_until) == (
        0,
        None,
        None,
    )
    # ...and an endpoint the worker disabled (410) comes back the same way.
    store.disable(api.tenant, webhook_id, "The endpoint answered 410 Gone.", time.time())
    gone = ok(api.call("GET", path), 200, WebhookOut)
    assert gone["disabled_reason"] == "The endpoint answered 410 Gone."
    assert status("paused")["disabled_reason"] is None
    assert status("active")["status"] == "active"
    ok(api.call("POST", path + "/test"), 202, DeliveryOut)


def test_delete_then_every_route_is_404(api: Api) -> None:
    webhook_id = api.create()["webhook_id"]
    assert api.call("DELETE", f"/v1/webhooks/{webhook_id}").status_code == 204
    for method, path, body in routes(webhook_id):
        error(api.call(method, path, body), 404, "not_found")
    assert ok(api.call("GET", "/v1/webhooks"), 200, WebhookList)["webhooks"] == []


@pytest.mark.parametrize(
    "webhook_id",
    ["wh_0123", "wh_" + "g" * 24, "WH_" + "0" * 24, "wh_" + "0" * 24 + "%2F..", "..%2F..%2Fx"],
)
def test_malformed_webhook_ids_are_404(api: Api, webhook_id: str) -> None:
    for method, path, body in routes(webhook_id):
        error(api.call(method, path, body), 404, "not_found")


# -- who may call --------------------------------------------------------------------------------
def test_a_key_without_admin_scope_is_forbidden_everywhere(api: Api) -> None:
    webhook_id = api.create()["webhook_id"]
    for method, path, body in [
        ("POST", "/v1/webhooks", {"url": URL}),
        ("GET", "/v1/webhooks", None),
        *routes(webhook_id),
    ]:
        error(api.call(method, path, body, secret=api.plain_secret), 403, "forbidden")
    assert api.queue_depth() == 0
    ok(api.call("GET", f"/v1/webhooks/{webhook_id}"), 200, WebhookOut)  # untouched


def test_another_tenants_webhook_is_404_on_every_route(api: Api) -> None:
    webhook_id = api.create()["webhook_id"]
    for method, path, body in routes(webhook_id):
        error(api.call(method, path, body, secret=api.other_secret), 404, "not_found")
    listed = ok(api.call("GET", "/v1/webhooks", secret=api.other_secret), 200, WebhookList)
    assert listed["webhooks"] == []
    assert api.queue_depth() == 0
    ok(api.call("GET", f"/v1/webhooks/{webhook_id}"), 200, WebhookOut)  # still there


def test_no_key_is_401(api: Api) -> None:
    response = api.client.http.get("/v1/webhooks")
    error(response, 401, "unauthorized")


# -- rotate --------------------------------------------------------------------------------------
def test_rotate_secret_issues_a_new_secret_and_keeps_the_old_one_for_the_grace(api: Api) -> None:
    created = api.create()
    webhook_id = created["webhook_id"]
    path = f"/v1/webhooks/{webhook_id}/rotate-secret"
    store = app_webhook_store(api)

    before = time.time()
    rotated = ok(api.call("POST", path), 200, WebhookSecretRotated)  # no body: 24 h
    assert rotated["webhook_id"] == webhook_id
    assert WEBHOOK_SECRET.match(rotated["secret"])
    assert rotated["secret"] != created["secret"]
    expires = parse_ts(rotated["previous_secret_expires_at"])
    assert before + 86400 - 1 <= expires <= time.time() + 86400 + 1
    stored = store.get(api.tenant, webhook_id)
    assert stored is not None
    assert stored.signing_secrets(time.time()) == [rotated["secret"], created["secret"]]
    assert stored.signing_secrets(expires + 1) == [rotated["secret"]]

    short = ok(api.call("POST", path, {"grace_period_seconds": 60}), 200, WebhookSecretRotated)
    assert parse_ts(short["previous_secret_expires_at"]) <= time.time() + 61
    stored = store.get(api.tenant, webhook_id)
    assert stored is not None
    # Both earlier secrets now sign for at most 60 s more (the sooner expiry wins).
    assert stored.signing_secrets(time.time()) == [
        short["secret"],
        rotated["secret"],
        created["secret"],
    ]

    at_once = ok(api.call("POST", path, {"grace_period_seconds": 0}), 200, WebhookSecretRotated)
    assert at_once["previous_secret_expires_at"] is None
    stored = store.get(api.tenant, webhook_id)
    assert stored is not None
    assert stored.signing_secrets(time.time()) == [at_once["secret"]]

    for response in (
        api.call("GET", f"/v1/webhooks/{webhook_id}"),
        api.call("GET", "/v1/webhooks"),
    ):
        text = response.body.decode()
        assert all(s["secret"] not in text for s in (created, rotated, short, at_once))


@pytest.mark.parametrize(
    "body",
    [
        {"grace_period_seconds": -1},
        {"grace_period_seconds": 7 * 86400 + 1},
        {"grace_period_seconds": "60"},
        {"grace_period_seconds": 1.5},
        {"grace_period_seconds": None},
        {"grace_period_seconds": True},
        {"grace": 60},
        [],
    ],
)
def test_rotate_refuses_bad_bodies(api: Api, body: Any) -> None:
    webhook_id = api.create()["webhook_id"]
    path = f"/v1/webhooks/{webhook_id}/rotate-secret"
    error(api.call("POST", path, body), 400, "validation_error")


# -- test sends ----------------------------------------------------------------------------------
def test_a_test_send_is_queued_and_listed(api: Api) -> None:
    webhook_id = api.create()["webhook_id"]
    response = api.call("POST", f"/v1/webhooks/{webhook_id}/test")
    delivery = ok(response, 202, DeliveryOut)
    assert delivery["webhook_id"] == webhook_id
    assert delivery["kind"] == "test"
    assert delivery["event_type"] == "webhook.test"
    assert delivery["event_id"] is None
    assert delivery["status"] == "pending"
    assert delivery["attempts"] == []
    assert re.match(r"^msg_[0-9A-HJKMNP-TV-Z]{26}$", delivery["delivery_id"])
    assert api.queued() == [
        {
            "tenant_id": api.tenant,
            "webhook_id": webhook_id,
            "delivery_id": delivery["delivery_id"],
            "request_id": response.headers["X-Request-ID"],
        }
    ]
    listed = ok(api.call("GET", f"/v1/webhooks/{webhook_id}/deliveries"), 200, DeliveryList)
    assert listed == {"deliveries": [delivery], "next_cursor": None}
    # An empty JSON object is accepted as a body too; anything else is not JSON.
    ok(api.call("POST", f"/v1/webhooks/{webhook_id}/test", {}), 202, DeliveryOut)
    error(
        api.call(
            "POST",
            f"/v1/webhooks/{webhook_id}/test",
            raw=b"x",
            headers={"Content-Type": "text/plain"},
        ),
        415,
        "unsupported_media_type",
    )


# -- replay --------------------------------------------------------------------------------------
class Clock:
    def __init__(self, at: float) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at


def seed_events(api: Api, plan: list[tuple[float, str, str]]) -> list[dict[str, Any]]:
    """Create events at the given instants (source, event type) through the events service."""
    clock = Clock(0.0)
    runtime = build_runtime(api.ddb, api.sqs, api.queues, now=clock)
    made = []
    for at, source, event_type in plan:
        clock.at = at
        draft = parse_event_create({"source": source, "event_type": event_type, "payload": {}})
        made.append(runtime.events.create(api.tenant, draft).event)
    return made


def replay(api: Api, webhook_id: str, body: dict[str, Any]) -> Any:
    return api.call("POST", f"/v1/webhooks/{webhook_id}/replay", body)


def test_replay_queues_exactly_the_matching_events_of_the_range(api: Api) -> None:
    t0 = float(int(time.time()) - 3600)
    events = seed_events(
        api,
        [
            (t0 + 0, "billing", "invoice.paid"),  # before the range
            (t0 + 10, "billing", "invoice.paid"),  # on `since`: in
            (t0 + 11, "billing", "invoice.refund.created"),  # in (to be acknowledged)
            (t0 + 12, "crm", "invoice.paid"),  # other source: out
            (t0 + 13, "billing", "order.paid"),  # other type: out
            (t0 + 14, "billing", "invoice.void"),  # in (to be deleted: out)
            (t0 + 15, "billing", "invoice"),  # "invoice.*" does not match "invoice"
            (t0 + 20, "billing", "invoice.sent"),  # on `until`: in
            (t0 + 20.0015, "billing", "invoice.paid"),  # a millisecond after: out
        ],
    )
    api.runtime.events.acknowledge(api.tenant, events[2]["event_id"])
    api.runtime.events.delete(api.tenant, events[5]["event_id"])
    webhook_id = api.create(event_types=["invoice.*"], sources=["billing"])["webhook_id"]
    body = {"since": format_ts(t0 + 10), "until": format_ts(t0 + 20)}
    answer = ok(replay(api, webhook_id, body), 202, ReplayAccepted)
    assert answer == {"queued": 3, **body}
    expected = {events[i]["event_id"] for i in (1, 2, 7)}

    messages = api.queued()
    assert len(messages) == 3
    assert {m["webhook_id"] for m in messages} == {webhook_id}
    listed = ok(api.call("GET", f"/v1/webhooks/{webhook_id}/deliveries"), 200, DeliveryList)
    deliveries = listed["deliveries"]
    assert {d["delivery_id"] for d in deliveries} == {m["delivery_id"] for m in messages}
    assert {d["event_id"] for d in deliveries} == expected
    assert {d["kind"] for d in deliveries} == {"replay"}
    assert {d["status"] for d in deliveries} == {"pending"}
    # Oldest event first in the queue (ids ascend with it), newest first in the log.
    by_event = {d["event_id"]: d["delivery_id"] for d in deliveries}
    in_order = [by_event[events[i]["event_id"]] for i in (1, 2, 7)]
    assert sorted(in_order) == in_order
    assert [d["delivery_id"] for d in deliveries] == sorted(in_order, reverse=True)

    # A second replay is a new delivery of each, with new ids.
    again = ok(replay(api, webhook_id, body), 202, ReplayAccepted)
    assert again["queued"] == 3
    second = api.queued()
    assert len(second) == 3
    assert not {m["delivery_id"] for m in second} & {m["delivery_id"] for m in messages}

    # No `until`: up to now. An unfiltered webhook gets every live event from `since` on.
    everything = api.create()["webhook_id"]
    answer = ok(replay(api, everything, {"since": format_ts(t0)}), 202, ReplayAccepted)
    assert answer["queued"] == 8
    assert abs(parse_ts(answer["until"]) - time.time()) < 5
    assert len(api.queued()) == 8


def test_a_replay_over_the_limit_is_refused_whole(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webhook_service, "MAX_REPLAY_EVENTS", 4)
    t0 = float(int(time.time()) - 600)
    seed_events(api, [(t0 + i, "billing", "invoice.paid") for i in range(5)])
    webhook_id = api.create()["webhook_id"]
    problem = error(replay(api, webhook_id, {"since": format_ts(t0)}), 400, "validation_error")
    assert "narrower range" in problem["message"]
    assert api.queue_depth() == 0
    assert ok(api.call("GET", f"/v1/webhooks/{webhook_id}/deliveries"), 200, DeliveryList) == {
        "deliveries": [],
        "next_cursor": None,
    }
    # Exactly the limit is fine.
    answer = ok(replay(api, webhook_id, {"since": format_ts(t0 + 1)}), 202, ReplayAccepted)
    assert answer["queued"] == 4
    assert api.queue_depth() == 4


def test_the_replay_limit_counts_matching_events_not_every_event(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many events the webhook does not want, then a few it does: the few are all queued (the
    limit is on matching events; the others must not hide them)."""
    monkeypatch.setattr(webhook_service, "MAX_REPLAY_EVENTS", 3)
    t0 = float(int(time.time()) - 600)
    plan = [(t0 + i / 10, "billing", "noise") for i in range(40)]
    plan += [(t0 + 10 + i, "billing", "invoice.paid") for i in range(3)]
    events = seed_events(api, plan)
    webhook_id = api.create(event_types=["invoice.*"])["webhook_id"]
    answer = ok(replay(api, webhook_id, {"since": format_ts(t0)}), 202, ReplayAccepted)
    assert answer["queued"] == 3
    listed = ok(api.call("GET", f"/v1/webhooks/{webhook_id}/deliveries"), 200, DeliveryList)
    assert {d["event_id"] for d in listed["deliveries"]} == {e["event_id"] for e in events[-3:]}
    # And a fourth matching event makes the range too wide, wherever it sits.
    seed_events(api, [(t0 + 0.05, "billing", "invoice.early")])
    error(replay(api, webhook_id, {"since": format_ts(t0)}), 400, "validation_error")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "since"),
        ({"since": None}, "since"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-13-01T00:00:00Z"}, "since"),
        ({"since": 1700000000}, "since"),
        ({"since": "2020-01-01T00:00:00Z", "until": "2019-01-01T00:00:00Z"}, "until"),
        ({"since": "2020-01-01T00:00:00Z", "until": 5}, "until"),
        ({"since": "2999-01-01T00:00:00Z"}, "since"),
        ({"since": "2020-01-01T00:00:00Z", "limit": 5}, "limit"),
        # Valid RFC 3339, outside what the events' timestamps hold (it used to be a 500).
        ({"since": "0001-01-01T00:00:00+23:59"}, "since"),
        ({"since": "0999-01-01T00:00:00Z"}, "since"),
        ({"since": "1969-12-31T23:59:59Z"}, "since"),
        ({"since": "2020-01-01T00:00:00Z", "until": "9999-12-31T23:59:59-23:59"}, "until"),
    ],
)
def test_replay_refuses_bad_bodies(api: Api, body: dict[str, Any], field: str) -> None:
    webhook_id = api.create()["webhook_id"]
    problem = error(replay(api, webhook_id, body), 400, "validation_error")
    assert field in fields_of(problem)
    assert api.queue_depth() == 0


def test_replay_needs_a_body(api: Api) -> None:
    webhook_id = api.create()["webhook_id"]
    problem = error(api.call("POST", f"/v1/webhooks/{webhook_id}/replay"), 400, "validation_error")
    assert fields_of(problem) == ["body"]


def test_a_queue_that_refuses_is_503_and_the_deliveries_are_marked_failed(
    webhook_db: Database, sqs_shared: SQSClient, sqs_queues: QueueUrls
) -> None:
    """The queue is gone (or its URL is wrong): test and replay answer 503, and the deliveries
    they stored say they could not be queued instead of staying pending for ever."""
    broken = QueueUrls(sqs_queues.queue_url + "-missing", sqs_queues.dlq_url)
    with open_api(webhook_db, sqs_shared, broken) as api:
        webhook_id = api.create()["webhook_id"]
        t0 = float(int(time.time()) - 60)
        seed_events(api, [(t0, "billing", "invoice.paid"), (t0 + 1, "billing", "invoice.sent")])
        error(api.call("POST", f"/v1/webhooks/{webhook_id}/test"), 503, "service_unavailable")
        body = {"since": format_ts(t0)}
        error(replay(api, webhook_id, body), 503, "service_unavailable")
        path = f"/v1/webhooks/{webhook_id}/deliveries"
        listed = ok(api.call("GET", path), 200, DeliveryList)["deliveries"]
        assert len(listed) == 3
        assert {(d["status"], d["failure_reason"]) for d in listed} == {
            ("failed", "could not be queued")
        }


# -- the deliveries log --------------------------------------------------------------------------
def test_the_deliveries_log_filters_by_status_and_pages_newest_first(api: Api) -> None:
    webhook_id = api.create()["webhook_id"]
    path = f"/v1/webhooks/{webhook_id}/deliveries"
    ids = [
        ok(api.call("POST", f"/v1/webhooks/{webhook_id}/test"), 202, DeliveryOut)["delivery_id"]
        for _ in range(7)
    ]
    store = DeliveryStore(api.ddb.client, api.ddb.settings.deliveries_table)
    outcome = {ids[1]: DELIVERY_FAILED, ids[2]: DELIVERY_SUCCEEDED, ids[4]: DELIVERY_FAILED}
    outcome[ids[5]] = DELIVERY_FAILED
    for delivery_id, status in outcome.items():
        delivery = store.get(webhook_id, delivery_id)
        assert delivery is not None
        attempt = Attempt(time.time(), 500 if status == DELIVERY_FAILED else 204, 12.5, None)
        reason = "all 1 attempts failed" if status == DELIVERY_FAILED else None
        store.record_attempt(delivery, attempt, status, time.time(), failure_reason=reason)

    def walk(query: str, limit: int) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            extra = f"&cursor={cursor}" if cursor else ""
            page = ok(api.call("GET", f"{path}?limit={limit}{query}{extra}"), 200, DeliveryList)
            assert len(page["deliveries"]) <= limit
            found.extend(page["deliveries"])
            cursor = page["next_cursor"]
            if cursor is None:
                return found

    everything = walk("", 3)
    assert [d["delivery_id"] for d in everything] == ids[::-1]
    failed = walk("&status=failed", 2)
    assert [d["delivery_id"] for d in failed] == [ids[5], ids[4], ids[1]]
    assert all(d["status"] == "failed" for d in failed)
    assert failed[0]["attempts"][0]["status_code"] == 500
    assert failed[0]["failure_reason"] == "all 1 attempts failed"
    succeeded = walk("&status=succeeded", 5)
    assert [d["delivery_id"] for d in succeeded] == [ids[2]]
    assert succeeded[0]["attempts"][0]["status_code"] == 204
    pending = walk("&status=pending", 1)
    assert [d["delivery_id"] for d in pending] == [ids[6], ids[3], ids[0]]

    for query, field in [
        ("status=dead", "status"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("cursor=msg_nope", "cursor"),
        ("cursor=" + ids[0].lower(), "cursor"),
        ("since=2020-01-01T00:00:00Z", "since"),
    ]:
        problem = error(api.call("GET", f"{path}?{query}"), 400, "validation_error")
        assert field in fields_of(problem), query


# -- validation ----------------------------------------------------------------------------------
BAD_URLS = [
    "ftp://hooks.example.com/x",
    "javascript:alert(1)",
    "hooks.example.com/x",
    "https://",
    "https:///path",
    "https://user:pw@hooks.example.com/x",
    "https://user@hooks.example.com/x",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fd00:ec2::254]/latest",
    "http://[fe80::1%25eth0]/",
    "http://[::ffff:169.254.169.254]/",
    "http://0.0.0.0/",
    "http://127.0.0.1:9000/hooks",
    "http://localhost:9000/hooks",  # does not resolve here; refused either way
    "http://10.1.2.3/",
    "http://[::1]/",
    "https://metadata.attacker.test/x",
    "https://linklocal6.attacker.test/x",
    "https://half.attacker.test/x",
    "https://private.attacker.test/x",
    "https://loopback.attacker.test/x",
    "https://mapped.attacker.test/x",
    "https://nowhere.invalid/x",
    "https://hooks.example.com:0/x",
    "https://hooks.example.com:99999/x",
    "https://hooks.example.com/a b",
    "https://hooks.example.com/\x00",
    "http://2130706433/",
    "http://0x7f.1/",
    "https://hooks.example.com/" + "a" * 2048,
    "",
]


@pytest.mark.parametrize("url", BAD_URLS)
def test_urls_that_are_not_allowed_are_refused_on_create_and_patch(api: Api, url: str) -> None:
    problem = error(api.call("POST", "/v1/webhooks", {"url": url}), 400, "validation_error")
    assert fields_of(problem) == ["url"]
    assert problem["details"][0]["message"]
    webhook_id = api.create()["webhook_id"]
    path = f"/v1/webhooks/{webhook_id}"
    problem = error(api.call("PATCH", path, {"url": url}), 400, "validation_error")
    assert fields_of(problem) == ["url"]
    assert ok(api.call("GET", path), 200, WebhookOut)["url"] == URL


def test_the_refusal_says_why(api: Api) -> None:
    def reason(url: str) -> str:
        response = api.call("POST", "/v1/webhooks", {"url": url})
        return str(error(response, 400, "validation_error")["message"])

    assert "169.254.169.254" in reason("https://metadata.attacker.test/")
    assert "metadata" in reason("https://metadata.attacker.test/")
    assert "link-local" in reason("https://half.attacker.test/")
    assert "loopback" in reason("http://127.0.0.1/")
    assert "user name or password" in reason("https://u:p@hooks.example.com/")
    assert "http and https" in reason("ftp://hooks.example.com/")
    assert "does not resolve" in reason("https://nowhere.invalid/")


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"event_types": ["in*voice"]}, "event_types[0]"),
        ({"event_types": ["*a"]}, "event_types[0]"),
        ({"event_types": ["a**"]}, "event_types[0]"),
        ({"event_types": [""]}, "event_types[0]"),
        ({"event_types": ["a b"]}, "event_types[0]"),
        ({"event_types": ["x" * 129]}, "event_types[0]"),
        ({"event_types": ["ok", 5]}, "event_types[1]"),
        ({"event_types": [None]}, "event_types[0]"),
        ({"event_types": [["a"]]}, "event_types[0]"),
        ({"event_types": "invoice.*"}, "event_types"),
        ({"event_types": {"a": 1}}, "event_types"),
        ({"event_types": [f"t{i}" for i in range(MAX_FILTERS + 1)]}, "event_types"),
        ({"sources": ["in*voice"]}, "sources[0]"),
        ({"sources": [f"s{i}" for i in range(MAX_FILTERS + 1)]}, "sources"),
        ({"sources": [1.5]}, "sources[0]"),
        ({"sources": ["é"]}, "sources[0]"),
        ({"description": "a\nb"}, "description"),
        ({"description": "a\x00b"}, "description"),
        ({"description": "tab\there"}, "description"),
        ({"description": "\u2028"}, "description"),
        ({"description": "\u202e"}, "description"),
        ({"description": "x" * 513}, "description"),
        ({"description": 5}, "description"),
        ({"rate_limit_per_second": 0}, "rate_limit_per_second"),
        ({"rate_limit_per_second": -1}, "rate_limit_per_second"),
        ({"rate_limit_per_second": 10_001}, "rate_limit_per_second"),
        ({"rate_limit_per_second": "5"}, "rate_limit_per_second"),
        ({"rate_limit_per_second": 5.0}, "rate_limit_per_second"),
        ({"rate_limit_per_second": 5.5}, "rate_limit_per_second"),
        ({"rate_limit_per_second": True}, "rate_limit_per_second"),
        ({"rate_limit_per_second": 10**30}, "rate_limit_per_second"),
        ({"secret": "whsec_AAAA"}, "secret"),
        ({"webhook_id": "wh_" + "0" * 24}, "webhook_id"),
        ({"URL": URL}, "URL"),
    ],
)
def test_fields_are_validated_on_create_and_patch(
    api: Api, patch: dict[str, Any], field: str
) -> None:
    problem = error(
        api.call("POST", "/v1/webhooks", {"url": URL, **patch}), 400, "validation_error"
    )
    assert fields_of(problem) == [field], problem
    webhook_id = api.create()["webhook_id"]
    problem = error(api.call("PATCH", f"/v1/webhooks/{webhook_id}", patch), 400, "validation_error")
    assert fields_of(problem) == [field], problem
    assert api.queue_depth() == 0


def test_the_filter_boundaries_are_accepted(api: Api) -> None:
    names = [f"t{i}.*" for i in range(MAX_FILTERS)]
    created = api.create(event_types=names, sources=["*"], description="x" * 512)
    assert created["event_types"] == names
    assert created["sources"] == ["*"]
    assert api.create(event_types=["a" * 128], sources=["b" * 127 + "*"])["sources"] == [
        "b" * 127 + "*"
    ]
    assert api.create(description="Ünïcödé, emoji 🎉, CJK 漢字")["description"].endswith("漢字")


@pytest.mark.parametrize(
    "patch",
    [
        {"url": None},
        {"event_types": None},
        {"sources": None},
        {"description": None},
        {"status": None},
        {"status": "deleted"},
        {"status": "Active"},
        {"status": 1},
    ],
)
def test_patch_refuses_nulls_and_unknown_statuses(api: Api, patch: dict[str, Any]) -> None:
    webhook_id = api.create()["webhook_id"]
    problem = error(api.call("PATCH", f"/v1/webhooks/{webhook_id}", patch), 400, "validation_error")
    assert fields_of(problem) == list(patch)


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        (b"", 400, "validation_error"),
        (b"{}", 400, "validation_error"),  # PATCH: nothing to change; POST: url is required
        (b"[]", 400, "validation_error"),
        (b'"url"', 400, "validation_error"),
        (b"5", 400, "validation_error"),
        (b"null", 400, "validation_error"),
        (b"true", 400, "validation_error"),
        (b"{", 400, "invalid_json"),
        (b"{'url': 1}", 400, "invalid_json"),
        (b'{"url": NaN}', 400, "validation_error"),
        (b'{"url": "a", "url": "b"}', 400, "validation_error"),
        (b'{"description": "\\ud800"}', 400, "validation_error"),
        (b"\xff\xfe{}", 400, "invalid_json"),
        (b"[" * 150 + b"]" * 150, 400, "validation_error"),
        (b'{"rate_limit_per_second": 1' + b"0" * 500 + b"}", 400, "validation_error"),
        (b'{"description": "' + b"x" * (64 * 1024) + b'"}', 413, "payload_too_large"),
    ],
)
def test_bodies_that_are_not_an_object_of_fields(
    api: Api, raw: bytes, status: int, code: str
) -> None:
    webhook_id = api.create()["webhook_id"]
    error(api.call("POST", "/v1/webhooks", raw=raw), status, code)
    error(api.call("PATCH", f"/v1/webhooks/{webhook_id}", raw=raw), status, code)


def test_an_empty_patch_says_what_is_missing(api: Api) -> None:
    webhook_id = api.create()["webhook_id"]
    problem = error(api.call("PATCH", f"/v1/webhooks/{webhook_id}", {}), 400, "validation_error")
    assert problem["details"] == [{"field": "body", "message": "must change at least one field"}]


def test_a_body_that_is_not_json_is_415(api: Api) -> None:
    webhook_id = api.create()["webhook_id"]
    for method, path in [("POST", "/v1/webhooks"), ("PATCH", f"/v1/webhooks/{webhook_id}")]:
        response = api.call(
            method,
            path,
            raw=b"url=x",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        error(response, 415, "unsupported_media_type")


# -- the OpenAPI document ------------------------------------------------------------------------
def test_the_served_openapi_document_lists_every_webhook_route_and_is_valid(api: Api) -> None:
    response = api.client.http.get("/v1/openapi.json")
    assert response.status_code == 200
    document = json.loads(response.body)
    validate(document)
    expected = {
        "/v1/webhooks": {"get", "post"},
        "/v1/webhooks/{webhook_id}": {"get", "patch", "delete"},
        "/v1/webhooks/{webhook_id}/rotate-secret": {"post"},
        "/v1/webhooks/{webhook_id}/test": {"post"},
        "/v1/webhooks/{webhook_id}/replay": {"post"},
        "/v1/webhooks/{webhook_id}/deliveries": {"get"},
    }
    app_routes = {
        path: {m.lower() for m in methods}
        for path, methods in api.app.routes.items()
        if path.startswith("/v1/webhooks")
    }
    assert app_routes == expected
    methods = {"get", "put", "post", "delete", "patch"}
    served = {
        path: {m for m in item if m in methods}
        for path, item in document["paths"].items()
        if path.startswith("/v1/webhooks")
    }
    assert served == expected
    statuses = {
        (path, method): set(document["paths"][path][method]["responses"])
        for path, verbs in expected.items()
        for method in verbs
    }
    assert {"201", "400", "403"} <= statuses[("/v1/webhooks", "post")]
    assert "202" in statuses[("/v1/webhooks/{webhook_id}/replay", "post")]
    assert "202" in statuses[("/v1/webhooks/{webhook_id}/test", "post")]
    assert "204" in statuses[("/v1/webhooks/{webhook_id}", "delete")]
    assert "404" in statuses[("/v1/webhooks/{webhook_id}", "get")]
