"""Plugins' GraphQL: stitching their fields into the root schema, and the gate
that makes those fields refuse tenants that have not enabled the plugin.

The root schema is built once per process and shared by every tenant, so a
plugin's fields exist for all of them. :func:`plugin_queries` and
:func:`plugin_mutations` therefore wrap every field a plugin contributes, and
the ``get_node`` of every ``relay.Node`` type reachable from those fields,
with :func:`ensure_plugin_enabled`: for a tenant without the plugin, the field
answers ``null`` and the response carries an error with
``extensions.code == "PLUGIN_DISABLED"``; the plugin's resolver never runs.

Use :func:`requires_plugin` for anything else a plugin exposes (a resolver on
a shared type, a view).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

import graphene
from django.db import connection
from django.utils.translation import gettext as _
from graphene.types.structures import Structure
from graphql import GraphQLError, GraphQLResolveInfo

from core.api.types import BaseMutation, error_type, require_user
from core.exceptions import DomainError

from .manager import DinghuoPluginManager, PluginContractError, enabled_modules, get_manager
from .services import UNKNOWN_PLUGIN

PLUGIN_DISABLED = "PLUGIN_DISABLED"


def current_tenant(info: GraphQLResolveInfo | None = None) -> Any:
    """The tenant of the request (``request.tenant``), else of the connection."""
    request = getattr(info, "context", None) if info is not None else None
    tenant = getattr(request, "tenant", None)
    return tenant if tenant is not None else getattr(connection, "tenant", None)


def plugin_disabled_error(name: str) -> GraphQLError:
    return GraphQLError(
        _("The %(plugin)s module is not enabled for this account.") % {"plugin": name},
        extensions={"code": PLUGIN_DISABLED, "plugin": name},
    )


def ensure_plugin_enabled(info: GraphQLResolveInfo | None, name: str) -> None:
    """Raise the ``PLUGIN_DISABLED`` error unless the current tenant enabled ``name``."""
    tenant = current_tenant(info)
    if name not in enabled_modules(tenant):
        raise plugin_disabled_error(name)


def _find_info(args: tuple[Any, ...], kwargs: dict[str, Any]) -> GraphQLResolveInfo | None:
    for value in args:
        if isinstance(value, GraphQLResolveInfo):
            return value
    info = kwargs.get("info")
    return info if isinstance(info, GraphQLResolveInfo) else None


def requires_plugin(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a resolver (``(root, info, ...)``), a ``mutate``/``get_node``
    classmethod's function or a ``perform`` so it refuses tenants without ``name``."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def gated(*args: Any, **kwargs: Any) -> Any:
            ensure_plugin_enabled(_find_info(args, kwargs), name)
            return func(*args, **kwargs)

        gated.plugin_gate = name  # type: ignore[attr-defined]
        return gated

    return decorate


def _gate_field(field: Any, name: str) -> None:
    if getattr(field, "_plugin_gate", None) == name:
        return
    original = field.wrap_resolve

    def wrap_resolve(parent_resolver: Callable[..., Any]) -> Callable[..., Any]:
        return requires_plugin(name)(original(parent_resolver))

    field.wrap_resolve = wrap_resolve
    field._plugin_gate = name


def _named_types(graphene_type: Any) -> Iterable[Any]:
    """The graphene types behind a field type (unwrapping lists, non-null and connections)."""
    while isinstance(graphene_type, Structure):
        graphene_type = graphene_type.of_type
    if callable(graphene_type) and not isinstance(graphene_type, type):
        graphene_type = graphene_type()  # lazy types ("lambda: BatchType")
    if isinstance(graphene_type, type) and issubclass(graphene_type, graphene.relay.Connection):
        yield graphene_type
        yield from _named_types(graphene_type._meta.node)
        return
    yield graphene_type


def _gate_nodes(root: type, name: str) -> None:
    """Gate ``get_node`` of every ``relay.Node`` type reachable from ``root``'s fields."""
    seen: set[type] = set()
    pending = [root]
    while pending:
        current = pending.pop()
        if current in seen or not hasattr(current, "_meta"):
            continue
        seen.add(current)
        fields = getattr(current._meta, "fields", None) or {}
        for field in fields.values():
            field_type = getattr(field, "type", None)
            if field_type is None:
                continue
            for named in _named_types(field_type):
                if isinstance(named, type) and issubclass(named, graphene.ObjectType):
                    pending.append(named)
        interfaces = getattr(current._meta, "interfaces", ()) or ()
        if graphene.relay.Node in interfaces and hasattr(current, "get_node"):
            if getattr(current, "_plugin_gate", None) != name:
                original = current.get_node.__func__

                def get_node(cls, info, id, _original=original):  # noqa: A002 - graphene's name
                    ensure_plugin_enabled(info, name)
                    return _original(cls, info, id)

                current.get_node = classmethod(get_node)
                current._plugin_gate = name


def gate_object_type(cls: type, name: str) -> type:
    """Gate every field of a plugin's Query/Mutation class, and the nodes under it."""
    if not (isinstance(cls, type) and issubclass(cls, graphene.ObjectType)):
        raise PluginContractError(
            f"Plugin {name!r}: graphql_query/graphql_mutation must return a graphene.ObjectType "
            f"subclass, not {cls!r}."
        )
    for attr, field in cls._meta.fields.items():
        _gate_field(field, name)
        # The root Query re-collects fields from class attributes, mounting
        # unmounted ones (graphene.List(...)) afresh: put the gated Field there.
        setattr(cls, attr, field)
    _gate_nodes(cls, name)
    return cls


def _contributions(hook: str, manager: DinghuoPluginManager | None) -> list[type]:
    m = manager or get_manager()
    return [gate_object_type(cls, plugin) for plugin, cls in m.call_each(hook).items()]


