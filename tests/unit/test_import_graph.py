"""The layering of ``chalicelib``, checked on the source (no imports executed).

* No import cycle between modules (imports only type checkers follow, under
  ``if TYPE_CHECKING:``, are left out: they never run).
* ``api`` never imports ``stores``: HTTP code reaches storage only through services.
* ``domain`` imports nothing of AWS (boto3, botocore, Chalice, Powertools) and none of the outer
  layers (api, services, stores, observability, runtime, settings): it is the pure core.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "chalicelib"

AWS_MODULES = ("boto3", "botocore", "mypy_boto3_dynamodb", "chalice", "aws_lambda_powertools")
OUTER_LAYERS = tuple(
    f"{PACKAGE}.{name}"
    for name in ("api", "services", "stores", "observability", "runtime", "settings")
)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted((ROOT / PACKAGE).rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node except the bodies of ``if TYPE_CHECKING:`` blocks."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                stack.extend(child.orelse)
                continue
            stack.append(child)


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The modules ``name`` imports at run time (``from pkg import mod`` counts as ``pkg.mod``
    when ``mod`` is a module; relative imports resolved)."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in _runtime_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            for alias in node.names:
                if f"{base}.{alias.name}" in known:
                    found.add(f"{base}.{alias.name}")
    return found


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {name: imports_of(name, path, known) for name, path in mods.items()}


def internal_graph() -> dict[str, set[str]]:
    full = graph()
    # A package's __init__ is imported with any of its modules; it is an edge only when it
    # names the package itself, which is how the source spells it.
    return {name: {m for m in deps if m in full and m != name} for name, deps in full.items()}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a path ``[a, b, ..., a]``, or None (iterative three-colour DFS)."""
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(edges, white)
    for start in sorted(edges):
        if colour[start] != white:
            continue
        path = [start]
        iterators = [iter(sorted(edges[start]))]
        colour[start] = grey
        while iterators:
            nxt = next(iterators[-1], None)
            if nxt is None:
                colour[path.pop()] = black
                iterators.pop()
                continue
            if colour[nxt] == grey:
                return [*path[path.index(nxt) :], nxt]
            if colour[nxt] == white:
                colour[nxt] = grey
                path.append(nxt)
                iterators.append(iter(sorted(edges[nxt])))
    return None


def within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def test_the_checker_sees_the_real_code() -> None:
    edges = graph()
    assert "chalicelib.api.application" in edges
    assert "chalicelib.runtime" in edges["chalicelib.api.application"]
    assert "chalicelib.api.context" in edges["chalicelib.api.middleware"]
    assert any(within(m, "boto3") or within(m, "botocore") for m in edges["chalicelib.stores.aws"])


def test_find_cycle_finds_one_and_only_a_real_one() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"a": {"a"}}) == ["a", "a"]


def test_no_import_cycle_in_chalicelib() -> None:
    cycle = find_cycle(internal_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_api_never_imports_stores() -> None:
    offenders = {
        name: sorted(m for m in deps if within(m, f"{PACKAGE}.stores"))
        for name, deps in graph().items()
        if within(name, f"{PACKAGE}.api")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


@pytest.mark.parametrize("forbidden", AWS_MODULES + OUTER_LAYERS)
def test_domain_imports_nothing_of_aws_or_the_outer_layers(forbidden: str) -> None:
    offenders = sorted(
        name
        for name, deps in graph().items()
        if within(name, f"{PACKAGE}.domain") and any(within(m, forbidden) for m in deps)
    )
    assert offenders == []


# DynamoDB's wire format: an AttributeValue literal or subscript, or boto3's converters.
_WIRE_TYPES = frozenset({"S", "N", "B", "SS", "NS", "BS", "M", "L", "BOOL", "NULL"})
_WIRE_NAMES = frozenset({"TypeSerializer", "TypeDeserializer"})


def wire_format_uses(path: Path) -> list[str]:
    """Where a module builds or reads an AttributeValue: ``{"S": ...}``, ``x["S"]``, or uses
    boto3's (de)serializers."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Dict) and len(node.keys) == 1:
            key = node.keys[0]
            if isinstance(key, ast.Constant) and key.value in _WIRE_TYPES:
                found.append(f"{path.name}:{node.lineno} {{{key.value!r}: ...}}")
        elif isinstance(node, ast.Subscript):
            index = node.slice
            if isinstance(index, ast.Constant) and index.value in _WIRE_TYPES:
                found.append(f"{path.name}:{node.lineno} [{index.value!r}]")
        elif isinstance(node, ast.Name | ast.Attribute):
            name = node.id if isinstance(node, ast.Name) else node.attr
            if name in _WIRE_NAMES:
                found.append(f"{path.name}:{node.lineno} {name}")
    return found


def test_the_wire_format_check_sees_a_store() -> None:
    assert wire_format_uses(ROOT / PACKAGE / "stores" / "codec.py")


def test_no_attribute_value_outside_stores() -> None:
    offenders = {
        name: uses
        for name, path in modules().items()
        if not within(name, f"{PACKAGE}.stores") and (uses := wire_format_uses(path))
    }
    assert offenders == {}


def test_nothing_edits_sys_path() -> None:
    """The project is installed into its own .venv (editable): every entry point imports it
    normally, so no file may patch the import path."""
    # tools/: installed third-party code (LocalStack's venv, npm packages)
    skip = {".venv", "node_modules", ".git", "build", ".run", "tools"}
    offenders = []
    for path in sorted(ROOT.rglob("*.py")):
        if skip & set(path.relative_to(ROOT).parts):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Attribute)
                and node.attr == "path"
                and isinstance(node.value, ast.Name)
                and node.value.id == "sys"
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []
