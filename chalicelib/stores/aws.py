"""AWS clients with explicit timeouts and bounded retries, and botocore error translation.

* Clients come from botocore directly (boto3 adds nothing a client needs, and importing it pulls
  in s3transfer: a cold-start cost). Importing this module loads ``botocore.exceptions`` only;
  the client machinery (``botocore.session``, ``botocore.config``) loads when the first client is
  built. ``runtime.py`` wraps each client in a ``chalicelib.lazy.Lazy``: built on its first
  call, once per process.
* Every client: connect/read timeouts, ``total_max_attempts`` (``max_attempts`` counts retries
  only), standard retry mode.
* DynamoDB responses are checked against their ``x-amz-crc32`` header. In ``standard`` mode
  botocore does not, and a truncated body parses as an empty result: a GetItem would read as
  "not found". A mismatch (or a 2xx without the header: its headers were cut short) is turned
  into a 500 before parsing, so botocore retries it; if it persists, the call raises
  ``ChecksumError`` and the store reports the storage as unavailable.
* Every DynamoDB and DynamoDB Streams client checks the request's time budget before each
  attempt and each retry (``stores/deadline_hook.py``; nothing is checked outside a request).
* On the local stage only, ``settings.chaos_faults_file`` adds the chaos suite's fault hook to
  the DynamoDB and DynamoDB Streams clients (``stores/fault_injection.py``).
"""

from __future__ import annotations

import functools
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeAlias

from botocore.exceptions import (
    BotoCoreError,
    ChecksumError,
    ClientError,
    HTTPClientError,
    ParamValidationError,
    ReadTimeoutError,
)
from botocore.exceptions import (
    ConnectionError as BotoConnectionError,
)

from chalicelib.settings import Settings
from chalicelib.stores import deadline_hook
from chalicelib.stores.errors import ConditionFailed, StorageUnavailable, StoreError

if TYPE_CHECKING:
    import boto3
    import botocore.session
    from botocore.config import Config
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient
    from mypy_boto3_sqs import SQSClient

    Session: TypeAlias = boto3.Session | botocore.session.Session

UNAVAILABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "LimitExceededException",
        "TransactionInProgressException",
    }
)


CRC32_MISMATCH = "Crc32Mismatch"
# No CRC-32 equals it (they are below 2**32): given as the missing header's value, it makes
# botocore's own DynamoDB checksum retry (retries/special.py) retry a response that had none.
IMPOSSIBLE_CRC32 = str(2**32)


def _check_crc32(
    response_dict: Any = None,
    customized_response_dict: Any = None,
    required: bool = True,
    **_: Any,
) -> None:
    """before-parse: on a mismatch, make the response a 500 so the retry handler retries it,
    and mark the parsed result so that the last attempt raises (see :func:`_raise_on_crc32`).

    ``required`` (DynamoDB): a 2xx without the header is as corrupt as one whose checksum
    differs. DynamoDB (and DynamoDB Local, and LocalStack) sends ``x-amz-crc32`` on every
    answer, so a success without it is an answer whose header block was cut short (urllib3 only
    logs that), and its body, empty or partial, would parse as an empty result (an UpdateItem
    without ``Attributes``): found by the chaos suite's ``ddb-limit-data``. DynamoDB Streams
    answers need not carry it (LocalStack's do not): there, only an empty 2xx body counts as
    cut short. (The Streams client serves only the local stream worker: in AWS, Lambda's
    event-source mapping reads the stream.)"""
    if not response_dict:
        return
    expected = response_dict.get("headers", {}).get("x-amz-crc32")
    status = response_dict.get("status_code", 0)
    if expected is None and not (isinstance(status, int) and 200 <= status < 300):
        return  # an error answer cut short still fails; botocore reads its status
    body = response_dict.get("body", b"")
    if expected is None:
        if not required and body:
            return
        # The headers are the HTTP response's own: the retry checker reads this value too.
        response_dict["headers"]["x-amz-crc32"] = expected = IMPOSSIBLE_CRC32
    if str(zlib.crc32(body) & 0xFFFFFFFF) != expected:
        response_dict["status_code"] = 500
        if customized_response_dict is not None:
            customized_response_dict[CRC32_MISMATCH] = expected


def _check_stream_crc32(**kwargs: Any) -> None:
    _check_crc32(required=False, **kwargs)


def _raise_on_crc32(parsed: Any = None, **_: Any) -> None:
    """after-call: the HTTP status was 200, so botocore would hand back the error as a result
    (a GetItem without ``Item``: "not found"). Raise instead."""
    if isinstance(parsed, dict) and CRC32_MISMATCH in parsed:
        raise ChecksumError(
            checksum_type="x-amz-crc32",
            expected_checksum=parsed[CRC32_MISMATCH],
            actual_checksum="(body differs)",
        )


# botocore sessions are not thread-safe: clients are built from one at a time.
_BUILD_LOCK = threading.RLock()