def plugin_queries(manager: DinghuoPluginManager | None = None) -> list[type]:
    """The plugin system's own ``Query`` (the tenant's plugins) and every installed
    plugin's gated Query class, for ``config.schema.QUERIES``."""
    return [Query, *_contributions("graphql_query", manager)]


def plugin_mutations(manager: DinghuoPluginManager | None = None) -> list[type]:
    """The plugin system's own ``Mutation`` (enable, disable) and every installed
    plugin's gated Mutation class, for ``config.schema.MUTATIONS``."""
    return [Mutation, *_contributions("graphql_mutation", manager)]


# --- the tenant's plugins: listing, enabling, disabling (tenant admins) ----------------------
def require_tenant_admin(info: GraphQLResolveInfo) -> Any:
    """The signed-in tenant admin, or a ``PERMISSION_DENIED`` error (dealers, staff, API keys)."""
    from core.accounts.models import Role

    user = require_user(info)
    if user.role != Role.TENANT_ADMIN and not user.is_superuser:
        raise GraphQLError(
            _("Only the account's administrators can manage its modules."),
            extensions={"code": "PERMISSION_DENIED"},
        )
    return user


def _json_value(value: Any) -> Any:
    """A setting's value for JSON: decimals as strings (no float rounding)."""
    return str(value) if isinstance(value, Decimal) else value


class PluginSettingType(graphene.ObjectType):
    class Meta:
        name = "PluginSetting"
        description = "One setting a plugin declares, with the tenant's value."

    name = graphene.String(required=True)
    type = graphene.String(required=True, description="bool, int, decimal, str or choice.")
    value = graphene.JSONString(
        description="The tenant's value (the default when it set none); decimals as strings."
    )
    default = graphene.JSONString()
    description = graphene.String(required=True)
    choices = graphene.List(graphene.NonNull(graphene.String), required=True)
    minimum = graphene.String(description="Lowest value allowed (int and decimal settings).")
    maximum = graphene.String(description="Highest value allowed (int and decimal settings).")


class PluginType(graphene.ObjectType):
    class Meta:
        name = "Plugin"
        description = "An industry module installed on the platform, as this account sees it."

    name = graphene.String(required=True, description="The module's name (entry-point name).")
    description = graphene.String(required=True)
    version = graphene.String(required=True, description="Empty for built-in modules.")
    enabled = graphene.Boolean(required=True, description="Whether this account enabled it.")
    settings = graphene.List(graphene.NonNull(PluginSettingType), required=True)

    @staticmethod
    def of(state: Any) -> PluginType:
        return PluginType(
            name=state.info.name,
            description=state.info.description,
            version=state.info.version,
            enabled=state.enabled,
            settings=[
                PluginSettingType(
                    name=spec.name,
                    type=spec.type,
                    value=_json_value(state.values.get(spec.name)),
                    default=_json_value(spec.default),
                    description=str(spec.description),
                    choices=list(spec.choices),
                    minimum=None if spec.minimum is None else str(spec.minimum),
                    maximum=None if spec.maximum is None else str(spec.maximum),
                )
                for spec in state.specs
            ],
        )


PluginError = error_type(
    "Plugin",
    [UNKNOWN_PLUGIN, "PLAN_LIMIT_EXCEEDED", "INVALID"],
    "Why a module cannot be enabled or disabled.",
)


def _tenant_for(info: GraphQLResolveInfo) -> Any:
    tenant = current_tenant(info)
    if tenant is None:  # pragma: no cover - the endpoint is only routed for tenants
        raise GraphQLError(_("No account."), extensions={"code": "NOT_FOUND"})
    return tenant


class _PluginSwitch(BaseMutation):
    """Enable or disable a module for this account (tenant admins); subclasses name
    the service that does it."""

    class Meta:
        abstract = True

    plugin = graphene.Field(PluginType)

    @staticmethod
    def change(tenant: Any, name: str) -> None:  # pragma: no cover - subclasses
        raise NotImplementedError

    @classmethod
    def perform(cls, root, info, name):
        from . import services

        require_tenant_admin(info)
        tenant = _tenant_for(info)
        name = name.strip()
        try:
            services.validate_plugin_names([name])
            cls.change(tenant, name)
        except DomainError as exc:
            if exc.field == "modules":  # the services' name (signup's list); here it is ``name``
                exc.field = "name"
            raise
        (state,) = services.tenant_plugins(tenant=tenant, names=[name])
        return cls(plugin=PluginType.of(state))


class PluginEnable(_PluginSwitch, error_type=PluginError):
    """Enable a module for this account (tenant admins). Idempotent; the plan must include it."""

    class Arguments:
        name = graphene.String(required=True, description="The module's name, e.g. food.")

    @staticmethod
    def change(tenant: Any, name: str) -> None:
        from . import services

        services.enable_plugin(tenant=tenant, name=name)


class PluginDisable(_PluginSwitch, error_type=PluginError):
    """Disable a module for this account (tenant admins). Idempotent; its data is kept."""

    class Arguments:
        name = graphene.String(required=True, description="The module's name, e.g. food.")

    @staticmethod
    def change(tenant: Any, name: str) -> None:
        from . import services

        services.disable_plugin(tenant=tenant, name=name)


class Query(graphene.ObjectType):
    plugins = graphene.List(
        graphene.NonNull(PluginType),
        required=True,
        description="Every industry module installed on the platform, whether this account "
        "enabled it, and its settings (tenant admins).",
    )

    def resolve_plugins(root, info):
        from . import services

        require_tenant_admin(info)
        return [PluginType.of(s) for s in services.tenant_plugins(tenant=_tenant_for(info))]


class Mutation(graphene.ObjectType):
    plugin_enable = PluginEnable.Field()
    plugin_disable = PluginDisable.Field()
