"""FastExecutionContext gives graphql-core's results and errors, field by field: nulls in
non-null fields, resolver errors inside lists, enums, default resolvers on objects and
dicts, arguments, and (never in our schema, still supported) awaitable resolvers."""

import asyncio

import graphene
import pytest
from graphql import ExecutionContext, execute, parse

from core.api.execution import FastExecutionContext


class Color(graphene.Enum):
    RED = 1
    GREEN = 2


class Item:
    def __init__(self, n):
        self.n = n
        self.label = f"item {n}" if n != 3 else None
        self.color = Color.RED if n % 2 else Color.GREEN

    @property
    def broken(self):
        if self.n == 2:
            raise ValueError("broken property")
        return "fine"


class ItemType(graphene.ObjectType):
    n = graphene.Int(required=True)
    label = graphene.String()
    required_label = graphene.String(required=True)
    color = graphene.Field(Color)
    broken = graphene.String()
    doubled = graphene.Int(times=graphene.Int(default_value=2))
    tags = graphene.List(graphene.NonNull(graphene.String))

    def resolve_required_label(root, info):
        return root.label

    def resolve_doubled(root, info, times):
        return root.n * times

    def resolve_tags(root, info):
        return [f"t{root.n}", None] if root.n == 4 else [f"t{root.n}"]


class Pair(graphene.ObjectType):
    key = graphene.String(required=True)
    value = graphene.Int()


class Query(graphene.ObjectType):
    items = graphene.List(ItemType, first=graphene.Int())
    strict_items = graphene.List(graphene.NonNull(ItemType))
    pairs = graphene.List(graphene.NonNull(Pair))
    matrix = graphene.List(graphene.List(graphene.Int))
    fails = graphene.String()
    later = graphene.String()

    def resolve_items(root, info, first=5):
        return (Item(i) for i in range(first))  # a generator, as some resolvers return

    def resolve_strict_items(root, info):
        return [Item(1), Item(3)]

    def resolve_pairs(root, info):
        return [{"key": "a", "value": 1}, {"key": "b"}, {"value": 3}]

    def resolve_matrix(root, info):
        return [[1, 2], [], None, [3, None]]

    def resolve_fails(root, info):
        raise RuntimeError("resolver failed")

    async def resolve_later(root, info):
        await asyncio.sleep(0)
        return "awaited"


SCHEMA = graphene.Schema(query=Query).graphql_schema
SYNC = """{ items(first: 5) { n label requiredLabel color broken doubled(times: 3) tags }
  strictItems { n requiredLabel } pairs { key value } matrix fails __typename }"""


def _run(query, context_class):
    result = execute(SCHEMA, parse(query), execution_context_class=context_class)
    if asyncio.iscoroutine(result):
        result = asyncio.run(result)
    errors = sorted((e.message, tuple(e.path or ())) for e in result.errors or [])
    return result.data, errors


@pytest.mark.parametrize("query", [SYNC, "{ later items(first: 2) { n } }"])
def test_the_fast_context_answers_like_graphql_core(query):
    expected = _run(query, ExecutionContext)
    assert _run(query, FastExecutionContext) == expected


def test_an_awaitable_resolver_still_works():
    data, errors = _run("{ later items(first: 2) { n } }", FastExecutionContext)
    assert data == {"later": "awaited", "items": [{"n": 0}, {"n": 1}]} and errors == []


def test_the_sync_query_really_has_nulls_and_errors():
    data, errors = _run(SYNC, FastExecutionContext)
    assert data["items"][3] is None  # requiredLabel null → the item is nulled
    assert data["items"][2]["broken"] is None
    assert data["strictItems"] is None  # a non-null item failed → the list is nulled
    assert data["pairs"] is None  # a pair without its required key
    assert data["matrix"] == [[1, 2], [], None, [3, None]]
    assert data["items"][1]["color"] == "RED" and data["items"][0]["doubled"] == 0
    messages = {m for m, _path in errors}
    assert "resolver failed" in messages and "broken property" in messages
