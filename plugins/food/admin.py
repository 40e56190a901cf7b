from django.contrib import admin

from plugins.admin import PluginModelAdmin

from .models import CasePolicy, MixedCaseGroup, ProductionDate


class FoodAdmin(PluginModelAdmin):
    plugin_name = "food"


@admin.register(CasePolicy)
class CasePolicyAdmin(FoodAdmin):
    list_display = ("sku", "policy", "min_units", "case_unit", "shelf_life_days", "mixed_group")
    list_filter = ("policy", "mixed_group")
    search_fields = ("sku__code", "sku__name")
    raw_id_fields = ("sku", "case_unit")

    def save_model(self, request, obj, form, change):
        """Through the service, so its checks apply."""
        from .services import set_case_policy

        saved = set_case_policy(
            sku=obj.sku,
            policy=obj.policy,
            min_units=obj.min_units,
            case_unit=obj.case_unit.code,
            shelf_life_days=obj.shelf_life_days,
            mixed_group=obj.mixed_group.code if obj.mixed_group else None,
        )
        obj.pk = saved.pk


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
