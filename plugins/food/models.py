"""Food & beverage data, installed in every tenant schema (hook ``django_apps``).

* :class:`CasePolicy`: per SKU, whether it may be ordered in single units
  (拆箱), which unit is its case, its shelf life and its mixed-case group.
* :class:`MixedCaseGroup`: SKUs (flavours of one drink) whose single units
  may be combined into whole cases when the tenant allows mixed cases.
* :class:`ProductionDate`: the production date of the stock a warehouse ships
  next for a SKU (first in, first out), from which best-before dates are shown.

Prices stay in the tenant's price lists (case and unit rows); the plugin adds none.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Policy(models.TextChoices):
    CASE_ONLY = "case_only", _("Whole cases only")
    UNITS = "units", _("Single units allowed")
    UNITS_MIN = "units_min", _("Single units allowed, with a minimum")


class MixedCaseGroup(models.Model):
    """SKUs whose single units add up to one case (e.g. flavours of one drink)."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=120)
    case_size = models.PositiveIntegerField(_("units per mixed case"))

    class Meta:
        verbose_name = _("mixed-case group")
        verbose_name_plural = _("mixed-case groups")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(case_size__gte=2), name="food_group_case_size_2")
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.case_size})"


class CasePolicy(models.Model):
    """How one SKU may be ordered: by the case only, or also by the single unit."""

    sku = models.OneToOneField(
        "catalog.Sku", verbose_name=_("SKU"), on_delete=models.CASCADE, related_name="food_policy"
    )
    policy = models.CharField(
        _("ordering policy"), max_length=16, choices=Policy.choices, default=Policy.CASE_ONLY
    )
    min_units = models.PositiveIntegerField(
        _("minimum single units"),
        default=0,
        help_text=_("With single units allowed with a minimum: the least a unit line may hold."),
    )
    case_unit = models.ForeignKey(
        "catalog.SkuUnit", verbose_name=_("case unit"), on_delete=models.PROTECT, related_name="+"
    )
    shelf_life_days = models.PositiveIntegerField(_("shelf life (days)"), null=True, blank=True)
    mixed_group = models.ForeignKey(
        MixedCaseGroup,
        verbose_name=_("mixed-case group"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="policies",
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("case policy")
        verbose_name_plural = _("case policies")
        constraints = [
            models.CheckConstraint(
                condition=~Q(policy="units_min") | Q(min_units__gte=1), name="food_min_units_set"
            )
        ]

    def __str__(self) -> str:
        return f"{self.sku_id}: {self.policy}"


class ProductionDate(models.Model):
    """The production date of the stock a warehouse ships next for a SKU.

    Staff record it when a new lot starts shipping (stock goes out oldest
    first). Best-before = this date + the SKU's shelf life.
    """

    sku = models.ForeignKey(
        "catalog.Sku", verbose_name=_("SKU"), on_delete=models.CASCADE, related_name="+"
    )
    warehouse = models.ForeignKey(
        "inventory.Warehouse",
        verbose_name=_("warehouse"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    production_date = models.DateField(_("production date"))
    lot = models.CharField(_("lot"), max_length=40, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("production date")
        verbose_name_plural = _("production dates")
        constraints = [
            models.UniqueConstraint(fields=["sku", "warehouse"], name="food_production_date_unique")
        ]

    def __str__(self) -> str:
        return f"{self.sku_id}@{self.warehouse_id}: {self.production_date}"
