"""Analytics routes: counts kept by the events-stream handler, for the caller's tenant."""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.api import context
from chalicelib.api.http import json_response, query_params
from chalicelib.api.models.analytics import parse_summary_query
from chalicelib.runtime import Runtime


def blueprint(runtime: Runtime) -> Blueprint:
    bp = Blueprint(__name__)

    @bp.route("/v1/analytics/summary", methods=["GET"])
    def analytics_summary() -> Response:
        request = parse_summary_query(query_params(bp.current_request))
        summary = runtime.analytics.summary(context.principal().tenant_id, request)
        return json_response(summary)

    return bp
