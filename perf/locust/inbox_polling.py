"""Inbox polling: concurrent consumers poll with filters and ack what they read, on two tenants
at once, one with 1,000 pending events and one with 100,000, so the two p95s come from the
same run.

    locust -f perf/locust/inbox_polling.py --host http://127.0.0.1:8000 --headless -u 8 -t 60s \
        --small-tenant T1 --big-tenant T2 --summary-json perf/results/inbox.json

``--small-tenant``/``--big-tenant`` name tenants already loaded with
``scripts/preload_events.py`` (what ``scripts/run_load_tests.sh inbox_polling`` does); without
them the scenario preloads ``--small-pending``/``--big-pending`` events itself before the load.
Each poll acks ``--acks-per-poll`` of the events it read and posts as many new ones, so the
pending count stays level; one poll in four also follows ``next_cursor``.
"""

from __future__ import annotations

import itertools
import random
import sys
from typing import Any

from locust import HttpUser, events, task

from chalicelib.domain.clock import format_ts
from perf.locust import actions, support
from perf.targets import BIG_INBOX_TAG, SMALL_INBOX_TAG
from scripts.preload_events import preload

TENANT_KEYS: dict[str, list[support.Key]] = {"small": [], "big": []}
_users = itertools.count()


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    parser.add_argument("--small-tenant", default="", help="tenant preloaded with ~1,000 events")
    parser.add_argument("--big-tenant", default="", help="tenant preloaded with ~100,000 events")
    parser.add_argument("--small-pending", type=int, default=1000)
    parser.add_argument("--big-pending", type=int, default=100_000)
    parser.add_argument("--acks-per-poll", type=int, default=2)


def _setup(environment: Any) -> None:
    opts = environment.parsed_options
    for size, tenant, pending in (
        ("small", opts.small_tenant, opts.small_pending),
        ("big", opts.big_tenant, opts.big_pending),
    ):
        if not tenant:
            tenant = support.new_tenant(f"inbox-{size}")
            _preload(environment, tenant, pending)
        TENANT_KEYS[size] = support.create_keys(environment, f"inbox-{size}", [tenant])


def _preload(environment: Any, tenant: str, count: int) -> None:
    runtime = support.stack_runtime(environment.host or "")
    result = preload(runtime, tenant, count)
    print(
        f"[perf] preloaded {count} events for {tenant} in {result.seconds:.1f} s", file=sys.stderr
    )


support.scenario("inbox_polling", _setup)


class _Consumer(HttpUser):
    abstract = True
    wait_time = support.paced
    size = "small"
    tag = SMALL_INBOX_TAG

    def on_start(self) -> None:
        keys = TENANT_KEYS[self.size]
        self.key = keys[next(_users) % len(keys)]
        self.created_after = format_ts(0)

    @task
    def poll_and_ack(self) -> None:
        params = actions.inbox_filters(self.created_after)
        params["limit"] = "50"
        name = f"/v1/inbox {self.tag}"
        page, cursor = actions.poll_inbox(self.client, self.key, params, name)
        if cursor and random.random() < 0.25:
            more, _ = actions.poll_inbox(self.client, self.key, {**params, "cursor": cursor}, name)
            page += more
        acks = self.environment.parsed_options.acks_per_poll
        for event in random.sample(page, min(acks, len(page))):
            actions.acknowledge(self.client, self.key, str(event["event_id"]))
            actions.create_event(self.client, self.key)


class SmallInboxConsumer(_Consumer):
    size = "small"
    tag = SMALL_INBOX_TAG


class BigInboxConsumer(_Consumer):
    size = "big"
    tag = BIG_INBOX_TAG
