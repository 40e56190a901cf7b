"""FastExecutionContext gives graphql-core's results and errors, field by field: nulls in
non-null fields, resolver errors inside lists, enums, default resolvers on objects and
dicts, arguments, and (never in our schema, still supported) awaitable resolvers."""

import asyncio
from decimal import Decimal

import graphene
import pytest
from graphql import ExecutionContext, execute, parse

from core.api.execution import (
    FastExecutionContext,
    NeedsInfo,
    reads_root_first,
    reads_root_only,
)


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


# --- plans: objects read by default (and root-only) resolvers, completed without graphql-core
class Leaf(graphene.ObjectType):
    min_quantity = graphene.Int(required=True)
    price = graphene.Decimal(required=True)
    note = graphene.String()
    color = graphene.Field(Color)


class Tagged(graphene.ObjectType):
    code = graphene.String(required=True)
    computed = graphene.Int(required=True)
    flaky = graphene.String()

    @reads_root_only
    def resolve_computed(root, info):
        if root.get("boom"):
            raise ValueError("computed failed")
        return root.get("n")

    def resolve_flaky(root, info):  # an ordinary resolver: no plan for its object
        return "flaky"


class Priced(graphene.ObjectType):
    unit_price = graphene.Decimal(required=True)
    currency = graphene.String(required=True)
    leaves = graphene.List(graphene.NonNull(Leaf), required=True)
    maybe = graphene.List(Leaf)
    tags = graphene.List(graphene.NonNull(Tagged), required=True)
    names = graphene.List(graphene.String)
    best = graphene.Field(Leaf)


class _Leaf:
    def __init__(self, q, price=Decimal("1.50"), note="n"):
        self.min_quantity, self.price, self.note, self.color = q, price, note, Color.GREEN

    @property
    def broken_note(self):  # pragma: no cover - not read
        raise AssertionError


class _Priced:
    def __init__(self, i):
        self.unit_price = Decimal(i) / 4
        self.currency = "CNY"
        self.leaves = [_Leaf(1), _Leaf(10, Decimal("1.3500"))]
        if i == 2:
            self.leaves = (x for x in self.leaves)  # a generator: graphql-core's path
        if i == 3:
            self.leaves = [_Leaf(1), None]  # a null in a non-null list: the list is nulled
        self.maybe = [None, _Leaf(5, note=None)] if i % 2 else None
        self.tags = [{"code": f"T{i}", "n": i}, {"code": "X", "n": i, "boom": i == 4}]
        if i == 5:
            self.tags = [{"n": 1}]  # a missing required code
        self.names = ["a", None, 7] if i == 6 else ["a"]
        self.best = _Leaf(i) if i != 7 else {"min_quantity": 3, "price": Decimal("2")}
        if i == 8:
            self.currency = 42  # an int where a String is wanted: serialised as graphql-core does
        if i == 9:
            self.best = ValueError("best failed")  # a returned error


class PlanQuery(graphene.ObjectType):
    priced = graphene.List(Priced)
    one = graphene.Field(Priced, required=True)

    def resolve_priced(root, info):
        return [_Priced(i) for i in range(10)]

    def resolve_one(root, info):
        return _Priced(1)


PLAN_SCHEMA = graphene.Schema(query=PlanQuery).graphql_schema
PLAN_QUERY = """query($with: Boolean!) { priced { unitPrice currency
  leaves { minQuantity price note color } maybe { minQuantity note }
  tags { code computed } names best { minQuantity price @include(if: $with) } }
  one { unitPrice leaves { minQuantity } tags { code computed flaky __typename } } }"""


def _run_plan_query(context_class, variables):
    result = execute(
        PLAN_SCHEMA,
        parse(PLAN_QUERY),
        variable_values=variables,
        execution_context_class=context_class,
    )
    errors = sorted((e.message, tuple(e.path or ())) for e in result.errors or [])
    return result.data, errors


@pytest.mark.parametrize("variables", [{"with": True}, {"with": False}])
def test_planned_objects_answer_like_graphql_core(variables):
    expected = _run_plan_query(ExecutionContext, variables)
    got = _run_plan_query(FastExecutionContext, variables)
    assert got == expected
    data, errors = got
    assert data["priced"][0]["leaves"] == [
        {"minQuantity": 1, "price": "1.50", "note": "n", "color": "GREEN"},
        {"minQuantity": 10, "price": "1.3500", "note": "n", "color": "GREEN"},
    ]
    assert data["priced"][3] is None and data["priced"][5] is None and data["priced"][4] is None
    assert data["priced"][9]["best"] is None and data["priced"][6]["names"] == ["a", None, "7"]
    assert ("computed failed", ("priced", 4, "tags", 1, "computed")) in errors
    assert ("best failed", ("priced", 9, "best")) in errors
    assert ("best" in str(data["priced"][1])) and (
        ("price" in data["priced"][1]["best"]) is variables["with"]
    )


