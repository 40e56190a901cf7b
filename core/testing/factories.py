"""factory_boy factories for tenant data. Use them inside a tenant's schema
(``with tenant:`` or the ``in_tenant`` fixture)."""

from __future__ import annotations

from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from core.accounts.models import Dealer, Role, User
from core.catalog.models import Brand, Catalogue, Category, Product, Sku, SkuUnit
from core.catalog.rules import gtin_check_digit
from core.inventory.models import Stock, Warehouse

TEST_PASSWORD = "Correct-Horse-7!"


class DealerFactory(DjangoModelFactory):
    class Meta:
        model = Dealer

    code = factory.Sequence(lambda n: f"D{n:05d}")
    name = factory.Sequence(lambda n: f"Dealer {n}")
    tier = "gold"
    region = "east"
    credit_limit = Decimal("100000.00")


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    role = Role.STAFF
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class DealerUserFactory(UserFactory):
    role = Role.DEALER_BUYER
    dealer = factory.SubFactory(DealerFactory)


def valid_gtin(n: int, prefix: str = "69") -> str:
    """A GTIN-13 with a correct check digit."""
    body = f"{prefix}{n:010d}"[:12]
    return body + str(gtin_check_digit(body))


class CategoryFactory(DjangoModelFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")


class BrandFactory(DjangoModelFactory):
    class Meta:
        model = Brand

    name = factory.Sequence(lambda n: f"Brand {n}")


class ProductFactory(DjangoModelFactory):
    class Meta:
        model = Product

    code = factory.Sequence(lambda n: f"P{n:06d}")
    name = factory.Sequence(lambda n: f"Product {n}")


class SkuFactory(DjangoModelFactory):
    class Meta:
        model = Sku

    product = factory.SubFactory(ProductFactory)
    code = factory.Sequence(lambda n: f"SKU-{n:06d}")
    name = factory.LazyAttribute(lambda s: s.product.name)
    gtin = factory.Sequence(lambda n: valid_gtin(n))


class SkuUnitFactory(DjangoModelFactory):
    """A pack unit (the base unit is created with its SKU)."""

    class Meta:
        model = SkuUnit

    sku = factory.SubFactory(SkuFactory)
    code = "case"
    factor = 12
    gtin = factory.Sequence(lambda n: valid_gtin(n, prefix="68"))


class CatalogueFactory(DjangoModelFactory):
    class Meta:
        model = Catalogue
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Catalogue {n}")

    @factory.post_generation
    def grants(obj, create, extracted, **kwargs):
        """``CatalogueFactory(grants={"categories": [...], "brands": [...], "products": [...],
        "dealers": [...]})``."""
        if create and extracted:
            for name, items in extracted.items():
                getattr(obj, name).set(items)


class WarehouseFactory(DjangoModelFactory):
    class Meta:
        model = Warehouse

    code = factory.Sequence(lambda n: f"WH{n:03d}")
    name = factory.Sequence(lambda n: f"Warehouse {n}")
    region = "east"


class StockFactory(DjangoModelFactory):
    class Meta:
        model = Stock

    sku = factory.SubFactory(SkuFactory)
    warehouse = factory.SubFactory(WarehouseFactory)
    on_hand = 100


# --- pricing (core.pricing) ---------------------------------------------------------
class PriceListFactory(DjangoModelFactory):
    """A base price list in CNY; pass ``kind``/``tier``/``region`` for the others."""

    class Meta:
        model = "pricing.PriceList"

    code = factory.Sequence(lambda n: f"PL{n:04d}")
    name = factory.LazyAttribute(lambda pl: f"List {pl.code}")
    kind = "base"
    currency = "CNY"


class PriceListItemFactory(DjangoModelFactory):
    """One quantity break: ``unit_price`` per ``unit_code`` from ``min_quantity``."""

    class Meta:
        model = "pricing.PriceListItem"

    price_list = factory.SubFactory(PriceListFactory)
    sku = factory.SubFactory(SkuFactory)
    unit_code = factory.LazyAttribute(lambda item: item.sku.base_unit)
    min_quantity = 1
    unit_price = Decimal("10.00")
