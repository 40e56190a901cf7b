"""Warehouses, stock per SKU per warehouse, and the movements that explain it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class Warehouse(models.Model):
    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=200)
    region = models.CharField(_("region"), max_length=80, blank=True)
    address = models.TextField(_("address"), blank=True)
    priority = models.PositiveSmallIntegerField(
        _("priority"),
        default=100,
        help_text=_("Lower numbers are preferred when allocating orders."),
    )
    is_active = models.BooleanField(
        _("active"),
        default=True,
        help_text=_("Closed warehouses take no new orders; orders route around them."),
    )

    class Meta:
        verbose_name = _("warehouse")
        verbose_name_plural = _("warehouses")
        ordering = ["priority", "code"]

    def __str__(self) -> str:
        return self.name


class Stock(models.Model):
    """On hand and reserved units of a SKU in a warehouse; available = on hand − reserved.

    The check constraints make overselling impossible whatever the code does.
    """

    sku = models.ForeignKey(
        "catalog.Sku", verbose_name=_("SKU"), on_delete=models.CASCADE, related_name="stocks"
    )
    warehouse = models.ForeignKey(
        Warehouse, verbose_name=_("warehouse"), on_delete=models.PROTECT, related_name="stocks"
    )
    on_hand = models.IntegerField(_("on hand"), default=0)
    reserved = models.IntegerField(_("reserved"), default=0)
    safety_stock = models.IntegerField(
        _("safety stock"),
        default=0,
        help_text=_("A low-stock alert is raised when available falls below this."),
    )
    low_stock_alerted = models.BooleanField(default=False, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("stock level")
        verbose_name_plural = _("stock levels")
        constraints = [
            models.UniqueConstraint(fields=["sku", "warehouse"], name="stock_unique_sku_warehouse"),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="stock_on_hand_non_negative"),
            models.CheckConstraint(
                condition=Q(reserved__gte=0), name="stock_reserved_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(reserved__lte=F("on_hand")), name="stock_not_oversold"
            ),
            models.CheckConstraint(
                condition=Q(safety_stock__gte=0), name="stock_safety_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku_id}@{self.warehouse_id}: {self.on_hand}/{self.reserved}"

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class MovementReason(models.TextChoices):
    RECEIPT = "receipt", _("Receipt")
    SALE = "sale", _("Sale (shipped)")
    RETURN = "return", _("Return")
    ADJUSTMENT = "adjustment", _("Adjustment")
    TRANSFER_OUT = "transfer_out", _("Transfer out")
    TRANSFER_IN = "transfer_in", _("Transfer in")


class StockMovement(models.Model):
    """A change of on-hand stock with its reason: the stock's history, so every
    quantity is explainable. (Reservations change ``reserved`` only and are
    explained by the orders' allocations.)"""

    stock = models.ForeignKey(Stock, on_delete=models.CASCADE, related_name="movements")
    quantity = models.IntegerField(
        _("quantity"), help_text=_("Positive in, negative out (base units).")
    )
    reason = models.CharField(_("reason"), max_length=16, choices=MovementReason.choices)
    reference = models.CharField(_("reference"), max_length=64, blank=True)
    note = models.CharField(_("note"), max_length=255, blank=True)
    on_hand_after = models.IntegerField(_("on hand after"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("stock movement")
        verbose_name_plural = _("stock movements")
        ordering = ["-id"]
        indexes = [models.Index(fields=["stock", "-id"], name="movement_stock_idx")]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} {self.quantity:+d} ({self.reference or self.pk})"


class TransferStatus(models.TextChoices):
    COMPLETED = "completed", _("Completed")


class Transfer(models.Model):
    """Stock moved between two warehouses."""

    sku = models.ForeignKey("catalog.Sku", on_delete=models.PROTECT, related_name="+")
    source = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="transfers_out")
    destination = models.ForeignKey(
        Warehouse, on_delete=models.PROTECT, related_name="transfers_in"
    )
    quantity = models.PositiveIntegerField(_("quantity"))
    status = models.CharField(
        max_length=16, choices=TransferStatus.choices, default=TransferStatus.COMPLETED
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("transfer")
        verbose_name_plural = _("transfers")
        constraints = [
            models.CheckConstraint(
                condition=~Q(source=F("destination")), name="transfer_distinct_warehouses"
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="transfer_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.sku_id}: {self.source_id} → {self.destination_id} × {self.quantity}"
