"""Single units are priced from the case price at ordering time: the base-unit price
rows the plugin derived into price lists (marked by DerivedUnitPrice) go, then the
marker model."""

from django.db import migrations


def delete_derived_rows(apps, schema_editor):
    DerivedUnitPrice = apps.get_model("food", "DerivedUnitPrice")
    PriceListItem = apps.get_model("pricing", "PriceListItem")
    for marker in DerivedUnitPrice.objects.select_related("sku").iterator():
        PriceListItem.objects.filter(
            price_list_id=marker.price_list_id, sku_id=marker.sku_id, unit_code=marker.sku.base_unit
        ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("food", "0001_initial"),
        ("catalog", "0005_product_sort_indexes"),
        ("pricing", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(delete_derived_rows, migrations.RunPython.noop),
        migrations.DeleteModel(name="DerivedUnitPrice"),
    ]
