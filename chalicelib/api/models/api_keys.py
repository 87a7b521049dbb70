"""The admin API's key bodies and answers (`/v1/api-keys`), and the one parse step that the
HTTP routes and ``scripts/seed_api_keys.py`` share, so a key is validated the same way
whichever way it is made.

Secrets appear only in :class:`ApiKeyIssued` (create and rotate answer with it, once); no
answer ever carries a secret's digest.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
)

from chalicelib import errors
from chalicelib.api.models.bodies import Body, FieldProblem, Model, validate_body
from chalicelib.api.models.query import parse_query
from chalicelib.api.models.responses import Response
from chalicelib.domain.client_ip import MAX_ALLOWLIST_ENTRIES, InvalidAllowlist, parse_network
from chalicelib.domain.clock import format_ts, parse_ts
from chalicelib.domain.keys import (
    DEFAULT_GRACE_SECONDS,
    MAX_GRACE_SECONDS,
    ApiKey,
    SecretEntry,
)
from chalicelib.services.keys import IssuedSecret, KeyChanges, KeySpec

MAX_NAME_CHARS = 128
MAX_RATE_LIMIT = 1_000_000
MAX_KEY_LIFETIME_SECONDS = 10 * 365 * 86400
DEFAULT_LIST_LIMIT = 20
MAX_LIST_LIMIT = 100
KEY_ID_PATTERN = re.compile(r"^key_[0-9a-f]{16}$")
KeyId = Annotated[str, Field(pattern=KEY_ID_PATTERN.pattern)]


def _printable_name(name: str) -> str:
    """Printable (no control, format or line-separator characters) and not only spaces."""
    if not name.isprintable() or not name.strip():
        raise ValueError("not printable")
    return name


KeyName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_NAME_CHARS,
        description="A label for the key (who or what uses it): 1-128 printable characters, "
        "not only spaces.",
    ),
    AfterValidator(_printable_name),
]
RateLimit = Annotated[
    int,
    Field(
        ge=1,
        le=MAX_RATE_LIMIT,
        description="Requests per minute for this key; null: the stage's default (1000).",
    ),
]
AllowedIps = Annotated[
    list[str],
    Field(
        max_length=MAX_ALLOWLIST_ENTRIES,
        description="IPv4/IPv6 addresses and CIDRs the key may be used from; empty: any.",
        json_schema_extra={"example": ["203.0.113.0/24", "2001:db8::/32"]},
    ),
]


def _allowlist(entries: list[str]) -> list[str]:
    """Each entry parsed and normalised (``10.0.0.1`` -> ``10.0.0.1/32``); a bad one is named."""
    normalised = []
    for index, entry in enumerate(entries):
        try:
            normalised.append(str(parse_network(entry)))
        except InvalidAllowlist as exc:
            raise FieldProblem(f"allowed_ips[{index}]", str(exc)) from None
    return normalised


class ApiKeyCreate(Body):
    """`POST /v1/api-keys`."""

    name: KeyName
    rate_limit: RateLimit | None = None
    allowed_ips: AllowedIps = Field(default_factory=list)
    admin: bool = Field(default=False, description="Grant the admin scope (the key routes).")
    signing: bool = Field(
        default=False,
        description="The key signs its requests; the answer carries its `signing_secret`.",
    )
    expires_at: str | None = Field(
        default=None,
        description="When the key stops working (RFC 3339, in the future, within 10 years).",
        json_schema_extra={"format": "date-time"},
    )

    @field_validator("allowed_ips")
    @classmethod
    def _normalise_ips(cls, entries: list[str]) -> list[str]:
        return _allowlist(entries)


class ApiKeyUpdate(Body):
    """`PATCH /v1/api-keys/{key_id}`: the fields given change; `rate_limit: null` goes back to
    the default, `allowed_ips: []` allows every address."""

    name: KeyName | None = None
    rate_limit: RateLimit | None = None
    allowed_ips: AllowedIps | None = None

    @field_validator("allowed_ips")
    @classmethod
    def _normalise_ips(cls, entries: list[str] | None) -> list[str] | None:
        return None if entries is None else _allowlist(entries)


class ApiKeyRotate(Body):
    """`POST /v1/api-keys/{key_id}/rotate`."""

    grace_period_seconds: int = Field(
        default=DEFAULT_GRACE_SECONDS,
        ge=0,
        le=MAX_GRACE_SECONDS,
        description="How long the previous secret keeps working (0 to 7 days; default 24 h).",
    )


class ApiKeyListQuery(BaseModel):
    """Query parameters of `GET /v1/api-keys`."""

    model_config = ConfigDict(frozen=True)

    limit: Annotated[int, Field(ge=1, le=MAX_LIST_LIMIT)] = DEFAULT_LIST_LIMIT
    cursor: str | None = Field(
        default=None, pattern=KEY_ID_PATTERN.pattern, description="`next_cursor` of the last page."
    )


# -- parsing -----------------------------------------------------------------------------------
_MESSAGES = {
    "name": f"must be 1-{MAX_NAME_CHARS} printable characters",
    "rate_limit": f"must be a whole number from 1 to {MAX_RATE_LIMIT}, or null",
    "allowed_ips": f"must be a list of at most {MAX_ALLOWLIST_ENTRIES} addresses or CIDRs",
    "admin": "must be true or false",
    "signing": "must be true or false",
    "expires_at": "must be an RFC 3339 timestamp",
    "grace_period_seconds": f"must be a whole number of seconds from 0 to {MAX_GRACE_SECONDS}",
}


def _validate(model: type[Model], body: Any) -> Model:
    return validate_body(model, body, _MESSAGES)


def parse_key_create(body: Any, tenant_id: str, now: float) -> KeySpec:
    """A create body (the API's, or the seed script's flags as one) as a :class:`KeySpec`."""
    request: ApiKeyCreate = _validate(ApiKeyCreate, body)
    expires_at = None
    if request.expires_at is not None:
        try:
            expires_at = int(parse_ts(request.expires_at))
        except ValueError:
            raise errors.invalid_field("expires_at", _MESSAGES["expires_at"]) from None
        if not now < expires_at <= now + MAX_KEY_LIFETIME_SECONDS:
            raise errors.invalid_field("expires_at", "must be in the future, within 10 years")
    return KeySpec(
        name=request.name,
        tenant_id=tenant_id,
        admin=request.admin,
        rate_limit_per_minute=request.rate_limit,
        allowed_ips=tuple(request.allowed_ips),
        signing=request.signing,
        expires_at=expires_at,
    )


def parse_key_update(body: Any) -> KeyChanges:
    request: ApiKeyUpdate = _validate(ApiKeyUpdate, body)
    given = frozenset(request.model_fields_set)
    if not given:
        raise errors.invalid_field("body", "must change name, rate_limit or allowed_ips")
    if "name" in given and request.name is None:
        raise errors.invalid_field("name", _MESSAGES["name"])
    if "allowed_ips" in given and request.allowed_ips is None:
        # null would read as "no list": refuse it rather than open the key to every address.
        raise errors.invalid_field("allowed_ips", "must be a list ([] allows every address)")
    return KeyChanges(
        name=request.name,
        rate_limit_per_minute=request.rate_limit,
        allowed_ips=tuple(request.allowed_ips or ()),
        given=given,
    )


def parse_key_rotate(body: Any) -> int:
    """The grace period in seconds (an empty body takes the default)."""
    request: ApiKeyRotate = _validate(ApiKeyRotate, body)
    return request.grace_period_seconds


LIST_MESSAGES = {
    "limit": f"must be a whole number from 1 to {MAX_LIST_LIMIT}",
    "cursor": "is not a cursor this list returned",
}


def parse_key_list(params: Mapping[str, str]) -> ApiKeyListQuery:
    return parse_query(ApiKeyListQuery, params, LIST_MESSAGES)


# -- answers -----------------------------------------------------------------------------------
Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]


class ApiKeySecret(Response):
    """One of the key's working secrets (the secret itself is never shown again)."""

    created_at: Timestamp
    expires_at: Timestamp | None = Field(
        description="When it stops working: the end of a rotation's grace period or the key's "
        "expiry; null: until the next rotation."
    )


