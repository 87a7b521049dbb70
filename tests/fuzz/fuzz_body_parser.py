"""atheris (libFuzzer) target for the request-body parser, run for a few seconds by
``tests/unit/test_fuzz_body_parser.py`` and by hand for longer:

    .venv/bin/python tests/fuzz/fuzz_body_parser.py -max_total_time=300 -dict=tests/fuzz/json.dict

Any input must be either refused with a 400/413 ``ApiError`` or parsed to a value that
serializes as strict JSON and passes event validation without any other exception.
"""

from __future__ import annotations

import contextlib
import json
import sys
from typing import Any

import atheris

with atheris.instrument_imports():
    from chalicelib import errors
    from chalicelib.api.http import json_response, parse_json
    from chalicelib.domain.events import (
        EventValidationError,
        PayloadTooLargeError,
        parse_event_create,
    )


def _strict(text: str) -> Any:
    def refuse(literal: str) -> None:
        raise ValueError(literal)

    return json.loads(text, parse_constant=refuse)


def test_one_input(data: bytes) -> None:
    try:
        document = parse_json(data)
    except errors.ApiError as exc:
        if exc.status not in (400, 413):
            raise
        _strict(str(json_response(exc.body("req_fuzz"), exc.status).body))
        return
    answered = str(json_response(document).body)
    answered.encode("utf-8")  # no unpaired surrogate can reach the wire
    assert _strict(answered) == document
    with contextlib.suppress(EventValidationError, PayloadTooLargeError):
        parse_event_create(document, max_payload_bytes=1024)


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
