"""Key routes (`/v1/api-keys`): admin-scoped keys manage their own tenant's keys.

Any other key gets 403 ``forbidden``; another tenant's key id is 404 like one that does not
exist. Changes reach every process within the key cache's TTL (10 s).

The request and response models (``api/models/api_keys.py``: pydantic models, built when
imported) load on the first request to one of these admin routes, not with the app: a cold start
should not pay for them (``perf/cold_start.py``).
"""

from __future__ import annotations

import time
from collections.abc import Callable

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
from chalicelib.domain.keys import Principal
from chalicelib.runtime import Runtime

BODY_LIMIT = 64 * 1024


def admin() -> Principal:
    principal = context.principal()
    if not principal.admin:
        raise errors.Forbidden("Managing API keys takes an admin-scoped key.")
    return principal


def key_id_of(raw: str) -> str:
    from chalicelib.api.models.api_keys import KEY_ID_PATTERN

    key_id = path_param(raw)
    context.current().log_fields["target_key_id"] = key_id
    if not KEY_ID_PATTERN.match(key_id):
        raise errors.NotFound("No API key with that id.")
    return key_id


def blueprint(runtime: Runtime, now: Callable[[], float] = time.time) -> Blueprint:
    bp = Blueprint(__name__)
    keys = runtime.keys

    @bp.route("/v1/api-keys", methods=["POST"])
    def create_key() -> Response:
        from chalicelib.api.models.api_keys import issued_body, parse_key_create

        caller = admin()
        body = read_json_body(bp.current_request, BODY_LIMIT)
        spec = parse_key_create(body, caller.tenant_id, now())
        issued = keys.issue(spec, caller.key_id)
        context.current().log_fields["target_key_id"] = issued.key.key_id
        return json_response(issued_body(issued, now()), 201)

    @bp.route("/v1/api-keys", methods=["GET"])
    def list_keys() -> Response:
        from chalicelib.api.models.api_keys import key_body, parse_key_list

        caller = admin()
        query = parse_key_list(query_params(bp.current_request))
        page = keys.list(caller.tenant_id, query.cursor, query.limit)
        at = now()
        return json_response(
            {"api_keys": [key_body(k, at) for k in page.keys], "next_cursor": page.next_after}
        )

    @bp.route("/v1/api-keys/{key_id}", methods=["GET"])
    def get_key(key_id: str) -> Response:
        from chalicelib.api.models.api_keys import key_body

        caller = admin()
        return json_response(key_body(keys.get(caller.tenant_id, key_id_of(key_id)), now()))

    @bp.route("/v1/api-keys/{key_id}", methods=["PATCH"])
    def update_key(key_id: str) -> Response:
        from chalicelib.api.models.api_keys import key_body, parse_key_update

        caller = admin()
        target = key_id_of(key_id)
        changes = parse_key_update(read_json_body(bp.current_request, BODY_LIMIT))
        updated = keys.update(caller.tenant_id, target, changes, caller.key_id)
        return json_response(key_body(updated, now()))

    @bp.route("/v1/api-keys/{key_id}", methods=["DELETE"])
    def revoke_key(key_id: str) -> Response:
        caller = admin()
        keys.revoke(caller.tenant_id, key_id_of(key_id), caller.key_id)
        return empty_response(204)

    @bp.route("/v1/api-keys/{key_id}/rotate", methods=["POST"])
    def rotate_key(key_id: str) -> Response:
        from chalicelib.api.models.api_keys import issued_body, parse_key_rotate

        caller = admin()
        target = key_id_of(key_id)
        grace = parse_key_rotate(read_json_body(bp.current_request, BODY_LIMIT, required=False))
        issued = keys.rotate(caller.tenant_id, target, grace, caller.key_id)
        return json_response(issued_body(issued, now()))

    return bp
