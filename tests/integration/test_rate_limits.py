"""The limiter on DynamoDB Local: exact under concurrency (threads and processes), one write on
the common path, the deny cache, and failing open when the table cannot be reached."""

from __future__ import annotations

import multiprocessing
import threading
import time
from dataclasses import replace

import boto3

from chalicelib.domain.token_bucket import MICROS, Policy
from chalicelib.services.rate_limiter import SOURCE_CACHE, SOURCE_LOCAL, SOURCE_TABLE, RateLimiter
from chalicelib.settings import Settings
from chalicelib.stores.aws import dynamodb_client
from chalicelib.stores.rate_limits import RateLimitStore
from devstack.ports import free_port
from tests.conftest import Database

LIMIT = 20  # per minute: one token every 3 s, so a run of a few seconds adds at most one or two
CLIENTS = 16
REQUESTS_PER_CLIENT = 8


def hammer(
    limiter: RateLimiter, key_id: str, results: list[bool], start: threading.Barrier
) -> None:
    start.wait()
    for _ in range(REQUESTS_PER_CLIENT):
        results.append(limiter.check(key_id, LIMIT).decision.allowed)


def allowance(elapsed_seconds: float) -> int:
    """What the bucket may admit in ``elapsed_seconds``: capacity + rate x elapsed."""
    return LIMIT + int(elapsed_seconds * MICROS) // Policy(LIMIT).interval_us


def limiter_for(db: Database) -> RateLimiter:
    return RateLimiter(RateLimitStore(db.client, db.settings.rate_limits_table), 1000)


def test_sixteen_threads_with_their_own_limiters_admit_exactly_the_allowance(ddb: Database):
    # Each thread is a separate "worker" with its own in-process state, sharing only the table.
    limiters = [limiter_for(ddb) for _ in range(CLIENTS)]
    results: list[bool] = []
    start = threading.Barrier(CLIENTS)
    threads = [
        threading.Thread(target=hammer, args=(lim, "key_threads", results, start))
        for lim in limiters
    ]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - began
    admitted = sum(results)
    assert len(results) == CLIENTS * REQUESTS_PER_CLIENT
    assert LIMIT <= admitted <= allowance(elapsed), (admitted, elapsed)


def _process_client(endpoint: str, access_key: str, settings: Settings) -> object:
    """A spawned process's own DynamoDB client on the test session's engine."""
    session = boto3.Session(
        aws_access_key_id=access_key, aws_secret_access_key="local", region_name="us-east-1"
    )
    return dynamodb_client(settings, session=session, endpoint_url=endpoint)


