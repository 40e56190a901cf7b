from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0006_product_name_listing_index"),
    ]

    operations = [
        # The wider covering index first: the name-sorted listing always has one to read.
        migrations.AddIndex(
            model_name="product",
            index=models.Index(
                fields=["name", "id"],
                include=("status", "category", "brand", "code"),
                name="product_name_page",
            ),
        ),
        migrations.RemoveIndex(
            model_name="product",
            name="product_name_listing",
        ),
    ]
