"""Console pages of the pharma plugin (hook ``admin_urls``), mounted under
``/console/plugins/pharma/`` and answering 404 for tenants without the plugin.

* ``recall/``: the recall trace of a lot, with CSV and .xlsx downloads;
* ``expiry/``: batches expired or expiring soon, and shipments that left with
  expired stock (the GSP deviation the plugin records rather than blocks).
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

from . import selectors
from .services import NAME, today


def staff_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed-in tenant staff only: others go to the login page, dealers get 403."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path(), "/admin/login/")
        if not user.is_active or not (user.is_superuser or getattr(user, "is_staff_role", False)):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


def _context(request: HttpRequest, title: str, **extra: Any) -> dict[str, Any]:
    return {**admin.site.each_context(request), "title": title, **extra}


@staff_only
def recall_page(request: HttpRequest) -> HttpResponse:
    lot = request.GET.get("lot", "").strip()
    sku = request.GET.get("sku", "").strip()
    trace = selectors.recall_trace(lot=lot, sku_code=sku or None) if lot else None
    return render(
        request,
        "pharma/recall.html",
        _context(
            request,
            _("Recall trace"),
            lot=lot,
            sku=sku,
            trace=trace,
        ),
    )


@staff_only
def recall_export(request: HttpRequest, fmt: str) -> HttpResponse:
    lot = request.GET.get("lot", "").strip()
    sku = request.GET.get("sku", "").strip()
    if fmt not in ("csv", "xlsx") or not lot:
        return HttpResponse(_("Give a lot number and a format (csv or xlsx)."), status=400)
    trace = selectors.recall_trace(lot=lot, sku_code=sku or None)
    content = selectors.export_trace(trace, fmt)
    content_type = (
        "text/csv; charset=utf-8"
        if fmt == "csv"
        else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response = HttpResponse(content, content_type=content_type)
    safe_lot = "".join(c for c in lot if c.isalnum() or c in "-_")[:40] or "lot"
    response["Content-Disposition"] = f'attachment; filename="recall-{safe_lot}.{fmt}"'
    return response


@staff_only
def expiry_page(request: HttpRequest) -> HttpResponse:
    from plugins.services import plugin_settings

    settings = plugin_settings(tenant=connection.tenant, name=NAME)
    within = int(settings["expiry_warning_days"])
    day = today()
    batches = [
        {"batch": b, "days": b.days_to_expiry(day), "expired": b.is_expired(day)}
        for b in selectors.expiring_batches(within_days=within)[:500]
    ]
    return render(
        request,
        "pharma/expiry.html",
        _context(
            request,
            _("Batch expiry"),
            batches=batches,
            within=within,
            expired_shipments=list(selectors.expired_shipments()[:200]),
        ),
    )


urlpatterns = [
    path("recall/", recall_page, name="recall"),
    path("recall/export.<str:fmt>", recall_export, name="recall-export"),
    path("expiry/", expiry_page, name="expiry"),
]