def _in_two_processes(db: Database, worker: object, key_id: str) -> tuple[list[object], float]:
    """Run ``worker`` in two spawned processes of ``CLIENTS // 2`` threads each: what each put
    on the queue, and the seconds from the first start to the last answer (process start-up
    included: a generous upper bound)."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    args = (db.engine.endpoint, db.access_key, db.settings, key_id, CLIENTS // 2, queue)
    procs = [ctx.Process(target=worker, args=args) for _ in range(2)]  # type: ignore[arg-type]
    began = time.monotonic()
    for p in procs:
        p.start()
    outcomes = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    return outcomes, time.monotonic() - began


def _process_worker(
    endpoint: str, access_key: str, settings: Settings, key_id: str, threads: int, queue: object
) -> None:
    client = _process_client(endpoint, access_key, settings)
    results: list[bool] = []
    start = threading.Barrier(threads)
    workers = [
        threading.Thread(
            target=hammer,
            args=(
                RateLimiter(RateLimitStore(client, settings.rate_limits_table), 1000),  # type: ignore[arg-type]
                key_id,
                results,
                start,
            ),
        )
        for _ in range(threads)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    queue.put(results)  # type: ignore[attr-defined]


def test_two_processes_of_eight_clients_admit_exactly_the_allowance(ddb: Database):
    outcomes, elapsed = _in_two_processes(ddb, _process_worker, "key_procs")
    results: list[list[bool]] = outcomes  # type: ignore[assignment]
    admitted = sum(sum(r) for r in results)
    assert sum(len(r) for r in results) == CLIENTS * REQUESTS_PER_CLIENT
    assert LIMIT <= admitted <= allowance(elapsed), (admitted, elapsed)


class CountingClient:
    """The real client, counting UpdateItem calls (a fake wrapper, not a patch)."""

    def __init__(self, client: object) -> None:
        self._client = client
        self.updates = 0

    def update_item(self, **kwargs: object) -> object:
        self.updates += 1
        return self._client.update_item(**kwargs)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self._client, name)


def test_one_write_per_request_and_no_write_once_refused(ddb: Database):
    counting = CountingClient(ddb.client)
    limiter = RateLimiter(RateLimitStore(counting, ddb.settings.rate_limits_table), 1000)  # type: ignore[arg-type]
    for expected_remaining in (2, 1, 0):
        check = limiter.check("key_one", 3)
        assert check.decision.allowed
        assert check.decision.remaining == expected_remaining
        assert check.writes == 1
    assert counting.updates == 3
    refused = limiter.check("key_one", 3)
    assert not refused.decision.allowed
    assert refused.source == SOURCE_TABLE
    assert counting.updates == 4
    for _ in range(100):
        again = limiter.check("key_one", 3)
        assert not again.decision.allowed
        assert again.source == SOURCE_CACHE
    assert counting.updates == 4, "refused keys must not reach DynamoDB until their reset"
    # The state is in the table, with a TTL attribute.
    item = ddb.client.get_item(
        TableName=ddb.settings.rate_limits_table, Key={"pk": {"S": "key#key_one"}}
    )["Item"]
    assert set(item) == {"pk", "tat", "expires_at"}


def test_a_second_process_sees_the_first_ones_tokens(ddb: Database):
    first, second = limiter_for(ddb), limiter_for(ddb)
    for _ in range(3):
        assert first.check("key_shared", 3).decision.allowed
    check = second.check("key_shared", 3)
    assert not check.decision.allowed
    assert check.decision.retry_after_seconds >= 1


def test_unreachable_table_fails_open_to_the_local_limit(test_settings: Settings, caplog):
    settings = replace(
        test_settings, aws_connect_timeout=0.2, aws_read_timeout=0.2, aws_total_max_attempts=1
    )
    session = boto3.Session(
        aws_access_key_id="nobody", aws_secret_access_key="local", region_name="us-east-1"
    )
    dead = dynamodb_client(
        settings, session=session, endpoint_url=f"http://127.0.0.1:{free_port()}"
    )
    limiter = RateLimiter(RateLimitStore(dead, settings.rate_limits_table), 1000)
    checks = [limiter.check("key_dead", 2) for _ in range(3)]
    assert [c.decision.allowed for c in checks] == [True, True, False]
    assert {c.source for c in checks} == {SOURCE_LOCAL}
    assert checks[0].headers()["X-RateLimit-Limit"] == "2"
    logged = [r for r in caplog.records if getattr(r, "metric", "") == "RateLimiterUnavailable"]
    assert len(logged) == 1  # logged once when degrading, not per request


# -- token leases ------------------------------------------------------------------------------
LEASED_LIMIT = 600  # per minute: one token every 100 ms; a reserve of 10 tokens, leases of 10


def leased_allowance(elapsed_seconds: float) -> int:
    return LEASED_LIMIT + int(elapsed_seconds * MICROS) // Policy(LEASED_LIMIT).interval_us


def test_sixteen_leasing_limiters_admit_at_most_the_allowance_with_fewer_writes(ddb: Database):
    """The same exactness with leases: 16 limiters (each its own process state) drain a leased
    key's bucket on the real engine; admitted stays within limit + refill, and the writes are
    fewer than the admitted requests."""
    counting = CountingClient(ddb.client)
    limiters = [
        RateLimiter(RateLimitStore(counting, ddb.settings.rate_limits_table), 1000)  # type: ignore[arg-type]
        for _ in range(CLIENTS)
    ]
    results: list[bool] = []
    start = threading.Barrier(CLIENTS)

    def drain(limiter: RateLimiter) -> None:
        start.wait()
        for _ in range(60):
            results.append(limiter.check("key_leased", LEASED_LIMIT).decision.allowed)

    threads = [threading.Thread(target=drain, args=(lim,)) for lim in limiters]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - began
    admitted = sum(results)
    policy = limiters[0].policy_for(LEASED_LIMIT)
    assert policy.lease_tokens == 10
    # At least the capacity less what the other limiters may still hold unspent.
    floor = LEASED_LIMIT - policy.lease_tokens - (CLIENTS - 1) * policy.lease_tokens
    assert floor <= admitted <= leased_allowance(elapsed), (admitted, elapsed)
    assert counting.updates < admitted, (counting.updates, admitted)


def _shared_limiter_process(
    endpoint: str, access_key: str, settings: Settings, key_id: str, threads: int, queue: object
) -> None:
    """A process as the API runs: one limiter (one lease per key) shared by its threads."""
    counting = CountingClient(_process_client(endpoint, access_key, settings))
    limiter = RateLimiter(RateLimitStore(counting, settings.rate_limits_table), 1000)  # type: ignore[arg-type]
    results: list[bool] = []
    start = threading.Barrier(threads)

    def drain() -> None:
        start.wait()
        for _ in range(60):
            results.append(limiter.check(key_id, LEASED_LIMIT).decision.allowed)

    workers = [threading.Thread(target=drain) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    queue.put((results, counting.updates))  # type: ignore[attr-defined]


def test_two_processes_of_eight_threads_sharing_a_leasing_limiter_stay_within_the_bound(
    ddb: Database,
):
    answers, elapsed = _in_two_processes(ddb, _shared_limiter_process, "key_leased_procs")
    outcomes: list[tuple[list[bool], int]] = answers  # type: ignore[assignment]
    admitted = sum(sum(results) for results, _ in outcomes)
    writes = sum(updates for _, updates in outcomes)
    policy = Policy(LEASED_LIMIT, lease_tokens=10)
    # Everything but what the other process may still hold in its lease, and never more.
    assert LEASED_LIMIT - 2 * policy.lease_tokens <= admitted <= leased_allowance(elapsed)
    assert writes < admitted / 2, (writes, admitted)  # threads share their process's leases
