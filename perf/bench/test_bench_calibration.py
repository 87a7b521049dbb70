"""A fixed piece of ordinary Python work (JSON, SHA-256, a regex, a dict walk).

The perf gate divides every benchmark's median by this one's, measured in the same run: the
ratio says how a function's cost moved relative to the machine's speed *right now*, which is what
survives a shared, noisy CI box.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

PATTERN = re.compile(r"^[a-z0-9._:/-]{1,128}$")
DOC = {"items": [{"id": i, "name": f"item-{i}", "tags": ["a", "b", "c"]} for i in range(20)]}


def calibration_work(doc: dict[str, Any]) -> int:
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(text.encode()).hexdigest()
    matched = sum(1 for item in doc["items"] if PATTERN.match(item["name"]))
    return len(json.loads(text)["items"]) + matched + len(digest)


def test_bench_calibration(benchmark: Any) -> None:
    assert benchmark(calibration_work, DOC) == 20 + 20 + 64
