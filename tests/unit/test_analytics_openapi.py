"""The analytics OpenAPI fragment is valid OpenAPI 3 and matches what the code accepts."""

from __future__ import annotations

import json

from openapi_spec_validator import validate

from chalicelib.api.service import OPENAPI_DIR
from chalicelib.services.analytics import SUMMARY_PARAMS


def test_fragment_merged_with_core_is_a_valid_document() -> None:
    core = json.loads((OPENAPI_DIR / "core.json").read_text())
    fragment = json.loads((OPENAPI_DIR / "analytics.json").read_text())
    document = {
        **core,
        "paths": {**core["paths"], **fragment["paths"]},
        "components": fragment["components"],
        "tags": fragment["tags"],
    }
    validate(document)
    names = {p["name"] for p in fragment["paths"]["/v1/analytics/summary"]["get"]["parameters"]}
    assert names == SUMMARY_PARAMS
    for section in fragment["components"].values():
        assert all(name.startswith("Analytics") for name in section)
