"""Console page of the food plugin (hook ``admin_urls``), mounted under
``/console/plugins/food/`` and answering 404 for tenants without the plugin.

``policies/``: every SKU's case policy with its case unit, shelf life, mixed
group and the production dates recorded per warehouse.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext as _


def staff_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path(), "/admin/login/")
        if not user.is_active or not (user.is_superuser or getattr(user, "is_staff_role", False)):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


@staff_only
def policies_page(request: HttpRequest) -> HttpResponse:
    from plugins.services import plugin_settings

    from .models import CasePolicy, ProductionDate

    rows = list(
        CasePolicy.objects.select_related("sku", "case_unit", "mixed_group").order_by("sku__code")
    )
    dates: dict[int, list] = {}
    for d in (
        ProductionDate.objects.select_related("warehouse")
        .filter(sku_id__in=[r.sku_id for r in rows])
        .order_by("warehouse__code")
    ):
        dates.setdefault(d.sku_id, []).append(d)
    for row in rows:
        row.dates = dates.get(row.sku_id, [])
    return render(
        request,
        "food/policies.html",
        {
            **admin.site.each_context(request),
            "title": _("Case policies"),
            "rows": rows,
            "settings": plugin_settings(tenant=connection.tenant, name="food"),
        },
    )


urlpatterns = [path("policies/", policies_page, name="policies")]
