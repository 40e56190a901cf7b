"""factory_boy factories for tenant data. Use them inside a tenant's schema
(``with tenant:`` or the ``in_tenant`` fixture)."""

from __future__ import annotations

from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from core.accounts.models import Dealer, Role, User
from core.catalog.models import Product, Sku
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


class ProductFactory(DjangoModelFactory):
    class Meta:
        model = Product

    name = factory.Sequence(lambda n: f"Product {n}")


class SkuFactory(DjangoModelFactory):
    class Meta:
        model = Sku

    product = factory.SubFactory(ProductFactory)
    code = factory.Sequence(lambda n: f"SKU-{n:06d}")
    name = factory.LazyAttribute(lambda s: s.product.name)
    gtin = factory.Sequence(lambda n: f"69{n:011d}")


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
