"""The analytics OpenAPI fragment merges into a valid OpenAPI 3 document and matches the code."""

from __future__ import annotations

import json

from openapi_spec_validator import validate

from chalicelib.api.models.analytics import SUMMARY_PARAMS
from chalicelib.api.service import OPENAPI_DIR, openapi_document


def test_fragment_merged_with_core_is_a_valid_document() -> None:
    document = openapi_document()
    validate(document)
    assert "/v1/analytics/summary" in document["paths"]


def test_fragment_parameters_match_the_service_and_components_are_prefixed() -> None:
    fragment = json.loads((OPENAPI_DIR / "analytics.json").read_text())
    names = {p["name"] for p in fragment["paths"]["/v1/analytics/summary"]["get"]["parameters"]}
    assert names == SUMMARY_PARAMS
    for section in fragment["components"].values():
        assert all(name.startswith("Analytics") for name in section)
