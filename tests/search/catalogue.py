"""The catalogue every backend is checked against (built with the ORM in the tenant)."""

from __future__ import annotations

from decimal import Decimal

from django.apps import apps

from core.catalog.models import Brand, Category, Product, ProductStatus, Sku, SkuUnit
from core.inventory.models import Stock, Warehouse

HEALTH_SCHEMA = [
    {"key": "form", "type": "choice", "label": "剂型"},
    {"key": "count", "type": "number", "label": "片数", "unit": "片"},
    {"key": "note", "type": "text", "label": "备注"},
]
RESISTOR_SCHEMA = [
    {"key": "resistance", "type": "number", "label": "阻值", "unit": "Ω"},
    {"key": "package", "type": "choice", "label": "封装"},
    {"key": "tolerance", "type": "choice", "label": "精度"},
]


def build() -> dict:
    health = Category.objects.create(name="保健品", slug="health")
    vitamins = Category.objects.create(
        name="维生素", slug="vitamins", parent=health, attribute_schema=HEALTH_SCHEMA
    )
    electronics = Category.objects.create(name="电子元件", slug="electronics")
    resistors = Category.objects.create(
        name="电阻", slug="resistors", parent=electronics, attribute_schema=RESISTOR_SCHEMA
    )
    byhealth = Brand.objects.create(name="汤臣倍健")
    swisse = Brand.objects.create(name="Swisse")
    yageo = Brand.objects.create(name="Yageo")
    vishay = Brand.objects.create(name="Vishay")
    wh = Warehouse.objects.create(code="WH1", name="Main")
    closed = Warehouse.objects.create(code="WH2", name="Closed", is_active=False)
    p: dict[str, Product] = {}

    def product(
        key,
        name,
        category,
        brand,
        attributes,
        code,
        stock,
        gtin="",
        status=ProductStatus.ACTIVE,
        description="",
    ):
        prod = Product.objects.create(
            name=name,
            category=category,
            brand=brand,
            attributes=attributes,
            status=status,
            description=description,
        )
        sku = Sku.objects.create(product=prod, code=code, name=name, gtin=gtin)
        if stock is not None:
            Stock.objects.create(sku=sku, warehouse=wh, on_hand=stock)
        p[key] = prod
        return prod

    product(
        "vc",
        "维生素C泡腾片",
        vitamins,
        byhealth,
        {"form": "泡腾片", "count": 20, "note": "橙味"},
        "VC-001",
        10,
        gtin="6901234567890",
    )
    product("vb", "维生素B族片", vitamins, byhealth, {"form": "片剂", "count": 60}, "VB-002", 0)
    product("ca", "钙维生素D软胶囊", vitamins, swisse, {"form": "软胶囊", "count": 90}, "CA-003", 5)
    product(
        "chew",
        "Vitamin C Chewable",
        vitamins,
        byhealth,
        {"form": "咀嚼片", "count": "30"},
        "VCC-010",
        7,
        description="Orange flavour chewable tablets",
    )
    product(
        "r10k",
        "贴片电阻 10kΩ 0603",
        resistors,
        yageo,
        {"resistance": 10000, "package": "0603", "tolerance": "1%"},
        "RC0603-10K",
        100,
    )
    product(
        "r4k7",
        "贴片电阻 4.7kΩ 0603",
        resistors,
        yageo,
        {"resistance": 4700, "package": "0603", "tolerance": "5%"},
        "RC0603-4K7",
        0,
    )
    product(
        "r100",
        "精密电阻 100Ω 0805",
        resistors,
        vishay,
        {"resistance": 100, "package": "0805", "tolerance": "1%"},
        "CRCW0805-100",
        50,
    )
    product(
        "r1m",
        "贴片电阻 1MΩ 1206",
        resistors,
        vishay,
        {"resistance": 1000000, "package": "1206", "tolerance": "5%"},
        "CRCW1206-1M",
        None,
    )
    product("cable", 'Cable "USB-C" (1m) AND/OR *', electronics, None, {}, "CAB-USB-C", 3)
    product(
        "draft",
        "维生素E 草稿",
        vitamins,
        byhealth,
        {"form": "软胶囊", "count": 10},
        "VE-900",
        9,
        status=ProductStatus.DRAFT,
    )
    # Stock only in a closed warehouse does not count.
    Stock.objects.create(sku=p["r1m"].skus.get(), warehouse=closed, on_hand=40)
    SkuUnit.objects.create(sku=p["vc"].skus.get(), code="box", factor=10, gtin="16901234567897")
    prices = _prices(p) if apps.is_installed("core.pricing") else {}
    return {
        "products": p,
        "health": health,
        "vitamins": vitamins,
        "electronics": electronics,
        "resistors": resistors,
        "byhealth": byhealth,
        "swisse": swisse,
        "yageo": yageo,
        "vishay": vishay,
        **prices,
    }


def _prices(p: dict[str, Product]) -> dict:
    from core.pricing.models import PriceList, PriceListItem

    base = PriceList.objects.create(code="BASE", name="Base", kind="base")
    special = PriceList.objects.create(code="D1", name="Dealer 1", kind="dealer")
    base_prices = {
        "vc": "25.00",
        "vb": "30.00",
        "ca": "88.00",
        "chew": "19.90",
        "r10k": "0.05",
        "r4k7": "0.05",
        "r100": "0.30",
    }
    for key, amount in base_prices.items():
        sku = p[key].skus.get()
        PriceListItem.objects.create(
            price_list=base, sku=sku, unit_code="each", unit_price=Decimal(amount)
        )
    # The dealer's own list undercuts two products and prices one the base list does not.
    for key, amount in {"ca": "9.00", "vb": "31.00", "r1m": "0.20"}.items():
        PriceListItem.objects.create(
            price_list=special, sku=p[key].skus.get(), unit_code="each", unit_price=Decimal(amount)
        )
    # A box of 10 at 200 is 20 per base unit: cheaper than 25 each.
    PriceListItem.objects.create(
        price_list=base, sku=p["vc"].skus.get(), unit_code="box", unit_price=Decimal("200.00")
    )
    # A quantity break from 100 is not the list price.
    PriceListItem.objects.create(
        price_list=base,
        sku=p["chew"].skus.get(),
        unit_code="each",
        min_quantity=100,
        unit_price=Decimal("1.00"),
    )
    return {"base_list": base, "dealer_list": special}
