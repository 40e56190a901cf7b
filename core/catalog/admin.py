"""The tenant console for the catalogue. Barcodes, pack sizes and attributes are
checked by the same rules as the API and imports."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils.translation import gettext as _

from core.exceptions import DomainError

from .attributes import clean_attributes, clean_schema
from .models import Brand, Catalogue, Category, Product, ProductImage, Sku, SkuUnit
from .rules import clean_gtin
from .selectors import effective_attribute_schema


def _add_errors(form: forms.ModelForm, exc: DomainError, default_field: str) -> None:
    for error in getattr(exc, "errors", None) or [exc]:
        field = (error.field or "").split(".")[0]
        form.add_error(field if field in form.fields else default_field, error.message)


class CategoryForm(forms.ModelForm):
    class Meta:
        model = Category
        fields = ("name", "slug", "parent", "attribute_schema")

    def clean_attribute_schema(self):
        try:
            return clean_schema(self.cleaned_data.get("attribute_schema"))
        except DomainError as exc:
            messages = [e.message for e in getattr(exc, "errors", None) or [exc]]
            raise forms.ValidationError(messages) from None

    def clean_parent(self):
        parent = self.cleaned_data.get("parent")
        if (
            parent is not None
            and self.instance.pk
            and (parent.pk == self.instance.pk or parent.path.startswith(self.instance.path))
        ):
            raise forms.ValidationError(
                _("A category cannot be placed under itself or its subcategory.")
            )
        return parent


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    form = CategoryForm
    list_display = ("name", "slug", "parent", "depth")
    search_fields = ("name", "slug")
    ordering = ("path",)
    prepopulated_fields = {"slug": ("name",)}
    autocomplete_fields = ("parent",)


@admin.register(Brand)
class BrandAdmin(admin.ModelAdmin):
    search_fields = ("name",)


class ProductImageInline(admin.TabularInline):
    model = ProductImage
    extra = 0
    fields = ("image", "url", "alt", "position", "sku")
    raw_id_fields = ("sku",)


class ProductForm(forms.ModelForm):
    class Meta:
        model = Product
        fields = (
            "code",
            "name",
            "category",
            "brand",
            "status",
            "tax_rate",
            "attributes",
            "description",
        )

    def clean(self):
        data = super().clean()
        try:
            data["attributes"] = clean_attributes(
                effective_attribute_schema(data.get("category")), data.get("attributes") or {}
            )
        except DomainError as exc:
            _add_errors(self, exc, "attributes")
        return data


class SkuInline(admin.TabularInline):
    model = Sku
    extra = 0
    fields = ("code", "name", "gtin", "base_unit", "min_order_qty", "order_multiple", "is_active")
    show_change_link = True


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    form = ProductForm
    list_display = ("code", "name", "category", "brand", "status", "tax_rate", "updated_at")
    list_filter = ("status", "brand", "category")
    search_fields = ("code", "name", "skus__code", "skus__gtin")
    autocomplete_fields = ("category", "brand")
    inlines = [SkuInline, ProductImageInline]


class SkuUnitForm(forms.ModelForm):
    class Meta:
        model = SkuUnit
        fields = ("code", "name", "factor", "gtin", "is_sellable")

    def clean_gtin(self):
        try:
            gtin = clean_gtin(self.cleaned_data.get("gtin"))
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from None
        taken = SkuUnit.objects.filter(gtin=gtin).exclude(pk=self.instance.pk) if gtin else None
        if taken is not None and taken.exclude(sku_id=self.instance.sku_id).exists():
            raise forms.ValidationError(_("This barcode belongs to another SKU."))
        return gtin


class SkuUnitInline(admin.TabularInline):
    model = SkuUnit
    form = SkuUnitForm
    extra = 0


class SkuForm(forms.ModelForm):
    class Meta:
        model = Sku
        fields = (
            "product",
            "code",
            "name",
            "gtin",
            "base_unit",
            "min_order_qty",
            "order_multiple",
            "attributes",
            "is_active",
        )

    def clean_gtin(self):
        try:
            return clean_gtin(self.cleaned_data.get("gtin"))
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from None


@admin.register(Sku)
class SkuAdmin(admin.ModelAdmin):
    form = SkuForm
    list_display = (
        "code",
        "name",
        "product",
        "gtin",
        "base_unit",
        "min_order_qty",
        "order_multiple",
        "is_active",
    )
    search_fields = ("code", "name", "gtin", "units__gtin")
    list_filter = ("is_active",)
    autocomplete_fields = ("product",)
    inlines = [SkuUnitInline]

    def save_model(self, request, obj, form, change):
        if not change:
            from .services import enforce_plan_limit

            enforce_plan_limit("skus")
        super().save_model(request, obj, form, change)


@admin.register(Catalogue)
class CatalogueAdmin(admin.ModelAdmin):
    list_display = ("name", "description")
    search_fields = ("name",)
    filter_horizontal = ("categories", "brands", "dealers")
    autocomplete_fields = ("products",)