@functools.cache
def default_session() -> botocore.session.Session:
    """The process's botocore session (credentials and region from the environment)."""
    import botocore.session

    return botocore.session.get_session()


def _create(service: str, config: Config, session: Session | None, endpoint_url: str | None) -> Any:
    """A client of ``service`` from ``session`` (a boto3 or botocore session; default: the
    process's botocore session)."""
    import botocore.session

    with _BUILD_LOCK:
        chosen = session if session is not None else default_session()
        if isinstance(chosen, botocore.session.Session):
            return chosen.create_client(service, config=config, endpoint_url=endpoint_url)
        boto3_session: Any = chosen  # its ``client`` is typed per service name literal
        return boto3_session.client(service, config=config, endpoint_url=endpoint_url)


def client_config(settings: Settings, pool: int = 50) -> Config:
    from botocore.config import Config

    return Config(
        region_name=settings.region,
        connect_timeout=settings.aws_connect_timeout,
        read_timeout=settings.aws_read_timeout,
        retries={"total_max_attempts": settings.aws_total_max_attempts, "mode": "standard"},
        max_pool_connections=pool,
        tcp_keepalive=True,
    )


def dynamodb_client(
    settings: Settings, session: Session | None = None, endpoint_url: str | None = None
) -> DynamoDBClient:
    """A DynamoDB client; the endpoint comes from botocore's own ``AWS_ENDPOINT_URL_DYNAMODB``
    unless given (tests point each client at their own DynamoDB Local)."""
    from chalicelib.stores import client_speed  # botocore's user-agent and validation modules

    client: DynamoDBClient = _create("dynamodb", client_config(settings), session, endpoint_url)
    # Per-call work that gives the same answer every time (client_speed.py: ~20 % of a create's
    # CPU, ~43 % of a bulk create's): the User-Agent built once, parameters checked by DynamoDB.
    client_speed.tune(client)
    client.meta.events.register_first("before-parse.dynamodb.*", _check_crc32)
    client.meta.events.register_first("after-call.dynamodb.*", _raise_on_crc32)
    deadline_hook.install(client, settings.aws_total_max_attempts, UNAVAILABLE_CODES)
    if settings.chaos_faults_file:
        _install_faults(client, settings.chaos_faults_file)
    return client


def dynamodb_streams_client(
    settings: Settings, session: Session | None = None, endpoint_url: str | None = None
) -> DynamoDBStreamsClient:
    client: DynamoDBStreamsClient = _create(
        "dynamodbstreams", client_config(settings, pool=10), session, endpoint_url
    )
    client.meta.events.register_first("before-parse.dynamodb-streams.*", _check_stream_crc32)
    client.meta.events.register_first("after-call.dynamodb-streams.*", _raise_on_crc32)
    deadline_hook.install(client, settings.aws_total_max_attempts, UNAVAILABLE_CODES)
    if settings.chaos_faults_file:
        _install_faults(client, settings.chaos_faults_file)
    return client


def sqs_client(
    settings: Settings, session: Session | None = None, endpoint_url: str | None = None
) -> SQSClient:
    """An SQS client (the webhook queues); the endpoint comes from botocore's own
    ``AWS_ENDPOINT_URL_SQS`` unless given (the local stack sets it to its moto server).

    Same timeouts and bounded retries as the DynamoDB clients: a long poll (ReceiveMessage
    ``WaitTimeSeconds``) must stay below ``settings.aws_read_timeout``."""
    client: SQSClient = _create("sqs", client_config(settings, pool=10), session, endpoint_url)
    return client


def _install_faults(client: Any, path: str) -> None:
    """The chaos suite's fault hook (local stage only): imported here, not at the top, since it
    loads botocore's HTTP layer, which a Lambda's import need not pay for."""
    from chalicelib.stores import fault_injection

    fault_injection.install(client, path)


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@contextmanager
def translate_errors(operation: str) -> Iterator[None]:
    """Turn botocore failures into store errors; anything unexpected stays a StoreError."""
    try:
        yield
    except ClientError as exc:
        code = error_code(exc)
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code == "ConditionalCheckFailedException":
            item = exc.response.get("Item")
            raise ConditionFailed(item if isinstance(item, dict) else None) from exc
        if code in UNAVAILABLE_CODES or (isinstance(status, int) and status >= 500):
            raise StorageUnavailable(f"{operation}: {code or status}") from exc
        raise StoreError(f"{operation}: {code}: {exc}") from exc
    except ParamValidationError as exc:
        raise StoreError(f"{operation}: {exc}") from exc
    except (BotoConnectionError, HTTPClientError, ReadTimeoutError) as exc:
        raise StorageUnavailable(f"{operation}: {type(exc).__name__}") from exc
    except BotoCoreError as exc:
        raise StorageUnavailable(f"{operation}: {type(exc).__name__}") from exc
