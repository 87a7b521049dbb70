"""The key admin API in-process on DynamoDB Local: who may call it, what each route answers
(validated with the response models), and what a change does to the keys it touches."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from chalice.test import Client
from pydantic import BaseModel

from chalicelib.api.application import create_app
from chalicelib.api.models.api_keys import ApiKeyIssued, ApiKeyList, ApiKeyOut
from chalicelib.api.models.responses import ErrorEnvelope
from chalicelib.domain import request_signing as rs
from tests.conftest import Database


@dataclass
class Admin:
    client: Client
    tenant: str
    secret: str
    plain_secret: str

    def headers(self, secret: str | None = None) -> dict[str, str]:
        return {"X-API-Key": secret or self.secret, "Content-Type": "application/json"}

    def call(self, method: str, path: str, body: Any = None, secret: str | None = None) -> Any:
        payload = None if body is None else json.dumps(body)
        request = getattr(self.client.http, method.lower())
        if payload is None:
            return request(path, headers=self.headers(secret))
        return request(path, headers=self.headers(secret), body=payload)

    def works(self, secret: str) -> int:
        return int(
            self.client.http.get("/v1/inbox?limit=1", headers={"X-API-Key": secret}).status_code
        )


@pytest.fixture
def admin(ddb: Database) -> Iterator[Admin]:
    runtime = ddb.runtime()
    tenant = "ten_" + uuid.uuid4().hex[:10]
    _, secret = runtime.keys.create_key("ops", tenant, admin=True)
    _, plain = runtime.keys.create_key("app", tenant)
    with Client(create_app(runtime), stage_name="local") as client:
        yield Admin(client, tenant, secret, plain)


def ok(response: Any, status: int, model: type[BaseModel]) -> dict[str, Any]:
    assert response.status_code == status, response.body
    body: dict[str, Any] = json.loads(response.body)
    model.model_validate(body)
    return body


def error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.body
    body: dict[str, Any] = json.loads(response.body)
    ErrorEnvelope.model_validate(body)
    return body["error"]


def test_only_admin_keys_may_manage_keys(admin: Admin) -> None:
    key_path = "/v1/api-keys/key_0123456789abcdef"
    for method, path, body in [
        ("POST", "/v1/api-keys", {"name": "x"}),
        ("GET", "/v1/api-keys", None),
        ("GET", key_path, None),
        ("PATCH", key_path, {"name": "y"}),
        ("DELETE", key_path, None),
        ("POST", key_path + "/rotate", {}),
    ]:
        assert error(admin.call(method, path, body, admin.plain_secret), 403)["code"] == "forbidden"


def test_create_answers_the_secret_once_and_the_key_works(admin: Admin) -> None:
    created = ok(
        admin.call(
            "POST",
            "/v1/api-keys",
            {"name": "billing worker", "rate_limit": 120, "allowed_ips": ["10.1.2.3", "::1"]},
        ),
        201,
        ApiKeyIssued,
    )
    assert created["tenant_id"] == admin.tenant
    assert created["allowed_ips"] == ["10.1.2.3/32", "::1/128"]
    assert created["signing_secret"] is None
    assert created["status"] == "active"
    assert created["created_by"] is not None
    assert created["created_by"].startswith("key_")
    fetched = ok(admin.call("GET", f"/v1/api-keys/{created['key_id']}"), 200, ApiKeyOut)
    assert "secret" not in fetched
    assert created["secret"] not in json.dumps(fetched)
    assert {k: v for k, v in created.items() if k not in ("secret", "signing_secret")} == fetched
    listed = json.loads(admin.call("GET", "/v1/api-keys").body)
    assert created["secret"] not in json.dumps(listed)
    assert all("secret" not in key for key in listed["api_keys"])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "allowed_ips": ["10.0.0.0/8", "10.0.0.300/8"]}, "allowed_ips[1]"),
        ({"name": "x", "allowed_ips": ["10.1.2.3/8"]}, "allowed_ips[0]"),
        ({"name": "x", "rate_limit": 0}, "rate_limit"),
        ({"name": "x", "rate_limit": "60"}, "rate_limit"),
        ({"name": "x", "admin": "yes"}, "admin"),
        ({"name": ""}, "name"),
        ({"name": "a\nb"}, "name"),
        ({"name": "\u0085x"}, "name"),
        ({"name": "\u2028x"}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x", "allowed_ips": ["fe80::1%eth0"]}, "allowed_ips[0]"),
        ({"rate_limit": 5}, "name"),
        ({"name": "x", "scopes": ["admin"]}, "scopes"),
        ({"name": "x", "expires_at": "tomorrow"}, "expires_at"),
        ({"name": "x", "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
        (["name"], "body"),
    ],
)
def test_a_bad_create_body_is_a_400_naming_the_field(admin: Admin, body: Any, field: str) -> None:
    problem = error(admin.call("POST", "/v1/api-keys", body), 400)
    assert problem["code"] == "validation_error"
    assert problem["details"][0]["field"] == field


def test_keys_are_listed_a_page_at_a_time_within_the_tenant(admin: Admin, ddb: Database) -> None:
    made = [
        json.loads(admin.call("POST", "/v1/api-keys", {"name": f"k{n}"}).body)["key_id"]
        for n in range(3)
    ]
    _, other_admin = ddb.runtime().keys.create_key(
        "other", "ten_other_" + uuid.uuid4().hex[:6], admin=True
    )
    seen: list[str] = []
    cursor = None
    while True:
        path = "/v1/api-keys?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = ok(admin.call("GET", path), 200, ApiKeyList)
        assert len(page["api_keys"]) <= 2
        seen.extend(k["key_id"] for k in page["api_keys"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert set(made) <= set(seen)
    assert len(seen) == 5  # the two keys of the fixture and the three made here
    assert seen == sorted(seen)
    foreign = admin.call("GET", f"/v1/api-keys/{made[0]}", secret=other_admin)
    assert error(foreign, 404)["code"] == "not_found"
    assert error(admin.call("GET", "/v1/api-keys?limit=0"), 400)["details"][0]["field"] == "limit"
    assert (
        error(admin.call("GET", "/v1/api-keys?cursor=zzz"), 400)["details"][0]["field"] == "cursor"
    )
    assert error(admin.call("GET", "/v1/api-keys?mine=1"), 400)["details"][0]["field"] == "mine"


def test_a_malformed_or_unknown_key_id_is_404(admin: Admin) -> None:
    for key_id in ("nope", "key_0123456789abcdef", "key_%E2%98%83"):
        assert error(admin.call("GET", f"/v1/api-keys/{key_id}"), 404)["code"] == "not_found"


def test_patch_changes_what_was_sent_and_the_key_obeys_it(admin: Admin) -> None:
    created = json.loads(admin.call("POST", "/v1/api-keys", {"name": "w", "rate_limit": 2}).body)
    path = f"/v1/api-keys/{created['key_id']}"
    patched = ok(admin.call("PATCH", path, {"allowed_ips": ["203.0.113.0/24"]}), 200, ApiKeyOut)
    assert patched["rate_limit"] == 2
    assert patched["allowed_ips"] == ["203.0.113.0/24"]
    refused = admin.client.http.get("/v1/inbox", headers={"X-API-Key": created["secret"]})
    assert error(refused, 403)["code"] == "ip_not_allowed"
    reset = ok(admin.call("PATCH", path, {"allowed_ips": [], "rate_limit": None}), 200, ApiKeyOut)
    assert (reset["allowed_ips"], reset["rate_limit"]) == ([], None)
    assert admin.works(created["secret"]) == 200
    assert error(admin.call("PATCH", path, {}), 400)["details"][0]["field"] == "body"
    assert error(admin.call("PATCH", path, {"name": None}), 400)["details"][0]["field"] == "name"
    opened = admin.call("PATCH", path, {"allowed_ips": None})  # null must not open the key
    assert error(opened, 400)["details"][0]["field"] == "allowed_ips"


def test_rotation_keeps_the_old_secret_for_the_grace_period(admin: Admin) -> None:
    created = json.loads(admin.call("POST", "/v1/api-keys", {"name": "r"}).body)
    path = f"/v1/api-keys/{created['key_id']}/rotate"
    rotated = ok(admin.call("POST", path, {"grace_period_seconds": 3600}), 200, ApiKeyIssued)
    assert rotated["secret"] != created["secret"]
    assert [s["expires_at"] is None for s in rotated["secrets"]] == [True, False]
    assert admin.works(created["secret"]) == 200
    assert admin.works(rotated["secret"]) == 200
    again = ok(admin.call("POST", path, {"grace_period_seconds": 0}), 200, ApiKeyIssued)
    assert len(again["secrets"]) == 1
    for old in (created["secret"], rotated["secret"]):
        assert admin.works(old) == 401
    assert admin.works(again["secret"]) == 200
    bad = admin.call("POST", path, {"grace_period_seconds": 7 * 86400 + 1})
    assert error(bad, 400)["details"][0]["field"] == "grace_period_seconds"


def test_rotation_without_a_body_takes_the_default_grace(admin: Admin) -> None:
    created = json.loads(admin.call("POST", "/v1/api-keys", {"name": "r"}).body)
    response = admin.client.http.post(
        f"/v1/api-keys/{created['key_id']}/rotate", headers={"X-API-Key": admin.secret}
    )
    rotated = ok(response, 200, ApiKeyIssued)
    ends = rotated["secrets"][1]["expires_at"]
    assert ends is not None
    assert admin.works(created["secret"]) == 200


def test_revoke_ends_every_secret_and_is_idempotent(admin: Admin) -> None:
    created = json.loads(admin.call("POST", "/v1/api-keys", {"name": "gone"}).body)
    path = f"/v1/api-keys/{created['key_id']}"
    rotated = json.loads(admin.call("POST", path + "/rotate", {"grace_period_seconds": 600}).body)
    assert admin.call("DELETE", path).status_code == 204
    assert admin.call("DELETE", path).status_code == 204
    for secret in (created["secret"], rotated["secret"]):
        assert admin.works(secret) == 401
    shown = ok(admin.call("GET", path), 200, ApiKeyOut)
    assert shown["status"] == "revoked"
    assert shown["revoked_at"] is not None
    assert shown["secrets"] == []
    assert error(admin.call("POST", path + "/rotate", {}), 409)["code"] == "conflict"
    assert error(admin.call("PATCH", path, {"name": "back"}), 409)["code"] == "conflict"


def test_a_signing_key_is_created_with_its_signing_secret_and_must_sign(admin: Admin) -> None:
    created = ok(
        admin.call("POST", "/v1/api-keys", {"name": "s", "signing": True}), 201, ApiKeyIssued
    )
    signing_secret = created["signing_secret"]
    assert signing_secret.startswith("tsig_")
    unsigned = admin.client.http.get("/v1/inbox", headers={"X-API-Key": created["secret"]})
    assert error(unsigned, 401)["code"] == "signature_invalid"
    timestamp = str(int(__import__("time").time()))
    header = rs.signature_header([signing_secret], timestamp, "GET", "/v1/inbox", b"")
    signed = admin.client.http.get(
        "/v1/inbox",
        headers={
            "X-API-Key": created["secret"],
            rs.TIMESTAMP_HEADER: timestamp,
            rs.SIGNATURE_HEADER: header,
        },
    )
    assert signed.status_code == 200
    rotated = json.loads(admin.call("POST", f"/v1/api-keys/{created['key_id']}/rotate", {}).body)
    assert rotated["signing_secret"] not in (None, signing_secret)


def test_each_change_writes_one_audit_line_without_secrets(
    admin: Admin, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    created = json.loads(admin.call("POST", "/v1/api-keys", {"name": "audited"}).body)
    path = f"/v1/api-keys/{created['key_id']}"
    rotated = json.loads(admin.call("POST", path + "/rotate", {}).body)
    admin.call("PATCH", path, {"name": "renamed"})
    admin.call("DELETE", path)
    audits = [r for r in caplog.records if getattr(r, "audit", None)]
    assert [r.audit for r in audits] == [  # type: ignore[attr-defined]
        "api_key.created",
        "api_key.rotated",
        "api_key.updated",
        "api_key.revoked",
    ]
    assert {r.target_key_id for r in audits} == {created["key_id"]}  # type: ignore[attr-defined]
    text = " ".join(str(r.__dict__) for r in audits)
    assert created["secret"] not in text
    assert rotated["secret"] not in text


def test_the_ip_allowlist_is_checked_before_the_signature(admin: Admin) -> None:
    created = json.loads(
        admin.call(
            "POST",
            "/v1/api-keys",
            {"name": "both", "signing": True, "allowed_ips": ["192.0.2.0/24"]},
        ).body
    )
    unsigned = admin.client.http.get("/v1/inbox", headers={"X-API-Key": created["secret"]})
    assert error(unsigned, 403)["code"] == "ip_not_allowed"
