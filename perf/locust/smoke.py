"""The CI smoke: the mixed workload plus one paced lookup probe.

    locust -f perf/locust/smoke.py --host http://127.0.0.1:8000 --headless -u 7 -t 45s \
        --tenants 3 --keys-per-tenant 2 --pace 3

In the mixed blend lookups are 5 % of the tasks: a 45 s smoke sees ~35 of them, so their p95 is
the second-slowest request and a gate on it judges two samples. The probe (exactly one user,
3 lookups/s of its own events) gives the lookup p95 ~130 more samples while adding about 3
requests/s to the blend; the other request kinds are the mixed workload's, unchanged.
"""

from __future__ import annotations

import itertools
import random

from locust import HttpUser, constant_throughput, task

from perf.locust import actions, support
from perf.locust.mixed_workload import MixedUser

__all__ = ["LookupProbe", "MixedUser"]

PROBE_EVENTS = 20
_probes = itertools.count()


class LookupProbe(HttpUser):
    fixed_count = 1
    wait_time = constant_throughput(3)

    def on_start(self) -> None:
        self.key = support.KEYS[next(_probes) % len(support.KEYS)]
        self.events = [
            event_id
            for event_id in (
                actions.create_event(self.client, self.key) for _ in range(PROBE_EVENTS)
            )
            if event_id
        ]

    @task
    def lookup(self) -> None:
        if self.events:
            actions.lookup(self.client, self.key, random.choice(self.events))
