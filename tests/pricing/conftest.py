"""A small pricing world: two dealers under a parent, a SKU sold by the each and the
case of 12, and price lists of every kind (and some that must never win)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from core.catalog.models import Brand, Category, SkuUnit
from core.pricing.engine import CartLine
from core.pricing.models import PriceList, PriceListAssignment, PriceListItem
from core.testing.factories import DealerFactory, ProductFactory, SkuFactory


def add_list(
    code,
    kind="base",
    *,
    currency="CNY",
    tier="",
    region="",
    dealers=(),
    priority=0,
    valid_from=None,
    valid_to=None,
    is_active=True,
    prices=(),
):
    """``prices``: (sku, unit, min_quantity, unit_price) rows."""
    pl = PriceList.objects.create(
        code=code,
        name=code,
        kind=kind,
        currency=currency,
        tier=tier,
        region=region,
        priority=priority,
        valid_from=valid_from,
        valid_to=valid_to,
        is_active=is_active,
    )
    for dealer in dealers:
        PriceListAssignment.objects.create(price_list=pl, dealer=dealer)
    for sku, unit, min_q, price in prices:
        PriceListItem.objects.create(
            price_list=pl, sku=sku, unit_code=unit, min_quantity=min_q, unit_price=Decimal(price)
        )
    return pl


def line(sku, quantity, unit="each", factor=1):
    return CartLine(
        sku_id=sku.pk, unit_code=unit, quantity=quantity, base_quantity=quantity * factor
    )


@dataclass
class World:
    parent: object
    dealer: object
    sibling: object
    sku: object
    sku2: object
    sku3: object
    category: object
    subcategory: object
    brand: object


@pytest.fixture
def world(tenant_db):
    parent = DealerFactory(code="HQ", tier="platinum", region="north")
    dealer = DealerFactory(code="SHOP-A", parent=parent, tier="gold", region="east")
    sibling = DealerFactory(code="SHOP-B", parent=parent, tier="silver", region="west")
    category = Category.objects.create(name="Tools", slug="tools")
    subcategory = Category.objects.create(name="Drills", slug="drills", parent=category)
    brand = Brand.objects.create(name="Bosch")
    sku = SkuFactory(code="DRILL-1", product=ProductFactory(category=subcategory, brand=brand))
    SkuUnit.objects.get_or_create(sku=sku, code="each", defaults={"factor": 1})
    SkuUnit.objects.create(sku=sku, code="case", factor=12)
    sku2 = SkuFactory(code="BIT-1", product=ProductFactory(category=category))
    sku3 = SkuFactory(code="GLOVE-1")
    return World(parent, dealer, sibling, sku, sku2, sku3, category, subcategory, brand)


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture
def days():
    return lambda n: timezone.now() + timedelta(days=n)
