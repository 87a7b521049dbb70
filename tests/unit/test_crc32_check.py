"""The before-parse CRC32 check on its own: which answers count as cut short."""

from __future__ import annotations

import zlib
from typing import Any

from chalicelib.stores.aws import (
    CRC32_MISMATCH,
    IMPOSSIBLE_CRC32,
    _check_crc32,
    _check_stream_crc32,
)


def answer(status: int, body: bytes, crc: str | None = None) -> dict[str, Any]:
    headers = {} if crc is None else {"x-amz-crc32": crc}
    return {"status_code": status, "body": body, "headers": headers}


def good_crc(body: bytes) -> str:
    return str(zlib.crc32(body) & 0xFFFFFFFF)


def test_a_matching_checksum_passes() -> None:
    response, marks = answer(200, b"{}", good_crc(b"{}")), {}
    _check_crc32(response_dict=response, customized_response_dict=marks)
    assert (response["status_code"], marks) == (200, {})


def test_a_dynamodb_success_without_the_header_was_cut_short() -> None:
    response, marks = answer(200, b"{}"), {}
    _check_crc32(response_dict=response, customized_response_dict=marks)
    assert response["status_code"] == 500
    # botocore's own DynamoDB checksum retry reads the header: it must now fail too
    assert response["headers"]["x-amz-crc32"] == IMPOSSIBLE_CRC32
    assert marks == {CRC32_MISMATCH: IMPOSSIBLE_CRC32}


def test_an_error_answer_without_the_header_is_left_to_botocore() -> None:
    response = answer(400, b'{"__type": "x#ValidationException"}')
    _check_crc32(response_dict=response, customized_response_dict={})
    assert response["status_code"] == 400


def test_a_streams_answer_may_lack_the_header_but_not_its_body() -> None:
    """LocalStack's DynamoDB Streams sends no x-amz-crc32 (the chaos suite's localstack
    backend found it); an empty 2xx body is still a cut-short answer."""
    records = answer(200, b'{"Records": []}')
    _check_stream_crc32(response_dict=records, customized_response_dict={})
    assert records["status_code"] == 200
    empty = answer(200, b"")
    _check_stream_crc32(response_dict=empty, customized_response_dict={})
    assert empty["status_code"] == 500
    wrong = answer(200, b"{}", "1")
    _check_stream_crc32(response_dict=wrong, customized_response_dict={})
    assert wrong["status_code"] == 500
