"""The OpenAPI 3.0 document served at ``GET /v1/openapi.json``.

Paths, parameters' words, responses, headers and security are hand-written in
``chalicelib/openapi/*.json`` (``core.json`` plus one fragment per feature area; a path or
component defined twice is an error). Every schema comes from the pydantic models: the
component schemas (bodies, responses, the error envelope) and the schema of each query
parameter (from the route's query model). No schema is written twice.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import (
    GenerateJsonSchema,
    JsonSchemaMode,
    JsonSchemaValue,
    models_json_schema,
)
from pydantic_core import core_schema

from chalicelib.api.models.analytics import (
    AnalyticsExport,
    AnalyticsQuery,
    AnalyticsSummary,
    AnalyticsTimeseries,
    ExportQuery,
    TimeseriesQuery,
)
from chalicelib.api.models.api_keys import (
    ApiKeyCreate,
    ApiKeyIssued,
    ApiKeyList,
    ApiKeyListQuery,
    ApiKeyOut,
    ApiKeyRotate,
    ApiKeyUpdate,
    KeyId,
)
from chalicelib.api.models.bulk import (
    BulkAckResult,
    BulkCreateRequest,
    BulkCreateResult,
    BulkDeleteResult,
    BulkEventIds,
)
from chalicelib.api.models.dashboard import AssetName
from chalicelib.api.models.inbox import METADATA_PARAM_PREFIX, InboxQuery
from chalicelib.api.models.responses import ErrorEnvelope, Event, Health, InboxPage
from chalicelib.api.models.webhooks import (
    DeliveryList,
    DeliveryListQuery,
    DeliveryOut,
    ReplayAccepted,
    WebhookCreate,
    WebhookId,
    WebhookIssued,
    WebhookList,
    WebhookListQuery,
    WebhookOut,
    WebhookReplay,
    WebhookRotate,
    WebhookSecretRotated,
    WebhookUpdate,
)
from chalicelib.domain.events import EventCreate, EventId, IdempotencyKey, Metadata, Name

OPENAPI_DIR = Path(__file__).resolve().parent.parent / "openapi"
REF_TEMPLATE = "#/components/schemas/{model}"

# The models whose schemas are components; the models they use become components too.
COMPONENT_MODELS: tuple[type[BaseModel], ...] = (
    EventCreate,
    Event,
    InboxPage,
    Health,
    ErrorEnvelope,
    BulkCreateRequest,
    BulkEventIds,
    BulkCreateResult,
    BulkAckResult,
    BulkDeleteResult,
    AnalyticsSummary,
    AnalyticsTimeseries,
    AnalyticsExport,
    ApiKeyCreate,
    ApiKeyUpdate,
    ApiKeyRotate,
    ApiKeyOut,
    ApiKeyIssued,
    ApiKeyList,
    WebhookCreate,
    WebhookUpdate,
    WebhookRotate,
    WebhookReplay,
    WebhookOut,
    WebhookIssued,
    WebhookSecretRotated,
    WebhookList,
    DeliveryOut,
    DeliveryList,
    ReplayAccepted,
)
# Constrained types that have a name of their own in the document (query parameters use them).
NAMED_TYPES: dict[str, Any] = {"Name": Name, "Metadata": Metadata}
# Each operation's query parameters are the fields of its query model.
QUERY_MODELS: dict[tuple[str, str], type[BaseModel]] = {
    ("/v1/inbox", "get"): InboxQuery,
    ("/v1/analytics/summary", "get"): AnalyticsQuery,
    ("/v1/analytics/timeseries", "get"): TimeseriesQuery,
    ("/v1/analytics/export", "get"): ExportQuery,
    ("/v1/api-keys", "get"): ApiKeyListQuery,
    ("/v1/webhooks", "get"): WebhookListQuery,
    ("/v1/webhooks/{webhook_id}/deliveries", "get"): DeliveryListQuery,
}


# Path and header parameters whose schema comes from a named type (query parameters come from
# the query models); a parameter listed here must not carry a hand-written schema.
PARAMETER_TYPES: dict[tuple[str, str], Any] = {
    ("path", "event_id"): EventId,
    ("path", "key_id"): KeyId,
    ("path", "webhook_id"): WebhookId,
    ("path", "name"): AssetName,
    ("header", "Idempotency-Key"): IdempotencyKey,
}


class OpenApi30Schema(GenerateJsonSchema):
    """JSON Schema as OpenAPI 3.0 takes it: ``nullable`` instead of a ``null`` type, ``enum``
    instead of ``const``, no generated titles."""

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        inner = self.generate_inner(schema["schema"])
        if "$ref" in inner:
            return {"allOf": [inner], "nullable": True}
        return {**inner, "nullable": True}

    def literal_schema(self, schema: core_schema.LiteralSchema) -> JsonSchemaValue:
        result = super().literal_schema(schema)
        if "const" in result:
            result["enum"] = [result.pop("const")]
        return result

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def generate(
        self, schema: core_schema.CoreSchema, mode: JsonSchemaMode = "validation"
    ) -> JsonSchemaValue:
        untitled: JsonSchemaValue = _untitled(super().generate(schema, mode))
        return untitled

    def generate_definitions(self, inputs: Any) -> Any:
        keys, definitions = super().generate_definitions(inputs)
        return keys, {name: _untitled(value) for name, value in definitions.items()}


def _untitled(schema: Any) -> Any:
    """Drop the model titles pydantic adds (``title`` as a property *name* is kept)."""
    if isinstance(schema, dict):
        return {
            key: _untitled(value)
            for key, value in schema.items()
            if not (key == "title" and isinstance(value, str))
        }
    if isinstance(schema, list):
        return [_untitled(item) for item in schema]
    return schema


def _refs(schema: Any) -> set[str]:
    if isinstance(schema, dict):
        found = {schema["$ref"].rsplit("/", 1)[1]} if isinstance(schema.get("$ref"), str) else set()
        return found.union(*(_refs(value) for value in schema.values()))
    if isinstance(schema, list):
        return set().union(*(_refs(item) for item in schema))
    return set()


def component_schemas() -> dict[str, Any]:
    """``components.schemas``, generated from the models: the component models, what they
    refer to (transitively) and the named types; nothing else pydantic met on the way (the
    parse outcomes of a bulk body are Python objects, not part of the wire format)."""
    _, top = models_json_schema(
        [(model, "validation") for model in COMPONENT_MODELS],
        ref_template=REF_TEMPLATE,
        schema_generator=OpenApi30Schema,
    )
    definitions: dict[str, Any] = top.get("$defs", {})
    wanted = [model.__name__ for model in COMPONENT_MODELS]
    schemas: dict[str, Any] = {}
    while wanted:
        name = wanted.pop()
        if name not in schemas:
            schemas[name] = definitions[name]
            wanted.extend(_refs(schemas[name]))
    for name, annotation in NAMED_TYPES.items():
        schemas[name] = TypeAdapter(annotation).json_schema(
            ref_template=REF_TEMPLATE, schema_generator=OpenApi30Schema
        )
    return dict(sorted(schemas.items()))


def query_parameter_schemas(model: type[BaseModel]) -> dict[str, Any]:
    """The schema of each query parameter the model takes, by parameter name; a model's
    extras (``metadata.<key>``) are documented as ``metadata.{key}``."""
    schema = model.model_json_schema(
        ref_template=REF_TEMPLATE, schema_generator=OpenApi30Schema, mode="validation"
    )
    out: dict[str, Any] = {}
    for name, prop in schema.get("properties", {}).items():
        # An absent parameter is not a null one.
        out[name] = {k: v for k, v in prop.items() if k != "nullable" and v is not None}
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        out[METADATA_PARAM_PREFIX + "{key}"] = extra
    return out


def _fill_query_parameters(document: dict[str, Any]) -> None:
    for (path, method), model in QUERY_MODELS.items():
        if path not in document["paths"]:
            continue  # a fragment assembled on its own (tests)
        schemas = query_parameter_schemas(model)
        parameters = document["paths"][path][method]["parameters"]
        documented = {p["name"] for p in parameters if p["in"] == "query"}
        if documented != set(schemas):
            raise ValueError(
                f"{method.upper()} {path}: query parameters {sorted(documented)} "
                f"!= {model.__name__} fields {sorted(schemas)}"
            )
        for parameter in parameters:
            if parameter["in"] == "query":
                if "schema" in parameter:
                    raise ValueError(f"{path}: {parameter['name']} has a hand-written schema")
                parameter["schema"] = schemas[parameter["name"]]


def _parameter_lists(document: dict[str, Any]) -> list[list[dict[str, Any]]]:
    lists = []
    for item in document["paths"].values():
        lists.append(item.get("parameters", []))
        lists.extend(op.get("parameters", []) for op in item.values() if isinstance(op, dict))
    return lists


def _fill_named_parameters(document: dict[str, Any]) -> None:
    """Give every path and header parameter its schema from :data:`PARAMETER_TYPES`."""
    for parameters in _parameter_lists(document):
        for parameter in parameters:
            if parameter.get("in") not in ("path", "header"):
                continue
            key = (parameter["in"], parameter["name"])
            if "schema" in parameter:
                raise ValueError(f"{key}: a hand-written schema (name its type in PARAMETER_TYPES)")
            if key not in PARAMETER_TYPES:
                raise ValueError(f"{key}: no type in PARAMETER_TYPES")
            parameter["schema"] = TypeAdapter(PARAMETER_TYPES[key]).json_schema(
                ref_template=REF_TEMPLATE, schema_generator=OpenApi30Schema
            )


def _merge(document: dict[str, Any], fragment: dict[str, Any], name: str) -> None:
    for path, item in fragment.get("paths", {}).items():
        if path in document["paths"]:
            raise ValueError(f"{name}: path {path} is already defined")
        document["paths"][path] = item
    for section, entries in fragment.get("components", {}).items():
        target = document.setdefault("components", {}).setdefault(section, {})
        for key, value in entries.items():
            if key in target:
                raise ValueError(f"{name}: component {key} is already defined")
            target[key] = value
    document.setdefault("tags", []).extend(fragment.get("tags", []))


def assemble(core: Path, fragments: list[Path]) -> dict[str, Any]:
    """``core`` and the ``fragments`` merged, with every schema generated from the models."""
    document: dict[str, Any] = json.loads(core.read_text())
    for fragment_path in fragments:
        _merge(document, json.loads(fragment_path.read_text()), fragment_path.name)
    _merge(document, {"components": {"schemas": component_schemas()}}, "models")
    _fill_query_parameters(document)
    _fill_named_parameters(document)
    return document


@cache
def openapi_document() -> dict[str, Any]:
    """The whole document: ``core.json`` and every fragment beside it."""
    core = OPENAPI_DIR / "core.json"
    return assemble(core, sorted(p for p in OPENAPI_DIR.glob("*.json") if p != core))
