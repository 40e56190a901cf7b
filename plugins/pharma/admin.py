"""Console (Django admin) pages of the pharma plugin, hidden from tenants without it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.exceptions import DomainError
from plugins.admin import PluginModelAdmin

from .models import (
    Batch,
    BatchMovement,
    BatchReservation,
    ControlledCategory,
    DealerLicence,
    LicenceType,
    ShelfLifeRule,
)
from .services import NAME, receive_batch, today


class PharmaAdmin(PluginModelAdmin):
    plugin_name = NAME


class ReadOnlyPharmaAdmin(PharmaAdmin):
    """Rows the services write (reservations, movements): shown, never edited here."""

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


class ReceiveBatchForm(forms.ModelForm):
    """Receiving a lot: the quantity goes through the receiving service (batch and core stock)."""

    quantity = forms.IntegerField(label=_("quantity received"), min_value=1)

    class Meta:
        model = Batch
        fields = ("sku", "warehouse", "lot", "manufactured_on", "expires_on")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        made, expires = data.get("manufactured_on"), data.get("expires_on")
        if made and expires and expires <= made:
            raise ValidationError(
                {"expires_on": _("The expiry date must be after the manufacture date.")}
            )
        return data

    def validate_unique(self) -> None:
        """Receiving more of a lot already in the warehouse adds to it."""


@admin.register(Batch)
class BatchAdmin(PharmaAdmin):
    change_list_template = "admin/pharma/batch/change_list.html"
    list_display = (
        "lot",
        "sku",
        "warehouse",
        "manufactured_on",
        "expires_on",
        "days_left",
        "on_hand",
        "reserved",
    )
    list_filter = ("warehouse",)
    search_fields = ("lot", "sku__code", "sku__name")
    list_select_related = ("sku", "warehouse")
    autocomplete_fields = ()
    ordering = ("expires_on", "id")

    @admin.display(description=_("days left"))
    def days_left(self, obj: Batch) -> int:
        return obj.days_to_expiry(today())

    def get_form(self, request: Any, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = ReceiveBatchForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: Any, obj: Any = None) -> Any:
        if obj is None:
            return ("sku", "warehouse", "lot", "manufactured_on", "expires_on", "quantity")
        return ("sku", "warehouse", "lot", "manufactured_on", "expires_on", "on_hand", "reserved")

    def get_readonly_fields(self, request: Any, obj: Any = None) -> Any:
        if obj is None:
            return ()
        # Quantities change through receiving, orders and shipments, never by hand.
        return ("sku", "warehouse", "lot", "manufactured_on", "on_hand", "reserved")

    def save_model(self, request: Any, obj: Batch, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        try:
            saved = receive_batch(
                sku=obj.sku,
                warehouse=obj.warehouse,
                lot=obj.lot,
                manufactured_on=obj.manufactured_on,
                expires_on=obj.expires_on,
                quantity=form.cleaned_data["quantity"],
                user=request.user,
            )
        except DomainError as exc:
            raise ValidationError(exc.message) from exc
        obj.pk = saved.pk
        obj.on_hand, obj.reserved = saved.on_hand, saved.reserved

    def add_view(self, request: Any, form_url: str = "", extra_context: Any = None) -> Any:
        try:
            return super().add_view(request, form_url, extra_context)
        except ValidationError as exc:
            from django.contrib import messages
            from django.http import HttpResponseRedirect

            messages.error(request, " ".join(exc.messages))
            return HttpResponseRedirect(request.get_full_path())

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False  # batches are history: recall traces point at them


@admin.register(LicenceType)
class LicenceTypeAdmin(PharmaAdmin):
    list_display = ("code", "name")
    search_fields = ("code", "name")


@admin.register(DealerLicence)
class DealerLicenceAdmin(PharmaAdmin):
    list_display = ("dealer", "licence_type", "number", "valid_from", "expires_on", "is_valid")
    list_filter = ("licence_type",)
    search_fields = ("number", "dealer__code", "dealer__name")
    list_select_related = ("dealer", "licence_type")
    raw_id_fields = ("dealer",)

    @admin.display(description=_("valid today"), boolean=True)
    def is_valid(self, obj: DealerLicence) -> bool:
        return obj.is_valid_on(today())


@admin.register(ControlledCategory)
class ControlledCategoryAdmin(PharmaAdmin):
    list_display = ("category", "kind", "required_licence")
    list_filter = ("kind", "required_licence")
    list_select_related = ("category", "required_licence")


@admin.register(ShelfLifeRule)
class ShelfLifeRuleAdmin(PharmaAdmin):
    list_display = ("dealer", "min_remaining_days", "note")
    search_fields = ("dealer__code", "dealer__name")
    list_select_related = ("dealer",)
    raw_id_fields = ("dealer",)


@admin.register(BatchReservation)
class BatchReservationAdmin(ReadOnlyPharmaAdmin):
    list_display = ("order", "batch", "quantity", "status", "shipped_expired", "updated_at")
    list_filter = ("status", "shipped_expired")
    search_fields = ("batch__lot", "order__number")
    list_select_related = ("order", "batch")


@admin.register(BatchMovement)
class BatchMovementAdmin(ReadOnlyPharmaAdmin):
    """A batch's history (receipts, stock-takes, transfers): read only, written by the services."""

    list_display = (
        "created_at",
        "batch",
        "kind",
        "quantity",
        "on_hand_after",
        "counterpart",
        "reference",
        "created_by",
    )
    list_filter = ("kind",)
    search_fields = ("batch__lot", "batch__sku__code", "reference")
    list_select_related = ("batch", "counterpart", "created_by")
