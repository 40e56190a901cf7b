"""Vehicles, fitment, part numbers and cross-references; installed in every tenant schema."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _


class Fuel(models.TextChoices):
    PETROL = "petrol", _("Petrol")
    DIESEL = "diesel", _("Diesel")
    HYBRID = "hybrid", _("Hybrid")
    PLUGIN_HYBRID = "plugin_hybrid", _("Plug-in hybrid")
    ELECTRIC = "electric", _("Electric")
    LPG = "lpg", _("LPG")
    CNG = "cng", _("CNG")
    OTHER = "other", _("Other")


class Vehicle(models.Model):
    """A vehicle type parts fit: make, model, a range of model years and an engine.

    ``year_to`` empty means still built. ``body`` and ``trim`` narrow it when
    parts differ between bodies (saloon, estate) or trims.
    """

    make = models.CharField(_("make"), max_length=60)
    model = models.CharField(_("model"), max_length=80)
    year_from = models.PositiveSmallIntegerField(_("from model year"))
    year_to = models.PositiveSmallIntegerField(
        _("to model year"), null=True, blank=True, help_text=_("Empty while still built.")
    )
    engine_code = models.CharField(_("engine code"), max_length=40, blank=True)
    displacement = models.DecimalField(
        _("displacement (litres)"), max_digits=4, decimal_places=2, null=True, blank=True
    )
    fuel = models.CharField(_("fuel"), max_length=16, choices=Fuel.choices, blank=True)
    body = models.CharField(_("body"), max_length=40, blank=True)
    trim = models.CharField(_("trim"), max_length=60, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("vehicle")
        verbose_name_plural = _("vehicles")
        ordering = ["make", "model", "year_from", "engine_code", "id"]
        indexes = [
            models.Index(Upper("make"), Upper("model"), "year_from", name="autoparts_vehicle_make"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(year_from__gte=1900) & Q(year_from__lte=2100),
                name="autoparts_vehicle_year_from_range",
            ),
            models.CheckConstraint(
                condition=Q(year_to__isnull=True) | Q(year_to__gte=models.F("year_from")),
                name="autoparts_vehicle_year_order",
            ),
            models.CheckConstraint(
                condition=Q(displacement__isnull=True) | Q(displacement__gt=0),
                name="autoparts_vehicle_displacement_positive",
            ),
        ]

    def __str__(self) -> str:
        years = f"{self.year_from}-{self.year_to or ''}"
        engine = f" {self.engine_code}" if self.engine_code else ""
        return f"{self.make} {self.model} {years}{engine}"


class Position(models.TextChoices):
    ANY = "", _("Any position")
    FRONT = "front", _("Front")
    REAR = "rear", _("Rear")
    LEFT = "left", _("Left")
    RIGHT = "right", _("Right")
    FRONT_LEFT = "front_left", _("Front left")
    FRONT_RIGHT = "front_right", _("Front right")
    REAR_LEFT = "rear_left", _("Rear left")
    REAR_RIGHT = "rear_right", _("Rear right")
    UPPER = "upper", _("Upper")
    LOWER = "lower", _("Lower")


class Fitment(models.Model):
    """A part fits a vehicle: a whole product (every SKU), or one SKU of it."""

    vehicle = models.ForeignKey(
        Vehicle, verbose_name=_("vehicle"), on_delete=models.CASCADE, related_name="fitments"
    )
    product = models.ForeignKey(
        "catalog.Product",
        verbose_name=_("product"),
        on_delete=models.CASCADE,
        related_name="autoparts_fitments",
    )
    sku = models.ForeignKey(
        "catalog.Sku",
        verbose_name=_("SKU"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="autoparts_fitments",
        help_text=_("Only this SKU fits; empty when every SKU of the product does."),
    )
    position = models.CharField(
        _("position"), max_length=16, choices=Position.choices, blank=True, default=""
    )
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("fitment")
        verbose_name_plural = _("fitments")
        ordering = ["vehicle", "product", "position", "id"]
        indexes = [models.Index(fields=["product"], name="autoparts_fitment_product")]
        constraints = [
            models.UniqueConstraint(
                fields=["vehicle", "product", "sku", "position"],
                nulls_distinct=False,
                name="autoparts_fitment_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku_id or self.product_id} → {self.vehicle_id}"


class NumberKind(models.TextChoices):
    OE = "oe", _("OE number")
    AFTERMARKET = "aftermarket", _("Aftermarket number")


class PartNumber(models.Model):
    """An OE number (the vehicle manufacturer's) or an aftermarket brand's part number.

    ``normalised`` is the number upper-cased without spaces, dashes, dots or
    slashes; look-ups compare it (indexed), so ``04465-33450`` and
    ``04465 33450`` are one number. ``products`` are the tenant's products
    that are this part.
    """

    kind = models.CharField(_("kind"), max_length=16, choices=NumberKind.choices, default="oe")
    brand = models.CharField(
        _("manufacturer or brand"), max_length=60, help_text=_("Toyota, Bosch, Brembo …")
    )
    number = models.CharField(_("number"), max_length=60)
    normalised = models.CharField(_("normalised number"), max_length=60, db_index=True)
    products = models.ManyToManyField(
        "catalog.Product",
        verbose_name=_("products"),
        blank=True,
        related_name="autoparts_numbers",
    )
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("part number")
        verbose_name_plural = _("part numbers")
        ordering = ["brand", "normalised", "id"]
        constraints = [
            models.UniqueConstraint(
                Upper("brand"), "normalised", name="autoparts_partnumber_unique"
            ),
            models.CheckConstraint(condition=~Q(normalised=""), name="autoparts_number_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.brand} {self.number}"

    def save(self, *args, **kwargs):
        from .numbers import normalise_number

        self.normalised = normalise_number(self.number)
        super().save(*args, **kwargs)


class CrossReference(models.Model):
    """Two part numbers of different brands that are interchangeable (looked up both ways)."""

    source = models.ForeignKey(
        PartNumber,
        verbose_name=_("number"),
        on_delete=models.CASCADE,
        related_name="references_out",
    )
    target = models.ForeignKey(
        PartNumber,
        verbose_name=_("equivalent number"),
        on_delete=models.CASCADE,
        related_name="references_in",
    )
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("cross-reference")
        verbose_name_plural = _("cross-references")
        ordering = ["source", "target"]
        constraints = [
            models.UniqueConstraint(fields=["source", "target"], name="autoparts_xref_unique"),
            models.CheckConstraint(
                condition=~Q(source=models.F("target")), name="autoparts_xref_not_self"
            ),
        ]
        indexes = [models.Index(fields=["target"], name="autoparts_xref_target")]

    def __str__(self) -> str:
        return f"{self.source_id} ⇄ {self.target_id}"
