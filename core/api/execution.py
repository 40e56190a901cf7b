"""graphql-core's executor with cheaper bookkeeping for a synchronous schema.

A product page resolves 2,000 to 3,000 fields; graphql-core spends a good part
of each on generic checks: whether every result is awaitable (three checks per
value, several values per field), argument coercion for fields that take no
arguments, and two recursive ``complete_value`` calls for every non-null
scalar. :class:`FastExecutionContext` answers those the same way, faster:

* awaitability is a property of the value's type (``await`` looks ``__await__``
  up on the type), so it is decided once per type and remembered; coroutines
  and generators still go through graphql-core's own check;
* a field without arguments gets ``{}`` without walking its (empty) definition;
* a scalar or enum result is serialised directly, with graphql-core's error for
  a null in a non-null field;
* a scalar or enum that graphene's default resolver reads (an attribute or a
  dict key), or a resolver marked :func:`reads_root_only`, is read directly,
  without building the resolve info it never uses;
* an object whose whole selection is read that way (scalars, enums, lists and
  objects of the same kind, no arguments; also resolvers marked
  :func:`reads_root_first` and relay ids of graphene-django types) is completed
  by a plan compiled once per operation (:class:`_Plan`), without a ``Path``,
  resolve info or recursive ``complete_value`` per field: a page of products with
  their SKUs, prices, breaks and promotions. Each plan is a Python function of its
  own (:func:`_compile`), the fields' reads and checks written out for their kinds,
  its source compiled once per process for each plan shape. Anything a plan does not expect (a
  null in a non-null field, an error, an awaitable, a value of an unusual type, a
  generator or queryset, a class graphene-django's ``is_type_of`` has not yet
  accepted) makes that object go through graphql-core's general completion,
  which reads it again and reports any error where graphql-core would;
* graphene-django's ``is_type_of`` depends on the value's class only, so it is
  asked once per (type, class).

Results, errors and their paths are the same as graphql-core's; anything
unusual (middleware, introspection fields, awaitable results) takes
graphql-core's own code path.
"""

from __future__ import annotations

from asyncio import gather
from binascii import b2a_base64 as _b2a_base64
from datetime import date, datetime, time
from decimal import Decimal
from functools import partial
from keyword import iskeyword
from types import CoroutineType, GeneratorType
from typing import Any
from uuid import UUID

from graphene.types.resolver import dict_or_attr_resolver
from graphql import (
    ExecutionContext,
    FragmentSpreadNode,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLID,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLString,
    InlineFragmentNode,
    located_error,
)
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path, Undefined, is_iterable
from graphql.pyutils import is_awaitable as _graphql_is_awaitable

try:
    from graphene_django import DjangoObjectType

    _DJANGO_IS_TYPE_OF = DjangoObjectType.is_type_of.__func__
    _DJANGO_RESOLVE_ID = DjangoObjectType.resolve_id
except ImportError:  # pragma: no cover - graphene-django ships with the platform
    _DJANGO_IS_TYPE_OF = _DJANGO_RESOLVE_ID = None
try:
    from graphene.types.decimal import Decimal as _GrapheneDecimal

    _GRAPHENE_DECIMAL_SERIALIZE = _GrapheneDecimal.serialize  # a static method: str(Decimal)
except ImportError:  # pragma: no cover - graphene ships with the platform
    _GRAPHENE_DECIMAL_SERIALIZE = None
try:
    from graphene.relay.id_type import DefaultGlobalIDType
    from graphene.relay.node import GlobalID

    _GLOBAL_ID_RESOLVER = GlobalID.id_resolver
    _DEFAULT_GLOBAL_ID_TYPE_TO_GLOBAL_ID = DefaultGlobalIDType.to_global_id.__func__
except ImportError:  # pragma: no cover - graphene ships with the platform
    _GLOBAL_ID_RESOLVER = _DEFAULT_GLOBAL_ID_TYPE_TO_GLOBAL_ID = None
from django.utils.functional import SimpleLazyObject as _LAZY

_LEAF = (GraphQLScalarType, GraphQLEnumType)
_AWAITABLE_BY_TYPE: dict[type, bool] = {}


def is_awaitable(value: Any) -> bool:
    """graphql-core's ``is_awaitable``, decided once per type for plain values."""
    kind = type(value)
    known = _AWAITABLE_BY_TYPE.get(kind)
    if known is None:
        if issubclass(kind, (CoroutineType, GeneratorType)):
            return _graphql_is_awaitable(value)
        known = _AWAITABLE_BY_TYPE[kind] = hasattr(kind, "__await__")
    return known


_UNKNOWN = object()
# Result types a scalar or enum field serialises as they are (no await, no error).
_PLAIN_SCALAR = dict.fromkeys((str, int, float, bool, Decimal, date, datetime, time, UUID), True)


