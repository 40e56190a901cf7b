"""Admin helpers for plugins' own models.

The Django admin is one site for every tenant, so a plugin registers its
models with :class:`PluginModelAdmin`: for a tenant that has not enabled the
plugin, its models are hidden from the index and every page of them is refused.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from django import forms
from django.contrib import admin
from django.db import transaction

from core.exceptions import DomainError

from .manager import enabled_modules


@contextmanager
def service_check(form: forms.BaseForm, fields: Mapping[str, str] | None = None) -> Iterator[None]:
    """Run a plugin's service in a form's ``clean`` to check the input, then undo
    what it wrote (the admin saves through the service in ``save_model``). A
    :class:`~core.exceptions.DomainError` it raises is shown beside the form field
    it names (API names such as ``shelfLifeDays`` mapped by ``fields``), or above
    the form: a console page answers a form error, never a 500.
    """
    try:
        with transaction.atomic():
            yield
            transaction.set_rollback(True)
    except DomainError as exc:
        for error in getattr(exc, "errors", None) or [exc]:
            field = (fields or {}).get(error.field, error.field)
            form.add_error(field if field in form.fields else None, error.message)


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
