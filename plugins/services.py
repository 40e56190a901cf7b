"""Enabling plugins for a tenant, and the tenant's values for plugin settings.

The signup portal, the tenant console, the public admin and the demo loader
call these; nothing else writes ``Tenant.modules`` or ``TenantPluginConfig``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context

from core.exceptions import DomainError, has_nul

from .manager import DinghuoPluginManager, PluginInfo, enabled_modules, get_manager
from .types import SettingSpec

UNKNOWN_PLUGIN = "UNKNOWN_PLUGIN"
UNKNOWN_SETTING = "UNKNOWN_SETTING"
INVALID_SETTING = "INVALID_SETTING"
_STORED = ""  # key of the tenant's stored settings rows in its settings cache


def _manager(manager: DinghuoPluginManager | None) -> DinghuoPluginManager:
    return manager or get_manager()


def available_plugins(*, manager: DinghuoPluginManager | None = None) -> list[PluginInfo]:
    """Every installed plugin, by name."""
    m = _manager(manager)
    return [m.infos[name] for name in m.names]


def is_enabled(tenant: Any, name: str) -> bool:
    return name in enabled_modules(tenant)


def validate_plugin_names(
    names: list[str] | tuple[str, ...], *, manager: DinghuoPluginManager | None = None
) -> list[str]:
    """``names`` without duplicates, or :class:`DomainError` ``UNKNOWN_PLUGIN`` (field ``modules``)."""
    m = _manager(manager)
    chosen: list[str] = []
    for name in names:
        if name not in m.infos:
            raise DomainError(
                _("There is no module named %(name)s.") % {"name": name},
                code=UNKNOWN_PLUGIN,
                field="modules",
            )
        if name not in chosen:
            chosen.append(name)
    return chosen


def _check_plan(tenant: Any, name: str) -> None:
    """The tenant's plan must include the plugin and leave room for one more.

    Plans live in ``tenants.plans`` / ``tenants.limits``; an installation
    without them has no limits.
    """
    try:
        from tenants import limits, plans
    except ImportError:
        return
    plan = plans.plan_for_tenant(tenant)
    if plan is not None:
        allowed = getattr(plan, "allowed_modules", None)
        if allowed and name not in allowed:
            raise DomainError(
                _(
                    "Your %(plan)s plan does not include the module %(module)s. Choose a larger plan."
                )
                % {"plan": plans.plan_label(plan), "module": name},
                code=plans.PLAN_LIMIT_CODE,
                field="modules",
            )
    limits.enforce_plan_limit("modules", adding=1, tenant=tenant)


def enable_plugin(*, tenant: Any, name: str, manager: DinghuoPluginManager | None = None) -> Any:
    """Enable plugin ``name`` for ``tenant`` (idempotent) and run its ``plugin_enabled`` hook.

    One transaction: the tenant row is locked (two concurrent calls cannot
    lose each other's module), the plan is checked, ``Tenant.modules`` is
    saved and the plugin's ``plugin_enabled`` hook runs in the tenant schema;
    a :class:`DomainError` from any step leaves the tenant as it was.
    Returns ``tenant``, its ``modules`` updated.
    """
    from tenants.models import Tenant

    m = _manager(manager)
    validate_plugin_names([name], manager=m)
    if tenant.schema_name == settings.PUBLIC_SCHEMA_NAME:
        raise DomainError(
            _("Modules are enabled for tenants, not for the platform."), code="INVALID"
        )
    with transaction.atomic():
        locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
        modules = list(locked.modules or [])
        if name not in modules:
            _check_plan(locked, name)
            modules.append(name)
            locked.modules = modules
            with schema_context(settings.PUBLIC_SCHEMA_NAME):
                locked.save(update_fields=["modules"])
            with schema_context(locked.schema_name):
                m.call_one(name, "plugin_enabled", tenant=locked)
    tenant.modules = modules
    return tenant


def disable_plugin(*, tenant: Any, name: str, manager: DinghuoPluginManager | None = None) -> Any:
    """Disable plugin ``name`` for ``tenant`` (idempotent); its data stays in the schema."""
    from tenants.models import Tenant

    m = _manager(manager)
    with transaction.atomic():
        locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
        modules = [n for n in (locked.modules or []) if n != name]
        if modules != list(locked.modules or []):
            locked.modules = modules
            with schema_context(settings.PUBLIC_SCHEMA_NAME):
                locked.save(update_fields=["modules"])
            if name in m.infos:
                with schema_context(locked.schema_name):
                    m.call_one(name, "plugin_disabled", tenant=locked)
    tenant.modules = modules
    return tenant


def set_enabled_plugins(
    *, tenant: Any, names: list[str] | tuple[str, ...], manager: DinghuoPluginManager | None = None
) -> Any:
    """Make exactly ``names`` the tenant's plugins (the console's module picker, signup)."""
    m = _manager(manager)
    wanted = validate_plugin_names(names, manager=m)
    with transaction.atomic():
        for name in [n for n in enabled_modules(tenant) if n not in wanted]:
            disable_plugin(tenant=tenant, name=name, manager=m)
        for name in wanted:
            enable_plugin(tenant=tenant, name=name, manager=m)
    return tenant


@dataclass(frozen=True)
class TenantPlugin:
    """An installed plugin as one tenant sees it (the console's and the API's list)."""

    info: PluginInfo
    enabled: bool
    specs: tuple[SettingSpec, ...]
    values: dict[str, Any]  # the tenant's values, defaults filled in


def tenant_plugins(
    *, tenant: Any, names: list[str] | None = None, manager: DinghuoPluginManager | None = None
) -> list[TenantPlugin]:
    """Every installed plugin (or those of ``names``) with the tenant's state and settings.

    One query for the settings of all of them (:func:`plugin_settings`).
    """
    m = _manager(manager)
    chosen = m.names if names is None else validate_plugin_names(names, manager=m)
    return [
        TenantPlugin(
            info=m.infos[name],
            enabled=is_enabled(tenant, name),
            specs=tuple(setting_specs(name, manager=m)),
            values=plugin_settings(tenant=tenant, name=name, manager=m),
        )
        for name in chosen
    ]


# --- settings -------------------------------------------------------------------------


def setting_specs(name: str, *, manager: DinghuoPluginManager | None = None) -> list[SettingSpec]:
    """The settings plugin ``name`` declares (hook ``plugin_settings``)."""
    m = _manager(manager)
    validate_plugin_names([name], manager=m)
    specs = m.call_one(name, "plugin_settings") or []
    return list(specs)


# The bounds of an ``int`` or ``decimal`` setting whose spec sets none (PostgreSQL's
# bigint; fifteen digits before the point), and a decimal's places.
SETTING_BOUNDS = {"int": 2**63 - 1, "decimal": Decimal("999999999999999")}
DECIMAL_SETTING_PLACES = 10


def _decimal_places(number: Decimal) -> int:
    """The places after the point that carry a digit (``12.500`` has one), counted
    from the digits, with no context: ``normalize()`` overflows on ``1e999999999``."""
    _sign, digits, exponent = number.as_tuple()
    trailing = 0
    for digit in reversed(digits):
        if digit:
            break
        trailing += 1
    if trailing == len(digits):  # zero, whatever its exponent
        return 0
    return max(0, -(exponent + trailing))


def _coerce(spec: SettingSpec, value: Any) -> Any:
    """The value as stored (JSON), or :class:`DomainError` ``INVALID_SETTING``."""

    def bad(message: str) -> DomainError:
        return DomainError(message, code=INVALID_SETTING, field=spec.name)

    if spec.type == "bool":
        if not isinstance(value, bool):
            raise bad(_("Choose yes or no."))
        return value
    if spec.type == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,30}", value.strip()):
                value = int(value)  # ASCII digits only: "²".isdigit() is true, int("²") fails
            else:
                raise bad(_("Enter a whole number."))
        number: Any = value
    elif spec.type == "decimal":
        try:
            number = Decimal(str(value))
        except (InvalidOperation, ValueError):
            raise bad(_("Enter a number.")) from None
        if not number.is_finite() or isinstance(value, bool | float):
            raise bad(_("Enter a number."))
        if _decimal_places(number) > DECIMAL_SETTING_PLACES:
            raise bad(
                _("Use at most %(places)d decimal places.") % {"places": DECIMAL_SETTING_PLACES}
            )
    elif spec.type == "choice":
        if value not in spec.choices:
            raise bad(_("Choose one of: %(choices)s.") % {"choices": ", ".join(spec.choices)})
        return value
    else:
        if not isinstance(value, str) or has_nul(value):  # jsonb cannot store NUL
            raise bad(_("Enter text."))
        return value
    # Without bounds of its own a number is still one a plugin can compute and store
    # with: 1e999999999 is a finite Decimal, 10**40 no bigint.
    bound = SETTING_BOUNDS[spec.type]
    minimum = -bound if spec.minimum is None else spec.minimum
    maximum = bound if spec.maximum is None else spec.maximum
    if number < minimum:
        raise bad(_("Enter %(minimum)s or more.") % {"minimum": minimum})
    if number > maximum:
        raise bad(_("Enter %(maximum)s or less.") % {"maximum": maximum})
    return str(number) if spec.type == "decimal" else number


def _load(spec: SettingSpec, stored: Any) -> Any:
    return Decimal(stored) if spec.type == "decimal" else stored


def plugin_settings(
    *, tenant: Any, name: str, manager: DinghuoPluginManager | None = None
) -> dict[str, Any]:
    """The tenant's values for plugin ``name``'s settings, defaults filled in.

    The first call reads the stored values of every plugin of the tenant in
    one query and keeps them on the tenant object, which lives for one request
    (or one task): however many hooks and plugins read settings, a request
    pays one query, and only if something reads a setting.
    :func:`set_plugin_settings` refreshes it.
    """
    cache = tenant.__dict__.setdefault("_plugin_settings_cache", {})
    if name in cache:
        return dict(cache[name])
    from .models import TenantPluginConfig

    specs = setting_specs(name, manager=manager)
    stored_by_plugin = cache.get(_STORED)  # "" is no plugin's name: the tenant's stored rows
    if stored_by_plugin is None:
        stored_by_plugin = dict(
            TenantPluginConfig.objects.filter(tenant_id=tenant.pk).values_list("plugin", "values")
        )
        cache[_STORED] = stored_by_plugin
    stored = stored_by_plugin.get(name) or {}
    values = {s.name: _load(s, stored[s.name]) if s.name in stored else s.default for s in specs}
    cache[name] = values
    return dict(values)


def set_plugin_settings(
    *, tenant: Any, name: str, values: dict[str, Any], manager: DinghuoPluginManager | None = None
) -> dict[str, Any]:
    """Set some of plugin ``name``'s settings for ``tenant``; returns all values.

    Unknown names raise ``UNKNOWN_SETTING``; values of the wrong type or out
    of bounds raise ``INVALID_SETTING`` (field = the setting); nothing is
    saved when any value is refused. ``None`` restores a setting's default.
    """
    from .models import TenantPluginConfig

    specs = {s.name: s for s in setting_specs(name, manager=manager)}
    changes: dict[str, Any] = {}
    for key, value in values.items():
        spec = specs.get(key)
        if spec is None:
            raise DomainError(
                _("The module %(plugin)s has no setting %(name)s.") % {"plugin": name, "name": key},
                code=UNKNOWN_SETTING,
                field=key,
            )
        changes[key] = None if value is None else _coerce(spec, value)
    with transaction.atomic():
        row, _created = TenantPluginConfig.objects.select_for_update().get_or_create(
            tenant_id=tenant.pk, plugin=name
        )
        merged = {**row.values, **changes}
        row.values = {k: v for k, v in merged.items() if v is not None and k in specs}
        row.save(update_fields=["values", "updated_at"])
    cache = tenant.__dict__.get("_plugin_settings_cache", {})
    cache.pop(name, None)
    if _STORED in cache:
        cache[_STORED][name] = row.values
    return plugin_settings(tenant=tenant, name=name, manager=manager)