class _NotPlain(Exception):
    """Internal: the value needs graphql-core's general completion."""


def reads_root_only(resolver):
    """Mark a resolver that reads nothing but its root (never ``info``) and may be
    called again with the same answer: :class:`FastExecutionContext` calls it as
    ``resolver(root, None)``, like a default resolver, without building resolve info
    (and calls it again through graphql-core when the value needs that path)."""
    resolver._graphql_reads_root_only = True
    return resolver


class NeedsInfo(Exception):  # noqa: N818 - a signal, not an error
    """Raised by a :func:`reads_root_first` resolver called without ``info`` when it
    cannot answer from its root alone."""


def reads_root_first(resolver):
    """Mark a resolver that answers from its root when it can (a value the page put
    there) and raises :class:`NeedsInfo` when called with ``info=None`` and it cannot.
    Inside an object completed by a plan it is called as ``resolver(root, None)``; on
    :class:`NeedsInfo` (or anything unusual) the object goes through graphql-core,
    which calls it again with ``info``. It must answer the same when called again."""
    resolver._graphql_reads_root_first = True
    return resolver


def _global_id_reader(resolve, parent_type_name: str | None):
    """For relay's ``id`` field (``GlobalID.id_resolver`` over graphene-django's
    ``resolve_id``, which returns ``root.pk``): a root-only resolver giving the same
    global id, the type's name known from the plan; None for any other resolver."""
    if (
        _GLOBAL_ID_RESOLVER is None
        or not isinstance(resolve, partial)
        or resolve.func is not _GLOBAL_ID_RESOLVER
        or len(resolve.args) != 2
        or set(resolve.keywords) - {"parent_type_name"}
        or resolve.args[0] is not _DJANGO_RESOLVE_ID
    ):
        return None
    node = resolve.args[1]
    type_name = resolve.keywords.get("parent_type_name") or parent_type_name
    if not type_name:
        return None
    if not _default_global_ids(node):

        def read_global_id(root, _info):
            return node.to_global_id(type_name, root.pk)

        return read_global_id
    prefix = f"{type_name}:"

    def read_default_global_id(root, _info):
        # graphql-relay's to_global_id: base64 of "Type:id", an int id as its str.
        pk = root.pk
        if type(pk) is int:
            return _b2a_base64((prefix + str(pk)).encode(), newline=False).decode("ascii")
        return node.to_global_id(type_name, pk)

    return read_default_global_id


def _default_global_ids(node) -> bool:
    """Whether ``node`` makes graphene's default global ids (graphql-relay's
    ``to_global_id``, nothing overridden on the way)."""
    try:
        from graphene.relay import id_type
        from graphene.relay.node import Node
        from graphql_relay import to_global_id
    except ImportError:  # pragma: no cover - graphene ships with the platform
        return False
    return (
        getattr(node.to_global_id, "__func__", None) is Node.to_global_id.__func__
        and getattr(getattr(node, "_meta", None), "global_id_type", None)
        is id_type.DefaultGlobalIDType
        and id_type.DefaultGlobalIDType.to_global_id.__func__
        is _DEFAULT_GLOBAL_ID_TYPE_TO_GLOBAL_ID
        and id_type.to_global_id is to_global_id
    )


def _default_read(
    field_def, *, in_plan: bool = False, parent_type_name: str | None = None
) -> tuple | None:
    """``(attname, default, None)`` when graphene's default resolver reads the field
    (an attribute or a dict key), ``(None, None, resolver)`` for a resolver marked
    with :func:`reads_root_only` (or, ``in_plan``, :func:`reads_root_first`, and
    relay's global id of a graphene-django type); None otherwise, and for fields with
    arguments."""
    resolve = field_def.resolve
    if field_def.args:
        return None
    if getattr(resolve, "_graphql_reads_root_only", False) or (
        in_plan and getattr(resolve, "_graphql_reads_root_first", False)
    ):
        return None, None, resolve
    if in_plan:
        read_global_id = _global_id_reader(resolve, parent_type_name)
        if read_global_id is not None:
            return None, None, read_global_id
    if (
        not isinstance(resolve, partial)
        or resolve.func is not dict_or_attr_resolver
        or len(resolve.args) != 2
        or resolve.keywords
    ):
        return None
    return (*resolve.args, None)


def _plain_leaf(field_def) -> tuple | None:
    """``(attname, default, leaf type, non-null, root-only resolver or None)`` when the
    field is a scalar or enum without arguments read as :func:`_default_read` says;
    None otherwise."""
    read = _default_read(field_def)
    if read is None:
        return None
    return_type = field_def.type
    non_null = type(return_type) is GraphQLNonNull
    leaf = return_type.of_type if non_null else return_type
    if not isinstance(leaf, _LEAF):
        return None
    attname, default, resolve = read
    return attname, default, leaf, non_null, resolve


