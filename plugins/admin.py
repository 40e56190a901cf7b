"""Admin helpers for plugins' own models.

The Django admin is one site for every tenant, so a plugin registers its
models with :class:`PluginModelAdmin`: for a tenant that has not enabled the
plugin, its models are hidden from the index and every page of them is refused.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from .manager import enabled_modules


class PluginModelAdmin(admin.ModelAdmin):
    """A ``ModelAdmin`` shown only to tenants that enabled ``plugin_name``."""

    plugin_name: str = ""

    def plugin_enabled(self, request: Any) -> bool:
        tenant = getattr(request, "tenant", None)
        return bool(self.plugin_name) and self.plugin_name in enabled_modules(tenant)

    def has_module_permission(self, request: Any) -> bool:
        return self.plugin_enabled(request) and super().has_module_permission(request)

    def has_view_permission(self, request: Any, obj: Any = None) -> bool:
        return self.plugin_enabled(request) and super().has_view_permission(request, obj)

    def has_add_permission(self, request: Any) -> bool:
        return self.plugin_enabled(request) and super().has_add_permission(request)

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return self.plugin_enabled(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return self.plugin_enabled(request) and super().has_delete_permission(request, obj)
