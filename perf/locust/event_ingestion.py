"""Event ingestion: single POSTs and bulk POSTs of 25, against --host.

    locust -f perf/locust/event_ingestion.py --host http://127.0.0.1:8000 --headless \
        -u 8 -t 30s --csv perf/results/ingest --summary-json perf/results/ingest.json \
        SingleEventUser            # or BulkEventUser, or both (no class names)

Each user posts with its own key (``--tenants`` x ``--keys-per-tenant`` keys, created at the
start). Single posts carry no idempotency key, so their throughput is comparable with a raw
PutItem: ``scripts/run_load_tests.sh event_ingestion`` runs the two classes as separate phases
and measures raw PutItem on the same DynamoDB Local in the same run.
"""

from __future__ import annotations

import itertools
from typing import Any

from locust import HttpUser, task

from perf.locust import actions, support

_users = itertools.count()


def _setup(environment: Any) -> None:
    support.create_keys(environment, "ingest")


support.scenario("event_ingestion", _setup)


class _KeyedUser(HttpUser):
    abstract = True
    wait_time = support.paced

    def on_start(self) -> None:
        self.key = support.KEYS[next(_users) % len(support.KEYS)]


class SingleEventUser(_KeyedUser):
    @task
    def post_event(self) -> None:
        actions.create_event(self.client, self.key)


class BulkEventUser(_KeyedUser):
    @task
    def post_bulk(self) -> None:
        actions.create_bulk(self.client, self.key)
