"""The plugin manager: discovery, checks, and per-tenant hook calls.

Plugins come from the ``dinghuo.plugins`` entry-point group, from two places:

* the project's own ``pyproject.toml`` table
  ``[project.entry-points."dinghuo.plugins"]`` (the built-in industry
  plugins; read directly, so a source checkout works without reinstalling);
* the metadata of every installed distribution (vendors' packages, and the
  project itself when it is installed).

The same name with the same target in both places is one plugin; one name
with two targets is refused (:class:`DuplicatePluginError`). Every plugin is
checked against :mod:`plugins.hookspecs` (unknown hook names, arguments the
spec does not offer) when it is loaded.

On the hot path, ``hooks_for(tenant)`` returns a :class:`TenantHooks` that
calls only the plugins the tenant has enabled. It is cached per module set, so
a call costs a dictionary look-up and one Python call per enabled plugin.

Nothing here imports Django models: settings use :func:`plugin_django_apps`.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import logging
import re
import sys
import threading
import tomllib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from importlib import metadata
from pathlib import Path
from typing import Any

import pluggy

from . import hookspecs
from .hookspecs import PROJECT_NAME
from .types import AllocationPick, LineError, OrderContext, OrderLine, PriceAdjustment

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "dinghuo.plugins"
PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
PLUGIN_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
TENANT_CACHE_SIZE = 4096


class PluginError(Exception):
    """A plugin cannot be loaded or broke the contract (a programming error)."""


class DuplicatePluginError(PluginError):
    """Two plugins claim one name, or one plugin is registered under two names."""


class PluginContractError(PluginError):
    """A plugin does not match :mod:`plugins.hookspecs` or returned a bad value."""


@dataclass(frozen=True)
class PluginInfo:
    """What the manager knows about an installed plugin."""

    name: str
    target: str  # the entry point's value, "package.module" or "package.module:obj"
    source: str  # "pyproject.toml", a distribution "name version", or "registered"
    version: str = ""
    description: str = ""


@dataclass(frozen=True)
class _Call:
    plugin: str
    function: Callable[..., Any]
    argnames: tuple[str, ...]


# --- discovery --------------------------------------------------------------------------


def builtin_entry_points(pyproject: Path = PYPROJECT) -> list[metadata.EntryPoint]:
    """The entry points in the project's ``pyproject.toml`` (the built-in plugins)."""
    if not pyproject.exists():
        return []
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    table = data.get("project", {}).get("entry-points", {}).get(ENTRY_POINT_GROUP, {})
    return [
        metadata.EntryPoint(name=name, value=value, group=ENTRY_POINT_GROUP)
        for name, value in table.items()
    ]


def installed_entry_points() -> list[tuple[metadata.EntryPoint, str, str]]:
    """``(entry point, source, version)`` for installed distributions on ``sys.path``."""
    found = []
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep, "dist", None)
        name = dist.metadata["Name"] if dist is not None else "?"
        version = dist.version if dist is not None else ""
        found.append((ep, f"{name} {version}".strip(), version))
    return found


def _description(plugin: object) -> str:
    doc = (getattr(plugin, "__doc__", None) or "").strip()
    return doc.splitlines()[0] if doc else ""


# --- the manager ------------------------------------------------------------------------


