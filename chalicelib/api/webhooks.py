"""Webhook routes (`/v1/webhooks`): admin-scoped keys manage their own tenant's endpoints.

Any other key gets 403 ``forbidden``; another tenant's webhook is 404 like one that does not
exist. Deliveries are made by the workers (``services/webhook_fanout.py`` and
``services/webhook_delivery.py``); these routes manage endpoints and read the deliveries log.

The request and response models (``api/models/webhooks.py``: pydantic models, built when
imported) load on the first request to one of these admin routes, not with the app: a cold start
should not pay for them (``perf/cold_start.py``).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from chalice.app import Blueprint, Response

from chalicelib import errors
from chalicelib.api import context
from chalicelib.api.api_keys import admin
from chalicelib.api.http import (
    empty_response,
    json_response,
    path_param,
    query_params,
    read_json_body,
)
from chalicelib.domain.webhooks import WEBHOOK_ID_PATTERN
from chalicelib.runtime import Runtime

BODY_LIMIT = 64 * 1024


def webhook_id_of(raw: str) -> str:
    webhook_id = path_param(raw)
    context.current().log_fields["webhook_id"] = webhook_id
    if not WEBHOOK_ID_PATTERN.match(webhook_id):
        raise errors.NotFound("No webhook with that id.")
    return webhook_id


def blueprint(runtime: Runtime, now: Callable[[], float] = time.time) -> Blueprint:
    bp = Blueprint(__name__)
    hooks = runtime.webhooks

    @bp.route("/v1/webhooks", methods=["POST"])
    def create_webhook() -> Response:
        from chalicelib.api.models.webhooks import issued_body, parse_webhook_create

        caller = admin()
        spec = parse_webhook_create(read_json_body(bp.current_request, BODY_LIMIT))
        issued = hooks.create(caller.tenant_id, spec)
        context.current().log_fields["webhook_id"] = issued.webhook.webhook_id
        return json_response(issued_body(issued), 201)

    @bp.route("/v1/webhooks", methods=["GET"])
    def list_webhooks() -> Response:
        from chalicelib.api.models.webhooks import parse_webhook_list, webhook_body

        caller = admin()
        query = parse_webhook_list(query_params(bp.current_request))
        page = hooks.list(caller.tenant_id, query.cursor, query.limit)
        return json_response(
            {"webhooks": [webhook_body(w) for w in page.webhooks], "next_cursor": page.next_after}
        )

    @bp.route("/v1/webhooks/{webhook_id}", methods=["GET"])
    def get_webhook(webhook_id: str) -> Response:
        from chalicelib.api.models.webhooks import webhook_body

        caller = admin()
        return json_response(webhook_body(hooks.get(caller.tenant_id, webhook_id_of(webhook_id))))

    @bp.route("/v1/webhooks/{webhook_id}", methods=["PATCH"])
    def update_webhook(webhook_id: str) -> Response:
        from chalicelib.api.models.webhooks import parse_webhook_update, webhook_body

        caller = admin()
        target = webhook_id_of(webhook_id)
        changes = parse_webhook_update(read_json_body(bp.current_request, BODY_LIMIT))
        return json_response(webhook_body(hooks.update(caller.tenant_id, target, changes)))

    @bp.route("/v1/webhooks/{webhook_id}", methods=["DELETE"])
    def delete_webhook(webhook_id: str) -> Response:
        caller = admin()
        hooks.delete(caller.tenant_id, webhook_id_of(webhook_id))
        return empty_response(204)

    @bp.route("/v1/webhooks/{webhook_id}/rotate-secret", methods=["POST"])
    def rotate_webhook_secret(webhook_id: str) -> Response:
        from chalicelib.api.models.webhooks import parse_webhook_rotate, rotated_body

        caller = admin()
        target = webhook_id_of(webhook_id)
        body = read_json_body(bp.current_request, BODY_LIMIT, required=False)
        issued = hooks.rotate_secret(caller.tenant_id, target, parse_webhook_rotate(body))
        return json_response(rotated_body(issued))

    @bp.route("/v1/webhooks/{webhook_id}/test", methods=["POST"])
    def test_webhook(webhook_id: str) -> Response:
        from chalicelib.api.models.webhooks import delivery_body

        caller = admin()
        target = webhook_id_of(webhook_id)
        read_json_body(bp.current_request, BODY_LIMIT, required=False)
        delivery = hooks.send_test(caller.tenant_id, target, context.current().request_id)
        return json_response(delivery_body(delivery), 202)

    @bp.route("/v1/webhooks/{webhook_id}/replay", methods=["POST"])
    def replay_webhook(webhook_id: str) -> Response:
        from chalicelib.api.models.webhooks import parse_webhook_replay, replay_body

        caller = admin()
        target = webhook_id_of(webhook_id)
        since, until = parse_webhook_replay(read_json_body(bp.current_request, BODY_LIMIT), now())
        result = hooks.replay(caller.tenant_id, target, since, until, context.current().request_id)
        return json_response(replay_body(result, since, until), 202)

    @bp.route("/v1/webhooks/{webhook_id}/deliveries", methods=["GET"])
    def list_deliveries(webhook_id: str) -> Response:
        from chalicelib.api.models.webhooks import delivery_body, parse_delivery_list

        caller = admin()
        target = webhook_id_of(webhook_id)
        query = parse_delivery_list(query_params(bp.current_request))
        page = hooks.deliveries(caller.tenant_id, target, query.status, query.cursor, query.limit)
        return json_response(
            {
                "deliveries": [delivery_body(d) for d in page.deliveries],
                "next_cursor": page.next_after,
            }
        )

    return bp
