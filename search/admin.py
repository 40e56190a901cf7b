"""The console's view of search: recent index writes and the lag from commit to searchable."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .indexing import lag_summary
from .models import IndexLagSample


@admin.register(IndexLagSample)
class IndexLagSampleAdmin(admin.ModelAdmin):
    list_display = ("indexed_at", "lag_seconds", "documents", "backend")
    list_filter = ("backend",)
    ordering = ("-indexed_at",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        summary = lag_summary()
        if summary["n"]:
            title = (
                _(
                    "Index lag over the last %(n)d writes: p50 %(p50).2fs, p95 %(p95).2fs, max %(max).2fs"
                )
                % summary
            )
        else:
            title = _("Index lag: no index writes recorded yet")
        return super().changelist_view(request, {**(extra_context or {}), "title": title})