_LEAF_FIELD, _OBJECT_FIELD, _LIST_FIELD = 0, 1, 2
# Leaves whose usual value serialises to itself (or, for Decimal, to its ``str``): a
# ``str`` for String and ID, an ``int`` in Int's 32-bit range, a ``bool`` for Boolean,
# a ``Decimal`` for graphene's Decimal. Any other value takes the leaf's ``serialize``.
_STRING_LEAF, _INT_LEAF, _BOOLEAN_LEAF, _DECIMAL_LEAF = 3, 4, 5, 6
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1
_SEQUENCES = (list, tuple)


def _leaf_kind(leaf_type) -> int:
    """The kind of a leaf field: one of the direct kinds above for graphql-core's
    String, ID, Int and Boolean and graphene's Decimal (their ``serialize`` unchanged),
    else ``_LEAF_FIELD``."""
    serialize = leaf_type.serialize
    if serialize is GraphQLString.serialize or serialize is GraphQLID.serialize:
        return _STRING_LEAF
    if serialize is GraphQLInt.serialize:
        return _INT_LEAF
    if serialize is GraphQLBoolean.serialize:
        return _BOOLEAN_LEAF
    if _GRAPHENE_DECIMAL_SERIALIZE is not None and serialize is _GRAPHENE_DECIMAL_SERIALIZE:
        return _DECIMAL_LEAF
    return _LEAF_FIELD


def _direct_leaf(kind: int, value: Any) -> Any:
    """``value`` serialised when it is the usual type of a direct leaf kind, else
    ``_UNKNOWN`` (the leaf's ``serialize`` decides)."""
    value_type = type(value)
    if kind == _STRING_LEAF:
        return value if value_type is str else _UNKNOWN
    if kind == _DECIMAL_LEAF:
        return str(value) if value_type is Decimal else _UNKNOWN
    if kind == _INT_LEAF:
        return value if value_type is int and _INT_MIN <= value <= _INT_MAX else _UNKNOWN
    if kind == _BOOLEAN_LEAF:
        return value if value_type is bool else _UNKNOWN
    return _UNKNOWN


class _Plan:
    """How to complete one object type under one selection, when every field of the
    selection is a default-resolved read (or a :func:`reads_root_only` resolver): a tuple
    of ``(response name, attname, default, kind, what, non_null, resolver)`` where ``what`` is the
    leaf's ``serialize`` (``_LEAF_FIELD``), the nested plan (``_OBJECT_FIELD``) or
    ``(item kind, item what, item non-null)`` (``_LIST_FIELD``). ``model_type``: the
    type, when it checks values with graphene-django's ``is_type_of`` (a plan completes
    only values of a class that check already accepted; see ``_MODEL_TYPE_OF``).
    ``run(source)``: the plan as a Python function of its own (:func:`_compile`).
    ``shareable``: whether the plan depends on its selection alone (no directive in it
    or in a nested plan's), so later operations of the same document may reuse it."""

    __slots__ = ("fields", "model_type", "run", "shareable")

    def __init__(
        self,
        fields: tuple,
        model_type: GraphQLObjectType | None = None,
        shareable: bool = False,
    ) -> None:
        self.fields = fields
        self.model_type = model_type
        self.shareable = shareable
        self.run = _compile(self)


_SPECIAL_BY_TYPE: dict[type, bool] = {}


def _special(value: Any) -> bool:
    """Values graphql-core treats specially: raised errors and awaitables (decided
    once per type, coroutines and generators aside, as :func:`is_awaitable` does)."""
    kind = type(value)
    special = _SPECIAL_BY_TYPE.get(kind)
    if special is None:
        special = issubclass(kind, Exception) or is_awaitable(value)
        if not issubclass(kind, (CoroutineType, GeneratorType)):
            _SPECIAL_BY_TYPE[kind] = special
    return special


def _complete_item(kind: int, what: Any, value: Any) -> Any:
    if kind > _LIST_FIELD:
        direct = _direct_leaf(kind, value)
        if direct is not _UNKNOWN:
            return direct
    if kind == _LEAF_FIELD or kind > _LIST_FIELD:
        if not _PLAIN_SCALAR.get(type(value), False):
            raise _NotPlain
        serialized = what(value)
        if serialized is None or serialized is Undefined:
            raise _NotPlain
        return serialized
    if _special(value):
        raise _NotPlain
    return _run_plan(what, value)


def _run_plan(plan: _Plan, source: Any) -> dict:
    """The completed object, or :class:`_NotPlain` (raised before any side effect
    other than attribute reads and root-first resolvers) when graphql-core's general
    path must do it."""
    return plan.run(source)


