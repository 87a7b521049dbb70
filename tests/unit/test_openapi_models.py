"""The served OpenAPI document and the pydantic models agree: every component schema, named
type and query parameter is what the models generate, and no schema is hand-written."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalice.test import Client
from pydantic import BaseModel, TypeAdapter

from chalicelib.api.application import create_app
from chalicelib.api.openapi import (
    COMPONENT_MODELS,
    NAMED_TYPES,
    OPENAPI_DIR,
    QUERY_MODELS,
    REF_TEMPLATE,
    OpenApi30Schema,
)
from chalicelib.runtime import Runtime
from chalicelib.settings import load_settings
from tests.conftest import TEST_ENV
from tests.unit.test_openapi import UncalledClient


@pytest.fixture(scope="module")
def served() -> dict[str, Any]:
    runtime = Runtime.build(load_settings(TEST_ENV), dynamodb=UncalledClient())  # type: ignore[arg-type]
    with Client(create_app(runtime), stage_name="local") as client:
        response = client.http.get("/v1/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = json.loads(response.body)
    return document


def model_schemas(model: type[BaseModel]) -> dict[str, Any]:
    """The model's schema and those of the models it uses, generated on their own."""
    schema = model.model_json_schema(ref_template=REF_TEMPLATE, schema_generator=OpenApi30Schema)
    nested = schema.pop("$defs", {})
    return {model.__name__: schema, **nested}


@pytest.mark.parametrize("model", COMPONENT_MODELS, ids=lambda m: m.__name__)
def test_each_component_is_what_its_model_generates(
    served: dict[str, Any], model: type[BaseModel]
) -> None:
    components = served["components"]["schemas"]
    for name, schema in model_schemas(model).items():
        assert components[name] == schema, name


@pytest.mark.parametrize("name", sorted(NAMED_TYPES))
def test_named_types_are_generated(served: dict[str, Any], name: str) -> None:
    generated = TypeAdapter(NAMED_TYPES[name]).json_schema(
        ref_template=REF_TEMPLATE, schema_generator=OpenApi30Schema
    )
    assert served["components"]["schemas"][name] == generated


def test_every_component_comes_from_a_model(served: dict[str, Any]) -> None:
    expected = set(NAMED_TYPES).union(*(model_schemas(m) for m in COMPONENT_MODELS))
    assert set(served["components"]["schemas"]) == expected


def test_every_schema_reference_resolves(served: dict[str, Any]) -> None:
    text = json.dumps(served)
    prefix = '"$ref": "#/components/schemas/'
    refs = {part.split('"', 1)[0] for part in text.split(prefix)[1:]}
    assert refs
    assert refs <= set(served["components"]["schemas"])


@pytest.mark.parametrize(("path", "method"), sorted(QUERY_MODELS))
def test_query_parameters_are_the_query_model_fields(
    served: dict[str, Any], path: str, method: str
) -> None:
    model = QUERY_MODELS[(path, method)]
    properties = model.model_json_schema(
        ref_template=REF_TEMPLATE, schema_generator=OpenApi30Schema
    )["properties"]
    parameters = {
        p["name"]: p["schema"]
        for p in served["paths"][path][method]["parameters"]
        if p["in"] == "query"
    }
    fields = {name for name in parameters if "{" not in name}
    assert fields == set(properties)
    for name in fields:
        assert parameters[name]["type"] == properties[name]["type"], name
        for key, value in parameters[name].items():
            assert properties[name][key] == value, (name, key)


def test_no_schema_is_written_by_hand() -> None:
    for fragment_path in sorted(OPENAPI_DIR.glob("*.json")):
        fragment = json.loads(fragment_path.read_text())
        assert "schemas" not in fragment.get("components", {}), fragment_path.name
        for path, method in QUERY_MODELS:
            for parameter in (
                fragment.get("paths", {}).get(path, {}).get(method, {}).get("parameters", [])
            ):
                if parameter["in"] == "query":
                    assert "schema" not in parameter, (fragment_path.name, parameter["name"])


def test_path_and_header_parameters_take_their_schema_from_named_types(
    served: dict[str, Any],
) -> None:
    from chalicelib.api.openapi import PARAMETER_TYPES

    seen = set()
    for item in served["paths"].values():
        lists = [item.get("parameters", [])]
        lists += [op.get("parameters", []) for op in item.values() if isinstance(op, dict)]
        for parameter in (p for parameters in lists for p in parameters):
            if parameter["in"] in ("path", "header"):
                key = (parameter["in"], parameter["name"])
                generated = TypeAdapter(PARAMETER_TYPES[key]).json_schema(
                    ref_template=REF_TEMPLATE, schema_generator=OpenApi30Schema
                )
                assert parameter["schema"] == generated
                seen.add(key)
    assert seen == set(PARAMETER_TYPES)
    for fragment_path in sorted(OPENAPI_DIR.glob("*.json")):
        text = json.loads(fragment_path.read_text())
        for item in text.get("paths", {}).values():
            for parameter in item.get("parameters", []) + [
                p for op in item.values() if isinstance(op, dict) for p in op.get("parameters", [])
            ]:
                if parameter["in"] in ("path", "header"):
                    assert "schema" not in parameter, (fragment_path.name, parameter["name"])


def test_a_hand_written_path_parameter_schema_is_refused(tmp_path: Any) -> None:
    from chalicelib.api.openapi import assemble

    core = json.loads((OPENAPI_DIR / "core.json").read_text())
    core["paths"]["/v1/events/{event_id}"]["parameters"][0]["schema"] = {"type": "string"}
    (tmp_path / "core.json").write_text(json.dumps(core))
    with pytest.raises(ValueError, match="hand-written"):
        assemble(tmp_path / "core.json", [])
