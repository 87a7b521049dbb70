"""The filter builder: every name and value is a placeholder, whatever the client sends."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib import errors
from chalicelib.api.models.inbox import parse_inbox_query
from chalicelib.domain.filters import MetadataFilters, build_filter

keys = st.text(min_size=1, max_size=40)
values = st.text(max_size=40)
PLACEHOLDER = re.compile(r"^(#flt_n\d+|:flt_v\d+)$")


def evaluate(expression: str, names: dict, vals: dict, metadata: dict[str, str]) -> bool:
    """A tiny evaluator for the only shape the builder emits: ``#m.#k = :v AND ...``."""
    for clause in expression.split(" AND "):
        path, value_ph = clause.split(" = ")
        map_ph, key_ph = path.split(".")
        assert names[map_ph] == "metadata"
        if metadata.get(names[key_ph]) != vals[value_ph]:
            return False
    return True


@given(st.lists(st.tuples(keys, values), max_size=10), st.one_of(st.none(), values))
def test_expression_holds_only_placeholders(pairs, priority):
    expression, names, vals = build_filter(MetadataFilters(priority, tuple(pairs)))
    if not pairs and priority is None:
        assert (expression, names, vals) == (None, {}, {})
        return
    assert expression is not None
    tokens = re.split(r" AND | = |\.", expression)
    assert all(PLACEHOLDER.match(token) for token in tokens), expression
    # Every placeholder used is defined and every defined one is used (DynamoDB rejects both).
    used = set(tokens)
    assert used == set(names) | set(vals)
    # User text appears only as dictionary values.
    for key, value in pairs:
        assert key in names.values()
        assert value in vals.values()


@given(st.dictionaries(keys, values, max_size=6), st.lists(st.tuples(keys, values), max_size=4))
def test_the_expression_means_all_pairs_match(metadata, pairs):
    expression, names, vals = build_filter(MetadataFilters(None, tuple(pairs)))
    expected = all(metadata.get(k) == v for k, v in pairs)
    if expression is None:
        assert expected
    else:
        assert evaluate(expression, names, vals, metadata) is expected


def test_hostile_keys_are_just_names():
    hostile = "x) OR (#a = :b"
    expression, names, vals = build_filter(
        MetadataFilters("high", (("region.eu west", "1"), ("size", "a"), (hostile, "z")))
    )
    assert expression == (
        "#flt_n0.#flt_n1 = :flt_v0 AND #flt_n0.#flt_n2 = :flt_v1 AND "
        "#flt_n0.#flt_n3 = :flt_v2 AND #flt_n0.#flt_n4 = :flt_v3"
    )
    assert names == {
        "#flt_n0": "metadata",
        "#flt_n1": "region.eu west",
        "#flt_n2": "size",  # a reserved word in DynamoDB
        "#flt_n3": hostile,
        "#flt_n4": "priority",
    }
    assert vals[":flt_v3"] == "high"


def test_query_parameters_parse_into_filters():
    request = parse_inbox_query(
        {"priority": "high", "metadata.region": "eu", "metadata.a b.c": "1", "source": "billing"}
    )
    assert request.filters.priority == "high"
    assert request.filters.metadata == (("a b.c", "1"), ("region", "eu"))
    assert request.filters.scope_parts()["metadata.region"] == "eu"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"priority": "urgent"}, "priority"),
        ({"metadata.": "x"}, "metadata."),
        ({"metadata.k": "x" * 257}, "metadata.k"),
        ({"created_after": "yesterday"}, "created_after"),
        (
            {"created_after": "2026-01-02T00:00:00Z", "created_before": "2026-01-01T00:00:00Z"},
            "created_after",
        ),
        ({"colour": "red"}, "colour"),
        ({f"metadata.k{i}": "v" for i in range(21)}, "metadata"),
    ],
)
def test_bad_parameters_name_the_parameter(params, field):
    with pytest.raises(errors.ValidationError) as caught:
        parse_inbox_query(params)
    assert caught.value.details[0]["field"] == field
