"""Console pages of the auto parts plugin (hook ``admin_urls``), mounted under
``/console/plugins/autoparts/``: a CSV import of fitments, part numbers and
cross-references, and a VIN decoder. Vehicles, fitments and numbers themselves
are edited in the tenant console's admin (``admin.py``)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext_lazy as _

from core.exceptions import DomainError

from . import services
from . import vin as vins

MAX_UPLOAD = 5 * 1024 * 1024


class ImportForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("What the file holds"),
        choices=[
            ("fitments", _("Fitments (vehicle + product or SKU)")),
            ("numbers", _("OE and aftermarket numbers")),
            ("cross_references", _("Cross-references")),
        ],
    )
    file = forms.FileField(label=_("CSV file (UTF-8 or GB18030)"))


class VinForm(forms.Form):
    vin = forms.CharField(label=_("VIN"), max_length=40)


def _staff_only(request: HttpRequest) -> HttpResponse | None:
    user = request.user
    if not user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not getattr(user, "is_staff_role", False):
        raise PermissionDenied
    return None


def import_view(request: HttpRequest) -> HttpResponse:
    refused = _staff_only(request)
    if refused is not None:
        return refused
    context: dict[str, Any] = {
        "title": _("Import auto parts data"),
        "columns": services.IMPORT_KINDS,
    }
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > MAX_UPLOAD:
            context["errors"] = [_("The file is larger than 5 MB.")]
        else:
            try:
                context["report"] = services.import_csv(
                    kind=form.cleaned_data["kind"], content=upload.read()
                )
            except DomainError as exc:
                errors = getattr(exc, "errors", None) or [exc]
                context["errors"] = [e.message for e in errors]
    context["form"] = form
    status = 400 if context.get("errors") else 200
    return render(request, "autoparts/import.html", context, status=status)


def vin_view(request: HttpRequest) -> HttpResponse:
    refused = _staff_only(request)
    if refused is not None:
        return refused
    form = VinForm(request.GET or None)
    context: dict[str, Any] = {"title": _("Decode a VIN"), "form": form}
    if form.is_valid():
        try:
            context["decoded"] = vins.decode_vin(form.cleaned_data["vin"])
        except vins.InvalidVin as exc:
            context["error"] = exc
    return render(request, "autoparts/vin.html", context)


def admin_urlpatterns() -> list[Any]:
    return [
        path("import/", import_view, name="import"),
        path("vin/", vin_view, name="vin"),
    ]
