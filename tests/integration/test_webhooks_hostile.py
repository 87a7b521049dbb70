"""Hostile request bodies on the webhook routes (Hypothesis): odd and invalid Unicode, lone
surrogates (escaped, and raw as invalid UTF-8), huge and non-finite numbers, deep nesting,
nulls and stray keys, wrong types, repeated keys, trailing garbage. Whatever arrives, the API
answers below 500, in strict JSON (valid UTF-8, no NaN or Infinity), a 2xx that validates with
its response model (and reads back the same), or an error envelope with a code that fits its
status.

``--hypothesis-show-statistics`` shows the answers each test met.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from chalicelib.api.models.responses import ErrorEnvelope
from chalicelib.api.models.webhooks import (
    DeliveryOut,
    ReplayAccepted,
    WebhookIssued,
    WebhookList,
    WebhookOut,
    WebhookSecretRotated,
)
from chalicelib.settings import load_settings
from chalicelib.stores.queues import QueueUrls
from devstack.dynamodb_local import DynamoDBLocal
from tests.conftest import TEST_ENV, Database, new_database
from tests.integration.test_webhooks_api import BAD_URLS, URL, Api, ok, open_api

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


@pytest.fixture(scope="module")
def webhook_db(dynamodb_local: DynamoDBLocal) -> Database:
    return new_database(dynamodb_local, load_settings(TEST_ENV))


@pytest.fixture
def api(webhook_db: Database, sqs_shared: SQSClient, sqs_queues: QueueUrls) -> Iterator[Api]:
    with open_api(webhook_db, sqs_shared, sqs_queues) as opened:
        yield opened


ODD_STRINGS = [
    "",
    " ",
    "\x00",
    "\x7f",
    "\u0085",
    "\u2028",
    "\u202e",
    "\ufeff",
    "\ud800",  # a lone surrogate: not encodable as UTF-8
    "a\udc00b",
    "🎉",
    "漢字",
    "Ω" * 600,
    "x" * 3000,
    "*",
    "**",
    "a.*",
    "in*voice",
    "https://hooks.example.com/é",
    "https://xn--nxasmq6b.example.com/",
    "https://hooks.example.com:65535/x",
    "http://[::1]:80/",
    "https://metadata.attacker.test/",
    "https://hooks.example.com/%00",
    "../../etc/passwd",
    "' OR 1=1 --",
    "${jndi:ldap://x}",
    "{{7*7}}",
    "active",
    "disabled",
    URL,
]
texts = st.one_of(
    st.text(max_size=30),
    st.text(alphabet=st.characters(min_codepoint=0x80), max_size=10),
    st.sampled_from(ODD_STRINGS),
)
numbers = st.one_of(
    st.integers(),
    st.integers(min_value=-(10**420), max_value=10**420),
    st.sampled_from([0, 1, -1, 10_000, 10_001, 2**31, 2**63, 2**64 + 1]),
    st.floats(allow_nan=False, allow_infinity=False),
)
leaves = st.one_of(st.none(), st.booleans(), numbers, texts)
json_values = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)
FIELD_VALUES: dict[str, Any] = {
    "url": st.one_of(texts, st.sampled_from(BAD_URLS), st.just(URL)),
    "event_types": st.one_of(st.lists(texts, max_size=60), json_values),
    "sources": st.one_of(st.lists(texts, max_size=60), json_values),
    "description": st.one_of(texts, json_values),
    "rate_limit_per_second": st.one_of(numbers, json_values),
    "status": st.one_of(st.sampled_from(["active", "paused", "disabled"]), json_values),
}


# Values the API takes, but odd ones (to reach the success path and what follows it).
GOOD_URLS = [
    URL,
    "https://v6.example.com/x?q=%E2%9C%93",
    "http://93.184.215.14:8080/a/b",
    "https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/hooks",
    "HTTPS://HOOKS.EXAMPLE.COM./é/漢字?x=🎉",
]
filters = st.lists(st.from_regex(r"\A[A-Za-z0-9._:/-]{0,20}\*?\Z").filter(bool), max_size=50)
PLAUSIBLE_VALUES: dict[str, Any] = {
    "url": st.sampled_from(GOOD_URLS),
    "event_types": filters,
    "sources": filters,
    "description": st.text(
        st.characters(exclude_categories=("Cc", "Cf", "Cs", "Zl", "Zp", "Co", "Cn")),
        max_size=512,
    ),
    "rate_limit_per_second": st.one_of(st.none(), st.integers(min_value=1, max_value=10_000)),
    "status": st.sampled_from(["active", "paused", "disabled"]),
}


def plausible(fields: list[str], required: tuple[str, ...] = ()) -> Any:
    """Objects of valid but unusual values of the route's fields."""
    return st.fixed_dictionaries(
        {f: PLAUSIBLE_VALUES[f] for f in required},
        optional={f: PLAUSIBLE_VALUES[f] for f in fields if f not in required},
    )


def objects(fields: list[str]) -> Any:
    """Objects of the route's fields (any value) and of stray keys."""
    known = st.fixed_dictionaries({}, optional={f: FIELD_VALUES[f] for f in fields})
    stray = st.dictionaries(texts, json_values, max_size=2)
    return st.builds(lambda a, b: {**b, **a}, known, stray)


