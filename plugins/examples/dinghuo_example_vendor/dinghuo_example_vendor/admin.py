from django.contrib import admin

from plugins.admin import PluginModelAdmin

from .models import MinimumQuantity


@admin.register(MinimumQuantity)
class MinimumQuantityAdmin(PluginModelAdmin):
    plugin_name = "example_vendor"
    list_display = ("sku", "minimum")