def _interpret(plan: _Plan, source: Any) -> dict:
    """What ``plan.run(source)`` answers, field by field: the reference the compiled
    plans follow, and the way a plan reads dicts (the compiled code reads attributes)."""
    if plan.model_type is not None and (plan.model_type, type(source)) not in _MODEL_TYPE_OF:
        raise _NotPlain
    out = {}
    is_dict = isinstance(source, dict)
    for name, attname, default, kind, what, non_null, resolve in plan.fields:
        if resolve is not None:
            value = resolve(source, None)
        elif is_dict:
            value = source.get(attname, default)
        else:
            value = getattr(source, attname, default)
        if value is None or value is Undefined:
            if non_null:
                raise _NotPlain
            out[name] = None
        elif kind == _STRING_LEAF and type(value) is str:
            out[name] = value
        elif kind == _DECIMAL_LEAF and type(value) is Decimal:
            out[name] = str(value)
        elif kind == _INT_LEAF and type(value) is int and _INT_MIN <= value <= _INT_MAX:
            out[name] = value
        elif kind == _LEAF_FIELD or kind > _LIST_FIELD:
            if not _PLAIN_SCALAR.get(type(value), False):
                raise _NotPlain
            serialized = what(value)
            if serialized is None or serialized is Undefined:
                raise _NotPlain
            out[name] = serialized
        elif kind == _OBJECT_FIELD:
            if _special(value):
                raise _NotPlain
            out[name] = what.run(value)
        else:
            if type(value) not in _SEQUENCES:  # generators, querysets: not read twice
                raise _NotPlain
            item_kind, item_what, item_non_null = what
            items = []
            append = items.append
            for item in value:
                if item is None or item is Undefined:
                    if item_non_null:
                        raise _NotPlain
                    append(None)
                elif item_kind == _OBJECT_FIELD:
                    if _special(item):
                        raise _NotPlain
                    append(item_what.run(item))
                else:
                    append(_complete_item(item_kind, item_what, item))
            out[name] = items
    return out


def _leaf_value(kind: int, what: Any, non_null: bool, value: Any) -> Any:
    """A leaf field's value as :func:`_interpret` completes it: for the values a compiled
    plan does not put in the result as they are."""
    if value is None or value is Undefined:
        if non_null:
            raise _NotPlain
        return None
    return _complete_item(kind, what, value)


def _leaf_items(kind: int, what: Any, non_null: bool, values: Any) -> list:
    """A list of leaves as :func:`_interpret` completes it."""
    items = []
    append = items.append
    for item in values:
        if item is None or item is Undefined:
            if non_null:
                raise _NotPlain
            append(None)
        else:
            append(_complete_item(kind, what, item))
    return items


# Classes whose values a plan without a graphene-django type reads as they come: not
# null, not special (an error or an awaitable), not a dict (read by the interpreter).
_PLAIN_SOURCE: dict[type, bool] = {}


def _remember_plain_source(source: Any) -> None:
    """Note the class of ``source``, just found plain, unless its values may differ."""
    kind = type(source)
    if not issubclass(kind, (CoroutineType, GeneratorType)) and len(_PLAIN_SOURCE) < 10_000:
        _PLAIN_SOURCE[kind] = True


# Compiled plans: the Python source of a plan's function depends on its shape only
# (names, attributes, kinds, nullability); the objects it uses (types, resolvers,
# nested plans) are arguments of a factory made once per source and called per plan.
_FACTORIES: dict[str, Any] = {}
_FACTORIES_MAX = 1024
_COMPILE_GLOBALS = {
    "__builtins__": __builtins__,
    "Decimal": Decimal,
    "Undefined": Undefined,
    "_NotPlain": _NotPlain,
    "_PLAIN_SOURCE_GET": _PLAIN_SOURCE.get,
    "_remember_plain_source": _remember_plain_source,
    "_special": _special,
    "_interpret": _interpret,
    "_leaf_value": _leaf_value,
    "_leaf_items": _leaf_items,
}
_DIRECT_TEST = {
    _STRING_LEAF: "type({v}) is not str",
    _INT_LEAF: "type({v}) is not int or not -2147483648 <= {v} <= 2147483647",
    _BOOLEAN_LEAF: "type({v}) is not bool",
}


def _is_plain_name(name: Any) -> bool:
    return isinstance(name, str) and name.isidentifier() and not iskeyword(name)


