"""The default plans: a free trial and two paid plans (prices to be linked to Stripe in the admin)."""

from decimal import Decimal

from django.db import migrations

ALL_MODULES = ["pharma", "autoparts", "electronics", "food"]

PLANS = [
    {
        "code": "trial", "name": "Free trial", "monthly_price": Decimal("0"), "trial_days": 14,
        "max_dealers": 20, "max_skus": 500, "max_orders_per_month": 200,
        "allowed_modules": ALL_MODULES, "max_modules": 1, "sort_order": 0,
    },
    {
        "code": "basic", "name": "Basic", "monthly_price": Decimal("999.00"), "trial_days": 0,
        "max_dealers": 200, "max_skus": 5000, "max_orders_per_month": 5000,
        "allowed_modules": ALL_MODULES, "max_modules": 2, "sort_order": 10,
    },
    {
        "code": "pro", "name": "Pro", "monthly_price": Decimal("2999.00"), "trial_days": 0,
        "max_dealers": None, "max_skus": 100000, "max_orders_per_month": None,
        "allowed_modules": ALL_MODULES, "max_modules": None, "sort_order": 20,
    },
]


def create_plans(apps, schema_editor):
    Plan = apps.get_model("tenants", "Plan")
    for data in PLANS:
        Plan.objects.update_or_create(code=data["code"], defaults={**data, "currency": "CNY"})


def remove_plans(apps, schema_editor):
    apps.get_model("tenants", "Plan").objects.filter(code__in=[p["code"] for p in PLANS]).delete()


class Migration(migrations.Migration):
    dependencies = [("tenants", "0002_plans_subscriptions")]

    operations = [migrations.RunPython(create_plans, remove_plans)]
