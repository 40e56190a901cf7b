"""Fixtures for the pharma plugin's tests: a tenant with the plugin, warehouses, a
priced SKU with batches, a licensed dealer."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from core.testing.factories import (
    DealerFactory,
    DealerUserFactory,
    PriceListItemFactory,
    SkuFactory,
    UserFactory,
    WarehouseFactory,
)


@pytest.fixture
def plugin_name():
    return "pharma"


def days(n: int) -> datetime.date:
    from plugins.pharma.services import today

    return today() + datetime.timedelta(days=n)


@dataclass
class Pharmacy:
    east: Any
    west: Any
    dealer: Any
    buyer: Any
    staff: Any
    sku: Any
    price_list: Any

    def receive(
        self, lot: str, quantity: int, expires_in: int, warehouse: Any = None, sku: Any = None
    ):
        from plugins.pharma.services import receive_batch

        return receive_batch(
            sku=sku or self.sku,
            warehouse=warehouse or self.east,
            lot=lot,
            manufactured_on=days(min(expires_in, 0) - 400),
            expires_on=days(expires_in),
            quantity=quantity,
        )

    def sku_with_price(self, code: str, price: str = "10.00"):
        sku = SkuFactory(code=code)
        PriceListItemFactory(price_list=self.price_list, sku=sku, unit_price=Decimal(price))
        return sku


def build_pharmacy() -> Pharmacy:
    east = WarehouseFactory(code="EAST", region="east", priority=10)
    west = WarehouseFactory(code="WEST", region="west", priority=20)
    dealer = DealerFactory(region="east", credit_limit=Decimal("1000000"))
    sku = SkuFactory(code="AMOX-250")
    item = PriceListItemFactory(sku=sku, unit_price=Decimal("10.00"))
    return Pharmacy(
        east=east,
        west=west,
        dealer=dealer,
        buyer=DealerUserFactory(dealer=dealer),
        staff=UserFactory(role="tenant_admin"),
        sku=sku,
        price_list=item.price_list,
    )


@pytest.fixture
def pharmacy(plugin_tenant) -> Pharmacy:
    from plugins.pharma.services import min_shelf_life_days  # noqa: F401 - the app is installed

    connection.set_tenant(plugin_tenant)
    return build_pharmacy()


@pytest.fixture
def place(pharmacy):
    """``place([(sku_code, qty), ...], key=..., channel=...)`` through the order service."""
    from core.orders import services
    from core.orders.lines import LineInput

    def run(lines, *, key="k1", channel="web", dealer=None, user=None):
        return services.place_order(
            dealer=dealer or pharmacy.dealer,
            user=user or pharmacy.buyer,
            lines=[LineInput(code, qty) for code, qty in lines],
            channel=channel,
            idempotency_key=key,
        ).order

    return run
