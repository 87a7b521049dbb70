"""The OpenAPI document matches the code: every route with the same methods, every spec path a
route, and the merged document (hand-written paths, schemas from the models) is valid OpenAPI 3."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalice.app import Chalice
from chalice.test import Client
from openapi_spec_validator import validate

from chalicelib.api.application import create_app
from chalicelib.api.openapi import OPENAPI_DIR, assemble, openapi_document
from chalicelib.runtime import Runtime
from chalicelib.settings import load_settings
from tests.conftest import TEST_ENV

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


class UncalledClient:
    """Building the app must not touch DynamoDB; any call would fail loudly."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"DynamoDB client used while building the app: {name}")


@pytest.fixture(scope="module")
def app() -> Chalice:
    runtime = Runtime.build(load_settings(TEST_ENV), dynamodb=UncalledClient())  # type: ignore[arg-type]
    return create_app(runtime)


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return openapi_document()


def spec_methods(document: dict[str, Any]) -> dict[str, set[str]]:
    return {
        path: {m.upper() for m in item if m in HTTP_METHODS}
        for path, item in document["paths"].items()
    }


def test_every_route_is_in_the_spec_with_the_same_methods(
    app: Chalice, document: dict[str, Any]
) -> None:
    routes = {path: set(entries) for path, entries in app.routes.items()}
    assert routes == spec_methods(document)


def test_the_merged_document_is_valid_openapi_3(document: dict[str, Any]) -> None:
    validate(document)
    assert document["openapi"].startswith("3.")


def test_core_alone_with_the_model_schemas_is_valid() -> None:
    validate(assemble(OPENAPI_DIR / "core.json", []))


def test_operation_ids_are_unique(document: dict[str, Any]) -> None:
    ids = [
        op["operationId"]
        for item in document["paths"].values()
        for method, op in item.items()
        if method in HTTP_METHODS
    ]
    assert len(ids) == len(set(ids))


def test_security_schemes_and_public_routes(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["ApiKeyAuth"] == {**schemes["ApiKeyAuth"], "in": "header", "name": "X-API-Key"}
    assert schemes["BearerAuth"]["scheme"] == "bearer"
    for path in ("/v1/health", "/v1/openapi.json"):
        assert document["paths"][path]["get"]["security"] == []


def test_core_inbox_parameters(document: dict[str, Any]) -> None:
    names = [p["name"] for p in document["paths"]["/v1/inbox"]["get"]["parameters"]]
    assert {"limit", "cursor", "source", "event_type"} <= set(names)


def test_authenticated_operations_document_401(document: dict[str, Any]) -> None:
    for path, item in document["paths"].items():
        for method, op in item.items():
            if method in HTTP_METHODS and op.get("security") != []:
                assert "401" in op["responses"], f"{method.upper()} {path}"


def test_the_served_document_is_the_merged_one(app: Chalice, document: dict[str, Any]) -> None:
    with Client(app, stage_name="local") as client:
        response = client.http.get("/v1/openapi.json")
    assert response.status_code == 200
    assert json.loads(response.body) == document
