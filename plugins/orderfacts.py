"""One statement for the per-SKU facts the built-in plugins need on an order.

Each plugin with order rules needs to know which of the order's SKUs are
*its* (a food case policy, an electronics reel rule) before doing anything
else. Asked separately, that is one query per plugin on every order, even an
order of ordinary SKUs. Here every enabled plugin that registered a source is
asked in one ``UNION ALL`` statement, on the first hook call of the order;
the answers are kept in ``context.cache`` for the other hooks of the order.

A source is a function ``() -> (sql, decode)``: ``sql`` selects named
columns, one of them ``sku_id``, of the rows whose ``sku_id = ANY(%s)`` (its
only parameter, the order's SKU ids); ``decode`` turns one row (a dict) into
what the plugin keeps for that SKU. The statement is built once per process
for each set of plugins. Sources are registered
by dotted path (``register("food", "plugins.food.rules:facts_source")``) so
nothing is imported before Django is set up.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Iterable
from typing import Any

from .manager import PLUGIN_NAME_RE, PluginContractError, enabled_modules
from .types import OrderContext

CACHE_KEY = "_order_facts"
_SOURCES: dict[str, str] = {}
_resolved: dict[str, Callable[..., Any]] = {}


def register(plugin: str, source: str) -> None:
    """Register ``plugin``'s facts source, ``"package.module:function"``."""
    if not PLUGIN_NAME_RE.match(plugin or ""):
        raise PluginContractError(f"Order facts: {plugin!r} is not a plugin name.")
    _SOURCES[plugin] = source
    _resolved.pop(plugin, None)


def _source(plugin: str) -> Callable[..., Any]:
    function = _resolved.get(plugin)
    if function is None:
        module, _sep, name = _SOURCES[plugin].partition(":")
        function = _resolved[plugin] = getattr(importlib.import_module(module), name)
    return function


_statements: dict[tuple[str, ...], tuple[str, dict[str, Callable[..., Any]]]] = {}


def _statement(plugins: tuple[str, ...]) -> tuple[str, dict[str, Callable[..., Any]]]:
    """The UNION ALL statement for these plugins (built once per process and set)."""
    built = _statements.get(plugins)
    if built is None:
        parts, decoders = [], {}
        for plugin in plugins:
            sql, decode = _source(plugin)()
            # A plugin's name is [a-z][a-z0-9_]* (the manager refuses any other): a literal.
            parts.append(f"SELECT '{plugin}'::text AS plugin, to_jsonb(t) AS facts FROM ({sql}) t")
            decoders[plugin] = decode
        built = _statements[plugins] = (" UNION ALL ".join(parts), decoders)
    return built


def _load(plugins: list[str], sku_ids: set[int]) -> dict[str, dict[int, Any]]:
    """Every plugin's facts for ``sku_ids``: one statement."""
    from django.db import connection

    found: dict[str, dict[int, Any]] = {p: {} for p in plugins}
    if not plugins or not sku_ids:
        return found
    sql, decoders = _statement(tuple(plugins))
    ids = sorted(sku_ids)
    with connection.cursor() as cursor:
        cursor.execute(sql, [ids] * len(plugins))
        rows = cursor.fetchall()
    for plugin, facts in rows:
        row = json.loads(facts) if isinstance(facts, str) else facts
        found[plugin][int(row["sku_id"])] = decoders[plugin](row)
    return found


def facts_for(context: OrderContext, plugin: str, sku_ids: Iterable[int] = ()) -> dict[int, Any]:
    """``plugin``'s facts for the order's SKUs (and ``sku_ids``): SKU id -> decoded row.

    The first call of an order loads the facts of every enabled plugin with a
    source, for every SKU of ``context.lines``, in one statement; later calls
    read the cache (a SKU not loaded yet costs one more statement for all).
    """
    state = context.cache.get(CACHE_KEY)
    if state is None:
        state = context.cache[CACHE_KEY] = {"loaded": {}, "facts": {}}
    wanted = {line.sku.pk for line in context.lines} | set(sku_ids)
    missing = wanted - state["loaded"].get(plugin, set())
    if missing:
        enabled = set(enabled_modules(context.tenant)) | {plugin}
        plugins = sorted(p for p in _SOURCES if p in enabled)
        for name, facts in _load(plugins, missing).items():
            state["facts"].setdefault(name, {}).update(facts)
            state["loaded"][name] = state["loaded"].get(name, set()) | missing
    return state["facts"].get(plugin, {})
