"""Building blocks every app's ``schema.py`` uses: typed errors, the base mutation,
permission checks, capped connections."""

from __future__ import annotations

from collections.abc import Iterable

import graphene
from django.conf import settings
from django.utils.translation import gettext as _
from graphene.relay.node import NodeField as GrapheneNodeField
from graphql import GraphQLError
from graphql_relay import from_global_id

from core.exceptions import DomainError

_error_types: dict[str, type[graphene.ObjectType]] = {}


def error_type(
    name: str, codes: Iterable[str], description: str = "", extra: dict | None = None
) -> type[graphene.ObjectType]:
    """An error object type ``<Name>Error`` with ``field``, ``message`` and ``code: <Name>ErrorCode!``.

    Every mutation of a domain returns ``errors: [<Name>Error!]!``; bad input is
    reported there, never as a 500 or a bare string.
    """
    if name in _error_types:
        return _error_types[name]
    enum = graphene.Enum(f"{name}ErrorCode", [(c, c) for c in sorted(set(codes))])
    attrs = {
        "field": graphene.String(
            description="The input field the error is about; null for the whole input."
        ),
        "message": graphene.String(
            required=True, description="What went wrong, in the user's language."
        ),
        "code": graphene.Field(enum, required=True, description="A stable code for programs."),
        "Meta": type(
            "Meta", (), {"description": description or f"An error from a {name} mutation."}
        ),
        **(extra or {}),
    }
    cls = type(f"{name}Error", (graphene.ObjectType,), attrs)
    cls.codes = frozenset(codes)
    cls.extra_names = tuple((extra or {}).keys())
    _error_types[name] = cls
    return cls


class BaseMutation(graphene.Mutation):
    """A mutation whose ``perform`` may raise :class:`DomainError`.

    Subclasses set ``error_type`` and implement ``perform(cls, root, info, **input)``
    returning the payload. A domain error becomes ``errors: [...]`` in the payload
    and the mutation's transaction is rolled back (nothing half-done).
    """

    class Meta:
        abstract = True

    # Whether a domain error rolls back the mutation's transaction. Signing in
    # keeps its failure counters (which live in the database cache by default).
    rollback_on_error = True

    @classmethod
    def __init_subclass_with_meta__(cls, error_type=None, **options):
        if error_type is not None:
            cls.error_type = error_type
            cls.errors = graphene.List(
                graphene.NonNull(error_type),
                required=True,
                description="What was wrong with the input; empty on success.",
            )
        super().__init_subclass_with_meta__(**options)

    @classmethod
    def mutate(cls, root, info, **data):
        try:
            payload = cls.perform(root, info, **data)
            if getattr(payload, "errors", None) is None:
                payload.errors = []
            return payload
        except DomainError as exc:
            if cls.rollback_on_error:
                info.context._mutation_failed = True
                # Which field failed: the view reports the others as rolled back too.
                failed = getattr(info.context, "_failed_mutations", None)
                if failed is None:
                    failed = info.context._failed_mutations = set()
                failed.add(info.path.key)
            errors = getattr(exc, "errors", None) or [exc]
            return cls(errors=[cls._as_error(e) for e in errors])

    @classmethod
    def _as_error(cls, exc: DomainError):
        code = exc.code if exc.code in cls.error_type.codes else "INVALID"
        extra = {name: exc.params.get(name) for name in cls.error_type.extra_names}
        return cls.error_type(field=exc.field, message=exc.message, code=code, **extra)

    @classmethod
    def perform(cls, root, info, **data):  # pragma: no cover - abstract
        raise NotImplementedError


# --- permissions -------------------------------------------------------------------
def _denied(message: str = "You do not have permission to do this.") -> GraphQLError:
    return GraphQLError(message, extensions={"code": "PERMISSION_DENIED"})


def current_user(info):
    user = getattr(info.context, "user", None)
    return user if user is not None and user.is_authenticated else None


def require_user(info):
    """The signed-in user, or a ``PERMISSION_DENIED`` error."""
    user = current_user(info)
    if user is None:
        raise _denied("Sign in first.")
    return user


def require_staff(info):
    user = require_user(info)
    if not user.is_staff_role:
        raise _denied()
    return user


def require_scope(info, scope: str):
    """Allow a staff user, or an API key that holds ``scope``."""
    key = getattr(info.context, "api_key", None)
    if key is not None:
        if scope not in key.scopes:
            raise _denied(f"This API key lacks the '{scope}' scope.")
        return key
    return require_staff(info)


class NodeField(GrapheneNodeField):
    """``node(id:)``. An ID that cannot be one of ours (not base64 of ``Type:number``
    for a type implementing ``Node``) is an ``INVALID`` error on ``id``; a well-formed
    ID of an object the caller may not see, or that does not exist, answers null."""

    def wrap_resolve(self, parent_resolver):
        resolve = super().wrap_resolve(parent_resolver)

        def resolve_node(root, info, id):  # noqa: A002 - the argument's name
            check_node_id(info, id)
            return resolve(root, info, id=id)

        return resolve_node


def check_node_id(info, global_id: str) -> None:
    try:
        type_name, pk = from_global_id(global_id)
    except Exception:  # noqa: BLE001 - binascii, Unicode or unpacking errors alike
        type_name, pk = "", ""
    object_type = info.schema.get_type(type_name) if type_name else None
    graphene_type = getattr(object_type, "graphene_type", None)
    meta = getattr(graphene_type, "_meta", None)
    if (
        not pk.isascii()
        or not pk.isdigit()
        or graphene.relay.Node not in getattr(meta, "interfaces", ())
    ):
        raise DomainError(
            _("Unknown id %(id)s.") % {"id": global_id[:64]}, field="id", code="INVALID"
        )


class CountableConnection(graphene.relay.Connection):
    """A Relay connection with ``totalCount``; page size capped by ``RELAY_CONNECTION_MAX_LIMIT``."""

    class Meta:
        abstract = True

    total_count = graphene.Int(
        required=True, description="Items in the whole result, across pages."
    )

    def resolve_total_count(root, info):
        length = getattr(root, "length", None)
        if length is not None:
            return length
        iterable = root.iterable
        return iterable.count() if hasattr(iterable, "count") else len(iterable)


MAX_PAGE = settings.GRAPHENE["RELAY_CONNECTION_MAX_LIMIT"]
