"""Storage failures leave every service as ServiceUnavailable (503), from one mechanism."""

from __future__ import annotations

import pytest

from chalicelib import errors
from chalicelib.domain.keys import new_secret
from chalicelib.services.keys import KeyService
from chalicelib.services.storage_errors import as_service_unavailable, storage_unavailable_as_503
from chalicelib.stores.errors import ConditionFailed, StorageUnavailable, StoreError


def test_unavailable_storage_becomes_a_503_with_retry_after() -> None:
    with pytest.raises(errors.ServiceUnavailable) as caught, storage_unavailable_as_503():
        raise StorageUnavailable("GetItem events: ThrottlingException")
    assert caught.value.status == 503
    assert caught.value.headers == {"Retry-After": "1"}
    assert caught.value.message == "Storage is busy or unreachable; retry shortly."
    assert isinstance(caught.value.__cause__, StorageUnavailable)


def test_a_rejected_request_is_a_503_too_never_a_500() -> None:
    with pytest.raises(errors.ServiceUnavailable) as caught, storage_unavailable_as_503():
        raise StoreError("PutItem events: ValidationException")
    assert caught.value.message == "Storage rejected the request; retry shortly."
    # An unexpected condition failure is storage trouble as far as the contract goes.
    assert isinstance(as_service_unavailable(ConditionFailed()), errors.ServiceUnavailable)


def test_api_errors_and_other_exceptions_pass_through() -> None:
    with pytest.raises(errors.NotFound), storage_unavailable_as_503():
        raise errors.NotFound("No event with that id.")
    with pytest.raises(KeyError), storage_unavailable_as_503():
        raise KeyError("a bug stays a bug")


class DownKeyStore:
    def put(self, record: object) -> None:
        raise StorageUnavailable("PutItem api-keys: ConnectTimeoutError")

    def find_active(self, key_hash: str) -> None:
        raise StorageUnavailable("GetItem api-keys: ConnectTimeoutError")

    def create(self, key: object, secret: object) -> None:
        raise StorageUnavailable("TransactWriteItems api-keys create: ConnectTimeoutError")

    def get_key(self, tenant_id: str, key_id: str) -> None:
        raise StorageUnavailable("GetItem api-keys: ConnectTimeoutError")


def test_key_lookup_failing_raises_service_unavailable_for_the_auth_middleware() -> None:
    keys = KeyService(DownKeyStore(), "local", 10.0)  # type: ignore[arg-type]
    with pytest.raises(errors.ServiceUnavailable):
        keys.authenticate(new_secret("local"))
    with pytest.raises(errors.ServiceUnavailable):
        keys.create_key("laptop", "acme")
    with pytest.raises(errors.ServiceUnavailable):
        keys.rotate("acme", "key_0123456789abcdef", 60)
