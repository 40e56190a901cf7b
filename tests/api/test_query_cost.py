"""A query's cost is found once per operation and page-argument values: the same
operation sent again is priced from the cache, exactly as the walk prices it."""

import pytest
from django.test import override_settings
from graphql import parse

from core.api import limits

PAGE = """query($first: Int, $after: String, $n: Int) {
  products(first: $first, after: $after) { edges { node { code skus { code } } } }
  brands { name }
  categories(first: $n) { name } }"""


@pytest.fixture
def schema():
    from graphene_django.settings import graphene_settings

    return graphene_settings.SCHEMA.graphql_schema


def _walk(schema, document, variables):
    cost = limits.QueryCost(schema, document, variables)
    return cost.operation(document.definitions[0]), [e.message for e in cost.errors]


@pytest.mark.parametrize(
    "variables",
    [
        {"first": 10},
        {"first": 50, "after": "YXJyYXljb25uZWN0aW9uOjQ5"},
        {"first": 1},
        {"first": 1.0},  # not an int: priced at the maximum page size, not as 1
        {"first": True},
        {"first": None},
        {},
        {"first": 500},  # out of range: an error, never cached
        {"first": [1]},  # not a dict key: priced by the walk
    ],
)
def test_cached_costs_equal_the_walks(schema, variables):
    document = parse(PAGE)
    operation = document.definitions[0]
    for values in ({"first": 10}, variables, variables, {"first": 1}, variables):
        expected = _walk(schema, document, values)
        cost, errors = limits.check_query(schema, document, operation, values)
        assert (cost, [e.message for e in errors]) == expected


def test_a_known_cost_skips_the_walk(schema, monkeypatch):
    document = parse(PAGE)
    operation = document.definitions[0]
    first = limits.check_query(schema, document, operation, {"first": 20, "after": "a"})
    walks = []
    monkeypatch.setattr(limits.QueryCost, "operation", lambda *a: walks.append(a) or 0)
    again = limits.check_query(schema, document, operation, {"first": 20, "after": "b"})
    assert again == first and walks == []  # the cursor does not change the cost
    limits.check_query(schema, document, operation, {"first": 21})
    assert len(walks) == 1
    with override_settings(GRAPHENE={"RELAY_CONNECTION_MAX_LIMIT": 50}):
        limits.check_query(schema, document, operation, {"first": 20, "after": "b"})
    assert len(walks) == 2  # another maximum page size: priced again
