"""Analytics routes: counts kept by the events-stream handler, for the caller's tenant."""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.api import context
from chalicelib.api.http import json_response, query_params
from chalicelib.runtime import Runtime


def blueprint(runtime: Runtime) -> Blueprint:
    bp = Blueprint(__name__)

    @bp.route("/v1/analytics/summary", methods=["GET"])
    def analytics_summary() -> Response:
        params = query_params(bp.current_request)
        summary = runtime.analytics.summary(context.principal().tenant_id, params)
        return json_response(summary)

    return bp