def encoded(documents: Any) -> Any:
    """JSON text of the documents (lone surrogates as \\u escapes, or as the invalid UTF-8
    that "surrogatepass" makes), and raw bodies no JSON encoder would write."""
    as_json = st.builds(
        lambda doc, ascii_only: json.dumps(doc, ensure_ascii=ascii_only).encode(
            "utf-8", "surrogatepass"
        ),
        documents,
        st.booleans(),
    )
    raw = st.one_of(
        st.binary(max_size=64),
        st.integers(min_value=90, max_value=300).map(lambda n: b"[" * n + b"]" * n),
        st.integers(min_value=90, max_value=300).map(
            lambda n: b'{"url":' + b'{"a":' * n + b"1" + b"}" * (n + 1)
        ),
        st.integers(min_value=300, max_value=1000).map(
            lambda n: b'{"rate_limit_per_second": 1' + b"0" * n + b"}"
        ),
        st.sampled_from(
            [
                b'{"rate_limit_per_second": 1e999}',
                b'{"rate_limit_per_second": -0}',
                b'{"rate_limit_per_second": NaN}',
                b'{"rate_limit_per_second": Infinity}',
                b'{"url": "' + URL.encode() + b'"} trailing',
                b"\xef\xbb\xbf" + json.dumps({"url": URL}).encode(),
                b'{"url": "' + URL.encode() + b'", "url": "' + URL.encode() + b'"}',
                b'{"description": "\\udfff"}',
                b'{"\\ud800": 1}',
                b'{"description": "a\\u0000b"}',
            ]
        ),
    )
    return st.one_of(as_json, raw)


def strict_json(response: Any) -> Any:
    """The answer as RFC 8259 JSON in valid UTF-8, no NaN or Infinity; never a 5xx."""
    assert response.status_code < 500, response.body
    assert response.headers["Content-Type"] == "application/json"

    def refuse(literal: str) -> Any:
        raise AssertionError(f"{literal} in a response")

    return json.loads(response.body.decode("utf-8"), parse_constant=refuse)


def check_answer(response: Any, model: type[BaseModel], success: int) -> dict[str, Any] | None:
    body = strict_json(response)
    event(f"{response.status_code} {body['error']['code'] if 'error' in body else ''}".strip())
    if response.status_code == success:
        model.model_validate(body)
        return dict(body)
    ErrorEnvelope.model_validate(body)
    allowed = {
        400: {"validation_error", "invalid_json"},
        409: {"conflict"},
        413: {"payload_too_large"},
    }
    assert body["error"]["code"] in allowed.get(response.status_code, set()), body
    return None


# The fixture's app, tenant and queues serve every example of a test.
HOSTILE = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
CREATE_FIELDS = ["url", "event_types", "sources", "description", "rate_limit_per_second"]


@HOSTILE
@given(
    raw=encoded(st.one_of(objects(CREATE_FIELDS), plausible(CREATE_FIELDS, ("url",)), json_values))
)
def test_hostile_create_bodies_never_break_the_api(api: Api, raw: bytes) -> None:
    created = check_answer(api.call("POST", "/v1/webhooks", raw=raw), WebhookIssued, 201)
    if created is None:
        return
    path = f"/v1/webhooks/{created['webhook_id']}"
    fetched = ok(api.call("GET", path), 200, WebhookOut)
    assert fetched == {k: v for k, v in created.items() if k != "secret"}
    assert api.call("DELETE", path).status_code == 204  # stay under the per-tenant cap


@HOSTILE
@given(
    raw=encoded(
        st.one_of(
            objects([*CREATE_FIELDS, "status"]),
            plausible([*CREATE_FIELDS, "status"]),
            json_values,
        )
    )
)
def test_hostile_patch_bodies_never_break_the_api(api: Api, raw: bytes) -> None:
    listed = ok(api.call("GET", "/v1/webhooks?limit=1"), 200, WebhookList)["webhooks"]
    webhook_id = listed[0]["webhook_id"] if listed else api.create()["webhook_id"]
    path = f"/v1/webhooks/{webhook_id}"
    changed = check_answer(api.call("PATCH", path, raw=raw), WebhookOut, 200)
    if changed is not None:
        assert ok(api.call("GET", path), 200, WebhookOut) == changed


@HOSTILE
@given(
    route=st.sampled_from(["rotate-secret", "replay", "test"]),
    raw=encoded(
        st.one_of(
            json_values,
            st.fixed_dictionaries(
                {},
                optional={
                    "since": st.one_of(texts, json_values),
                    "until": st.one_of(texts, json_values),
                    "grace_period_seconds": st.one_of(numbers, json_values),
                },
            ),
        )
    ),
)
def test_hostile_bodies_on_the_action_routes(api: Api, route: str, raw: bytes) -> None:
    listed = ok(api.call("GET", "/v1/webhooks?limit=1"), 200, WebhookList)["webhooks"]
    webhook_id = listed[0]["webhook_id"] if listed else api.create()["webhook_id"]
    response = api.call("POST", f"/v1/webhooks/{webhook_id}/{route}", raw=raw)
    model, success = {
        "rotate-secret": (WebhookSecretRotated, 200),
        "replay": (ReplayAccepted, 202),
        "test": (DeliveryOut, 202),
    }[route]
    check_answer(response, model, success)
