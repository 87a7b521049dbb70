"""A fixed piece of ordinary work, half C and half pure Python, like the benchmarks it scales.

The perf gate divides every benchmark's time by this one's, measured in the same run: the ratio
says how a function's cost moved relative to the machine's speed *right now*, which is what
survives a shared, noisy CI box. The benchmarks mix C (json, hashlib, re, botocore's parsers)
with pure Python (dataclasses, f-strings, dict and list work), and the two speed up and slow
down differently across machines and Python builds, so the calibration does both: about 55 %
of its time in C (JSON encode and decode, SHA-256, a compiled regex) and 45 % in the
interpreter (frozen dataclasses, formatting, a dict of lists).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

PATTERN = re.compile(r"^[a-z0-9._:/-]{1,128}$")
DOC = {"items": [{"id": i, "name": f"item-{i}", "tags": ["a", "b", "c"]} for i in range(20)]}


@dataclass(frozen=True)
class Row:
    key: str
    size: int
    tags: tuple[str, ...]


def c_work(doc: dict[str, Any]) -> int:
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(text.encode()).hexdigest()
    matched = sum(1 for item in doc["items"] if PATTERN.match(item["name"]))
    return len(json.loads(text)["items"]) + matched + len(digest)


def python_work(doc: dict[str, Any]) -> int:
    rows = [
        Row(f"{item['name']}#{item['id']:04d}", item["id"] * 3 + 1, tuple(item["tags"]))
        for item in doc["items"]
    ]
    index: dict[int, list[str]] = {}
    for row in rows:
        index.setdefault(row.size % 4, []).append(row.key)
    return sum(len(keys) for keys in index.values())


def calibration_work(doc: dict[str, Any]) -> int:
    return c_work(doc) + python_work(doc)


def test_bench_calibration(benchmark: Any) -> None:
    assert benchmark(calibration_work, DOC) == (20 + 20 + 64) + 20
