"""Products and the SKUs dealers order."""

from __future__ import annotations

import secrets
from decimal import Decimal

from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q
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
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    attribute_schema = models.JSONField(
        _("attribute schema"),
        default=list,
        blank=True,
        help_text=_(
            'A list of attributes: {"code": "voltage", "label": "Voltage", "type": "number", '
            '"unit": "V", "required": true}; types: text, number (with an optional unit), '
            'choice (with "choices": [...]), boolean. Subcategories inherit their parents\' attributes.'
        ),
    )
    path = models.CharField(_("tree path"), max_length=255, blank=True, default="", editable=False)
    depth = models.PositiveSmallIntegerField(_("depth"), default=0, editable=False)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["name"]
        indexes = [
            models.Index(
                fields=["path"], name="category_path_prefix", opclasses=["varchar_pattern_ops"]
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        """Save, then keep the materialised ``path`` of this category and its subtree right."""
        from django.db import transaction
        from django.db.models import Value
        from django.db.models.functions import Concat, Length, Substr

        with transaction.atomic():
            super().save(*args, **kwargs)
            old_path = self.path
            if self.parent_id is None:
                new_path, depth = f"/{self.pk}/", 0
            else:
                parent = self.parent
                if parent.pk == self.pk or (old_path and parent.path.startswith(old_path)):
                    raise ValueError(
                        "A category cannot be moved under itself or its own subcategory."
                    )
                new_path, depth = f"{parent.path}{self.pk}/", parent.depth + 1
            if new_path == old_path and depth == self.depth:
                return
            delta = depth - self.depth
            Category.objects.filter(pk=self.pk).update(path=new_path, depth=depth)
            if old_path:
                Category.objects.filter(path__startswith=old_path).exclude(pk=self.pk).update(
                    path=Concat(Value(new_path), Substr("path", Length(Value(old_path)) + 1)),
                    depth=models.F("depth") + delta,
                )
            self.path, self.depth = new_path, depth

    @property
    def lineage_ids(self) -> list[int]:
        """Ids of the ancestors and this category, root first (no query)."""
        return [int(p) for p in self.path.strip("/").split("/") if p]


class Brand(models.Model):
    name = models.CharField(_("name"), max_length=120, unique=True)

    class Meta:
        verbose_name = _("brand")
        verbose_name_plural = _("brands")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


def new_product_code() -> str:
    return "P-" + secrets.token_hex(5).upper()


class Product(models.Model):
    """A product of the catalogue; dealers order its SKUs.

    ``attributes`` holds the typed attributes its category's schema declares
    (validated by :func:`core.catalog.attributes.clean_attributes`): text as a
    string, numbers as numbers in the schema's unit, choices as one of the
    declared values. A GIN index serves ``attributes @> {...}`` filters.
    """

    code = models.CharField(_("product code"), max_length=64, unique=True, default=new_product_code)
    name = models.CharField(_("name"), max_length=200)
    category = models.ForeignKey(
        Category,
        verbose_name=_("category"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="products",
    )
    brand = models.ForeignKey(
        Brand,
        verbose_name=_("brand"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="products",
    )
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=ProductStatus.choices, default=ProductStatus.ACTIVE
    )
    tax_rate = models.DecimalField(
        _("tax rate"),
        max_digits=5,
        decimal_places=4,
        default=Decimal("0.13"),
        help_text=_("VAT rate orders apply to this product's lines, e.g. 0.13 for 13%."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["id"]
        indexes = [
            GinIndex(
                fields=["attributes"], name="product_attributes_gin", opclasses=["jsonb_path_ops"]
            ),
            GinIndex(fields=["name"], name="product_name_trgm", opclasses=["gin_trgm_ops"]),
            # The listing sorted by name reads its page through this index alone: a later
            # page passes over every earlier product, filtered on the included columns
            # (status, and the catalogue's category, brand) without reading the table,
            # and the page's own rows (code, name) come from it too.
            models.Index(
                fields=["name", "id"],
                include=["status", "category", "brand", "code"],
                name="product_name_page",
            ),
            models.Index(fields=["created_at", "id"], name="product_created_id"),
            models.Index(fields=["status", "category"], name="product_status_category"),
            models.Index(fields=["status", "brand"], name="product_status_brand"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(tax_rate__gte=0) & Q(tax_rate__lt=1), name="product_tax_rate_range"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Sku(models.Model):
    """A sellable variant of a product; quantities are integers in its base unit.

    ``min_order_qty`` and ``order_multiple`` are in base units: a line must hold
    at least ``min_order_qty`` base units and a whole multiple of
    ``order_multiple`` (a line in cases of 12 holds 12 × n base units, so a case
    satisfies a multiple of 6 or 12). See :func:`core.catalog.rules.check_order_quantity`.
    ``gtin`` is the base unit's barcode; other units carry their own on
    :class:`SkuUnit`. A GTIN names exactly one SKU unit in the tenant.
    """

    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.CASCADE, related_name="skus"
    )
    code = models.CharField(_("SKU code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200, blank=True)
    gtin = models.CharField(_("barcode (GTIN)"), max_length=14, blank=True, db_index=True)
    base_unit = models.CharField(_("base unit"), max_length=16, default="each")
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    min_order_qty = models.PositiveIntegerField(_("minimum order quantity (base units)"), default=1)
    order_multiple = models.PositiveIntegerField(_("order multiple (base units)"), default=1)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("SKU")
        verbose_name_plural = _("SKUs")
        ordering = ["code"]
        indexes = [
            GinIndex(
                fields=["attributes"], name="sku_attributes_gin", opclasses=["jsonb_path_ops"]
            ),
            GinIndex(fields=["code"], name="sku_code_trgm", opclasses=["gin_trgm_ops"]),
            models.Index(fields=["product", "code"], name="sku_product_code"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(min_order_qty__gte=1), name="sku_moq_positive"),
            models.CheckConstraint(
                condition=Q(order_multiple__gte=1), name="sku_multiple_positive"
            ),
            models.UniqueConstraint(fields=["gtin"], condition=~Q(gtin=""), name="sku_gtin_unique"),
        ]

    def __str__(self) -> str:
        return self.code

    def save(self, *args, **kwargs):
        """Save; a new SKU gets its base unit (factor 1, the SKU's barcode) as a unit row,
        so every SKU can be ordered and scanned by its base unit."""
        adding = self._state.adding
        super().save(*args, **kwargs)
        if adding and not SkuUnit.objects.filter(sku=self, factor=1).exists():
            SkuUnit.objects.create(sku=self, code=self.base_unit, factor=1, gtin=self.gtin)


class SkuUnit(models.Model):
    """A unit a SKU is counted or sold in: each, inner, case, pallet …

    ``factor`` is how many base units one of this unit holds (1 for the base
    unit). Quantities are always stored in base units; a line of 3 cases of 12
    is 36 base units.
    """

    sku = models.ForeignKey(
        Sku, verbose_name=_("SKU"), on_delete=models.CASCADE, related_name="units"
    )
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
            models.CheckConstraint(
                condition=models.Q(factor__gte=1), name="sku_unit_factor_positive"
            ),
            models.UniqueConstraint(
                fields=["gtin"], condition=~Q(gtin=""), name="sku_unit_gtin_unique"
            ),
            models.UniqueConstraint(fields=["sku", "factor"], name="sku_unit_unique_factor"),
        ]

    def __str__(self) -> str:
        return f"{self.sku.code}/{self.code}×{self.factor}"


class ProductImage(models.Model):
    """A picture of a product (or of one of its SKUs): an uploaded file or a URL."""

    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.CASCADE, related_name="images"
    )
    sku = models.ForeignKey(
        Sku,
        verbose_name=_("SKU"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="images",
    )
    image = models.FileField(_("file"), upload_to="catalog/images/%Y/%m/", blank=True)
    url = models.URLField(_("URL"), max_length=500, blank=True)
    alt = models.CharField(_("alternative text"), max_length=200, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("product image")
        verbose_name_plural = _("product images")
        ordering = ["product", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(image="") | ~Q(url=""), name="product_image_has_source"
            ),
        ]

    def __str__(self) -> str:
        return self.src

    @property
    def src(self) -> str:
        return self.image.url if self.image else self.url


class Catalogue(models.Model):
    """An authorised catalogue: what the dealers assigned to it may see and order.

    It grants whole categories (with their subcategories), whole brands and
    single products; a product is in the catalogue when any grant covers it.
    A dealer's catalogues are its own assignments; a dealer with none inherits
    those of its nearest ancestor that has some; a dealer with none on its
    whole path sees the entire active catalogue.
    """

    name = models.CharField(_("name"), max_length=120, unique=True)
    description = models.TextField(_("description"), blank=True)
    categories = models.ManyToManyField(
        Category, verbose_name=_("categories (with subcategories)"), blank=True, related_name="+"
    )
    brands = models.ManyToManyField(Brand, verbose_name=_("brands"), blank=True, related_name="+")
    products = models.ManyToManyField(
        Product, verbose_name=_("products"), blank=True, related_name="+"
    )
    dealers = models.ManyToManyField(
        "accounts.Dealer",
        verbose_name=_("dealers"),
        blank=True,
        related_name="catalogues",
        help_text=_("Dealers limited to this catalogue; the dealers below them inherit it."),
    )

    class Meta:
        verbose_name = _("authorised catalogue")
        verbose_name_plural = _("authorised catalogues")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
