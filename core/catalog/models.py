"""Products and the SKUs dealers order."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ProductStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    DISCONTINUED = "discontinued", _("Discontinued")


class Category(models.Model):
    """A node of the category tree. ``attribute_schema`` declares the typed
    attributes products of this category carry (see ``Product.attributes``)."""

    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), max_length=120, unique=True)
    parent = models.ForeignKey(
        "self", verbose_name=_("parent"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    attribute_schema = models.JSONField(_("attribute schema"), default=list, blank=True)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Brand(models.Model):
    name = models.CharField(_("name"), max_length=120, unique=True)

    class Meta:
        verbose_name = _("brand")
        verbose_name_plural = _("brands")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    name = models.CharField(_("name"), max_length=200)
    category = models.ForeignKey(
        Category, verbose_name=_("category"), null=True, blank=True, on_delete=models.PROTECT, related_name="products"
    )
    brand = models.ForeignKey(
        Brand, verbose_name=_("brand"), null=True, blank=True, on_delete=models.PROTECT, related_name="products"
    )
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=ProductStatus.choices, default=ProductStatus.ACTIVE
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class Sku(models.Model):
    """A sellable variant of a product; quantities are integers in its base unit."""

    product = models.ForeignKey(Product, verbose_name=_("product"), on_delete=models.CASCADE, related_name="skus")
    code = models.CharField(_("SKU code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200, blank=True)
    gtin = models.CharField(_("barcode (GTIN)"), max_length=14, blank=True, db_index=True)
    base_unit = models.CharField(_("base unit"), max_length=16, default="each")

    class Meta:
        verbose_name = _("SKU")
        verbose_name_plural = _("SKUs")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class SkuUnit(models.Model):
    """A unit a SKU is counted or sold in: each, inner, case, pallet …

    ``factor`` is how many base units one of this unit holds (1 for the base
    unit). Quantities are always stored in base units; a line of 3 cases of 12
    is 36 base units.
    """

    sku = models.ForeignKey(Sku, verbose_name=_("SKU"), on_delete=models.CASCADE, related_name="units")
    code = models.CharField(_("unit code"), max_length=16)
    name = models.CharField(_("name"), max_length=40, blank=True)
    factor = models.PositiveIntegerField(_("base units per unit"), default=1)
    gtin = models.CharField(_("barcode (GTIN)"), max_length=14, blank=True, db_index=True)
    is_sellable = models.BooleanField(_("sellable"), default=True)

    class Meta:
        verbose_name = _("SKU unit")
        verbose_name_plural = _("SKU units")
        ordering = ["sku", "factor"]
        constraints = [
            models.UniqueConstraint(fields=["sku", "code"], name="sku_unit_unique_code"),
            models.CheckConstraint(condition=models.Q(factor__gte=1), name="sku_unit_factor_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.sku.code}/{self.code}×{self.factor}"