class DinghuoPluginManager:
    """pluggy's ``PluginManager`` with Dinghuo's rules on top."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        self.infos: dict[str, PluginInfo] = {}
        self._lock = threading.Lock()
        self._by_modules: dict[tuple[str, ...], TenantHooks] = {}
        self._by_set: dict[frozenset[str], TenantHooks] = {}

    # registration ----------------------------------------------------------------
    def register(
        self,
        plugin: object,
        name: str,
        *,
        target: str = "",
        source: str = "registered",
        version: str = "",
    ) -> None:
        """Register ``plugin`` under ``name`` and check it against the spec."""
        if not PLUGIN_NAME_RE.match(name or ""):
            raise PluginContractError(
                f"Plugin name {name!r} ({target or plugin!r}) is not allowed: use 2 to 40 "
                "lowercase letters, digits and underscores, starting with a letter."
            )
        target = target or getattr(plugin, "__name__", type(plugin).__name__)
        with self._lock:
            if name in self.infos:
                old = self.infos[name]
                raise DuplicatePluginError(
                    f"Two plugins are named {name!r}: {old.target} (from {old.source}) and "
                    f"{target} (from {source}). Plugin names must be unique: uninstall one "
                    "of them or rename its entry point."
                )
            other = self.pm.get_name(plugin)
            if other is not None:
                raise DuplicatePluginError(
                    f"{target} is registered twice, as {other!r} and as {name!r} (from "
                    f"{source}). Give each plugin one entry point."
                )
            try:
                self.pm.register(plugin, name=name)
            except pluggy.PluginValidationError as exc:
                raise PluginContractError(f"Plugin {name!r} ({target}): {exc}") from exc
            try:
                self._check_pending(name, plugin)
            except PluginContractError:
                self.pm.unregister(plugin)
                raise
            self.infos[name] = PluginInfo(
                name=name,
                target=target,
                source=source,
                version=version,
                description=_description(plugin),
            )
            self._clear_caches()

    def unregister(self, name: str) -> None:
        with self._lock:
            self.pm.unregister(name=name)
            self.infos.pop(name, None)
            self._clear_caches()

    def _check_pending(self, name: str, plugin: object) -> None:
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            known = sorted(
                n
                for n in dir(self.pm.hook)
                if not n.startswith("_") and getattr(getattr(self.pm.hook, n), "spec", None)
            )
            unknown = self._unknown_impls(plugin)
            hints = []
            for bad in unknown:
                close = difflib.get_close_matches(bad, known, n=1)
                hints.append(f"{bad!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
            raise PluginContractError(
                f"Plugin {name!r} implements hooks that the contract does not define: "
                f"{', '.join(hints) or exc}. The hooks are listed in plugins/hookspecs.py."
            ) from exc

    def _unknown_impls(self, plugin: object) -> list[str]:
        found = []
        for hook_name in dir(self.pm.hook):
            caller = getattr(self.pm.hook, hook_name)
            if hook_name.startswith("_") or not isinstance(caller, pluggy.HookCaller):
                continue
            if caller.spec is None and any(i.plugin is plugin for i in caller.get_hookimpls()):
                found.append(hook_name)
        return found

    def load_entry_points(
        self, entry_points: Iterable[tuple[metadata.EntryPoint, str, str]]
    ) -> list[str]:
        """Load and register plugins from ``(entry point, source, version)`` triples.

        Plugins are registered in reverse alphabetical order so pluggy (which
        calls the last registered first) calls them alphabetically.
        """
        chosen: dict[str, tuple[metadata.EntryPoint, str, str]] = {}
        for ep, source, version in entry_points:
            seen = chosen.get(ep.name)
            if seen is not None:
                if seen[0].value.strip() == ep.value.strip():
                    continue  # the same plugin found twice (pyproject.toml and installed metadata)
                raise DuplicatePluginError(
                    f"Two plugins are named {ep.name!r}: {seen[0].value} (from {seen[1]}) and "
                    f"{ep.value} (from {source}). Plugin names must be unique: uninstall one "
                    "of them or rename its entry point."
                )
            if ep.name in self.infos:
                if self.infos[ep.name].target == ep.value.strip():
                    continue
            chosen[ep.name] = (ep, source, version)
        loaded = []
        for name in sorted(chosen, reverse=True):
            ep, source, version = chosen[name]
            try:
                plugin = ep.load()
            except Exception as exc:
                raise PluginError(
                    f"Plugin {name!r} ({ep.value}, from {source}) cannot be imported: {exc}"
                ) from exc
            self.register(plugin, name, target=ep.value.strip(), source=source, version=version)
            loaded.append(name)
        return sorted(loaded)

    def discover(self, *, pyproject: Path = PYPROJECT) -> list[str]:
        """Load the built-in plugins and every installed vendor plugin."""
        entries = [(ep, "pyproject.toml", "") for ep in builtin_entry_points(pyproject)]
        entries += installed_entry_points()
        return self.load_entry_points(entries)

    # per-process hooks ------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        return sorted(self.infos)

    def calls(self, hook_name: str, only: frozenset[str] | None = None) -> tuple[_Call, ...]:
        """The implementations of a hook in call order, optionally for some plugins only.

        Hook wrappers are pluggy's business: they apply to ``TenantHooks.hook``
        calls, not to the result rules below.
        """
        caller = getattr(self.pm.hook, hook_name)
        impls = [
            impl
            for impl in caller.get_hookimpls()
            if not (impl.hookwrapper or impl.wrapper) and (only is None or impl.plugin_name in only)
        ]
        # tryfirst, then the rest, then trylast; by plugin name within each group,
        # so the order never depends on the order of installation.
        impls.sort(key=lambda i: (0 if i.tryfirst else 2 if i.trylast else 1, i.plugin_name))
        return tuple(_Call(i.plugin_name, i.function, tuple(i.argnames)) for i in impls)

    def call_each(self, hook_name: str, **kwargs: Any) -> dict[str, Any]:
        """Call a hook of every installed plugin; ``{plugin name: its answer}`` (``None`` skipped)."""
        answers = {}
        for call in self.calls(hook_name):
            value = call.function(**{a: kwargs[a] for a in call.argnames})
            if value is not None:
                answers[call.plugin] = value
        return answers

    def call_one(self, plugin_name: str, hook_name: str, **kwargs: Any) -> Any:
        """Call one plugin's implementation of a hook; ``None`` when it has none."""
        for call in self.calls(hook_name, frozenset({plugin_name})):
            return call.function(**{a: kwargs[a] for a in call.argnames})
        return None

    def django_apps(self) -> list[str]:
        apps: list[str] = []
        for plugin, value in self.call_each("django_apps").items():
            if isinstance(value, str) or not all(isinstance(a, str) for a in value):
                raise PluginContractError(
                    f"Plugin {plugin!r}: django_apps() must return a list of dotted app paths."
                )
            apps.extend(a for a in value if a not in apps)
        return apps

    def order_error_codes(self) -> list[str]:
        """Every code the installed plugins' order hooks may return (hook ``order_error_codes``)."""
        return self._error_codes("order_error_codes")

    def stock_error_codes(self) -> list[str]:
        """Every code the installed plugins' ``stock_changed`` hooks may refuse with."""
        return self._error_codes("stock_error_codes")

    def _error_codes(self, hook: str) -> list[str]:
        codes: set[str] = set()
        for plugin, value in self.call_each(hook).items():
            for code in value:
                if not re.match(r"^[A-Z][A-Z0-9_]*$", code):
                    raise PluginContractError(
                        f"Plugin {plugin!r}: error code {code!r} must be UPPER_SNAKE_CASE."
                    )
                codes.add(code)
        return sorted(codes)

    # per-tenant hooks ----------------------------------------------------------------
    def hooks_for(self, tenant_or_modules: Any) -> TenantHooks:
        """The hooks of the plugins a tenant has enabled (a ``Tenant`` or a list of names)."""
        key = enabled_modules(tenant_or_modules)
        hooks = self._by_modules.get(key)
        if hooks is None:
            enabled = frozenset(m for m in key if m in self.infos)
            hooks = self._by_set.get(enabled)
            if hooks is None:
                hooks = TenantHooks(self, enabled)
                self._by_set[enabled] = hooks
            if len(self._by_modules) >= TENANT_CACHE_SIZE:
                self._by_modules.clear()
            self._by_modules[key] = hooks
        return hooks

    def _clear_caches(self) -> None:
        self._by_modules = {}
        self._by_set = {}


