from dataclasses import dataclass
from decimal import Decimal

import pytest

from core.testing.factories import (
    DealerFactory,
    DealerUserFactory,
    PriceListItemFactory,
    SkuFactory,
    StockFactory,
    UserFactory,
    WarehouseFactory,
)


@dataclass
class Shop:
    dealer: object
    other_dealer: object
    buyer: object
    other_buyer: object
    staff: object
    east: object
    west: object
    skus: list
    price_list: object


def build_shop(
    n_skus: int = 3, on_hand: int = 50, credit_limit: Decimal = Decimal("100000")
) -> Shop:
    east = WarehouseFactory(code="EAST", region="east", priority=10)
    west = WarehouseFactory(code="WEST", region="west", priority=20)
    dealer = DealerFactory(region="east", credit_limit=credit_limit)
    other = DealerFactory(region="west", credit_limit=credit_limit)
    skus = [SkuFactory(code=f"SKU{i}") for i in range(n_skus)]
    first = PriceListItemFactory(sku=skus[0], unit_price=Decimal("10.00"))
    for i, sku in enumerate(skus[1:], start=1):
        PriceListItemFactory(price_list=first.price_list, sku=sku, unit_price=Decimal(10 + i))
    for sku in skus:
        StockFactory(sku=sku, warehouse=east, on_hand=on_hand)
        StockFactory(sku=sku, warehouse=west, on_hand=on_hand)
    return Shop(
        dealer=dealer,
        other_dealer=other,
        buyer=DealerUserFactory(dealer=dealer),
        other_buyer=DealerUserFactory(dealer=other),
        staff=UserFactory(role="tenant_admin"),
        east=east,
        west=west,
        skus=skus,
        price_list=first.price_list,
    )


@pytest.fixture
def shop(tenant_db):
    return build_shop()