def test_objects_are_really_planned():
    """The fast answers above come from plans, not from graphql-core's path (which the
    comparison alone would not tell)."""
    from core.api import execution

    ran = []
    original = execution._run_plan

    def spy(plan, source):
        ran.append(type(source).__name__)
        return original(plan, source)

    execution._run_plan, saved = spy, execution._run_plan
    try:
        _run_plan_query(FastExecutionContext, {"with": True})
    finally:
        execution._run_plan = saved
    assert ran.count("_Priced") >= 6 and "_Leaf" in ran  # Priced objects with no irregularity


def test_graphene_django_type_checks_are_remembered_per_class_only():
    from graphene_django import DjangoObjectType

    from core.catalog.models import Brand, Category

    class BrandType(DjangoObjectType):
        class Meta:
            model = Brand
            fields = ("name",)
            skip_registry = True

    class Q(graphene.ObjectType):
        brands = graphene.List(BrandType)

        def resolve_brands(root, info):
            return [Brand(name="a"), Brand(name="b"), Category(name="not a brand")]

    schema = graphene.Schema(query=Q).graphql_schema
    for context_class in (ExecutionContext, FastExecutionContext, FastExecutionContext):
        result = execute(
            schema, parse("{ brands { name } }"), execution_context_class=context_class
        )
        assert result.data == {"brands": [{"name": "a"}, {"name": "b"}, None]}
        assert len(result.errors) == 1 and "Expected value of type" in result.errors[0].message


def test_an_operations_cache_and_releases_end_with_it():
    from types import SimpleNamespace

    from core.api.view import after_operation, end_operation, operation_cache

    request = SimpleNamespace()
    released = []
    operation_cache(request)["loader"] = "prices of dealer 1"
    after_operation(request, lambda: released.append("page"))
    after_operation(request, lambda: 1 / 0)  # a failing release is logged, never raised
    after_operation(request, lambda: released.append("second"))
    assert operation_cache(request)["loader"] == "prices of dealer 1"
    end_operation(request)
    assert released == ["page", "second"]
    assert operation_cache(request) == {}  # the next operation starts empty
    end_operation(request)  # nothing registered: nothing to do
    assert released == ["page", "second"]


class Shelf(graphene.ObjectType):
    code = graphene.String(required=True)
    label = graphene.String(required=True)

    @reads_root_first
    def resolve_label(root, info):
        if "label" in root:  # what a page put on the object
            return root["label"]
        if info is None:
            raise NeedsInfo
        return f"{root['code']} for {info.context['viewer']}"


class ShelfQuery(graphene.ObjectType):
    shelves = graphene.List(graphene.NonNull(Shelf), required=True)

    def resolve_shelves(root, info):
        return [{"code": "A", "label": "put by the page"}, {"code": "B"}, {"code": "C"}]


def test_root_first_resolvers_answer_from_the_root_or_with_info():
    schema = graphene.Schema(query=ShelfQuery).graphql_schema
    expected = {
        "shelves": [
            {"code": "A", "label": "put by the page"},
            {"code": "B", "label": "B for dealer 7"},
            {"code": "C", "label": "C for dealer 7"},
        ]
    }
    for context_class in (ExecutionContext, FastExecutionContext):
        result = execute(
            schema,
            parse("{ shelves { code label } }"),
            context_value={"viewer": "dealer 7"},
            execution_context_class=context_class,
        )
        assert result.errors is None and result.data == expected


def test_relay_ids_of_graphene_django_types_are_read_in_plans():
    from graphene import relay
    from graphene_django import DjangoObjectType

    from core.api import execution
    from core.catalog.models import Brand

    class BrandNode(DjangoObjectType):
        class Meta:
            model = Brand
            fields = ("name",)
            interfaces = (relay.Node,)
            skip_registry = True

    class Q(graphene.ObjectType):
        brands = graphene.List(graphene.NonNull(BrandNode))

        def resolve_brands(root, info):
            return [Brand(pk=7, name="a"), Brand(pk=8, name="b")]

    schema = graphene.Schema(query=Q).graphql_schema
    id_field = schema.type_map["BrandNode"].fields["id"]
    assert execution._global_id_reader(id_field.resolve, "BrandNode") is not None
    query = parse("{ brands { id name } }")
    answers = [
        execute(schema, query, execution_context_class=context_class).data
        for context_class in (ExecutionContext, FastExecutionContext, FastExecutionContext)
    ]
    assert answers[0] == answers[1] == answers[2]
    assert answers[0]["brands"][0]["id"] == graphene.relay.Node.to_global_id("BrandNode", 7)


