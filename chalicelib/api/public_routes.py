"""Unauthenticated service routes: health and the OpenAPI document.

The document's module (``api/openapi.py``, which loads every route's models) is imported on the
first ``GET /v1/openapi.json``, not with the app (``perf/cold_start.py``)."""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.api.deprecations import DEPRECATED_ROUTES, Deprecations, mark_deprecated_operations
from chalicelib.api.http import json_response
from chalicelib.runtime import Runtime


def blueprint(runtime: Runtime, deprecations: Deprecations = DEPRECATED_ROUTES) -> Blueprint:
    bp = Blueprint(__name__)

    @bp.route("/v1/health", methods=["GET"])
    def health() -> Response:
        ok, body = runtime.health.check()
        headers = {} if ok else {"Retry-After": "5"}
        return json_response(body, 200 if ok else 503, headers)

    @bp.route("/v1/openapi.json", methods=["GET"])
    def openapi() -> Response:
        # Built on first use (not at import: cold starts), cached; marking copies a few dicts.
        from chalicelib.api.openapi import openapi_document

        return json_response(mark_deprecated_operations(openapi_document(), deprecations))

    return bp
