"""One experiment's state, shared by its control, probes and actions (Chaos Toolkit runs them
all in one process): the stack, the load and its ledger, the phase, the fault windows, and what
the checks found. :func:`current` is the running experiment's harness.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from chaos.ledger import Ledger, Outcome, Tally, recovery_seconds
from chaos.load import Client, LoadGenerator, LoadShape
from chaos.stack import ChaosStack
from chaos.verify import EventCheck, analytics_expected, analytics_seen, check_events, stored_events

# How long the after-checks wait for the stream worker to count every event.
ANALYTICS_SETTLE_SECONDS = 90.0


@dataclass
class Webhook:
    webhook_id: str
    secret: str
    url: str


@dataclass
class Harness:
    name: str
    stack: ChaosStack
    phase: str = "before"  # before -> method -> after
    ledger: Ledger = field(default_factory=Ledger)
    load: LoadGenerator | None = None
    fault: str = ""
    storage_down: bool = False  # the DynamoDB proxy is disabled: health must say so
    recovery: float | None = None
    health_recovery: float | None = None
    webhook: Webhook | None = None
    notes: list[str] = field(default_factory=list)
    expectations: dict[str, Any] = field(default_factory=dict)  # evidence the fault took effect
    checks: dict[str, Any] = field(default_factory=dict)
    started_at: float = field(default_factory=time.time)

    # -- the API, as the experiment's key --------------------------------------------------
    def api(self, method: str, path: str, timeout: float = 10, **kwargs: Any) -> requests.Response:
        headers = {"X-API-Key": self.stack.api_key}
        url = self.stack.api_url + path
        return requests.request(method, url, headers=headers, timeout=timeout, **kwargs)

    def pages(self, path: str, field: str, timeout: float = 10) -> Iterator[list[Any]]:
        """Each page of a cursor-paged list (``field`` and ``next_cursor``), to the end; a
        non-200 answer raises (``requests.HTTPError``)."""
        cursor: str | None = None
        while True:
            params = {"limit": "100", **({"cursor": cursor} if cursor else {})}
            answer = self.api("GET", path, params=params, timeout=timeout)
            answer.raise_for_status()
            page = answer.json()
            yield page[field]
            cursor = page["next_cursor"]
            if not cursor:
                return

    # -- the load ----------------------------------------------------------------------------
    def client(self) -> Client:
        return Client(self.stack.api_url, self.stack.api_key, self.ledger)

    def start_load(self, shape: LoadShape) -> None:
        self.load = LoadGenerator(
            self.stack.api_url, self.stack.api_key, self.ledger, shape, run_id=self.name
        ).start()

    def finish_load(self, settle_seconds: float) -> None:
        if self.load is None:
            return
        self.load.finish()
        left = self.load.settle(settle_seconds)
        if left:
            self.notes.append(f"{len(left)} idempotency keys never got a 2xx, even after settling")

    # -- faults ------------------------------------------------------------------------------
    def fault_on(self, description: str) -> None:
        self.fault = f"{self.fault}; {description}" if self.fault else description
        self.ledger.fault_on(description, time.monotonic())

    def faults_off(self) -> None:
        """Remove every fault, then measure recovery: the seconds from the fault's end to
        health 200 and to the first 2xx create after it."""
        self.stack.toxiproxy.clear()
        self.stack.write_faults({})
        self.storage_down = False
        ended = time.monotonic()
        if not self.ledger.fault_off(ended):
            return  # nothing was on (the rollback after the method): keep the measured recovery
        client = self.client()
        try:
            while time.monotonic() - ended < 60:
                outcome, _ = client.call("health", "GET", "/v1/health")
                if outcome.status == 200:
                    self.health_recovery = outcome.at - ended
                    break
                time.sleep(0.1)
        finally:
            client.close()

    def measure_recovery(self) -> float | None:
        """Health's recovery and the load's (first 2xx create after the fault), the later."""
        end = self.ledger.last_fault_end()
        if end is None or self.health_recovery is None:
            return self.health_recovery
        created = recovery_seconds(self.ledger.snapshot(), end, "create")
        if self.load is None or created is None:
            return self.health_recovery
        return max(self.health_recovery, created)

    # -- checks ------------------------------------------------------------------------------
    def health(self) -> Outcome:
        client = self.client()
        try:
            outcome, _ = client.call("health", "GET", "/v1/health")
        finally:
            client.close()
        return outcome

    def check_events(self) -> EventCheck:
        told = self.ledger.copy()  # before reading the store: it can only be ahead of this
        stored = stored_events(
            self.stack.direct_client(), self.stack.direct_settings(), self.stack.tenant_id
        )
        found = check_events(told, stored)
        self.checks["events"] = found.as_dict()
        return found

    def analytics_match(self, wait: float | None) -> bool:
        """The summary's counts never exceed what is stored; with ``wait`` (seconds for the
        stream worker to catch up), they must also equal it by then."""
        deadline = time.monotonic() + (wait or 0.0)
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.started_at - 120))
        while True:
            # The summary first, then the stored events: while load runs, the store can only be
            # ahead of what the stream worker counted, never behind.
            try:
                answer = self.api("GET", "/v1/analytics/summary", params={"from": since})
                seen = analytics_seen(answer.json()) if answer.status_code == 200 else None
            except (requests.RequestException, ValueError):
                seen = None
            stored = stored_events(
                self.stack.direct_client(), self.stack.direct_settings(), self.stack.tenant_id
            )
            expected = analytics_expected(stored)
            self.checks["analytics"] = {"expected": expected, "seen": seen}
            if seen is not None and any(seen[k] > expected[k] for k in expected):
                return False  # counted twice: no wait can fix that
            if wait is None or seen == expected:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(1.0)

    def inbox_pass(self) -> dict[str, Any]:
        """One pass over the inbox, cursor to cursor: the contract says a pass never repeats an
        event."""
        seen: list[str] = []
        complete = True
        try:
            for events in self.pages("/v1/inbox", "events", timeout=30):
                seen.extend(str(event["event_id"]) for event in events)
        except requests.RequestException:
            complete = False  # a 503 mid-pass (the contract check judges that answer)
        result: dict[str, Any] = {
            "seen": len(seen),
            "duplicates": len(seen) - len(set(seen)),
            "complete": complete,
        }
        self.checks["inbox"] = result
        return result

    def inbox_matches_store(self) -> bool:
        """After the load: one whole pass, no duplicate, exactly the stored pending events."""
        result = self.inbox_pass()
        stored = stored_events(
            self.stack.direct_client(), self.stack.direct_settings(), self.stack.tenant_id
        )
        result["stored_pending"] = sum(event.status == "pending" for event in stored)
        return (
            bool(result["complete"])
            and result["duplicates"] == 0
            and result["seen"] == result["stored_pending"]
        )

    def deadline_answers(self) -> int:
        """Requests the API ended at their time budget (``deadline_exceeded`` in its log)."""
        log = self.stack.stack.log_path("api")
        count = log.read_text(errors="replace").count('"deadline_exceeded":true')
        self.checks["deadline_exceeded"] = count
        return count

    def canary(self, samples: int = 10) -> dict[str, Any]:
        """Evidence a DynamoDB toxic bites: ``samples`` DescribeTable calls (the events table's
        answer is ~3.4 KB) through the proxy, each from a new client (a new connection) with
        no retry: what the product's clients meet before they retry."""
        table = self.stack.direct_settings().events_table
        failed, seconds = 0, []
        for _ in range(samples):
            client = self.stack.canary_client()
            started = time.monotonic()
            try:
                # A cut-short answer can parse as an empty result rather than raise (the trap
                # our CRC32 check closes for the product): no "Table" is a failure too.
                failed += "Table" not in client.describe_table(TableName=table)
            except Exception:  # any failure is the evidence sought
                failed += 1
            seconds.append(time.monotonic() - started)
            client.close()
        result = {
            "samples": samples,
            "failed": failed,
            "median_seconds": round(sorted(seconds)[len(seconds) // 2], 3),
        }
        self.checks.setdefault("canary", []).append(result)
        return result

    # -- webhooks ----------------------------------------------------------------------------
    def create_webhook(self) -> Webhook:
        """A webhook for every event, pointed at the receiver behind the "webhook" proxy."""
        url = self.stack.start_receiver()
        answer = self.api(
            "POST", "/v1/webhooks", json={"url": url, "description": f"chaos {self.name}"}
        )
        answer.raise_for_status()
        body = answer.json()
        self.webhook = Webhook(body["webhook_id"], body["secret"], url)
        assert self.stack.receiver is not None
        self.stack.receiver.set_secret(body["secret"])
        return self.webhook

    def deliveries(self) -> list[dict[str, Any]]:
        if self.webhook is None:
            raise RuntimeError("the experiment made no webhook (action create_webhook)")
        path = f"/v1/webhooks/{self.webhook.webhook_id}/deliveries"
        return [delivery for page in self.pages(path, "deliveries") for delivery in page]

    def webhook_report(self, wait: float) -> dict[str, Any]:
        """Per event: its deliveries (one, succeeded), and whether the receiver accepted it under
        the delivery's id. Waits up to ``wait`` seconds for pending deliveries to end."""
        deadline = time.monotonic() + wait
        while True:
            report = self._webhook_report()
            if (report["pending"] == 0 and report["missing"] == 0) or time.monotonic() >= deadline:
                self.checks["webhook"] = report
                return report
            time.sleep(1.0)

    def _webhook_report(self) -> dict[str, Any]:
        deliveries = [d for d in self.deliveries() if d["kind"] == "event"]
        per_event: dict[str, list[dict[str, Any]]] = {}
        for delivery in deliveries:
            per_event.setdefault(str(delivery["event_id"]), []).append(delivery)
        expected = set(self.ledger.event_ids())
        receiver = self.stack.receiver
        received = {r.webhook_id for r in receiver.deliveries} if receiver is not None else set()
        succeeded = [d for d in deliveries if d["status"] == "succeeded"]
        return {
            "events": len(expected),
            "deliveries": len(deliveries),
            "succeeded": len(succeeded),
            "pending": sum(d["status"] == "pending" for d in deliveries),
            "failed": sum(d["status"] == "failed" for d in deliveries),
            "missing": len(expected - set(per_event)),
            "several_per_event": sum(len(v) > 1 for v in per_event.values()),
            "not_received": sum(d["delivery_id"] not in received for d in succeeded),
            "retried": sum(len(d["attempts"]) > 1 for d in deliveries),
            # Why attempts failed (timeout, connect, protocol, http_status...): the evidence that
            # each fault on the receiver's path bit.
            "attempt_errors": dict(
                Counter(
                    str(attempt.get("error"))
                    for d in deliveries
                    for attempt in d["attempts"]
                    if attempt.get("error")
                )
            ),
            "receiver_duplicates": len(receiver.duplicates) if receiver is not None else 0,
        }

    def summary(self) -> dict[str, Any]:
        outcomes = self.ledger.snapshot()
        return {
            "experiment": self.name,
            "fault": self.fault,
            "backend": self.stack.backend,
            "load": Tally.of(outcomes).as_dict(),
            "during": Tally.of(self.ledger.during_fault(outcomes)).as_dict(),
            "violations": self.ledger.violations(),
            "recovery_seconds": self.recovery,
            "checks": self.checks,
            "notes": self.notes,
            **self.expectations,
        }


_current: Harness | None = None


def begin(name: str, work_dir: Path) -> Harness:
    global _current
    stack = ChaosStack(work_dir).start()
    _current = Harness(name, stack)
    return _current


def current() -> Harness:
    if _current is None:
        raise RuntimeError(
            "no experiment is running: the experiment must declare the chaos.control control"
        )
    return _current


def end() -> None:
    global _current
    if _current is not None:
        try:
            if _current.load is not None:
                _current.load.finish(timeout=5)
        finally:
            _current.stack.stop()
            _current = None
