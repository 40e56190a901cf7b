"""The console's import page: upload a sheet, watch its progress bar, read every
row's errors; download templates and exports of each kind."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.exceptions import DomainError

from . import services
from .models import ImportJob
from .registry import kinds
from .tables import CONTENT_TYPES, template


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("What the sheet holds"))
    file = forms.FileField(label=gettext_lazy("Excel (.xlsx) or CSV file"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [(k.key, str(k.label)) for k in kinds()]


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = (
        "original_name",
        "kind",
        "status",
        "progress_bar",
        "total_rows",
        "error_count",
        "created_by",
        "created_at",
    )
    list_filter = ("kind", "status")
    change_list_template = "admin/imports/importjob/change_list.html"

    @admin.display(description=gettext_lazy("progress"))
    def progress_bar(self, obj):
        return format_html(
            '<progress max="100" value="{}"></progress> {}%', obj.progress, obj.progress
        )

    @admin.display(description=gettext_lazy("errors"))
    def error_count(self, obj):
        return len(obj.errors)

    def get_urls(self):
        extra = [
            path(
                "<int:job_id>/status/",
                self.admin_site.admin_view(self.status_view),
                name="imports_importjob_status",
            ),
            path(
                "template/<str:kind>.<str:fmt>",
                self.admin_site.admin_view(self.template_view),
                name="imports_template",
            ),
            path(
                "export/<str:kind>.<str:fmt>",
                self.admin_site.admin_view(self.export_view),
                name="imports_export",
            ),
        ]
        return extra + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "import_kinds": kinds()}
        return super().changelist_view(request, extra_context)

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        form = UploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                job = services.start_import(
                    kind=form.cleaned_data["kind"],
                    fileobj=upload,
                    filename=upload.name,
                    user=request.user,
                )
            except DomainError as exc:
                form.add_error("file", exc.message)
            else:
                self.message_user(request, _("The sheet is being checked."), messages.INFO)
                return redirect(reverse("admin:imports_importjob_change", args=[job.pk]))
        return TemplateResponse(
            request,
            "admin/imports/importjob/upload.html",
            {
                **self.admin_site.each_context(request),
                "form": form,
                "opts": self.model._meta,
                "title": _("Import a sheet"),
                "import_kinds": kinds(),
            },
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        job = get_object_or_404(ImportJob, pk=object_id)
        if not self.has_view_permission(request, job):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        return TemplateResponse(
            request,
            "admin/imports/importjob/progress.html",
            {
                **self.admin_site.each_context(request),
                "job": job,
                "opts": self.model._meta,
                "title": str(job),
                "status": services.job_status(job),
                "status_url": reverse("admin:imports_importjob_status", args=[job.pk]),
            },
        )

    def status_view(self, request, job_id: int):
        job = get_object_or_404(ImportJob, pk=job_id)
        response = JsonResponse(services.job_status(job))
        response["Cache-Control"] = "no-store"
        return response

    def template_view(self, request, kind: str, fmt: str):
        try:
            import_kind = services.kind_or_error(kind)
            if fmt not in CONTENT_TYPES:
                raise DomainError(_("Download as xlsx or csv."), code="INVALID_FORMAT")
        except DomainError as exc:
            return HttpResponse(exc.message, status=404)
        response = HttpResponse(template(import_kind, fmt), content_type=CONTENT_TYPES[fmt])
        response["Content-Disposition"] = f'attachment; filename="{kind}-template.{fmt}"'
        return response

    def export_view(self, request, kind: str, fmt: str):
        try:
            data = services.export(kind, fmt, user=request.user)
        except DomainError as exc:
            return HttpResponse(exc.message, status=404)
        response = HttpResponse(data, content_type=CONTENT_TYPES[fmt])
        response["Content-Disposition"] = f'attachment; filename="{kind}.{fmt}"'
        return response
