"""Installed in every tenant schema (the plugin's ``django_apps`` hook).

* :class:`CategoryParameter`: which parameters the parts of a core category
  carry, with their quantity kind, display unit and how alternates compare them.
* :class:`PartParameter`: one normalised value of one parameter of a product
  (exact decimals in SI units, see :mod:`plugins.electronics.units`).
* :class:`ReelRule`: a SKU's reel quantity, cut-tape rule and minimum order.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .units import DECIMAL_PLACES, MAX_DIGITS, QUANTITY_LABELS, Quantity

QUANTITY_CHOICES = [(q.value, QUANTITY_LABELS[q]) for q in Quantity]


class Match(models.TextChoices):
    """How :func:`plugins.electronics.selectors.alternates` compares a parameter."""

    WITHIN_TOLERANCE = "within_tolerance", _("same value within the part's tolerance")
    AT_LEAST = "at_least", _("at least the part's value (ratings)")
    AT_MOST = "at_most", _("at most the part's value (tolerance)")
    COVERS = "covers", _("covers the part's range")
    EQUAL = "equal", _("the same")
    IGNORE = "ignore", _("not compared")


DEFAULT_MATCH = {
    Quantity.RESISTANCE: Match.WITHIN_TOLERANCE,
    Quantity.CAPACITANCE: Match.WITHIN_TOLERANCE,
    Quantity.INDUCTANCE: Match.WITHIN_TOLERANCE,
    Quantity.FREQUENCY: Match.WITHIN_TOLERANCE,
    Quantity.VOLTAGE: Match.AT_LEAST,
    Quantity.CURRENT: Match.AT_LEAST,
    Quantity.POWER: Match.AT_LEAST,
    Quantity.TOLERANCE: Match.AT_MOST,
    Quantity.TEMPERATURE_RANGE: Match.COVERS,
    Quantity.PACKAGE: Match.EQUAL,
    Quantity.CHOICE: Match.EQUAL,
}

CODE_VALIDATOR_RE = r"^[a-z][a-z0-9_]{0,39}$"


class CategoryParameter(models.Model):
    """A parameter the parts of ``category`` (and its subcategories) carry."""

    category = models.ForeignKey(
        "catalog.Category",
        verbose_name=_("category"),
        on_delete=models.CASCADE,
        related_name="electronics_parameters",
    )
    code = models.CharField(
        _("code"),
        max_length=40,
        help_text=_("Lower-case letters, digits and underscores, e.g. resistance."),
    )
    label = models.CharField(_("label"), max_length=80)
    quantity = models.CharField(_("quantity kind"), max_length=24, choices=QUANTITY_CHOICES)
    display_unit = models.CharField(
        _("display unit"),
        max_length=12,
        blank=True,
        help_text=_("e.g. kΩ, nF, V; empty: automatic."),
    )
    match = models.CharField(
        _("alternates match"),
        max_length=20,
        choices=Match.choices,
        blank=True,
        help_text=_("Empty: the usual rule for the quantity kind."),
    )
    required = models.BooleanField(_("required"), default=False)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("category parameter")
        verbose_name_plural = _("category parameters")
        ordering = ["category_id", "position", "code"]
        constraints = [
            models.UniqueConstraint(fields=["category", "code"], name="electronics_param_unique"),
            models.CheckConstraint(
                condition=Q(code__regex=CODE_VALIDATOR_RE), name="electronics_param_code"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.category_id}:{self.code}"

    @property
    def match_rule(self) -> str:
        return self.match or DEFAULT_MATCH[Quantity(self.quantity)]


class PartParameter(models.Model):
    """One parameter value of a product, normalised.

    Numbers are in the SI unit of ``quantity`` (Ω, F, H, V, A, W, Hz; % for
    tolerances; °C for temperatures), exact to 1e-18; ``value_max`` is the top
    of a range; ``text`` holds packages and choices. ``raw`` is what was typed.
    """

    product = models.ForeignKey(
        "catalog.Product",
        verbose_name=_("product"),
        on_delete=models.CASCADE,
        related_name="electronics_parameters",
    )
    code = models.CharField(_("code"), max_length=40)
    quantity = models.CharField(_("quantity kind"), max_length=24, choices=QUANTITY_CHOICES)
    value = models.DecimalField(
        _("value"), max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, null=True, blank=True
    )
    value_max = models.DecimalField(
        _("upper value"),
        max_digits=MAX_DIGITS,
        decimal_places=DECIMAL_PLACES,
        null=True,
        blank=True,
    )
    text = models.CharField(_("text"), max_length=40, blank=True)
    raw = models.CharField(_("as entered"), max_length=80)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("part parameter")
        verbose_name_plural = _("part parameters")
        ordering = ["product_id", "code"]
        constraints = [
            models.UniqueConstraint(fields=["product", "code"], name="electronics_part_unique"),
            models.CheckConstraint(
                condition=Q(value__isnull=False) | ~Q(text=""), name="electronics_part_has_value"
            ),
            models.CheckConstraint(
                condition=Q(value_max__isnull=True) | Q(value__lte=models.F("value_max")),
                name="electronics_part_range_order",
            ),
        ]
        indexes = [
            models.Index(fields=["code", "value"], name="electronics_part_code_value"),
            models.Index(fields=["code", "text"], name="electronics_part_code_text"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}:{self.code}={self.raw}"


class ReelMode(models.TextChoices):
    ANY = "any", _("any quantity (cut tape)")
    REEL_ONLY = "reel_only", _("full reels only")
    CUT_TAPE_FROM = "cut_tape_from", _("full reels, or cut tape from a quantity")


class ReelRule(models.Model):
    """How a SKU may be ordered: in full reels, cut tape, and a minimum (base units)."""

    sku = models.OneToOneField(
        "catalog.Sku",
        verbose_name=_("SKU"),
        on_delete=models.CASCADE,
        related_name="electronics_reel_rule",
    )
    reel_quantity = models.PositiveIntegerField(
        _("reel quantity"), null=True, blank=True, help_text=_("Parts on one full reel, e.g. 5000.")
    )
    mode = models.CharField(
        _("mode"), max_length=16, choices=ReelMode.choices, default=ReelMode.ANY
    )
    cut_tape_from = models.PositiveIntegerField(
        _("cut tape from"),
        null=True,
        blank=True,
        help_text=_("Quantities that are not whole reels are accepted from this quantity on."),
    )
    minimum_quantity = models.PositiveIntegerField(_("minimum order quantity"), default=1)

    class Meta:
        verbose_name = _("reel and MOQ rule")
        verbose_name_plural = _("reel and MOQ rules")
        constraints = [
            models.CheckConstraint(
                condition=Q(minimum_quantity__gte=1), name="electronics_reel_moq_positive"
            ),
            models.CheckConstraint(
                condition=Q(reel_quantity__isnull=True) | Q(reel_quantity__gte=1),
                name="electronics_reel_quantity_positive",
            ),
            models.CheckConstraint(
                condition=Q(mode="any") | Q(reel_quantity__isnull=False),
                name="electronics_reel_mode_needs_reel",
            ),
            models.CheckConstraint(
                condition=~Q(mode="cut_tape_from") | Q(cut_tape_from__gte=1),
                name="electronics_reel_cut_tape_from",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku_id}: {self.mode} {self.reel_quantity or ''}"
