"""The analytics OpenAPI fragment merges into a valid OpenAPI 3 document and matches the code."""

from __future__ import annotations

import json

from openapi_spec_validator import validate

from chalicelib.api.models import analytics
from chalicelib.api.models.analytics import SUMMARY_PARAMS
from chalicelib.api.openapi import OPENAPI_DIR, component_schemas, openapi_document


def test_fragment_merged_with_core_is_a_valid_document() -> None:
    document = openapi_document()
    validate(document)
    assert "/v1/analytics/summary" in document["paths"]


def test_fragment_parameters_match_the_service_and_components_are_prefixed() -> None:
    fragment = json.loads((OPENAPI_DIR / "analytics.json").read_text())
    names = {p["name"] for p in fragment["paths"]["/v1/analytics/summary"]["get"]["parameters"]}
    assert names == SUMMARY_PARAMS
    for section in fragment.get("components", {}).values():
        assert all(name.startswith("Analytics") for name in section)
    models = {
        name
        for name, value in vars(analytics).items()
        if isinstance(value, type) and value.__module__ == analytics.__name__
    }
    generated = models & set(component_schemas())
    assert generated
    assert all(name.startswith("Analytics") for name in generated)
