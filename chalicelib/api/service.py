"""Unauthenticated service routes: health and the OpenAPI document."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.api.http import json_response
from chalicelib.runtime import Runtime

OPENAPI_PATH = Path(__file__).resolve().parent.parent / "openapi.json"


@cache
def openapi_document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(OPENAPI_PATH.read_text())
    return loaded


def blueprint(runtime: Runtime) -> Blueprint:
    bp = Blueprint(__name__)

    @bp.route("/v1/health", methods=["GET"])
    def health() -> Response:
        ok, body = runtime.health.check()
        headers = {} if ok else {"Retry-After": "5"}
        return json_response(body, 200 if ok else 503, headers)

    @bp.route("/v1/openapi.json", methods=["GET"])
    def openapi() -> Response:
        return json_response(openapi_document())

    return bp
