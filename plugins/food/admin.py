from django import forms
from django.contrib import admin

from plugins.admin import PluginModelAdmin, service_check

from .models import CasePolicy, MixedCaseGroup, ProductionDate


class FoodAdmin(PluginModelAdmin):
    plugin_name = "food"


def _save_case_policy(values: dict) -> CasePolicy:
    """The form's cleaned values through the service."""
    from .services import set_case_policy

    case_unit, group = values.get("case_unit"), values.get("mixed_group")
    return set_case_policy(
        sku=values["sku"],
        policy=values.get("policy"),
        min_units=values.get("min_units") or 0,
        case_unit=case_unit.code if case_unit else None,
        shelf_life_days=values.get("shelf_life_days"),
        mixed_group=group.code if group else None,
    )


class CasePolicyForm(forms.ModelForm):
    """Checked by the service the API uses (a minimum below the case, a shelf life
    of 1 to 36,500 days, the SKU's case unit), its errors beside their fields."""

    class Meta:
        model = CasePolicy
        fields = ("sku", "policy", "min_units", "case_unit", "shelf_life_days", "mixed_group")

    def clean(self):
        data = super().clean()
        if self.errors or data.get("sku") is None:
            return data
        names = {
            "minUnits": "min_units",
            "caseUnit": "case_unit",
            "shelfLifeDays": "shelf_life_days",
            "mixedGroup": "mixed_group",
        }
        with service_check(self, names):
            _save_case_policy(data)
        return data


@admin.register(CasePolicy)
class CasePolicyAdmin(FoodAdmin):
    form = CasePolicyForm
    list_display = ("sku", "policy", "min_units", "case_unit", "shelf_life_days", "mixed_group")
    list_filter = ("policy", "mixed_group")
    search_fields = ("sku__code", "sku__name")
    raw_id_fields = ("sku", "case_unit")

    def save_model(self, request, obj, form, change):
        """Through the service, so its checks apply."""
        obj.pk = _save_case_policy(form.cleaned_data).pk


@admin.register(MixedCaseGroup)
class MixedCaseGroupAdmin(FoodAdmin):
    list_display = ("code", "name", "case_size")
    search_fields = ("code", "name")


@admin.register(ProductionDate)
class ProductionDateAdmin(FoodAdmin):
    list_display = ("sku", "warehouse", "production_date", "lot", "updated_at")
    list_filter = ("warehouse",)
    search_fields = ("sku__code", "lot")
    raw_id_fields = ("sku",)
