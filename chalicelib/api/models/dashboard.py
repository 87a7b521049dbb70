"""``GET /dashboard/assets/{name}``: what an asset name may look like.

Only the names the build listed in ``manifest.json`` are served; this pattern is the outer
check (no ``/``, no leading dot, so never ``..``) and the OpenAPI schema of the parameter.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field

ASSET_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}\.(js|css)$")

AssetName = Annotated[
    str,
    Field(
        pattern=ASSET_NAME_PATTERN.pattern,
        description="A file of the dashboard's build (content-hashed name, e.g. "
        "`dashboard-JNLS4GMH.js`), as the page links it.",
    ),
]
