"""Event routes: create, read, acknowledge, delete, and the inbox."""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib import errors
from chalicelib.api import context
from chalicelib.api.http import (
    empty_response,
    json_response,
    path_param,
    query_params,
    read_json_body,
)
from chalicelib.api.models.inbox import parse_inbox_query
from chalicelib.domain.events import EventValidationError, PayloadTooLargeError, parse_event_create
from chalicelib.observability.metrics import record_metric
from chalicelib.runtime import Runtime

# A single event's body: the 256 KiB payload limit plus generous room for the other fields.
SINGLE_BODY_LIMIT = 512 * 1024


def validation_error(exc: EventValidationError) -> errors.ValidationError:
    return errors.ValidationError("The event is not valid.", details=list(exc.details))


def too_large(exc: PayloadTooLargeError) -> errors.PayloadTooLarge:
    return errors.PayloadTooLarge(
        f"The payload is {exc.size} bytes serialized; the limit is {exc.limit} bytes.",
        details=[{"field": "payload", "message": f"at most {exc.limit} bytes serialized"}],
    )


def blueprint(runtime: Runtime) -> Blueprint:
    bp = Blueprint(__name__)
    settings = runtime.settings

    @bp.route("/v1/events", methods=["POST"])
    def create_event() -> Response:
        request = bp.current_request
        body = read_json_body(request, SINGLE_BODY_LIMIT)
        try:
            draft = parse_event_create(
                body,
                header_idempotency_key=request.headers.get("idempotency-key"),
                max_payload_bytes=settings.max_payload_bytes,
            )
        except EventValidationError as exc:
            raise validation_error(exc) from exc
        except PayloadTooLargeError as exc:
            raise too_large(exc) from exc
        tenant = context.principal().tenant_id
        result = runtime.events.create(tenant, draft, context.current().request_id)
        context.current().log_fields["event_id"] = result.event["event_id"]
        if result.replayed:
            return json_response(result.event, 200, {"Idempotent-Replayed": "true"})
        record_metric("EventsIngested", "Count", 1)
        return json_response(result.event, 201)

    @bp.route("/v1/events/{event_id}", methods=["GET"])
    def get_event(event_id: str) -> Response:
        event_id = path_param(event_id)
        context.current().log_fields["event_id"] = event_id
        event = runtime.events.get(context.principal().tenant_id, event_id)
        return json_response(event.to_public())

    @bp.route("/v1/events/{event_id}/ack", methods=["POST"])
    def acknowledge_event(event_id: str) -> Response:
        event_id = path_param(event_id)
        context.current().log_fields["event_id"] = event_id
        event = runtime.events.acknowledge(context.principal().tenant_id, event_id)
        return json_response(event.to_public())

    @bp.route("/v1/events/{event_id}", methods=["DELETE"])
    def delete_event(event_id: str) -> Response:
        event_id = path_param(event_id)
        context.current().log_fields["event_id"] = event_id
        runtime.events.delete(context.principal().tenant_id, event_id)
        return empty_response(204)

    @bp.route("/v1/inbox", methods=["GET"])
    def inbox() -> Response:
        request = parse_inbox_query(query_params(bp.current_request))
        # Filter adoption, queryable in the access log: names only, never values.
        context.current().log_fields["inbox_filters"] = ",".join(request.filters.names()) or "none"
        page = runtime.inbox.list_pending(context.principal().tenant_id, request)
        return json_response(page)

    return bp
