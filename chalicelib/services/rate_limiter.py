"""Per-key rate limiting: GCRA state in DynamoDB, token leases, one conditional write per lease.

* **Token leases** (:mod:`chalicelib.domain.token_lease`): a busy key's tokens are taken in
  batches, one conditional UpdateItem per batch, and spent in process; the batch size follows
  this process's rate for the key and is 1 (a write per request, as without leases) for small
  limits and quiet keys. The bound across processes stays exact; the cost (while a lease lives,
  its unspent tokens are refused to other processes; expired ones are not given back) is stated
  in that module.
* **Common path of a take**: one UpdateItem. Which branch to write (idle or busy, see
  :mod:`chalicelib.stores.rate_limits`) is predicted from the last state this process saw for
  the key; a wrong guess (another process moved the bucket) costs a second write with the state
  the first one returned, never a double admit.
* **Deny cache**: a refused key is refused again *in process*, without any DynamoDB call, until
  the instant its next token is due. The state only moves forward, so the table would refuse
  those requests as well: the cache never refuses what the table would admit.
* **Table unreachable: fail open, to a per-process limit.** The limiter protects capacity; if it
  cannot reach its table, refusing every request would turn a limiter outage into an API outage
  (and the events table, which the request needs anyway, answers for itself). Each process then
  applies the same GCRA policy in memory, so one process still never admits more than the key's
  limit; ``N`` processes may admit up to ``N`` times it. For ``DEGRADED_SECONDS`` after a
  failure the table is not tried again (no timeout per request), each degraded decision records
  the ``RateLimiterDegraded`` metric, and entering the state logs a warning with the metric
  ``RateLimiterUnavailable``.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from chalicelib.domain.keys import key_id_prefix
from chalicelib.domain.token_bucket import (
    MICROS,
    Branch,
    Decision,
    Policy,
    admitted,
    decide,
    observed,
    refused,
    to_micros,
)
from chalicelib.domain.token_lease import Lease, leasing_policy, next_lease_size
from chalicelib.observability.logging import logger
from chalicelib.observability.metrics import record_metric
from chalicelib.stores.errors import DeadlineExceeded, StoreError
from chalicelib.stores.protocols import RateLimitStorage

DEGRADED_SECONDS = 5.0
MAX_TRACKED_KEYS = 10_000
MAX_WRITES_PER_CHECK = 3

SOURCE_TABLE = "table"
SOURCE_CACHE = "deny-cache"
SOURCE_LOCAL = "local-fallback"
SOURCE_LEASE = "lease"


# How big the next lease is (policy, last size, spent since, elapsed since; see token_lease).
LeaseSizer = Callable[[Policy, int, int, int | None], int]


@dataclass(frozen=True)
class RateCheck:
    decision: Decision
    policy: Policy
    source: str  # SOURCE_TABLE, SOURCE_LEASE, SOURCE_CACHE or SOURCE_LOCAL
    writes: int  # DynamoDB writes this check made

    def headers(self) -> dict[str, str]:
        return self.decision.headers(self.policy)


@dataclass
class _KeyState:
    limit: int
    tat_hint: int | None = None  # last TAT seen in the table
    deny_until: int = 0  # refuse locally while now < deny_until
    local_tat: int | None = None  # the in-memory bucket used while the table is unreachable
    lease: Lease | None = None  # tokens taken from the table and not spent yet
    lease_size: int = 0  # tokens the last write took
    leased_at: int | None = None  # when it took them
    spent: int = 0  # tokens this process spent for the key since then
    take_lock: threading.Lock = field(default_factory=threading.Lock)  # one write at a time


class RateLimiter:
    def __init__(
        self,
        store: RateLimitStorage,
        default_limit: int,
        window_seconds: int = 60,
        now: Callable[[], float] = time.time,
        degraded_seconds: float = DEGRADED_SECONDS,
        max_keys: int = MAX_TRACKED_KEYS,
        leasing: bool = True,
        lease_size: LeaseSizer = next_lease_size,
    ) -> None:
        self._store = store
        self._default = default_limit
        self._window = window_seconds
        self._now = now
        self._degraded_for = to_micros(degraded_seconds)
        self._degraded_until = 0
        self._max_keys = max_keys
        self._leasing = leasing
        self._lease_size = lease_size
        self._keys: OrderedDict[str, _KeyState] = OrderedDict()
        self._lock = threading.Lock()

    def policy_for(self, limit: int | None) -> Policy:
        effective = limit if limit is not None else self._default
        if self._leasing:
            return leasing_policy(effective, self._window)
        return Policy(effective, self._window)

    def cached_refusal(self, key_id: str, limit: int | None) -> RateCheck | None:
        """The in-process refusal of a key known to be over its limit (no DynamoDB call)."""
        policy = self.policy_for(limit)
        return self._refused_in_process(
            self._state(key_id, policy.limit), policy, to_micros(self._now())
        )

    @staticmethod
    def _refused_in_process(state: _KeyState, policy: Policy, now_us: int) -> RateCheck | None:
        if now_us < state.deny_until and state.tat_hint is not None:
            record_metric("RateLimitDenyCacheHit")
            return RateCheck(refused(policy, state.tat_hint, now_us), policy, SOURCE_CACHE, 0)
        return None

    def check(self, key_id: str, limit: int | None) -> RateCheck:
        """Take one request's token for ``key_id`` (``limit``: its per-minute limit or None)."""
        policy = self.policy_for(limit)
        state = self._state(key_id, policy.limit)
        fast = self._without_table(state, policy)
        if fast is not None:
            return fast
        # One write per key at a time in this process: the threads that queue behind it spend
        # the lease it brings instead of each taking one.
        with state.take_lock:
            fast = self._without_table(state, policy)
            if fast is not None:
                return fast
            now_us = to_micros(self._now())
            if now_us < self._degraded_until:
                return self._local(key_id, state, policy, now_us)
            try:
                return self._take(key_id, state, policy, now_us)
            except DeadlineExceeded:
                # This request's time is up, the table is not down: decide it locally, alone.
                return self._local(key_id, state, policy, now_us)
            except StoreError as exc:
                self._degraded_until = now_us + self._degraded_for
                logger.warning(
                    "rate limiter table unreachable; failing open to the per-process limit",
                    extra={
                        "metric": "RateLimiterUnavailable",
                        "key_id": key_id_prefix(key_id),
                        "error": str(exc),
                        "degraded_seconds": self._degraded_for / 1_000_000,
                    },
                )
                record_metric("RateLimiterUnavailable")
                return self._local(key_id, state, policy, now_us)

    def _without_table(self, state: _KeyState, policy: Policy) -> RateCheck | None:
        """The decision when no write is needed: refused by the deny cache, or a leased token."""
        now_us = to_micros(self._now())
        cached = self._refused_in_process(state, policy, now_us)
        if cached is not None:
            return cached
        if now_us < self._degraded_until:
            return None
        with self._lock:
            lease = state.lease
            tat = lease.spend(policy, now_us) if lease is not None else None
            if tat is None:
                state.lease = None
                return None
            state.spent += 1
        return RateCheck(admitted(policy, tat, now_us), policy, SOURCE_LEASE, 0)

    def peek(self, key_id: str, limit: int | None) -> RateCheck:
        """The key's bucket as this process last saw it, without taking a token or calling
        DynamoDB: the headers of responses refused before the rate limit (403 ip_not_allowed)."""
        policy = self.policy_for(limit)
        now_us = to_micros(self._now())
        state = self._state(key_id, policy.limit)
        degraded = now_us < self._degraded_until
        tat = state.local_tat if degraded else state.tat_hint
        lease = state.lease
        if not degraded and lease is not None and lease.live(now_us):
            tat = lease.unspent_tat(policy)
        source = SOURCE_LOCAL if degraded else SOURCE_CACHE
        return RateCheck(observed(policy, tat, now_us), policy, source, 0)

    def _take(self, key_id: str, state: _KeyState, policy: Policy, now_us: int) -> RateCheck:
        elapsed = None if state.leased_at is None else now_us - state.leased_at
        size = self._lease_size(policy, state.lease_size, state.spent, elapsed)
        branch = policy.branch(state.tat_hint, now_us)
        if branch is Branch.OVER:
            # Our view is stale or we are over: the busy branch's condition decides.
            branch = Branch.BUSY
        else:
            size = max(1, min(size, policy.fit(state.tat_hint, now_us)))
        writes = 0
        while writes < MAX_WRITES_PER_CHECK:
            result = self._store.take(
                key_id,
                branch,
                now_us,
                size * policy.interval_us,
                policy.tat_limit(now_us, size),
            )
            writes += 1
            if result.written and result.tat_us is not None:
                lease = Lease.taken(policy, size, result.tat_us, now_us)
                with self._lock:
                    state.tat_hint = result.tat_us
                    state.lease = lease if lease.tokens else None
                    state.lease_size, state.leased_at, state.spent = size, now_us, 1
                decision = admitted(policy, lease.unspent_tat(policy), now_us)
                return RateCheck(decision, policy, SOURCE_TABLE, writes)
            current = result.tat_us
            state.tat_hint = current
            fits = policy.fit(current, now_us)
            if fits == 0 and current is not None:
                decision = refused(policy, current, now_us)
                state.deny_until = now_us + decision.retry_after_us
                return RateCheck(decision, policy, SOURCE_TABLE, writes)
            size = max(1, min(size, fits))
            branch = policy.branch(current, now_us)
        # The state kept moving under us (only possible with many writers racing on one key):
        # refuse rather than guess. Retrying after a second is always safe.
        decision = refused(policy, policy.tat_limit(now_us) + MICROS, now_us)
        return RateCheck(decision, policy, SOURCE_TABLE, writes)

    def _local(self, key_id: str, state: _KeyState, policy: Policy, now_us: int) -> RateCheck:
        with self._lock:
            decision = decide(policy, state.local_tat, now_us)
            if decision.allowed:
                state.local_tat = decision.tat_us
        record_metric("RateLimiterDegraded")
        return RateCheck(decision, policy, SOURCE_LOCAL, 0)

    def _state(self, key_id: str, limit: int) -> _KeyState:
        with self._lock:
            state = self._keys.get(key_id)
            if state is None or state.limit != limit:
                state = _KeyState(limit)
                self._keys[key_id] = state
            self._keys.move_to_end(key_id)
            while len(self._keys) > self._max_keys:
                self._keys.popitem(last=False)
            return state

    def forget(self) -> None:
        """Drop all in-process state (tests; a new process starts the same way)."""
        with self._lock:
            self._keys.clear()
            self._degraded_until = 0