class _SubsetRelay:
    """``relay.<hook>(...)``: pluggy's own hook callers limited to some plugins."""

    def __init__(self, manager: DinghuoPluginManager, enabled: frozenset[str]):
        self._manager = manager
        self._enabled = enabled

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        pm = self._manager.pm
        caller = getattr(pm.hook, name)
        remove = [p for n, p in pm.list_name_plugin() if n not in self._enabled]
        subset = pm.subset_hook_caller(name, remove_plugins=remove) if remove else caller
        setattr(self, name, subset)
        return subset


class TenantHooks:
    """The hooks of one set of enabled plugins, with the result rules of each hook.

    ``hooks.hook.<name>(**kwargs)`` is the plain pluggy call (a list of
    answers, or the first answer for ``firstresult`` hooks); the methods below
    are what core services call.
    """

    def __init__(self, manager: DinghuoPluginManager, enabled: frozenset[str]):
        self.manager = manager
        self.enabled = enabled
        self.hook = _SubsetRelay(manager, enabled)
        self._calls: dict[str, tuple[_Call, ...]] = {}

    def __repr__(self) -> str:
        return f"<TenantHooks {sorted(self.enabled)}>"

    def calls(self, hook_name: str) -> tuple[_Call, ...]:
        calls = self._calls.get(hook_name)
        if calls is None:
            calls = self.manager.calls(hook_name, self.enabled)
            self._calls[hook_name] = calls
        return calls

    def has(self, hook_name: str) -> bool:
        """Whether an enabled plugin implements the hook (to skip building arguments)."""
        return bool(self.calls(hook_name))

    def call(self, hook_name: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """``[(plugin name, answer), ...]`` from every enabled implementation."""
        return [
            (c.plugin, c.function(**{a: kwargs[a] for a in c.argnames}))
            for c in self.calls(hook_name)
        ]

    # ordering -----------------------------------------------------------------------
    def expand_order_lines(self, context: OrderContext, lines: list[OrderLine]) -> list[OrderLine]:
        for c in self.calls("expand_order_lines"):
            c.function(**_args(c, context=context, lines=lines))
        return lines

    def validate_order_lines(
        self, context: OrderContext, lines: list[OrderLine]
    ) -> list[LineError]:
        errors: list[LineError] = []
        for c in self.calls("validate_order_lines"):
            for error in c.function(**_args(c, context=context, lines=lines)) or ():
                if not isinstance(error, LineError):
                    raise PluginContractError(
                        f"Plugin {c.plugin!r}: validate_order_lines must return LineError "
                        f"objects, not {type(error).__name__}."
                    )
                errors.append(dataclasses.replace(error, plugin=c.plugin))
        errors.sort(key=lambda e: e.index)
        return errors

    def adjust_line_price(self, context: OrderContext, line: OrderLine, price: Decimal) -> Decimal:
        """Run the price chain; sets and returns ``line.unit_price``."""
        for c in self.calls("adjust_line_price"):
            answer = c.function(**_args(c, context=context, line=line, price=price))
            if answer is None:
                continue
            if not isinstance(answer, PriceAdjustment) or not isinstance(
                answer.unit_price, Decimal
            ):
                raise PluginContractError(
                    f"Plugin {c.plugin!r}: adjust_line_price must return a PriceAdjustment "
                    "with a Decimal unit_price, or None."
                )
            if answer.unit_price < 0:
                raise PluginContractError(
                    f"Plugin {c.plugin!r}: adjust_line_price returned a negative price."
                )
            line.adjustments.append(dataclasses.replace(answer, plugin=c.plugin))
            price = answer.unit_price
        line.unit_price = price
        return price

    def choose_allocation(
        self, context: OrderContext, line: OrderLine, candidates: Sequence[Any]
    ) -> list[AllocationPick] | None:
        for c in self.calls("choose_allocation"):
            picks = c.function(**_args(c, context=context, line=line, candidates=candidates))
            if picks is None:
                continue
            total = sum(p.quantity for p in picks)
            if total != line.quantity or any(p.quantity <= 0 for p in picks):
                raise PluginContractError(
                    f"Plugin {c.plugin!r}: choose_allocation picked {total} units for a line "
                    f"of {line.quantity}; picks must be positive and add up to the line."
                )
            return list(picks)
        return None

    def order_event(
        self,
        tenant: Any,
        event: str,
        order: Any,
        payload: dict[str, Any],
        context: OrderContext | None = None,
    ) -> None:
        """Notify every enabled plugin; one plugin failing is logged, not raised."""
        for c in self.calls("order_event"):
            try:
                c.function(
                    **_args(
                        c, tenant=tenant, event=event, order=order, payload=payload, context=context
                    )
                )
            except Exception:
                logger.exception("Plugin %r failed on order event %s", c.plugin, event)

    # search ----------------------------------------------------------------------------
    def search_document_fields(self, tenant: Any, product: Any) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        for c in self.calls("search_document_fields"):
            answer = c.function(**_args(c, tenant=tenant, product=product)) or {}
            prefix = c.plugin + "_"
            bad = [k for k in answer if not k.startswith(prefix)]
            if bad:
                raise PluginContractError(
                    f"Plugin {c.plugin!r}: search document fields must start with {prefix!r}: "
                    f"{', '.join(sorted(bad))}."
                )
            fields.update(answer)
        return fields

    def search_filters(self, tenant: Any) -> list[Any]:
        return [
            f
            for c in self.calls("search_filters")
            for f in c.function(**_args(c, tenant=tenant)) or ()
        ]

    # lifecycle -----------------------------------------------------------------------
    def load_demo_data(self, tenant: Any) -> None:
        for c in self.calls("load_demo_data"):
            c.function(**_args(c, tenant=tenant))


def _args(call: _Call, **kwargs: Any) -> dict[str, Any]:
    return {a: kwargs[a] for a in call.argnames}


def enabled_modules(tenant_or_modules: Any) -> tuple[str, ...]:
    """The plugin names a tenant enabled (``Tenant.modules``), or those of a list.

    ``modules`` may still be in its database form, a JSON string, on a tenant
    built from a raw row without the field's converters (the request routing
    does that): it is decoded, never read as a sequence of one-letter names
    (nothing enabled) nor searched for substrings (``"food" in '["foodx"]'``).
    """
    modules = getattr(tenant_or_modules, "modules", tenant_or_modules)
    if isinstance(modules, str | bytes):
        try:
            modules = json.loads(modules)
        except ValueError:
            return ()
    if not modules or isinstance(modules, dict):
        return ()
    return tuple(m for m in modules if isinstance(m, str))


# --- the process-wide manager ------------------------------------------------------------

_manager: DinghuoPluginManager | None = None
_manager_lock = threading.Lock()


def get_manager() -> DinghuoPluginManager:
    """The process's manager, with the built-in and installed plugins loaded."""
    global _manager
    if _manager is None:
        with _manager_lock:
            if _manager is None:
                manager = DinghuoPluginManager()
                manager.discover()
                _manager = manager
    return _manager


def set_manager(manager: DinghuoPluginManager | None) -> DinghuoPluginManager | None:
    """Replace the process's manager (tests); ``None`` rediscovers on next use. Returns the old one."""
    global _manager
    with _manager_lock:
        previous, _manager = _manager, manager
    return previous


def hooks_for(tenant_or_modules: Any) -> TenantHooks:
    """The hooks of the plugins ``tenant`` has enabled. The order core's entry point."""
    return get_manager().hooks_for(tenant_or_modules)


def current_tenant_hooks() -> TenantHooks:
    """The hooks of the plugins the tenant of the current database connection has
    enabled (none outside a tenant's schema). What the core's services call."""
    from django.db import connection

    tenant = getattr(connection, "tenant", None)
    return hooks_for(tenant if getattr(tenant, "modules", None) is not None else [])


def plugin_django_apps() -> list[str]:
    """Django apps of every installed plugin, for ``TENANT_APPS`` (called by settings)."""
    return get_manager().django_apps()


def _main() -> None:  # pragma: no cover - a debugging aid: python -m plugins.manager
    manager = get_manager()
    for name in manager.names:
        info = manager.infos[name]
        print(f"{name}\t{info.target}\t{info.source}\t{info.description}")
    print("django apps:", ", ".join(manager.django_apps()) or "-", file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    _main()