class Direct(graphene.ObjectType):
    text = graphene.String()
    ident = graphene.ID()
    count = graphene.Int()
    flag = graphene.Boolean()
    amount = graphene.Decimal()
    counts = graphene.List(graphene.Int)
    amounts = graphene.List(graphene.Decimal)


class _Money(Decimal):
    def __str__(self):
        return f"money {Decimal.__str__(self)}"


class DirectQuery(graphene.ObjectType):
    direct = graphene.List(Direct)

    def resolve_direct(root, info):
        usual = {"text": "a", "ident": "7", "count": 3, "flag": True, "amount": Decimal("1.50")}
        return [
            {**usual, "counts": [1, -(2**31), 2**31 - 1], "amounts": [Decimal("0.10")]},
            {"text": 5, "ident": 12, "count": True, "flag": 0, "amount": "2.5"},
            {**usual, "count": 2**31, "counts": [2**40]},  # beyond Int: graphql-core's errors
            {**usual, "count": 1.0, "amount": _Money("3"), "amounts": [_Money("1"), "0.5"]},
            {**usual, "flag": "yes"},
        ]


def test_leaves_read_directly_answer_like_graphql_core():
    """String, ID, Int, Boolean and Decimal leaves of their usual Python type are put in
    the result without calling ``serialize``; every other value (an int in a String, a
    bool in an Int, an Int beyond 32 bits, a Decimal subclass) is serialised (or
    refused) by graphql-core, as before."""
    from core.api import execution

    schema = graphene.Schema(query=DirectQuery).graphql_schema
    query = parse("{ direct { text ident count flag amount counts amounts } }")

    def run(context_class):
        result = execute(schema, query, execution_context_class=context_class)
        return result.data, sorted((e.message, tuple(e.path)) for e in result.errors or [])

    expected = run(ExecutionContext)
    assert run(FastExecutionContext) == expected
    data, errors = expected
    assert data["direct"][0]["amount"] == "1.50" and data["direct"][1]["count"] == 1
    assert data["direct"][3]["amount"] == "money 3" and data["direct"][2]["count"] is None
    assert errors
    kinds = {execution._leaf_kind(schema.type_map[name]) for name in ("String", "ID")}
    assert kinds == {execution._STRING_LEAF}
    assert execution._leaf_kind(schema.type_map["Decimal"]) == execution._DECIMAL_LEAF


class _Shy:
    """An object whose attributes a plan may not find: a missing attribute and a
    property raising AttributeError read as the field's default, as graphene's
    default resolver (``getattr`` with a default) reads them."""

    def __init__(self, n):
        self.n = n
        if n != 1:
            self.label = f"shy {n}"

    @property
    def color(self):
        raise AttributeError("no colour")


class ShyType(graphene.ObjectType):
    n = graphene.Int(required=True)
    label = graphene.String()
    color = graphene.Field(Color)


class ShyQuery(graphene.ObjectType):
    shy = graphene.List(graphene.NonNull(ShyType), required=True)

    def resolve_shy(root, info):
        return [_Shy(0), _Shy(1), _Shy(2)]


def test_compiled_plans_read_attributes_as_the_default_resolver_does():
    from core.api import execution

    schema = graphene.Schema(query=ShyQuery).graphql_schema
    query = parse("{ shy { n label color } }")
    answers = [
        execute(schema, query, execution_context_class=context_class)
        for context_class in (ExecutionContext, FastExecutionContext, FastExecutionContext)
    ]
    assert all(a.errors is None for a in answers)
    assert answers[0].data == answers[1].data == answers[2].data
    assert answers[0].data["shy"][1] == {"n": 1, "label": None, "color": None}
    # one function source per plan shape, compiled once and reused by later operations
    sources = [s for s in execution._FACTORIES if "source.label" in s and "source.color" in s]
    assert len(sources) == 1


def test_plans_are_shared_by_operations_of_a_document_only_without_directives():
    """A document sent again reuses its plans (selections without directives); a
    selection under ``@include``/``@skip`` is planned again for each operation, with
    its variables."""
    from core.api import execution

    document = parse(PLAN_QUERY)
    for variables in ({"with": True}, {"with": False}, {"with": True}):
        expected = execute(PLAN_SCHEMA, document, variable_values=variables)
        got = execute(
            PLAN_SCHEMA,
            document,
            variable_values=variables,
            execution_context_class=FastExecutionContext,
        )
        assert (got.data, got.errors) == (expected.data, expected.errors)
    shared = [
        plan
        for nodes, plan in execution._SHARED_PLANS.values()
        if nodes[0].loc.source.body == PLAN_QUERY
    ]
    names = {field[0] for plan in shared for field in plan.fields}
    assert "minQuantity" in names and "code" in names  # leaves, tags: shared
    assert "best" not in names  # best { price @include(if: $with) } and its parents: not
