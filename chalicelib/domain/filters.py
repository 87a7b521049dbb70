"""The inbox's non-key filters as a DynamoDB FilterExpression. Pure.

:func:`build_filter` returns ``(expression, names, values)`` in which *every* attribute name and
value is a placeholder (``#flt_n0``, ``:flt_v0``): user text only ever appears as a dictionary
value, never in the expression, so a metadata key with dots, spaces, brackets, quotes or a
reserved word is just a name and nothing a client sends can change the expression's shape.

The time range, source and event type are *not* here: they are key conditions on the inbox
indexes (``chalicelib.domain.inbox.plan_query``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

METADATA_ATTRIBUTE = "metadata"
PRIORITY_KEY = "priority"
NAME_PREFIX = "#flt_n"
VALUE_PREFIX = ":flt_v"

# (expression, ExpressionAttributeNames, ExpressionAttributeValues as plain strings: the store
# that runs the query puts them in its wire format)
FilterParts = tuple[str | None, dict[str, str], dict[str, str]]


@dataclass(frozen=True)
class MetadataFilters:
    """Exact-match conditions on the event's flat ``metadata`` map, ANDed."""

    priority: str | None = None
    metadata: tuple[tuple[str, str], ...] = ()

    def conditions(self) -> list[tuple[str, str]]:
        """``(metadata key, value)`` pairs; ``priority`` is ``metadata.priority``."""
        pairs = list(self.metadata)
        if self.priority is not None:
            pairs.append((PRIORITY_KEY, self.priority))
        return pairs


def build_filter(filters: MetadataFilters) -> FilterParts:
    """``(expression or None, ExpressionAttributeNames, ExpressionAttributeValues)``.

    Equal names share one placeholder; values always get their own. Events created without a
    priority carry ``metadata.priority = "normal"`` (set at creation), so ``priority=normal``
    matches them.
    """
    return build_equalities(METADATA_ATTRIBUTE, filters.conditions())


def build_equalities(map_attribute: str, pairs: Sequence[tuple[str, str]]) -> FilterParts:
    """``#map.#key = :value AND ...`` for each pair, all placeholders."""
    if not pairs:
        return None, {}, {}
    names: dict[str, str] = {}
    placeholder_of: dict[str, str] = {}

    def name(attribute: str) -> str:
        if attribute not in placeholder_of:
            placeholder = f"{NAME_PREFIX}{len(placeholder_of)}"
            placeholder_of[attribute] = placeholder
            names[placeholder] = attribute
        return placeholder_of[attribute]

    values: dict[str, str] = {}
    clauses = []
    map_name = name(map_attribute)
    for index, (key, value) in enumerate(pairs):
        value_placeholder = f"{VALUE_PREFIX}{index}"
        values[value_placeholder] = value
        clauses.append(f"{map_name}.{name(key)} = {value_placeholder}")
    return " AND ".join(clauses), names, values
