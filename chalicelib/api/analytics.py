"""Analytics routes: counts kept by the events-stream handler, for the caller's tenant.

The query models (``api/models/analytics.py``, pydantic models built when imported) load on the
first analytics request, not with the app: these routes are off the common path and a cold start
should not pay for them (``perf/cold_start.py``).
"""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.api import context
from chalicelib.api.http import json_response, query_params
from chalicelib.runtime import Runtime


def blueprint(runtime: Runtime) -> Blueprint:
    bp = Blueprint(__name__)

    @bp.route("/v1/analytics/summary", methods=["GET"])
    def analytics_summary() -> Response:
        from chalicelib.api.models.analytics import parse_summary_query

        request = parse_summary_query(query_params(bp.current_request))
        summary = runtime.analytics.summary(context.principal().tenant_id, request)
        return json_response(summary)

    @bp.route("/v1/analytics/timeseries", methods=["GET"])
    def analytics_timeseries() -> Response:
        from chalicelib.api.models.analytics import parse_timeseries_query

        request = parse_timeseries_query(query_params(bp.current_request))
        series = runtime.analytics.timeseries(context.principal().tenant_id, request)
        return json_response(series)

    @bp.route("/v1/analytics/export", methods=["GET"])
    def analytics_export() -> Response:
        from chalicelib.api.models.analytics import parse_export_query

        request = parse_export_query(query_params(bp.current_request))
        export = runtime.analytics.export(context.principal().tenant_id, request)
        return Response(
            body=export.body,
            status_code=200,
            headers={
                "Content-Type": export.content_type,
                "Content-Disposition": f'attachment; filename="{export.filename}"',
                "Cache-Control": "no-store",
            },
        )

    return bp
