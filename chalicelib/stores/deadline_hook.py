"""The request's time budget (``domain/deadline.py``) enforced on every DynamoDB attempt.

``stores/aws.py`` installs two botocore handlers on each DynamoDB and DynamoDB Streams client.
Both do nothing outside a request (no deadline in the context).

* ``before-send`` (before every attempt, the first included): refuse the attempt when less
  than one attempt's time (``connect_timeout + read_timeout + MARGIN``) remains.
* ``needs-retry``, registered ahead of botocore's own retry handler: after an attempt that
  failed in a way ``translate_errors`` reports as ``StorageUnavailable`` (a 5xx, a throttling
  code, a connection error or timeout), and that botocore would retry (attempts left), refuse
  the retry when its longest backoff sleep plus one attempt no longer fits. botocore sleeps
  *between* ``needs-retry`` and the next ``before-send``, so the ``before-send`` check alone
  would not bound that sleep (up to 2 s before a third attempt of a throttled call, 20 s at most).

A refusal raises :class:`DeadlineExceeded`, a ``StorageUnavailable``, which leaves boto3
unchanged and passes ``translate_errors`` as it is. What botocore does with it (checked in
``tests/unit/test_deadline_hook.py``): raised in ``before-send``, it is caught by the endpoint
(``_do_get_response`` catches every exception) and handed to ``needs-retry`` as the attempt's
``caught_exception``; botocore's standard handler does not retry it (only its
``ConnectionError``/``HTTPClientError`` classes are transient), and our handler, which runs
first, re-raises it anyway, so it can never be swallowed into a retry. Raised in
``needs-retry``, nothing catches it: it leaves the client call at once, with the attempt's error
as its ``__cause__``.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from chalicelib.domain import deadline
from chalicelib.stores.errors import DeadlineExceeded

# botocore's standard mode sleeps rand() x min(scale x 2**(attempt - 1), 20) s before a retry;
# the scale is 1 s for throttling errors (25 ms for other DynamoDB errors): take the larger.
BACKOFF_SCALE, BACKOFF_CAP = 1.0, 20.0
# A response's x-amz-retry-after header may add up to 5 s more (DynamoDB does not send it).
RETRY_AFTER_EXTRA = 5.0


def max_backoff(attempts: int, retry_after: bool = False) -> float:
    """The longest sleep botocore's standard mode makes after attempt number ``attempts``."""
    sleep = min(BACKOFF_SCALE * 2.0 ** min(attempts - 1, 32), BACKOFF_CAP)
    return sleep + (RETRY_AFTER_EXTRA if retry_after else 0.0)


def client_attempt_seconds(client: Any) -> float:
    """One attempt of ``client``: its own connect and read timeouts, plus the margin."""
    config = client.meta.config
    return deadline.attempt_seconds(float(config.connect_timeout), float(config.read_timeout))


def time_for(client: Any, wait: float) -> bool:
    """Whether the current request (if any) can still sleep ``wait`` seconds and then make one
    more attempt with ``client``: our own retry loops ask this before they sleep."""
    return deadline.allows(wait + client_attempt_seconds(client))


def _code(response: Any) -> str:
    http, parsed = response
    code = parsed.get("Error", {}).get("Code") if isinstance(parsed, dict) else None
    return str(code or getattr(http, "status_code", "?"))


def _unavailable(response: Any, caught: BaseException | None, codes: Collection[str]) -> bool:
    """Whether the attempt failed as ``translate_errors`` would call unavailable."""
    if caught is not None:
        return True
    if not response:
        return False
    http, parsed = response
    if getattr(http, "status_code", 200) >= 500:
        return True
    code = parsed.get("Error", {}).get("Code", "") if isinstance(parsed, dict) else ""
    return code in codes


def install(client: Any, max_attempts: int, unavailable_codes: Collection[str]) -> None:
    attempt = client_attempt_seconds(client)
    service = client.meta.service_model.service_id.hyphenize()

    def before_send(event_name: str = "", **_: Any) -> None:
        current = deadline.current()
        if current is not None and not current.allows(attempt):
            raise DeadlineExceeded(
                f"{event_name.rsplit('.', 1)[-1]}: request time budget spent "
                f"({max(current.remaining(), 0.0):.2f} s left, an attempt needs {attempt:.2f} s)"
            )

    def needs_retry(
        attempts: int = 1,
        response: Any = None,
        caught_exception: BaseException | None = None,
        operation: Any = None,
        **_: Any,
    ) -> None:
        if isinstance(caught_exception, DeadlineExceeded):
            raise caught_exception
        current = deadline.current()
        if current is None or attempts >= max_attempts:
            return None  # no budget here, or botocore makes no further attempt anyway
        if not _unavailable(response, caught_exception, unavailable_codes):
            return None
        retry_after = bool(response) and "x-amz-retry-after" in getattr(response[0], "headers", {})
        wait = max_backoff(attempts, retry_after)
        if current.allows(wait + attempt):
            return None
        name = getattr(operation, "name", "?")
        failure = type(caught_exception).__name__ if caught_exception else _code(response)
        raise DeadlineExceeded(
            f"{name}: {failure}, and the request time budget has no room for retry {attempts} "
            f"({max(current.remaining(), 0.0):.2f} s left, a retry may need {wait + attempt:.2f} s)"
        ) from caught_exception

    client.meta.events.register_first(f"before-send.{service}", before_send)
    client.meta.events.register_first(f"needs-retry.{service}", needs_retry)