class ApiKeyOut(Response):
    key_id: str = Field(pattern=KEY_ID_PATTERN.pattern)
    tenant_id: str
    name: str
    admin: bool
    rate_limit: int | None
    allowed_ips: list[str]
    signing: bool
    status: Literal["active", "revoked"]
    created_at: Timestamp
    created_by: str | None = Field(description="The admin key that created it; null: a script.")
    updated_at: Timestamp
    expires_at: Timestamp | None
    revoked_at: Timestamp | None
    last_used_at: Timestamp | None = Field(description="Updated at most once a minute.")
    secrets: list[ApiKeySecret] = Field(description="The working secrets, newest first.")


class ApiKeyIssued(ApiKeyOut):
    secret: str = Field(description="The new secret: shown once, stored only as its SHA-256.")
    signing_secret: str | None = Field(
        description="The new signing secret of a signing key (shown once); null otherwise."
    )


class ApiKeyList(Response):
    api_keys: list[ApiKeyOut]
    next_cursor: str | None = Field(description="Null on the last page.")


def _iso(epoch: int | None) -> str | None:
    return None if epoch is None else format_ts(epoch)


def key_body(key: ApiKey, now: float) -> dict[str, Any]:
    """The public view of a key (:class:`ApiKeyOut`)."""

    def secret(entry: SecretEntry) -> dict[str, Any]:
        return {"created_at": entry.created_at, "expires_at": _iso(key.secret_expiry(entry))}

    return {
        "key_id": key.key_id,
        "tenant_id": key.tenant_id,
        "name": key.name,
        "admin": key.admin,
        "rate_limit": key.rate_limit_per_minute,
        "allowed_ips": list(key.allowed_ips),
        "signing": key.signing,
        "status": key.status,
        "created_at": key.created_at,
        "created_by": key.created_by,
        "updated_at": key.updated_at,
        "expires_at": _iso(key.expires_at),
        "revoked_at": key.revoked_at,
        "last_used_at": key.last_used_at,
        "secrets": [secret(e) for e in key.secrets if e.live(now) and key.status == "active"],
    }


def issued_body(issued: IssuedSecret, now: float) -> dict[str, Any]:
    return {
        **key_body(issued.key, now),
        "secret": issued.secret,
        "signing_secret": issued.signing_secret,
    }
