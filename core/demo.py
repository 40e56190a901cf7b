"""Demo data for the ``demo`` tenant that ``make run`` provisions."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from core.accounts.models import Dealer, Role, User
from core.accounts.services import create_user
from core.catalog.models import Product, Sku
from core.inventory.models import Stock, Warehouse

DEMO_SUBDOMAIN = "demo"
DEMO_ADMIN_EMAIL = "admin@demo.example"
DEMO_PASSWORD = "Dinghuo-Demo-2026"
DEMO_LOGINS = [
    (DEMO_ADMIN_EMAIL, "tenant admin"),
    ("sales", "sales rep"),
    ("east-buyer", "dealer buyer, East Distribution"),
    ("west-admin", "dealer admin, West Wholesale"),
]

PRODUCTS = [
    (
        "维生素C泡腾片 Vitamin C effervescent tablets",
        [("VC-10", "6901234500011"), ("VC-20", "6901234500028")],
    ),
    ("布洛芬缓释胶囊 Ibuprofen SR capsules", [("IBU-300", "6901234500035")]),
    ("Brake pad set, front", [("BP-F-001", "6901234500042")]),
    ("Oil filter", [("OF-204", "6901234500059")]),
    ("Resistor 10kΩ 0603 1%", [("R0603-10K", "6901234500066")]),
    ("Ceramic capacitor 100nF 50V", [("C0603-100N", "6901234500073")]),
    ("Green tea drink 500ml", [("TEA-500", "6901234500080")]),
    ("Sparkling water 330ml", [("SPK-330", "6901234500097")]),
]


@transaction.atomic
def seed_demo() -> None:
    """Fill the current (demo) tenant schema; a no-op when it already has data."""
    if Dealer.objects.exists():
        return
    hq = Dealer.objects.create(
        code="HQ",
        name="Dinghuo Demo HQ",
        tier="platinum",
        region="national",
        credit_limit=Decimal("1000000"),
    )
    east = Dealer.objects.create(
        code="EAST-01",
        name="East Distribution 华东分销",
        parent=hq,
        tier="gold",
        region="east",
        credit_limit=Decimal("200000"),
    )
    west = Dealer.objects.create(
        code="WEST-01",
        name="West Wholesale 西部批发",
        parent=hq,
        tier="silver",
        region="west",
        credit_limit=Decimal("80000"),
    )
    Dealer.objects.create(
        code="EAST-SH-001",
        name="Shanghai Shop 上海门店",
        parent=east,
        tier="bronze",
        region="east",
        credit_limit=Decimal("20000"),
    )
    admin = User.objects.filter(email=DEMO_ADMIN_EMAIL).first()
    if admin is None:
        create_user(
            username=DEMO_ADMIN_EMAIL,
            email=DEMO_ADMIN_EMAIL,
            password=DEMO_PASSWORD,
            role=Role.TENANT_ADMIN,
            first_name="Demo",
            last_name="Admin",
        )
    create_user(
        username="sales", email="sales@demo.example", password=DEMO_PASSWORD, role=Role.SALES_REP
    )
    create_user(
        username="east-buyer",
        email="buyer@east.example",
        password=DEMO_PASSWORD,
        role=Role.DEALER_BUYER,
        dealer=east,
    )
    create_user(
        username="west-admin",
        email="admin@west.example",
        password=DEMO_PASSWORD,
        role=Role.DEALER_ADMIN,
        dealer=west,
    )
    shanghai = Warehouse.objects.create(
        code="SH", name="Shanghai DC 上海仓", region="east", priority=10
    )
    chengdu = Warehouse.objects.create(
        code="CD", name="Chengdu DC 成都仓", region="west", priority=20
    )
    for index, (name, skus) in enumerate(PRODUCTS):
        product = Product.objects.create(name=name)
        for code, gtin in skus:
            sku = Sku.objects.create(product=product, code=code, name=name, gtin=gtin)
            Stock.objects.create(sku=sku, warehouse=shanghai, on_hand=500 + 50 * index)
            Stock.objects.create(sku=sku, warehouse=chengdu, on_hand=200 + 25 * index)