def _compile(plan: _Plan):
    """``plan`` as a function of its source object answering as :func:`_interpret`
    does (the same result, or :class:`_NotPlain` where it raises it, reading the fields
    in the same order), without the interpreter's per-field dispatch: each field's read
    and completion is written out for its kind, attributes are read as attributes, and
    the result is built by one dict display.

    Preamble: a value of a graphene-django type must be of a class its ``is_type_of``
    accepted (such a class is neither an error, an awaitable nor a dict, see
    :func:`_remember_model_type_of`); any other value must not be null or special, and a
    dict is read by the interpreter (both decided once per class: ``_PLAIN_SOURCE``)."""
    consts: list = []

    def const(value: Any) -> str:
        consts.append(value)
        return f"c{len(consts) - 1}"

    body = []
    add = body.append
    if plan.model_type is not None:
        accepted = _MODEL_CLASSES.setdefault(plan.model_type, set())
        add(f"if type(source) not in {const(accepted)}:")
        add("    raise _NotPlain")
    else:
        add("if _PLAIN_SOURCE_GET(type(source)) is not True:")
        add("    if source is None or source is Undefined or _special(source):")
        add("        raise _NotPlain")
        add("    if isinstance(source, dict):")
        add(f"        return _interpret({const(plan)}, source)")
        add("    _remember_plain_source(source)")
    names = []
    for index, (name, attname, default, kind, what, non_null, resolve) in enumerate(plan.fields):
        v = f"v{index}"
        names.append((name, v))
        if resolve is not None:
            add(f"{v} = {const(resolve)}(source, None)")
        elif _is_plain_name(attname):
            add("try:")
            add(f"    {v} = source.{attname}")
            add("except AttributeError:")
            add(f"    {v} = {const(default) if default is not None else 'None'}")
        else:
            add(f"{v} = getattr(source, {const(attname)}, {const(default)})")
        null = "raise _NotPlain" if non_null else f"{v} = None"
        if kind == _OBJECT_FIELD:
            add(f"if {v} is None or {v} is Undefined:")
            add(f"    {null}")
            add("else:")
            add(f"    {v} = {const(what.run)}({v})")
        elif kind == _LIST_FIELD:
            item_kind, item_what, item_non_null = what
            add(f"if {v} is None or {v} is Undefined:")
            add(f"    {null}")
            add(f"elif type({v}) is not list and type({v}) is not tuple:")
            add("    raise _NotPlain  # generators, querysets: not read twice")
            add("else:")
            if item_kind == _OBJECT_FIELD:
                run = const(item_what.run)
                if item_non_null:  # a null item fails the item's preamble
                    add(f"    {v} = list(map({run}, {v}))")
                else:
                    add(
                        f"    {v} = [None if item is None or item is Undefined"
                        f" else {run}(item) for item in {v}]"
                    )
            else:
                add(f"    {v} = _leaf_items({item_kind}, {const(item_what)}, {item_non_null}, {v})")
        elif kind == _DECIMAL_LEAF:
            add(f"if type({v}) is Decimal:")
            add(f"    {v} = str({v})")
            add("else:")
            add(f"    {v} = _leaf_value({kind}, {const(what)}, {non_null}, {v})")
        elif kind in _DIRECT_TEST:
            add(f"if {_DIRECT_TEST[kind].format(v=v)}:")
            add(f"    {v} = _leaf_value({kind}, {const(what)}, {non_null}, {v})")
        else:
            add(f"{v} = _leaf_value({kind}, {const(what)}, {non_null}, {v})")
    add("return {" + ", ".join(f"{name!r}: {v}" for name, v in names) + "}")
    source = (
        f"def factory({', '.join(f'c{i}' for i in range(len(consts)))}):\n"
        "    def run(source):\n"
        + "".join(f"        {line}\n" for line in body)
        + "    return run\n"
    )
    factory = _FACTORIES.get(source)
    if factory is None:
        namespace: dict[str, Any] = {}
        exec(compile(source, "<graphql plan>", "exec"), _COMPILE_GLOBALS, namespace)  # noqa: S102 - source built above from names and kinds
        factory = namespace["factory"]
        if len(_FACTORIES) >= _FACTORIES_MAX:
            _FACTORIES.clear()
        _FACTORIES[source] = factory
    return factory(*consts)


# (object type, Python class) pairs graphene-django's ``is_type_of`` accepted. Its answer
# depends on the class alone (``isinstance`` and the class's model), so it is asked once
# per class; any other ``is_type_of`` is asked for every value, as graphql-core does.
_MODEL_TYPE_OF: set[tuple[GraphQLObjectType, type]] = set()
# The same, as the classes each type accepted (what compiled plans test).
_MODEL_CLASSES: dict[GraphQLObjectType, set[type]] = {}


