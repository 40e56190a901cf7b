"""Plugins' pages (hooks ``admin_urls`` and ``dealer_urls``), mounted per plugin.

Include them in the tenant URLconf::

    path("console/plugins/", include(plugin_admin_urls())),
    path("app/plugins/", include(plugin_dealer_urls())),

Each plugin's patterns sit under ``<plugin name>/`` in the namespace
``plugin-admin-<name>`` / ``plugin-dealer-<name>``. The URLconf is built once
per process for every tenant, so each view is wrapped: for a tenant that has
not enabled the plugin it answers 404 and the plugin's view never runs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import Http404
from django.urls import URLPattern, URLResolver, include, path
from django.utils.translation import gettext as _

from .manager import DinghuoPluginManager, PluginContractError, enabled_modules, get_manager


def requires_plugin_view(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a Django view so it answers 404 unless ``request.tenant`` enabled ``name``."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def gated(request, *args: Any, **kwargs: Any) -> Any:
            tenant = getattr(request, "tenant", None)
            if name not in enabled_modules(tenant):
                raise Http404(_("This module is not enabled."))
            return view(request, *args, **kwargs)

        gated.plugin_gate = name  # type: ignore[attr-defined]
        return gated

    return decorate


def _gate(patterns: list[Any], name: str) -> list[Any]:
    for pattern in patterns:
        if isinstance(pattern, URLPattern):
            if getattr(pattern.callback, "plugin_gate", None) != name:
                pattern.callback = requires_plugin_view(name)(pattern.callback)
        elif isinstance(pattern, URLResolver):
            _gate(pattern.url_patterns, name)
        else:
            raise PluginContractError(
                f"Plugin {name!r}: URL hooks must return path()/re_path() patterns, "
                f"not {pattern!r}."
            )
    return patterns


def _mounted(hook: str, kind: str, manager: DinghuoPluginManager | None) -> list[Any]:
    m = manager or get_manager()
    mounted = []
    for plugin, patterns in m.call_each(hook).items():
        gated = _gate(list(patterns), plugin)
        mounted.append(
            path(f"{plugin}/", include((gated, plugin), namespace=f"plugin-{kind}-{plugin}"))
        )
    return mounted


def plugin_admin_urls(manager: DinghuoPluginManager | None = None) -> list[Any]:
    """Every installed plugin's console pages, gated per tenant."""
    return _mounted("admin_urls", "admin", manager)


def plugin_dealer_urls(manager: DinghuoPluginManager | None = None) -> list[Any]:
    """Every installed plugin's dealer-app pages, gated per tenant."""
    return _mounted("dealer_urls", "dealer", manager)
