"""Admin pages: category parameters, part parameters (typed values parsed and
normalised by the same parser as the API) and reel rules. Hidden from tenants
without the plugin (:class:`plugins.admin.PluginModelAdmin`)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from plugins.admin import PluginModelAdmin, service_check

from . import selectors, services
from .models import CategoryParameter, PartParameter, ReelRule
from .units import ParameterError, parse_value

NAME = "electronics"


def _define_parameter(data: dict[str, Any]) -> CategoryParameter:
    """A category parameter form's cleaned values through the service."""
    return services.define_parameter(
        category=data["category"],
        code=data["code"],
        label=data["label"],
        quantity=data["quantity"],
        display_unit=data.get("display_unit", ""),
        match=data.get("match", ""),
        required=data.get("required", False),
        position=data.get("position") or 0,
    )


class CategoryParameterForm(forms.ModelForm):
    class Meta:
        model = CategoryParameter
        fields = (
            "category",
            "code",
            "label",
            "quantity",
            "display_unit",
            "match",
            "required",
            "position",
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        with service_check(self, {"displayUnit": "display_unit"}):
            _define_parameter(data)
        return data


@admin.register(CategoryParameter)
class CategoryParameterAdmin(PluginModelAdmin):
    plugin_name = NAME
    form = CategoryParameterForm
    list_display = (
        "category",
        "code",
        "label",
        "quantity",
        "display_unit",
        "match",
        "required",
        "position",
    )
    list_filter = ("quantity",)
    search_fields = ("code", "label", "category__name")
    autocomplete_fields = ("category",)

    def save_model(self, request, obj, form, change) -> None:
        obj.pk = _define_parameter(form.cleaned_data).pk


class PartParameterForm(forms.ModelForm):
    """Type the value as written (``10k``, ``0.1µF``, ``-40~85°C``); it is parsed
    with the parameter's quantity kind and stored normalised."""

    class Meta:
        model = PartParameter
        fields = ("product", "code", "raw")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        product, code, raw = data.get("product"), data.get("code"), data.get("raw")
        if self.errors or product is None:
            return data
        definition = selectors.category_parameters(product.category).get(code)
        if definition is None:
            self.add_error("code", _("This is not a parameter of the product's category."))
            return data
        try:
            self.parsed = parse_value(definition.quantity, raw, parameter=code)
        except ParameterError as exc:
            self.add_error("raw", f"{exc.code}: {exc.message}")
        return data


@admin.register(PartParameter)
class PartParameterAdmin(PluginModelAdmin):
    plugin_name = NAME
    form = PartParameterForm
    list_display = ("product", "code", "raw", "shown", "quantity", "value", "value_max", "text")
    list_filter = ("quantity", "code")
    search_fields = ("product__name", "product__skus__code", "code", "raw", "text")
    autocomplete_fields = ("product",)
    readonly_fields = ("quantity", "value", "value_max", "text")

    @admin.display(description=_("normalised"))
    def shown(self, obj: PartParameter) -> str:
        return selectors.display(obj)

    def save_model(self, request, obj, form, change) -> None:
        if change and "code" in form.changed_data:
            original = PartParameter.objects.get(pk=obj.pk)
            services.set_part_parameters(product=original.product, values={original.code: None})
        services.set_part_parameters(product=obj.product, values={obj.code: obj.raw})
        obj.pk = PartParameter.objects.get(product=obj.product, code=obj.code).pk

    def delete_model(self, request, obj) -> None:
        services.set_part_parameters(product=obj.product, values={obj.code: None})


def _set_reel_rule(data: dict[str, Any]) -> ReelRule:
    """A reel rule form's cleaned values through the service."""
    return services.set_reel_rule(
        sku=data["sku"],
        reel_quantity=data.get("reel_quantity"),
        mode=data["mode"],
        cut_tape_from=data.get("cut_tape_from"),
        minimum_quantity=data.get("minimum_quantity") or 0,
    )


class ReelRuleForm(forms.ModelForm):
    class Meta:
        model = ReelRule
        fields = ("sku", "reel_quantity", "mode", "cut_tape_from", "minimum_quantity")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors or data.get("sku") is None:
            return data
        names = {
            "reelQuantity": "reel_quantity",
            "cutTapeFrom": "cut_tape_from",
            "minimumQuantity": "minimum_quantity",
        }
        with service_check(self, names):
            _set_reel_rule(data)
        return data


@admin.register(ReelRule)
class ReelRuleAdmin(PluginModelAdmin):
    plugin_name = NAME
    form = ReelRuleForm
    list_display = ("sku", "reel_quantity", "mode", "cut_tape_from", "minimum_quantity")
    list_filter = ("mode",)
    search_fields = ("sku__code",)
    autocomplete_fields = ("sku",)

    def save_model(self, request, obj, form, change) -> None:
        obj.pk = _set_reel_rule(form.cleaned_data).pk
