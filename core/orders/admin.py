from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from core.exceptions import DomainError

from . import services
from .models import (
    ApprovalRule,
    ExternalSkuMapping,
    Order,
    OrderApproval,
    OrderLine,
    OrderSettings,
    OrderTransition,
    Shipment,
)


class LineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    can_delete = False
    fields = (
        "position",
        "sku",
        "unit_code",
        "quantity",
        "base_quantity",
        "unit_price",
        "discount",
        "tax_amount",
        "line_total",
        "is_free",
    )
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class ShipmentInline(admin.TabularInline):
    model = Shipment
    extra = 0
    can_delete = False
    fields = ("warehouse", "status", "carrier", "tracking_number", "shipped_at", "delivered_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class TransitionInline(admin.TabularInline):
    model = OrderTransition
    extra = 0
    can_delete = False
    fields = ("at", "from_status", "to_status", "by", "comment")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class ApprovalInline(admin.TabularInline):
    model = OrderApproval
    extra = 0
    can_delete = False
    fields = ("reason", "approver_role", "status", "decided_by", "decided_at", "comment")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    """Orders are changed only through the order services (approve, reject, cancel)."""

    list_display = ("number", "dealer", "status", "channel", "total", "currency", "created_at")
    list_filter = ("status", "channel")
    search_fields = ("number", "dealer__code", "dealer__name", "external_ref")
    list_select_related = ("dealer",)
    date_hierarchy = "created_at"
    readonly_fields = (
        "number",
        "dealer",
        "placed_by",
        "channel",
        "status",
        "payment_method",
        "currency",
        "subtotal",
        "discount_total",
        "rebate_applied",
        "tax_total",
        "total",
        "idempotency_key",
        "external_ref",
        "note",
        "created_at",
    )
    exclude = ("request_hash", "promotion_ids")
    inlines = [LineInline, ShipmentInline, ApprovalInline, TransitionInline]
    actions = ["approve", "cancel"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def _run(self, request, queryset, action, done_message):
        done = 0
        for order in queryset:
            try:
                action(order=order, user=request.user)
                done += 1
            except DomainError as exc:
                messages.error(request, f"{order.number}: {exc.message}")
        if done:
            messages.success(request, done_message % {"n": done})

    @admin.action(description=_("Approve selected orders"))
    def approve(self, request, queryset):
        self._run(request, queryset, services.approve_order, _("%(n)d orders approved."))

    @admin.action(description=_("Cancel selected orders"))
    def cancel(self, request, queryset):
        self._run(request, queryset, services.cancel_order, _("%(n)d orders cancelled."))


@admin.register(ApprovalRule)
class ApprovalRuleAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "kind",
        "amount",
        "first_orders",
        "category",
        "approver_role",
        "is_active",
    )
    list_filter = ("kind", "is_active")


@admin.register(OrderSettings)
class OrderSettingsAdmin(admin.ModelAdmin):
    list_display = ("credit_policy", "number_prefix")

    def has_add_permission(self, request):
        return not OrderSettings.objects.exists()


@admin.register(ExternalSkuMapping)
class ExternalSkuMappingAdmin(admin.ModelAdmin):
    list_display = ("source", "external_code", "sku", "unit_code")
    list_filter = ("source",)
    search_fields = ("external_code", "sku__code")
