"""The built-in load generator: idempotent, retrying clients on 127.0.0.1, bounded in count and
time.

* Producers POST events, each with its own ``Idempotency-Key``. A 429, a 503 or no answer is
  retried with the same key and body (full-jitter backoff, ``Retry-After`` honoured, bounded
  attempts), as a careful client does; a key that never got a 2xx is retried again by
  :meth:`LoadGenerator.settle` once the fault is gone, so every key ends with exactly one
  event, or the experiment says which did not.
* A consumer polls the inbox, acknowledges about half of what it sees and reads back events it
  was told exist (a "not found" for one of those is a lost event, and a contract violation).

Every answer goes into the :class:`~chaos.ledger.Ledger`.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from chalicelib.domain.backoff import full_jitter
from chaos.ledger import NO_ANSWER, Ledger, Outcome, retry_after_seconds

SOURCES = ("chaos.billing", "chaos.orders", "chaos.users")
EVENT_TYPES = ("thing.created", "thing.updated", "thing.deleted")
# The client's own timeout: longer than the API function's (29 s), so a hung API shows as "no
# answer" rather than the client giving up first.
CLIENT_TIMEOUT = 35.0


@dataclass(frozen=True)
class LoadShape:
    producers: int = 3
    events_per_second: float = 15.0  # over all producers
    max_events: int = 2_000
    max_seconds: float = 120.0
    attempts: int = 6  # per create before leaving the key to settle()
    retry_cap: float = 4.0  # seconds, the longest wait between two attempts


class Client:
    """One HTTP session that records every answer in the ledger."""

    def __init__(self, api_url: str, api_key: str, ledger: Ledger) -> None:
        self.api_url = api_url
        self.ledger = ledger
        self.session = requests.Session()
        self.session.headers.update({"X-API-Key": api_key, "Content-Type": "application/json"})

    def call(
        self, op: str, method: str, path: str, *, json: Any = None, headers: Any = None
    ) -> tuple[Outcome, Any]:
        started = time.monotonic()
        try:
            response = self.session.request(
                method, self.api_url + path, json=json, headers=headers, timeout=CLIENT_TIMEOUT
            )
        except requests.RequestException as exc:
            now = time.monotonic()
            outcome = Outcome(op, NO_ANSWER, now, now - started, detail=type(exc).__name__)
            self.ledger.record(outcome)
            return outcome, None
        now = time.monotonic()
        body: Any = None
        code = None
        detail = ""
        try:
            body = response.json() if response.content else None
        except ValueError:
            detail = f"not JSON: {response.text[:80]!r}"
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            code = body["error"].get("code")
        outcome = Outcome(
            op,
            response.status_code,
            now,
            now - started,
            retry_after=response.headers.get("Retry-After"),
            error_code=code,
            detail=detail,
        )
        self.ledger.record(outcome)
        return outcome, body

    def close(self) -> None:
        self.session.close()


def retry_wait(attempt: int, retry_after: str | None, cap: float, rng: random.Random) -> float:
    """Seconds before the next attempt: ``Retry-After`` when given (bounded by ``cap``), else
    full jitter on a 0.2 s base."""
    seconds = retry_after_seconds(retry_after)
    if seconds is not None:
        return min(float(seconds), cap)
    return full_jitter(attempt, 0.2, cap, rng)


class LoadGenerator:
    def __init__(
        self,
        api_url: str,
        api_key: str,
        ledger: Ledger,
        shape: LoadShape = LoadShape(),
        run_id: str = "",
    ) -> None:
        self.api_url = api_url
        self.api_key = api_key
        self.ledger = ledger
        self.shape = shape
        self.run_id = run_id or f"{int(time.time())}"
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self.bodies: dict[str, dict[str, Any]] = {}
        self._bodies_lock = threading.Lock()
        self._issued = 0
        self._issued_lock = threading.Lock()
        self._seen: list[str] = []

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> LoadGenerator:
        for n in range(self.shape.producers):
            self._thread(f"producer-{n}", self._produce, n)
        self._thread("consumer", self._consume)
        return self

    def _thread(self, name: str, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name=f"chaos-{name}", daemon=True)
        thread.start()
        self.threads.append(thread)

    def finish(self, timeout: float = 60.0) -> None:
        self.stop.set()
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.1, deadline - time.monotonic()))
        self.threads.clear()

    @property
    def issued(self) -> int:
        return self._issued

    # -- producers ---------------------------------------------------------------------------
    def _next_key(self) -> str | None:
        with self._issued_lock:
            if self._issued >= self.shape.max_events:
                return None
            self._issued += 1
            return f"chaos-{self.run_id}-{self._issued:06d}"

    def body_for(self, key: str, n: int) -> dict[str, Any]:
        with self._bodies_lock:
            if key not in self.bodies:
                self.bodies[key] = {
                    "source": SOURCES[n % len(SOURCES)],
                    "event_type": EVENT_TYPES[(n // len(SOURCES)) % len(EVENT_TYPES)],
                    "payload": {"n": n, "key": key, "text": "ünïcödé ✓"},
                    "metadata": {"priority": "normal"},
                }
            return self.bodies[key]

    def _produce(self, worker: int) -> None:
        client = Client(self.api_url, self.api_key, self.ledger)
        rng = random.Random(worker)
        interval = self.shape.producers / self.shape.events_per_second
        started = time.monotonic()
        next_at = started
        try:
            while not self.stop.is_set() and time.monotonic() - started < self.shape.max_seconds:
                key = self._next_key()
                if key is None:
                    return
                self.create(client, key, rng, self.shape.attempts)
                next_at += interval
                self.stop.wait(max(0.0, next_at - time.monotonic()))
        finally:
            client.close()

    def create(self, client: Client, key: str, rng: random.Random, attempts: int) -> bool | None:
        """POST one event with its key until a 2xx or ``attempts`` run out: True when created,
        False when every answer was retryable, None after an answer that is not (a contract
        violation the ledger already has: retrying it would only repeat it)."""
        body = self.body_for(key, int(key.rsplit("-", 1)[1]))
        for attempt in range(attempts):
            outcome, answer = client.call(
                "create", "POST", "/v1/events", json=body, headers={"Idempotency-Key": key}
            )
            if 200 <= outcome.status < 300 and isinstance(answer, dict):
                self.ledger.created(key, str(answer["event_id"]))
                return True
            if outcome.status not in (NO_ANSWER, 429, 503):
                self.ledger.gave_up(key)
                return None
            time.sleep(retry_wait(attempt, outcome.retry_after, self.shape.retry_cap, rng))
        self.ledger.gave_up(key)
        return False

    def settle(self, timeout: float = 60.0) -> list[str]:
        """Retry every key that never got a 2xx until it does or ``timeout`` passes; return the
        keys still unconfirmed."""
        client = Client(self.api_url, self.api_key, self.ledger)
        rng = random.Random(99)
        deadline = time.monotonic() + timeout
        try:
            for key in self.ledger.unconfirmed_keys():
                while time.monotonic() < deadline:
                    created = self.create(client, key, rng, 3)
                    if created is not False:
                        break  # created, or refused for good (a violation already recorded)
                    time.sleep(1.0)
        finally:
            client.close()
        return self.ledger.unconfirmed_keys()

    # -- the consumer ------------------------------------------------------------------------
    def _consume(self) -> None:
        client = Client(self.api_url, self.api_key, self.ledger)
        rng = random.Random(7)
        try:
            while not self.stop.wait(0.5):
                outcome, page = client.call("inbox", "GET", "/v1/inbox?limit=20")
                if outcome.status != 200 or not isinstance(page, dict):
                    continue
                for event in page.get("events", []):
                    event_id = str(event["event_id"])
                    if rng.random() < 0.5:
                        ack, _ = client.call("ack", "POST", f"/v1/events/{event_id}/ack")
                        if ack.status in (200, 409):
                            self.ledger.acked(event_id)
                    self._seen.append(event_id)
                if self._seen:
                    client.call("get", "GET", f"/v1/events/{rng.choice(self._seen)}")
        finally:
            client.close()
