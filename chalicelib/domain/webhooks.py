"""Webhooks: the endpoint resource, its filters, its secrets, and the deliveries made to it. Pure.

A webhook receives every new event of its tenant that passes both filters: ``event_types`` and
``sources`` each hold exact names or prefix patterns ending in ``*`` (``invoice.*``); an empty
list passes everything. Secrets rotate like API keys: the new one signs at once and the previous
one keeps signing beside it until its grace ends, so receivers can switch without a gap.

A delivery is one event sent to one webhook, with its attempts. The delivery made by the stream
fan-out has an id derived from the event's (``msg_`` + the event's ULID), so a redelivered
stream record finds the delivery it already made (and, by its ``queued_at``, whether its message
was queued); test sends and replays get fresh ids.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace

from chalicelib.domain.events import NAME_PATTERN

STATUS_ACTIVE = "active"
STATUS_PAUSED = "paused"
STATUS_DISABLED = "disabled"

DELIVERY_PENDING = "pending"
DELIVERY_SUCCEEDED = "succeeded"
DELIVERY_FAILED = "failed"

KIND_EVENT = "event"
KIND_REPLAY = "replay"
KIND_TEST = "test"
TEST_EVENT_TYPE = "webhook.test"

MAX_WEBHOOKS_PER_TENANT = 50
MAX_FILTERS = 50
MAX_URL_CHARS = 2048
MAX_DESCRIPTION_CHARS = 512
MAX_RATE_LIMIT_PER_SECOND = 10_000
DEFAULT_SECRET_GRACE_SECONDS = 24 * 3600  # the previous secret keeps signing this long
MAX_SECRET_GRACE_SECONDS = 7 * 24 * 3600
DELIVERY_RETENTION_SECONDS = 30 * 86400

WEBHOOK_ID_PATTERN = re.compile(r"^wh_[0-9a-f]{24}$")
DELIVERY_ID_PATTERN = re.compile(r"^msg_[0-9A-HJKMNP-TV-Z]{26}$")
# A filter: a name (the events' own name rule), or a prefix of one followed by "*".
PATTERN_RULE = re.compile(r"^[A-Za-z0-9._:/-]{0,127}\*$")

DISABLED_GONE = "The endpoint answered 410 Gone."
DISABLED_FAILING = "Every delivery attempt failed for 5 days."


def new_webhook_id() -> str:
    return "wh_" + secrets.token_hex(12)


def delivery_id_for_event(event_id: str) -> str:
    """The fan-out's delivery of ``event_id`` (to any one webhook): its id is fixed by the event."""
    return "msg_" + event_id.removeprefix("evt_")


def valid_filter(value: str) -> bool:
    return bool(NAME_PATTERN.match(value) or PATTERN_RULE.match(value))


def filter_matches(filters: Sequence[str], name: str) -> bool:
    """Empty passes everything; ``x*`` passes names that start with ``x``; otherwise exact."""
    if not filters:
        return True
    for wanted in filters:
        if wanted.endswith("*"):
            if name.startswith(wanted[:-1]):
                return True
        elif wanted == name:
            return True
    return False


@dataclass(frozen=True)
class WebhookSecret:
    secret: str  # whsec_...: HMAC needs the secret itself, so it is stored, never returned
    created_at: float
    expires_at: float | None = None  # set when a newer secret replaced it

    def signs_at(self, now: float) -> bool:
        return self.expires_at is None or now < self.expires_at


@dataclass(frozen=True)
class Webhook:
    tenant_id: str
    webhook_id: str
    url: str
    event_types: tuple[str, ...]
    sources: tuple[str, ...]
    description: str
    status: str
    created_at: float
    updated_at: float
    secrets: tuple[WebhookSecret, ...]
    disabled_reason: str | None = None
    rate_limit_per_second: int | None = None
    # Health, kept by the delivery worker: failed attempts in a row (any delivery), since
    # when every attempt has failed, and until when the circuit breaker holds new attempts.
    consecutive_failures: int = 0
    failing_since: float | None = None
    breaker_open_until: float | None = None

    def matches(self, source: str, event_type: str) -> bool:
        return filter_matches(self.sources, source) and filter_matches(self.event_types, event_type)

    @property
    def receives(self) -> bool:
        """Whether new events are sent to it (paused and disabled endpoints get none)."""
        return self.status == STATUS_ACTIVE

    def signing_secrets(self, now: float) -> list[str]:
        """Newest first: every secret still signing at ``now`` (two during a rotation)."""
        live = [s for s in self.secrets if s.signs_at(now)]
        live.sort(key=lambda s: s.created_at, reverse=True)
        return [s.secret for s in live]


def plan_secret_rotation(
    webhook: Webhook, new_secret: str, now: float, grace_seconds: float
) -> tuple[WebhookSecret, ...]:
    """The secrets after a rotation: the new one, the one it replaces signing ``grace_seconds``
    more (an earlier expiry is kept), and no secret that has already stopped signing."""
    kept: list[WebhookSecret] = []
    for entry in webhook.secrets:
        if not entry.signs_at(now):
            continue
        until = now + grace_seconds
        if entry.expires_at is not None:
            until = min(until, entry.expires_at)
        if until > now:
            kept.append(replace(entry, expires_at=until))
    return (WebhookSecret(new_secret, now), *kept)


@dataclass(frozen=True)
class Attempt:
    attempted_at: float
    status_code: int | None
    latency_ms: float
    error: str | None  # error class: timeout, connect, dns, tls, refused_target, http_status...
    error_detail: str | None = None


@dataclass(frozen=True)
class Delivery:
    webhook_id: str
    delivery_id: str
    tenant_id: str
    event_id: str
    event_type: str
    kind: str
    status: str
    created_at: float
    updated_at: float
    attempts: tuple[Attempt, ...] = ()
    next_attempt_at: float | None = None
    lease_until: float | None = None
    request_id: str | None = None
    test_payload: str | None = None  # the data of a webhook.test send (no stored event)
    failure_reason: str | None = None  # why it failed without (more) attempts, when it did
    source: str = ""  # the event's source (analytics counts outcomes by source and type)
    queued_at: float | None = None  # when the fan-out saw the queue take its message

    @property
    def attempt_count(self) -> int:
        return len(self.attempts)

    @property
    def finished(self) -> bool:
        return self.status != DELIVERY_PENDING


@dataclass(frozen=True)
class DeliveryMessage:
    tenant_id: str
    webhook_id: str
    delivery_id: str
    request_id: str | None = None

    def body(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def parse(cls, body: str) -> DeliveryMessage:
        """Raises ValueError for a body that is not one of ours."""
        data = json.loads(body)
        if not isinstance(data, dict):
            raise ValueError("message body is not an object")
        fields = {}
        for name in ("tenant_id", "webhook_id", "delivery_id"):
            value = data.get(name)
            if not isinstance(value, str) or not value:
                raise ValueError(f"message has no {name}")
            fields[name] = value
        request_id = data.get("request_id")
        return cls(request_id=request_id if isinstance(request_id, str) else None, **fields)
