"""Installed in every tenant schema (the plugin's ``django_apps`` hook)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class MinimumQuantity(models.Model):
    """The least a dealer may order of a SKU on one line, in base units."""

    sku = models.OneToOneField(
        "catalog.Sku",
        verbose_name=_("SKU"),
        on_delete=models.CASCADE,
        related_name="example_minimum",
    )
    minimum = models.PositiveIntegerField(_("minimum quantity"))

    class Meta:
        verbose_name = _("minimum order quantity")
        verbose_name_plural = _("minimum order quantities")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(minimum__gte=1), name="example_minimum_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku_id} ≥ {self.minimum}"
