"""Unauthenticated service routes: health and the OpenAPI document."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.api.http import json_response
from chalicelib.runtime import Runtime

OPENAPI_DIR = Path(__file__).resolve().parent.parent / "openapi"


@cache
def openapi_document() -> dict[str, Any]:
    """The hand-kept OpenAPI 3 spec: ``core.json`` plus one fragment per feature area
    (``paths`` and ``components`` are merged; a duplicate path or component is an error)."""
    document: dict[str, Any] = json.loads((OPENAPI_DIR / "core.json").read_text())
    for fragment_path in sorted(OPENAPI_DIR.glob("*.json")):
        if fragment_path.name == "core.json":
            continue
        fragment = json.loads(fragment_path.read_text())
        for path, item in fragment.get("paths", {}).items():
            if path in document["paths"]:
                raise ValueError(f"{fragment_path.name}: path {path} is already defined")
            document["paths"][path] = item
        for section, entries in fragment.get("components", {}).items():
            target = document.setdefault("components", {}).setdefault(section, {})
            for name, value in entries.items():
                if name in target:
                    raise ValueError(f"{fragment_path.name}: component {name} is already defined")
                target[name] = value
        document.setdefault("tags", []).extend(fragment.get("tags", []))
    return document


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
