"""Bulk routes: ``POST /v1/events/bulk``, ``POST /v1/events/bulk/ack``, ``DELETE /v1/events/bulk``.

The literal ``/v1/events/bulk`` routes win over ``/v1/events/{event_id}`` both in API Gateway and
in ``chalice local`` (its route matcher tries routes in sorted order, and ``b`` < ``{``).

The bulk models (``api/models/bulk.py``: pydantic models, built when imported) and the bulk
service load on the first bulk request, not with the app (``perf/cold_start.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Blueprint, Response

from chalicelib import errors
from chalicelib.api import context
from chalicelib.api.http import json_response, read_json_body
from chalicelib.observability.metrics import record_metric
from chalicelib.runtime import Runtime

if TYPE_CHECKING:
    from chalicelib.services.bulk import BulkResult


def _respond(result: BulkResult, operation: str) -> Response:
    ctx = context.current()
    ctx.log_fields["bulk_successful"] = len(result.successful)
    ctx.log_fields["bulk_failed"] = len(result.failed)
    record_metric("BulkItemsSucceeded", "Count", len(result.successful), operation=operation)
    record_metric("BulkItemsFailed", "Count", len(result.failed), operation=operation)
    return json_response(result.body(ctx.request_id))


def blueprint(runtime: Runtime) -> Blueprint:
    bp = Blueprint(__name__)
    max_body = runtime.settings.max_body_bytes
    max_payload = runtime.settings.max_payload_bytes

    @bp.route("/v1/events/bulk", methods=["POST"])
    def bulk_create() -> Response:
        from chalicelib.api.models.bulk import parse_bulk_create

        request = bp.current_request
        if request.headers.get("idempotency-key") is not None:
            raise errors.ValidationError(
                "Bulk create takes an idempotency_key per item, not an Idempotency-Key header.",
                details=[{"field": "Idempotency-Key", "message": "use items[].idempotency_key"}],
            )
        items = parse_bulk_create(read_json_body(request, max_body), max_payload)
        ctx = context.current()
        result = runtime.bulk.create(context.principal().tenant_id, items, ctx.request_id)
        return _respond(result, "create")

    @bp.route("/v1/events/bulk/ack", methods=["POST"])
    def bulk_acknowledge() -> Response:
        from chalicelib.api.models.bulk import parse_bulk_ids

        ids = parse_bulk_ids(read_json_body(bp.current_request, max_body))
        result = runtime.bulk.acknowledge(context.principal().tenant_id, ids)
        return _respond(result, "ack")

    @bp.route("/v1/events/bulk", methods=["DELETE"])
    def bulk_delete() -> Response:
        from chalicelib.api.models.bulk import parse_bulk_ids

        ids = parse_bulk_ids(read_json_body(bp.current_request, max_body))
        result = runtime.bulk.delete(context.principal().tenant_id, ids)
        return _respond(result, "delete")

    return bp
