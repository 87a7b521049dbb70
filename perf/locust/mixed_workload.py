"""A realistic blend over several tenants and keys: 70 % ingest, 25 % poll+ack, 5 % lookups.

    locust -f perf/locust/mixed_workload.py --host http://127.0.0.1:8000 --headless -u 8 -t 60s \
        --tenants 4 --keys-per-tenant 2 --summary-json perf/results/mixed.json

Ingest is a single POST, one in five with an idempotency key (the transactional path). Poll+ack
reads up to 10 pending events of the key's tenant (with one of the consumers' filters) and acks
them; competing consumers of one tenant may ack the same event, and the 409 is expected.
Lookups read one of the user's own recent events.
"""

from __future__ import annotations

import itertools
import random
from collections import deque
from typing import Any

from locust import HttpUser, task

from chalicelib.domain.clock import format_ts
from perf.locust import actions, support

_users = itertools.count()


def _setup(environment: Any) -> None:
    opts = environment.parsed_options
    opts.tenants = max(opts.tenants, 2)
    support.create_keys(environment, "mixed")


support.scenario("mixed_workload", _setup)


class MixedUser(HttpUser):
    wait_time = support.paced

    def on_start(self) -> None:
        self.key = support.KEYS[next(_users) % len(support.KEYS)]
        self.recent: deque[str] = deque(maxlen=50)
        self.created_after = format_ts(0)

    @task(70)
    def ingest(self) -> None:
        event_id = actions.create_event(self.client, self.key, random.random() < 0.2)
        if event_id:
            self.recent.append(event_id)

    @task(25)
    def poll_and_ack(self) -> None:
        params = {**actions.inbox_filters(self.created_after), "limit": "10"}
        page, _ = actions.poll_inbox(self.client, self.key, params)
        for event in page:
            actions.acknowledge(self.client, self.key, str(event["event_id"]))

    @task(5)
    def lookup(self) -> None:
        if self.recent:
            actions.lookup(self.client, self.key, random.choice(self.recent))
        else:
            self.ingest()
