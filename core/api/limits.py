"""Query limits that refuse abusive GraphQL before it runs.

* depth: graphene's ``depth_limit_validator``;
* aliases: at most ``GRAPHQL_MAX_ALIASES`` aliased fields in one document;
* cost: every object field costs 1 (leaf fields 0, or what ``COST_MAP`` says),
  and a connection multiplies the cost of what it selects by its ``first`` or
  ``last`` (the maximum page size when neither is given), the way Saleor and
  GitHub price queries. The cost is reported in ``extensions.cost``.
* text: no string, in the document or the variables, may hold NUL (PostgreSQL
  refuses it in text and in comparisons): an ``INVALID_TEXT`` error;
* page arguments: a connection's ``first``/``last`` from 0 to the maximum page
  size and a non-negative ``offset``; anything else is an ``INVALID_PAGE`` error
  naming the argument, before anything runs.

graphql-complexity was considered for the cost; it multiplies only GraphQL
list fields by ``first``, which misses Relay connections (the list is
``edges``, the argument is on the connection), so the walk is done here.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from graphene.validation import depth_limit_validator
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    ValidationRule,
    VariableNode,
    get_named_type,
    is_leaf_type,
    value_from_ast_untyped,
)

# Fields that cost more than the default, as "Type.field": cost.
COST_MAP: dict[str, int] = {}
# A connection's arguments the cost reads (the page size, checked with the offset).
_PAGE_ARGUMENTS = ("first", "last", "offset")


class AliasLimitRule(ValidationRule):
    """Refuse documents with more aliased fields than ``GRAPHQL_MAX_ALIASES``."""

    def __init__(self, context):
        super().__init__(context)
        self.count = 0
        self.reported = False

    def enter_field(self, node: FieldNode, *_args):
        if node.alias is not None:
            self.count += 1
            if self.count > settings.GRAPHQL_MAX_ALIASES and not self.reported:
                self.reported = True
                self.report_error(
                    GraphQLError(
                        f"The query uses more than {settings.GRAPHQL_MAX_ALIASES} aliases.",
                        node,
                        extensions={"code": "TOO_MANY_ALIASES"},
                    )
                )


NUL_MESSAGE = "Text may not contain the NUL character (U+0000)."


class NulCharacterRule(ValidationRule):
    """Refuse string literals holding NUL, which PostgreSQL cannot store or compare."""

    def enter_string_value(self, node, *_args):
        if "\x00" in node.value:
            self.report_error(GraphQLError(NUL_MESSAGE, node, extensions={"code": "INVALID_TEXT"}))


def validation_rules() -> list[type[ValidationRule]]:
    return [
        depth_limit_validator(max_depth=settings.GRAPHQL_MAX_DEPTH),
        AliasLimitRule,
        NulCharacterRule,
    ]


class QueryCost:
    def __init__(
        self, schema: GraphQLSchema, document: DocumentNode, variables: dict[str, Any] | None
    ):
        self.schema = schema
        self.variables = variables or {}
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.max_page = settings.GRAPHENE.get("RELAY_CONNECTION_MAX_LIMIT", 100)
        self.errors: list[GraphQLError] = []
        # Variables the cost depends on: those in a connection's page arguments.
        self.variable_names: set[str] = set()

    def operation(self, op: OperationDefinitionNode) -> int:
        root = {
            "query": self.schema.query_type,
            "mutation": self.schema.mutation_type,
            "subscription": self.schema.subscription_type,
        }[op.operation.value]
        return self._selection_cost(root, op.selection_set, set())

    def _selection_cost(self, parent_type, selection_set, seen_fragments: set[str]) -> int:
        if selection_set is None or parent_type is None:
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self._field_cost(parent_type, selection, seen_fragments)
            elif isinstance(selection, InlineFragmentNode):
                target = parent_type
                if selection.type_condition is not None:
                    target = (
                        self.schema.get_type(selection.type_condition.name.value) or parent_type
                    )
                total += self._selection_cost(target, selection.selection_set, seen_fragments)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in seen_fragments:
                    continue
                target = self.schema.get_type(fragment.type_condition.name.value) or parent_type
                total += self._selection_cost(
                    target, fragment.selection_set, seen_fragments | {name}
                )
        return total

    def _field_cost(self, parent_type, node: FieldNode, seen_fragments: set[str]) -> int:
        name = node.name.value
        if name.startswith("__"):
            return 0
        if not isinstance(parent_type, (GraphQLObjectType, GraphQLInterfaceType)):
            if isinstance(parent_type, GraphQLUnionType):
                return 0
            return 0
        field = parent_type.fields.get(name)
        if field is None:
            return 0
        field_type = get_named_type(field.type)
        own = COST_MAP.get(f"{parent_type.name}.{name}", 0 if is_leaf_type(field_type) else 1)
        if node.selection_set is None:
            return own
        multiplier = 1
        if field_type.name.endswith("Connection"):
            for arg in node.arguments or ():
                if arg.name.value in _PAGE_ARGUMENTS:
                    _collect_variable_names(arg.value, self.variable_names)
            self._check_page_arguments(node)
            multiplier = self._page_size(node)
        return own + multiplier * self._selection_cost(
            field_type, node.selection_set, seen_fragments
        )

    def _check_page_arguments(self, node: FieldNode) -> None:
        for arg in node.arguments or ():
            name = arg.name.value
            if name not in _PAGE_ARGUMENTS:
                continue
            value = value_from_ast_untyped(arg.value, self.variables)
            if not isinstance(value, int):
                continue
            if name == "offset" and value < 0:
                message = "offset must be 0 or more."
            elif name != "offset" and not 0 <= value <= self.max_page:
                message = f"{name} must be from 0 to {self.max_page}."
            else:
                continue
            self.errors.append(
                GraphQLError(
                    f"{node.name.value}: {message}",
                    extensions={"code": "INVALID_PAGE", "argument": name},
                )
            )

    def _page_size(self, node: FieldNode) -> int:
        for arg in node.arguments or ():
            if arg.name.value in ("first", "last"):
                value = value_from_ast_untyped(arg.value, self.variables)
                if isinstance(value, int) and value > 0:
                    return min(value, self.max_page)
        return self.max_page


def query_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode | None,
    variables: dict[str, Any] | None,
) -> int:
    return check_query(schema, document, operation, variables)[0]


def _collect_variable_names(value_node, names: set[str]) -> None:
    if isinstance(value_node, VariableNode):
        names.add(value_node.name.value)
    elif isinstance(value_node, ListValueNode):
        for item in value_node.values:
            _collect_variable_names(item, names)
    elif isinstance(value_node, ObjectValueNode):
        for field in value_node.fields:
            _collect_variable_names(field.value, names)


# Costs already found, per operation: (schema, operation, the variables in its
# connections' page arguments, {their values: cost}). Parsed documents are cached (core.api.view), so
# an operation sent again is the same node; the entry holds it, so no other node has its
# id while the entry lives. Only costs without page-argument errors are kept.
_COSTS: dict[tuple, tuple] = {}
_COSTS_MAX = 512
_VALUES_MAX = 64
_MISSING = object()


def _values_key(names: tuple[str, ...], variables: dict[str, Any] | None) -> tuple | None:
    """The values of ``names`` (with their types: ``1``, ``1.0`` and ``True`` are priced
    differently), or None when one cannot be a dict key."""
    variables = variables or {}
    key = tuple((type(value), value) for value in (variables.get(name, _MISSING) for name in names))
    try:
        hash(key)
    except TypeError:
        return None
    return key


def check_query(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode | None,
    variables: dict[str, Any] | None,
) -> tuple[int, list[GraphQLError]]:
    """The operation's cost, and its connections' page arguments that are out of range.

    The cost depends on the schema, the operation, the maximum page size, ``COST_MAP``
    and the values of the variables in connections' page arguments only (not on a
    cursor), so an operation sent again with the same page sizes is answered from
    :data:`_COSTS` without the walk."""
    if operation is None:
        return 0, []
    max_page = settings.GRAPHENE.get("RELAY_CONNECTION_MAX_LIMIT", 100)
    key = (id(schema), id(operation), max_page, tuple(COST_MAP.items()))
    known = _COSTS.get(key)
    if known is not None and known[0] is schema and known[1] is operation:
        values = _values_key(known[2], variables)
        if values is not None:
            found = known[3].get(values)
            if found is not None:
                return found, []
    cost = QueryCost(schema, document, variables)
    total = cost.operation(operation)
    if not cost.errors:
        if known is None or known[0] is not schema or known[1] is not operation:
            if len(_COSTS) >= _COSTS_MAX:
                _COSTS.clear()
            known = _COSTS[key] = (schema, operation, tuple(sorted(cost.variable_names)), {})
        values = _values_key(known[2], variables)
        if values is not None:
            if len(known[3]) >= _VALUES_MAX:
                known[3].clear()
            known[3][values] = total
    return total, cost.errors
