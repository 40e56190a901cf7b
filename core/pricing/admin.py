"""The tenant console for pricing: lists and their breaks, promotions, rebates,
credit and quotes. Ledgers are read-only here: they change through services."""

from __future__ import annotations

from django.contrib import admin

from .models import (
    CreditAccount,
    CreditEntry,
    PriceList,
    PriceListAssignment,
    PriceListItem,
    Promotion,
    Quote,
    QuoteLine,
    RebateAccount,
    RebateEntry,
    RebateProgramme,
)


class PriceListItemInline(admin.TabularInline):
    model = PriceListItem
    extra = 0
    raw_id_fields = ("sku",)


class PriceListAssignmentInline(admin.TabularInline):
    model = PriceListAssignment
    extra = 0
    raw_id_fields = ("dealer",)


@admin.register(PriceList)
class PriceListAdmin(admin.ModelAdmin):
    list_display = (
        "code",
        "name",
        "kind",
        "currency",
        "tier",
        "region",
        "valid_from",
        "valid_to",
        "is_active",
    )
    list_filter = ("kind", "currency", "is_active")
    search_fields = ("code", "name")
    inlines = [PriceListAssignmentInline, PriceListItemInline]


@admin.register(Promotion)
class PromotionAdmin(admin.ModelAdmin):
    list_display = (
        "code",
        "name",
        "kind",
        "priority",
        "stackable",
        "is_active",
        "starts_at",
        "ends_at",
        "used_count",
    )
    list_filter = ("kind", "stackable", "is_active")
    search_fields = ("code", "name")
    readonly_fields = ("used_count",)


@admin.register(RebateProgramme)
class RebateProgrammeAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "period", "currency", "starts_on", "ends_on", "is_active")
    search_fields = ("code", "name")


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(CreditAccount)
class CreditAccountAdmin(ReadOnlyAdmin):
    list_display = ("dealer", "currency", "balance", "updated_at")
    search_fields = ("dealer__code", "dealer__name")


@admin.register(CreditEntry)
class CreditEntryAdmin(ReadOnlyAdmin):
    list_display = (
        "dealer",
        "kind",
        "amount",
        "currency",
        "reference",
        "balance_after",
        "occurred_at",
    )
    list_filter = ("kind",)
    search_fields = ("dealer__code", "reference")


@admin.register(RebateAccount)
class RebateAccountAdmin(ReadOnlyAdmin):
    list_display = ("dealer", "currency", "balance", "updated_at")


@admin.register(RebateEntry)
class RebateEntryAdmin(ReadOnlyAdmin):
    list_display = (
        "dealer",
        "programme",
        "kind",
        "amount",
        "currency",
        "period_start",
        "reference",
        "created_at",
    )
    list_filter = ("kind",)


class QuoteLineInline(admin.TabularInline):
    model = QuoteLine
    extra = 0
    raw_id_fields = ("sku",)
    readonly_fields = ("list_unit_price", "line_total")


@admin.register(Quote)
class QuoteAdmin(admin.ModelAdmin):
    list_display = ("number", "dealer", "status", "currency", "expires_at", "created_at")
    list_filter = ("status",)
    search_fields = ("number", "dealer__code")
    readonly_fields = ("status", "order_reference", "answered_at", "decided_at")
    inlines = [QuoteLineInline]
