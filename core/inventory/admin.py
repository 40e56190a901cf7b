from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from core.exceptions import DomainError

from . import services
from .models import Stock, StockMovement, Transfer, Warehouse


@admin.register(Warehouse)
class WarehouseAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "region", "priority", "is_active")
    list_filter = ("is_active", "region")
    search_fields = ("code", "name")


class MovementInline(admin.TabularInline):
    model = StockMovement
    extra = 0
    can_delete = False
    fields = (
        "created_at",
        "reason",
        "quantity",
        "on_hand_after",
        "reference",
        "note",
        "created_by",
    )
    readonly_fields = fields
    ordering = ("-id",)

    def has_add_permission(self, request, obj=None):
        return False


class LowStockFilter(admin.SimpleListFilter):
    title = _("low stock")
    parameter_name = "low"

    def lookups(self, request, model_admin):
        return [("1", _("Below safety stock"))]

    def queryset(self, request, queryset):
        if self.value() == "1":
            from django.db.models import F

            return queryset.filter(
                safety_stock__gt=0, on_hand__lt=F("reserved") + F("safety_stock")
            )
        return queryset


@admin.register(Stock)
class StockAdmin(admin.ModelAdmin):
    """Stock is changed through receipts, counts and transfers (which record movements),
    never by editing the numbers."""

    list_display = ("sku", "warehouse", "on_hand", "reserved", "available", "safety_stock")
    list_filter = ("warehouse", LowStockFilter)
    search_fields = ("sku__code", "sku__name")
    list_select_related = ("sku", "warehouse")
    readonly_fields = ("sku", "warehouse", "on_hand", "reserved")
    fields = ("sku", "warehouse", "on_hand", "reserved", "safety_stock")
    inlines = [MovementInline]

    @admin.display(description=_("available"))
    def available(self, obj):
        return obj.available

    def has_add_permission(self, request):
        return False


@admin.register(Transfer)
class TransferAdmin(admin.ModelAdmin):
    list_display = ("created_at", "sku", "source", "destination", "quantity", "created_by")
    fields = ("sku", "source", "destination", "quantity")
    autocomplete_fields = ()

    def has_change_permission(self, request, obj=None):
        return obj is None

    def save_model(self, request, obj, form, change):
        try:
            created = services.transfer_stock(
                sku=obj.sku,
                source=obj.source,
                destination=obj.destination,
                quantity=obj.quantity,
                user=request.user,
            )
            obj.pk = created.pk
        except DomainError as exc:
            messages.error(request, exc.message)