def _remember_model_type_of(return_type: GraphQLObjectType, result: Any) -> None:
    """Note that ``return_type`` accepted ``result`` (called after it did, without error)."""
    is_type_of = return_type.is_type_of
    if (
        _DJANGO_IS_TYPE_OF is not None
        and getattr(is_type_of, "__func__", None) is _DJANGO_IS_TYPE_OF
        and not isinstance(result, (_LAZY, dict))
        and not _special(result)
        and len(_MODEL_TYPE_OF) < 10_000
    ):
        _MODEL_TYPE_OF.add((return_type, type(result)))
        _MODEL_CLASSES.setdefault(return_type, set()).add(type(result))


# Plans kept across operations, by (object type, ids of the field nodes): documents are
# parsed once and cached (core.api.view), so an operation sent again selects with the same
# nodes. Only plans whose selection has no directive are kept (``@include``/``@skip``
# select with the variables), and only for contexts without middleware (which never plan).
_SHARED_PLANS: dict[tuple, tuple[tuple, _Plan]] = {}
_SHARED_PLANS_MAX = 4096


def _unconditional(selection_set, fragments: dict, seen: set) -> bool:
    """Whether the fields one level of ``selection_set`` selects (through inline
    fragments and fragment spreads) are selected without any directive."""
    if selection_set is None:
        return True
    for selection in selection_set.selections:
        if selection.directives:
            return False
        if isinstance(selection, InlineFragmentNode):
            if not _unconditional(selection.selection_set, fragments, seen):
                return False
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in seen:
                continue
            seen.add(name)
            fragment = fragments.get(name)
            if fragment is None or not _unconditional(fragment.selection_set, fragments, seen):
                return False
    return True


