"""docs/ARCHITECTURE.md's deployment diagram against the infrastructure: every node named like a
CloudFormation logical id is one (in the merge template, or chalice's that the template and the
packaging script refer to), and every table and queue the template declares is drawn."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "ARCHITECTURE.md"
TEMPLATE = ROOT / "infra" / "merge-template.json"
PACKAGING = ROOT / "scripts" / "package_stack.py"


def mermaid_blocks() -> dict[str, str]:
    """Each ```mermaid block under its ### heading."""
    blocks: dict[str, str] = {}
    for heading, body in re.findall(
        r"^### (.+?)\n.*?```mermaid\n(.*?)```", DOC.read_text(), re.MULTILINE | re.DOTALL
    ):
        blocks[heading.strip()] = body
    return blocks


def logical_ids(diagram: str) -> set[str]:
    return set(re.findall(r"^\s*([A-Z][A-Za-z0-9]+)[\[\(]", diagram, re.MULTILINE))


def test_the_three_diagrams_exist() -> None:
    blocks = mermaid_blocks()
    assert {"Request path", "Stream fan-out: analytics and webhooks", "Deployment"} <= set(blocks)
    for body in blocks.values():
        assert body.lstrip().startswith("flowchart ")


def test_deployment_nodes_are_resources_of_the_stack() -> None:
    template_text = TEMPLATE.read_text()
    resources = set(json.loads(template_text)["Resources"])
    known_elsewhere = template_text + PACKAGING.read_text()
    ids = logical_ids(mermaid_blocks()["Deployment"])
    assert len(ids) >= 15
    for logical_id in ids:
        assert logical_id in resources or re.search(rf"\b{logical_id}\b", known_elsewhere), (
            logical_id
        )


def test_every_table_and_queue_is_drawn() -> None:
    resources = json.loads(TEMPLATE.read_text())["Resources"]
    drawn = logical_ids(mermaid_blocks()["Deployment"])
    for name, resource in resources.items():
        if resource.get("Type") in {"AWS::DynamoDB::Table", "AWS::SQS::Queue"}:
            assert name in drawn, name
