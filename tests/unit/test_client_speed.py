"""stores/client_speed.py: the same requests, less botocore work per call (no sockets: a
``before-send`` handler answers every request)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ParamValidationError

from chalicelib.stores import client_speed


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body


def _client(sent: list[Any]) -> Any:
    session = boto3.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="eu-west-1"
    )
    client = session.client("dynamodb", endpoint_url="http://127.0.0.1:9")

    def answer(request: Any, **_: Any) -> AWSResponse:
        sent.append(request)
        return AWSResponse(request.url, 200, {"x-amzn-requestid": "r"}, _Raw(b"{}"))

    client.meta.events.register("before-send.dynamodb.*", answer)
    return client


def _get(client: Any) -> None:
    client.get_item(TableName="events", Key={"pk": {"S": "t#evt_1"}})


def test_the_user_agent_header_is_the_same_and_built_once_per_feature_set(monkeypatch):
    plain_sent: list[Any] = []
    tuned_sent: list[Any] = []
    plain, tuned = _client(plain_sent), client_speed.tune(_client(tuned_sent))
    built = []
    original = client_speed.UserAgentString.to_string
    monkeypatch.setattr(
        client_speed.UserAgentString,
        "to_string",
        lambda self: built.append(1) or original(self),
    )
    for _ in range(3):
        _get(plain)
        _get(tuned)
    assert len(built) == 2 * 3 + 1  # plain: twice a call; tuned: once, then from the cache
    headers = {bytes(r.headers["User-Agent"]) for r in plain_sent + tuned_sent}
    assert len(headers) == 1
    assert next(iter(headers)).startswith(b"Boto3/")


def test_tuning_is_idempotent_and_leaves_other_user_agent_classes_alone():
    client = _client([])
    client_speed.tune(client)
    client_speed.tune(client)
    assert type(client._user_agent_creator) is client_speed.CachedUserAgentString

    class Custom(client_speed.UserAgentString):
        pass

    other = _client([])
    other._user_agent_creator.__class__ = Custom
    client_speed.cache_user_agent(other)
    assert type(other._user_agent_creator) is Custom


def test_parameter_validation_is_left_to_dynamodb():
    with pytest.raises(ParamValidationError):
        _client([]).get_item(TableName="events", Key={"pk": {"S": 1}})
    sent: list[Any] = []
    tuned = client_speed.tune(_client(sent))
    tuned.get_item(TableName="events", Key={"pk": {"S": "t#evt_1"}})
    assert b'"pk": {"S": "t#evt_1"}' in sent[0].body
    assert client_speed.client_config_options() == {"parameter_validation": False}


def test_every_dynamodb_client_of_the_app_is_tuned(test_settings) -> None:
    """stores/aws.py applies both to each DynamoDB client it builds (no connection is made)."""
    import botocore.session
    from botocore.validate import ParamValidationDecorator

    from chalicelib.stores.aws import dynamodb_client
    from chalicelib.stores.client_speed import CachedUserAgentString

    session = botocore.session.Session()
    session.set_credentials("test", "test")  # no credential chain (it would try the network)
    client = dynamodb_client(test_settings, session=session, endpoint_url="http://127.0.0.1:9")
    assert isinstance(client._user_agent_creator, CachedUserAgentString)  # type: ignore[attr-defined]
    assert not isinstance(client._serializer, ParamValidationDecorator)  # type: ignore[attr-defined]
