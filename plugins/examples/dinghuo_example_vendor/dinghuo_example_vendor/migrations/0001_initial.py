import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("catalog", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="MinimumQuantity",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("minimum", models.PositiveIntegerField(verbose_name="minimum quantity")),
                (
                    "sku",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="example_minimum",
                        to="catalog.sku",
                        verbose_name="SKU",
                    ),
                ),
            ],
            options={
                "verbose_name": "minimum order quantity",
                "verbose_name_plural": "minimum order quantities",
                "constraints": [
                    models.CheckConstraint(condition=models.Q(("minimum__gte", 1)), name="example_minimum_positive")
                ],
            },
        ),
    ]
