"""The pharma plugin's tables, installed in every tenant schema.

* :class:`Batch`: a lot of a SKU in a warehouse with its manufacture and expiry
  dates; stock is held per batch (on hand, reserved). The core's ``Stock`` row of
  the SKU and warehouse is kept equal to the sum of its batches: receiving a
  batch raises it through ``core.inventory.services.receive_stock``.
* :class:`BatchReservation`: what an order's allocation took from a batch, and
  whether it is still reserved, was released (cancelled or rejected) or shipped.
* :class:`LicenceType`, :class:`DealerLicence`: the licences dealers hold.
* :class:`ControlledCategory`: a category whose products need a licence.
* :class:`ShelfLifeRule`: the least remaining shelf life a dealer accepts.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class LicenceType(models.Model):
    """A kind of licence (drug distribution licence, GSP certificate, controlled substance permit)."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        verbose_name = _("licence type")
        verbose_name_plural = _("licence types")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class DealerLicence(models.Model):
    """A licence a dealer holds, valid from ``valid_from`` through ``expires_on``."""

    dealer = models.ForeignKey(
        "accounts.Dealer",
        verbose_name=_("dealer"),
        on_delete=models.CASCADE,
        related_name="pharma_licences",
    )
    licence_type = models.ForeignKey(
        LicenceType,
        verbose_name=_("licence type"),
        on_delete=models.PROTECT,
        related_name="licences",
    )
    number = models.CharField(_("licence number"), max_length=80)
    valid_from = models.DateField(_("valid from"))
    expires_on = models.DateField(_("expires on"))
    note = models.CharField(_("note"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("dealer licence")
        verbose_name_plural = _("dealer licences")
        ordering = ["dealer", "licence_type", "-expires_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["licence_type", "number"], name="pharma_licence_unique_number"
            ),
            models.CheckConstraint(
                condition=Q(expires_on__gte=F("valid_from")), name="pharma_licence_dates_ordered"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.licence_type} {self.number}"

    def is_valid_on(self, day: datetime.date) -> bool:
        return self.valid_from <= day <= self.expires_on


class CategoryKind(models.TextChoices):
    PRESCRIPTION = "prescription", _("Prescription drugs")
    CONTROLLED = "controlled", _("Controlled substances")


class ControlledCategory(models.Model):
    """Products of this category (and of its subcategories) need a licence to be ordered."""

    category = models.OneToOneField(
        "catalog.Category",
        verbose_name=_("category"),
        on_delete=models.CASCADE,
        related_name="pharma_control",
    )
    kind = models.CharField(_("kind"), max_length=16, choices=CategoryKind.choices)
    required_licence = models.ForeignKey(
        LicenceType,
        verbose_name=_("licence required"),
        on_delete=models.PROTECT,
        related_name="controlled_categories",
    )

    class Meta:
        verbose_name = _("controlled category")
        verbose_name_plural = _("controlled categories")

    def __str__(self) -> str:
        return f"{self.category} ({self.get_kind_display()})"


class ShelfLifeRule(models.Model):
    """The least remaining shelf life (days) a dealer accepts; its subtree inherits it."""

    dealer = models.OneToOneField(
        "accounts.Dealer",
        verbose_name=_("dealer"),
        on_delete=models.CASCADE,
        related_name="pharma_shelf_life",
    )
    min_remaining_days = models.PositiveIntegerField(_("minimum remaining shelf life (days)"))
    note = models.CharField(_("note"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("shelf-life rule")
        verbose_name_plural = _("shelf-life rules")

    def __str__(self) -> str:
        return f"{self.dealer} ≥ {self.min_remaining_days}"


class Batch(models.Model):
    """A lot of a SKU in one warehouse. Never negative, never more reserved than on hand."""

    sku = models.ForeignKey(
        "catalog.Sku",
        verbose_name=_("SKU"),
        on_delete=models.PROTECT,
        related_name="pharma_batches",
    )
    warehouse = models.ForeignKey(
        "inventory.Warehouse",
        verbose_name=_("warehouse"),
        on_delete=models.PROTECT,
        related_name="pharma_batches",
    )
    lot = models.CharField(_("lot number"), max_length=64)
    manufactured_on = models.DateField(_("manufacture date"))
    expires_on = models.DateField(_("expiry date"))
    on_hand = models.IntegerField(_("on hand"), default=0)
    reserved = models.IntegerField(_("reserved"), default=0)
    created_at = models.DateTimeField(_("received at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("batch")
        verbose_name_plural = _("batches")
        ordering = ["sku", "expires_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["sku", "warehouse", "lot"], name="pharma_batch_unique_lot"
            ),
            models.CheckConstraint(
                condition=Q(on_hand__gte=0), name="pharma_batch_on_hand_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(reserved__gte=0), name="pharma_batch_reserved_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(reserved__lte=F("on_hand")), name="pharma_batch_not_oversold"
            ),
            models.CheckConstraint(
                condition=Q(expires_on__gt=F("manufactured_on")),
                name="pharma_batch_expires_after_made",
            ),
        ]
        indexes = [models.Index(fields=["sku", "expires_on"], name="pharma_batch_sku_expiry")]

    def __str__(self) -> str:
        return f"{self.lot} ({self.expires_on:%Y-%m-%d})"

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved

    def days_to_expiry(self, today: datetime.date) -> int:
        return (self.expires_on - today).days

    def is_expired(self, today: datetime.date) -> bool:
        """A batch may be used through its expiry date, not after."""
        return self.expires_on < today


class ReservationStatus(models.TextChoices):
    RESERVED = "reserved", _("Reserved")
    RELEASED = "released", _("Released")
    SHIPPED = "shipped", _("Shipped")


class BatchReservation(models.Model):
    """Units of a batch held for an order's allocation, until released or shipped.

    Written from the allocation's data (``Allocation.data["batches"]``, stored in
    the order's own transaction); the status moves once, reserved → released or
    reserved → shipped, by a conditional update, so order events applied twice
    change the batch once.
    """

    allocation = models.ForeignKey(
        "orders.Allocation",
        verbose_name=_("allocation"),
        on_delete=models.CASCADE,
        related_name="pharma_reservations",
    )
    order = models.ForeignKey(
        "orders.Order", verbose_name=_("order"), on_delete=models.CASCADE, related_name="+"
    )
    batch = models.ForeignKey(
        Batch, verbose_name=_("batch"), on_delete=models.PROTECT, related_name="reservations"
    )
    quantity = models.PositiveIntegerField(_("quantity"))
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=ReservationStatus.choices,
        default=ReservationStatus.RESERVED,
    )
    shipped_expired = models.BooleanField(
        _("shipped after expiry"),
        default=False,
        help_text=_("The batch had expired when its shipment left the warehouse."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("batch reservation")
        verbose_name_plural = _("batch reservations")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["allocation", "batch"], name="pharma_reservation_unique_allocation_batch"
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="pharma_reservation_positive"),
        ]
        indexes = [models.Index(fields=["order", "status"], name="pharma_reservation_order")]

    def __str__(self) -> str:
        return f"{self.batch_id} × {self.quantity} ({self.status})"


class BatchReturn(models.Model):
    """Returned units put back on the batch they were shipped from (one row per return line)."""

    return_line = models.OneToOneField(
        "orders.ReturnLine",
        verbose_name=_("return line"),
        on_delete=models.CASCADE,
        related_name="pharma_batch_return",
    )
    batch = models.ForeignKey(
        Batch, verbose_name=_("batch"), on_delete=models.PROTECT, related_name="returns"
    )
    quantity = models.PositiveIntegerField(_("quantity"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("batch return")
        verbose_name_plural = _("batch returns")

    def __str__(self) -> str:
        return f"{self.batch_id} + {self.quantity}"


class MovementKind(models.TextChoices):
    RECEIPT = "receipt", _("Receipt")
    ADJUSTMENT = "adjustment", _("Stock-take adjustment")
    TRANSFER_OUT = "transfer_out", _("Transfer out")
    TRANSFER_IN = "transfer_in", _("Transfer in")


class BatchMovement(models.Model):
    """A change of a batch's on-hand stock outside orders: its receipts, stock-take
    adjustments and transfers between warehouses (the batch's history, and the
    transfers a recall trace follows). Orders are traced through their allocations."""

    batch = models.ForeignKey(
        Batch, verbose_name=_("batch"), on_delete=models.PROTECT, related_name="movements"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=MovementKind.choices)
    quantity = models.IntegerField(_("quantity"), help_text=_("Positive in, negative out."))
    on_hand_after = models.IntegerField(_("on hand after"))
    counterpart = models.ForeignKey(
        Batch,
        verbose_name=_("other batch"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("For transfers: the same lot in the other warehouse."),
    )
    reference = models.CharField(_("reference"), max_length=64, blank=True)
    note = models.CharField(_("note"), max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("batch movement")
        verbose_name_plural = _("batch movements")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(quantity=0), name="pharma_movement_not_zero"),
        ]
        indexes = [models.Index(fields=["batch", "-id"], name="pharma_movement_batch")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.quantity:+d} ({self.reference or self.pk})"
