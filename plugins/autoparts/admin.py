"""The auto parts tables in the tenant console (hidden from tenants without the plugin)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from plugins.admin import PluginModelAdmin

from .models import CrossReference, Fitment, PartNumber, Vehicle

NAME = "autoparts"


class FitmentInline(admin.TabularInline):
    model = Fitment
    extra = 1
    raw_id_fields = ("product", "sku")
    fields = ("product", "sku", "position", "note")


@admin.register(Vehicle)
class VehicleAdmin(PluginModelAdmin):
    plugin_name = NAME
    list_display = (
        "make",
        "model",
        "year_from",
        "year_to",
        "engine_code",
        "displacement",
        "fuel",
        "body",
        "trim",
    )
    list_filter = ("fuel", "make")
    search_fields = ("make", "model", "engine_code")
    inlines = [FitmentInline]


@admin.register(Fitment)
class FitmentAdmin(PluginModelAdmin):
    plugin_name = NAME
    list_display = ("vehicle", "product", "sku", "position", "note")
    list_filter = ("position",)
    search_fields = (
        "product__code",
        "product__name",
        "sku__code",
        "vehicle__make",
        "vehicle__model",
    )
    raw_id_fields = ("vehicle", "product", "sku")
    list_select_related = ("vehicle", "product", "sku")


class CrossReferenceInline(admin.TabularInline):
    model = CrossReference
    fk_name = "source"
    extra = 1
    raw_id_fields = ("target",)
    verbose_name = _("equivalent number")
    verbose_name_plural = _("equivalent numbers")


@admin.register(PartNumber)
class PartNumberAdmin(PluginModelAdmin):
    plugin_name = NAME
    list_display = ("brand", "number", "kind", "normalised")
    list_filter = ("kind",)
    search_fields = ("=normalised", "number", "brand")
    readonly_fields = ("normalised",)
    raw_id_fields = ("products",)
    inlines = [CrossReferenceInline]

    def get_search_results(self, request, queryset, search_term):
        """Search by the number as typed in any form (spaces, dashes, case)."""
        from .numbers import normalise_number

        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        key = normalise_number(search_term)
        if key:
            queryset |= self.model.objects.filter(normalised__startswith=key)
        return queryset, may_have_duplicates


@admin.register(CrossReference)
class CrossReferenceAdmin(PluginModelAdmin):
    plugin_name = NAME
    list_display = ("source", "target", "note")
    raw_id_fields = ("source", "target")
    list_select_related = ("source", "target")
