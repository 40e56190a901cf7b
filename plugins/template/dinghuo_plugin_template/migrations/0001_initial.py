import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [("catalog", "0001_initial")]

    operations = [
        migrations.CreateModel(
            name="Note",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("text", models.CharField(max_length=200, verbose_name="text")),
                ("sku", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to="catalog.sku", verbose_name="SKU")),
            ],
            options={"verbose_name": "note", "verbose_name_plural": "notes"},
        ),
    ]
