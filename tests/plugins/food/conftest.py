"""The food plugin's fixtures: a drinks catalogue in a tenant with the plugin enabled."""

from dataclasses import dataclass
from decimal import Decimal

import pytest

from core.testing.factories import (
    DealerUserFactory,
    PriceListFactory,
    PriceListItemFactory,
    SkuFactory,
    SkuUnitFactory,
    StockFactory,
    UserFactory,
    WarehouseFactory,
)


@pytest.fixture
def plugin_name():
    return "food"


@dataclass
class Drinks:
    dealer: object
    buyer: object
    staff: object
    east: object
    west: object
    price_list: object
    tea: object  # units allowed from 6; each 3.50, case of 24 72.00
    tea_case: object
    lemon: object  # case only, mixed group FIZZ; case of 24 48.00, no unit price
    lemon_case: object
    lime: object  # case only, mixed group FIZZ; case of 24 48.00
    juice: object  # units allowed; case of 12 60.00 only (unit price derived)
    juice_case: object


def build_drinks(dealer, *, with_policies: bool = True) -> Drinks:
    from plugins.food import services

    east = WarehouseFactory(code="EAST", region="east", priority=10)
    west = WarehouseFactory(code="WEST", region="west", priority=20)
    base = PriceListFactory(code="BASE")
    tea, lemon, lime, juice = (
        SkuFactory(code=c) for c in ("TEA", "FIZZ-LEMON", "FIZZ-LIME", "JUICE")
    )
    tea_case = SkuUnitFactory(sku=tea, code="case", factor=24)
    lemon_case = SkuUnitFactory(sku=lemon, code="case", factor=24)
    SkuUnitFactory(sku=lime, code="case", factor=24)
    juice_case = SkuUnitFactory(sku=juice, code="case", factor=12)
    PriceListItemFactory(price_list=base, sku=tea, unit_code="each", unit_price=Decimal("3.50"))
    PriceListItemFactory(price_list=base, sku=tea, unit_code="case", unit_price=Decimal("72.00"))
    for sku in (lemon, lime):
        PriceListItemFactory(
            price_list=base, sku=sku, unit_code="case", unit_price=Decimal("48.00")
        )
    PriceListItemFactory(price_list=base, sku=juice, unit_code="case", unit_price=Decimal("60.00"))
    for sku in (tea, lemon, lime, juice):
        StockFactory(sku=sku, warehouse=east, on_hand=500)
        StockFactory(sku=sku, warehouse=west, on_hand=500)
    if with_policies:
        services.save_mixed_group(code="FIZZ", name="Fizz, mixed flavours", case_size=24)
        services.set_case_policy(sku=tea, policy="units_min", min_units=6, shelf_life_days=270)
        services.set_case_policy(
            sku=lemon, policy="case_only", mixed_group="FIZZ", shelf_life_days=365
        )
        services.set_case_policy(sku=lime, policy="case_only", mixed_group="FIZZ")
        services.set_case_policy(sku=juice, policy="units", shelf_life_days=180)
    return Drinks(
        dealer=dealer,
        buyer=DealerUserFactory(dealer=dealer),
        staff=UserFactory(role="tenant_admin"),
        east=east,
        west=west,
        price_list=base,
        tea=tea,
        tea_case=tea_case,
        lemon=lemon,
        lemon_case=lemon_case,
        lime=lime,
        juice=juice,
        juice_case=juice_case,
    )


@pytest.fixture
def drinks(plugin_tenant, plugin_dealer):
    return build_drinks(plugin_dealer)
