"""Which environment variable names the DynamoDB Streams endpoint for the local stream worker."""

import pytest

from devstack.stream_worker import streams_endpoint

STREAMS = "AWS_ENDPOINT_URL_DYNAMODB_STREAMS"
UNSEPARATED = "AWS_ENDPOINT_URL_DYNAMODBSTREAMS"
DYNAMODB = "AWS_ENDPOINT_URL_DYNAMODB"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({STREAMS: "http://a", UNSEPARATED: "http://b", DYNAMODB: "http://c"}, "http://a"),
        ({UNSEPARATED: "http://b", DYNAMODB: "http://c"}, "http://b"),
        ({UNSEPARATED: "http://b"}, "http://b"),
        ({STREAMS: "", UNSEPARATED: "http://b"}, "http://b"),
        ({DYNAMODB: "http://c"}, "http://c"),
        ({}, None),
    ],
)
def test_streams_endpoint_order(env: dict[str, str], expected: str | None) -> None:
    assert streams_endpoint(env) == expected