class FastExecutionContext(ExecutionContext):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.is_awaitable = is_awaitable
        self._plans: dict = {}

    def _plan(self, return_type: GraphQLObjectType, field_nodes) -> _Plan | None:
        """The plan for ``return_type`` under ``field_nodes`` (None when some field
        needs graphql-core: a resolver, arguments, ``__typename``, an abstract type,
        nested lists, ``is_type_of``), made once per request: the selection depends
        on the variables (``@include``/``@skip``). A plan whose selection has no
        directive is kept for the next operations of the same (cached) document:
        :data:`_SHARED_PLANS`."""
        key = (
            (return_type, id(field_nodes[0]))
            if len(field_nodes) == 1
            else (return_type, *map(id, field_nodes))
        )
        plans = self._plans
        if key in plans:
            return plans[key]
        if not self.middleware_manager:
            shared = _SHARED_PLANS.get(key)
            if shared is not None:
                plans[key] = shared[1]
                return shared[1]
        plans[key] = None  # a (never valid) cycle stops here
        plan = self._make_plan(return_type, field_nodes)
        plans[key] = plan
        if plan is not None and plan.shareable:
            if len(_SHARED_PLANS) >= _SHARED_PLANS_MAX:
                _SHARED_PLANS.clear()
            # The entry holds the nodes: while it lives, no other node can have their ids.
            _SHARED_PLANS[key] = (tuple(field_nodes), plan)
        return plan

    def _make_plan(self, return_type: GraphQLObjectType, field_nodes) -> _Plan | None:
        if self.middleware_manager:
            return None
        model_type = None
        is_type_of = return_type.is_type_of
        if is_type_of is not None:
            if (
                _DJANGO_IS_TYPE_OF is None
                or getattr(is_type_of, "__func__", None) is not _DJANGO_IS_TYPE_OF
            ):
                return None
            model_type = return_type
        fields = []
        shareable = all(
            _unconditional(node.selection_set, self.fragments, set()) for node in field_nodes
        )
        type_fields = return_type.fields
        for response_name, nodes in self.collect_subfields(return_type, field_nodes).items():
            field_def = type_fields.get(nodes[0].name.value)
            if field_def is None:
                return None
            read = _default_read(field_def, in_plan=True, parent_type_name=return_type.name)
            if read is None:
                return None
            attname, default, resolve = read
            field_type = field_def.type
            non_null = type(field_type) is GraphQLNonNull
            if non_null:
                field_type = field_type.of_type
            if type(field_type) is GraphQLList:
                item_type = field_type.of_type
                item_non_null = type(item_type) is GraphQLNonNull
                if item_non_null:
                    item_type = item_type.of_type
                item = self._plan_part(item_type, nodes)
                if item is None:
                    return None
                fields.append(
                    (
                        response_name,
                        attname,
                        default,
                        _LIST_FIELD,
                        (*item, item_non_null),
                        non_null,
                        resolve,
                    )
                )
                continue
            part = self._plan_part(field_type, nodes)
            if part is None:
                return None
            fields.append((response_name, attname, default, part[0], part[1], non_null, resolve))
        for field in fields:
            nested = field[4][1] if field[3] == _LIST_FIELD else field[4]
            if isinstance(nested, _Plan) and not nested.shareable:
                shareable = False
        return _Plan(tuple(fields), model_type, shareable)

    def _plan_part(self, named_type, nodes) -> tuple | None:
        if isinstance(named_type, _LEAF):
            return _leaf_kind(named_type), named_type.serialize
        if isinstance(named_type, GraphQLObjectType):
            plan = self._plan(named_type, nodes)
            return (_OBJECT_FIELD, plan) if plan is not None else None
        return None

    def execute_fields(self, parent_type, source_value, path, fields):
        """graphql-core's ``execute_fields``, with plain scalars (see
        :meth:`_execute_plain_leaf`) read in the loop: their ``Path`` is only made
        when an error needs it."""
        if self.middleware_manager:
            return super().execute_fields(parent_type, source_value, path, fields)
        results = {}
        awaitable_fields = []
        type_fields = parent_type.fields
        type_name = parent_type.name
        for response_name, field_nodes in fields.items():
            field_def = type_fields.get(field_nodes[0].name.value)
            if field_def is not None:
                plain = field_def.__dict__.get("_plain_leaf", _UNKNOWN)
                if plain is _UNKNOWN:
                    plain = field_def._plain_leaf = _plain_leaf(field_def)
                if plain is not None:
                    attname, default, leaf, non_null, resolve = plain
                    try:
                        if resolve is not None:
                            result = resolve(source_value, None)
                        elif isinstance(source_value, dict):
                            result = source_value.get(attname, default)
                        else:
                            result = getattr(source_value, attname, default)
                        if result is None or result is Undefined:
                            if non_null:
                                raise TypeError(
                                    "Cannot return null for non-nullable field"
                                    f" {type_name}.{field_nodes[0].name.value}."
                                )
                            results[response_name] = None
                            continue
                        if not _PLAIN_SCALAR.get(type(result), False):
                            # awaitables, exceptions, anything unusual: the general path
                            raise _NotPlain
                        results[response_name] = self.complete_leaf_value(leaf, result)
                        continue
                    except _NotPlain:
                        pass
                    except Exception as raw_error:
                        field_path = Path(path, response_name, type_name)
                        error = located_error(raw_error, field_nodes, field_path.as_list())
                        self.handle_field_error(error, field_def.type, field_path)
                        results[response_name] = None
                        continue
                    field_path = Path(path, response_name, type_name)
                    result = self._execute_plain_leaf(
                        plain, parent_type, source_value, field_nodes, field_path, field_def
                    )
                    results[response_name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(response_name)
                    continue
            field_path = Path(path, response_name, type_name)
            result = self.execute_field(parent_type, source_value, field_nodes, field_path)
            if result is not Undefined:
                results[response_name] = result
                if is_awaitable(result):
                    awaitable_fields.append(response_name)
        if not awaitable_fields:
            return results

        async def get_results():
            values = await gather(*(results[name] for name in awaitable_fields))
            results.update(zip(awaitable_fields, values, strict=True))
            return results

        return get_results()

    def execute_field(self, parent_type, source, field_nodes, path):
        field_node = field_nodes[0]
        name = field_node.name.value
        if self.middleware_manager or name.startswith("__"):
            return super().execute_field(parent_type, source, field_nodes, path)
        field_def = parent_type.fields.get(name)
        if not field_def:
            return Undefined
        return_type = field_def.type
        plain = field_def.__dict__.get("_plain_leaf", _UNKNOWN)
        if plain is _UNKNOWN:
            plain = field_def._plain_leaf = _plain_leaf(field_def)
        if plain is not None:
            return self._execute_plain_leaf(
                plain, parent_type, source, field_nodes, path, field_def
            )
        resolve_fn = field_def.resolve or self.field_resolver
        info = self.build_resolve_info(field_def, field_nodes, parent_type, path)
        try:
            if field_def.args:
                args = get_argument_values(field_def, field_node, self.variable_values)
                result = resolve_fn(source, info, **args)
            else:
                result = resolve_fn(source, info)
            if is_awaitable(result):
                return self._await_field(return_type, field_nodes, info, path, result)
            completed = self.complete_value(return_type, field_nodes, info, path, result)
            if is_awaitable(completed):
                return self._await_completed(return_type, field_nodes, path, completed)
            return completed
        except Exception as raw_error:
            error = located_error(raw_error, field_nodes, path.as_list())
            self.handle_field_error(error, return_type, path)
            return None

    def _execute_plain_leaf(self, plain, parent_type, source, field_nodes, path, field_def):
        """A scalar read by graphene's default resolver (an attribute or a dict key):
        read it and serialise it without building the resolve info it never uses."""
        attname, default, leaf, non_null, resolve = plain
        return_type = field_def.type
        try:
            if resolve is not None:
                result = resolve(source, None)
            elif isinstance(source, dict):
                result = source.get(attname, default)
            else:
                result = getattr(source, attname, default)
            if is_awaitable(result):
                info = self.build_resolve_info(field_def, field_nodes, parent_type, path)
                return self._await_field(return_type, field_nodes, info, path, result)
            if isinstance(result, Exception):
                raise result
            if result is None or result is Undefined:
                if non_null:
                    raise TypeError(
                        "Cannot return null for non-nullable field"
                        f" {parent_type.name}.{field_nodes[0].name.value}."
                    )
                return None
            return self.complete_leaf_value(leaf, result)
        except Exception as raw_error:
            error = located_error(raw_error, field_nodes, path.as_list())
            self.handle_field_error(error, return_type, path)
            return None

    async def _await_field(self, return_type, field_nodes, info, path, result):
        try:
            completed = self.complete_value(return_type, field_nodes, info, path, await result)
            if is_awaitable(completed):
                return await completed
            return completed
        except Exception as raw_error:
            error = located_error(raw_error, field_nodes, path.as_list())
            self.handle_field_error(error, return_type, path)
            return None

    async def _await_completed(self, return_type, field_nodes, path, completed):
        try:
            return await completed
        except Exception as raw_error:
            error = located_error(raw_error, field_nodes, path.as_list())
            self.handle_field_error(error, return_type, path)
            return None

    def complete_value(self, return_type, field_nodes, info, path, result):
        """graphql-core's ``complete_value`` with the type tests done inline."""
        if isinstance(result, Exception):
            raise result
        kind = type(return_type)
        if kind is GraphQLNonNull:
            completed = self.complete_value(return_type.of_type, field_nodes, info, path, result)
            if completed is None:
                raise TypeError(
                    "Cannot return null for non-nullable field"
                    f" {info.parent_type.name}.{info.field_name}."
                )
            return completed
        if result is None or result is Undefined:
            return None
        if kind is GraphQLList:
            return self.complete_list_value(return_type, field_nodes, info, path, result)
        if isinstance(return_type, _LEAF):
            return self.complete_leaf_value(return_type, result)
        if isinstance(return_type, GraphQLObjectType):
            plan = self._plan(return_type, field_nodes)
            if plan is not None and not _special(result):
                try:
                    return _run_plan(plan, result)
                except Exception:  # noqa: BLE001 - graphql-core's path reports it
                    pass
            if (return_type, type(result)) in _MODEL_TYPE_OF:
                return self.execute_fields(
                    return_type, result, path, self.collect_subfields(return_type, field_nodes)
                )
            completed = self.complete_object_value(return_type, field_nodes, info, path, result)
            _remember_model_type_of(return_type, result)
            return completed
        return super().complete_value(return_type, field_nodes, info, path, result)

    def complete_list_value(self, return_type, field_nodes, info, path, result):
        """graphql-core's ``complete_list_value`` without the per-item generality: an
        iterable of plain (not awaitable) items is completed in a loop; anything else
        goes to graphql-core's own code before any item is completed."""
        if not is_iterable(result):
            return super().complete_list_value(return_type, field_nodes, info, path, result)
        items = result if type(result) is list else list(result)
        for item in items:
            if is_awaitable(item):
                return super().complete_list_value(return_type, field_nodes, info, path, items)
        item_type = return_type.of_type
        named = item_type.of_type if type(item_type) is GraphQLNonNull else item_type
        plan = self._plan(named, field_nodes) if isinstance(named, GraphQLObjectType) else None
        completed_results = []
        append = completed_results.append
        awaitable_indices = []
        for index, item in enumerate(items):
            if plan is not None and item is not None and not _special(item):
                try:  # an object a plan completes: no path, no recursion
                    append(_run_plan(plan, item))
                    continue
                except Exception:  # noqa: BLE001 - graphql-core's path reports it
                    pass
            item_path = path.add_key(index, None)
            try:
                completed = self.complete_value(item_type, field_nodes, info, item_path, item)
                if is_awaitable(completed):
                    completed = self._await_item(completed, field_nodes, item_type, item_path)
                    awaitable_indices.append(index)
            except Exception as raw_error:
                error = located_error(raw_error, field_nodes, item_path.as_list())
                self.handle_field_error(error, item_type, item_path)
                completed = None
            append(completed)
        if not awaitable_indices:
            return completed_results

        async def get_completed_results():
            values = await gather(*(completed_results[i] for i in awaitable_indices))
            for index, value in zip(awaitable_indices, values, strict=True):
                completed_results[index] = value
            return completed_results

        return get_completed_results()

    async def _await_item(self, completed, field_nodes, item_type, item_path):
        try:
            return await completed
        except Exception as raw_error:
            error = located_error(raw_error, field_nodes, item_path.as_list())
            self.handle_field_error(error, item_type, item_path)
            return None
