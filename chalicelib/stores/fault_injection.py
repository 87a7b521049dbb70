"""DynamoDB fault injection for the chaos suite: a botocore ``before-send`` hook, local stage only.

``stores/aws.py`` registers :meth:`FaultInjector.before_send` on the DynamoDB and DynamoDB
Streams clients only when ``settings.chaos_faults_file`` is set, which ``Settings`` refuses
outside the ``local`` stage. The hook reads the plan (``domain/fault_plan.py``) from that file,
looking again at most every :data:`RECHECK_SECONDS` (a ``stat``; the file is re-read only when
its mtime, size or inode changed: write it atomically, to a temporary file then
``os.replace``), so the suite switches faults on and off at run time across every process
(API server, stream and delivery workers) by writing or removing one file.

When a fault fires, the hook returns a synthesized :class:`botocore.awsrequest.AWSResponse` in
place of sending the request: a 400 with DynamoDB's JSON error body
(``{"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException", "message": ...}``) for
throttling, 500 ``InternalServerError`` or 503 ``ServiceUnavailable``, with a correct
``x-amz-crc32`` header as AWS sends one. Everything after ``before-send`` is botocore's and
ours as for a real answer: our CRC32 check, the parser, the standard-mode retry handler (so
each attempt, retries included, draws the fault again), ``translate_errors``.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
import zlib
from collections.abc import Callable
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders

from chalicelib.domain.fault_plan import NO_FAULT, FaultPlan, InvalidFaultPlan, decide
from chalicelib.domain.fault_plan import parse_fault_plan as parse
from chalicelib.observability.logging import logger

RECHECK_SECONDS = 0.1  # at most one stat of the plan file per this interval and process
ERROR_TYPE_PREFIX = "com.amazonaws.dynamodb.v20120810#"


class _Body:
    """The ``raw`` an :class:`AWSResponse` reads its content from."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> list[bytes]:
        return [self._data]


def fault_response(url: str, error: str, status: int) -> AWSResponse:
    """The response DynamoDB sends for ``error``: JSON 1.0 error body, request id, CRC32."""
    body = json.dumps(
        {"__type": ERROR_TYPE_PREFIX + error, "message": f"injected by CHAOS_FAULTS_FILE: {error}"}
    ).encode()
    headers = HTTPHeaders()
    headers["Content-Type"] = "application/x-amz-json-1.0"
    headers["Content-Length"] = str(len(body))
    headers["x-amzn-RequestId"] = "chaos-" + os.urandom(8).hex()
    headers["x-amz-crc32"] = str(zlib.crc32(body) & 0xFFFFFFFF)
    return AWSResponse(url, status, headers, _Body(body))


class FaultInjector:
    """Reads the plan file when it changes and injects its faults; thread-safe.

    ``clock`` (monotonic seconds), ``rng`` and ``stat`` are injectable for tests. ``injected``
    counts the faults injected by this process, by error code.
    """

    def __init__(
        self,
        path: str,
        *,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        stat: Callable[[str], os.stat_result] = os.stat,
    ) -> None:
        self.path = path
        self._clock = clock
        self._rng = rng or random.Random()
        self._stat = stat
        self._lock = threading.Lock()
        self._plan = NO_FAULT
        self._seen: tuple[int, int, int] | None = None  # (mtime ns, size, inode) last read
        self._checked_at = -float("inf")
        self.injected: dict[str, int] = {}

    def plan(self) -> FaultPlan:
        """The current plan, looking at the file at most every ``RECHECK_SECONDS``."""
        now = self._clock()
        with self._lock:
            if now - self._checked_at < RECHECK_SECONDS:
                return self._plan
            self._checked_at = now
            try:
                st = self._stat(self.path)
            except OSError:
                self._plan, self._seen = NO_FAULT, None  # no file: no fault
                return self._plan
            seen = (st.st_mtime_ns, st.st_size, st.st_ino)
            if seen != self._seen:
                self._seen = seen
                self._plan = self._read()
            return self._plan

    def _read(self) -> FaultPlan:
        try:
            with open(self.path, encoding="utf-8") as handle:
                text = handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            logger.warning(
                "chaos fault plan unreadable: injecting nothing",
                extra={"path": self.path, "error": str(exc)},
            )
            return NO_FAULT
        try:
            plan = parse(text)
        except InvalidFaultPlan as exc:
            logger.warning(
                "chaos fault plan invalid: injecting nothing",
                extra={"path": self.path, "error": str(exc)},
            )
            return NO_FAULT
        logger.info(
            "chaos fault plan loaded",
            extra={
                "path": self.path,
                "fault": plan.error,
                "probability": plan.probability,
                "operations": sorted(plan.operations) if plan.operations is not None else None,
            },
        )
        return plan

    def before_send(self, request: Any = None, event_name: str = "", **_: Any) -> Any:
        """botocore ``before-send``: a synthesized error response, or None to send for real."""
        operation = event_name.rsplit(".", 1)[-1]
        plan = self.plan()
        error = decide(plan, operation, self._rng.random)
        if error is None:
            return None
        with self._lock:
            self.injected[error] = self.injected.get(error, 0) + 1
        logger.debug("chaos fault injected", extra={"operation": operation, "fault": error})
        return fault_response(getattr(request, "url", ""), error, plan.status)


def install(client: Any, path: str) -> FaultInjector:
    """Register a :class:`FaultInjector` on ``client``'s every operation (a DynamoDB or
    DynamoDB Streams client); the injector is returned for tests and counters."""
    injector = FaultInjector(path)
    service = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register(f"before-send.{service}", injector.before_send)
    return injector
