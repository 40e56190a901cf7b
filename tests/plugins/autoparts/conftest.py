"""Fixtures for the auto parts plugin: the plugin test kit and a small parts catalogue."""

from dataclasses import dataclass
from decimal import Decimal

import pytest

from core.testing.factories import (
    BrandFactory,
    CatalogueFactory,
    DealerFactory,
    DealerUserFactory,
    PriceListFactory,
    PriceListItemFactory,
    ProductFactory,
    SkuFactory,
    StockFactory,
    UserFactory,
    WarehouseFactory,
)
from plugins.autoparts import services
from plugins.autoparts.vin import with_check_digit
from plugins.testing import plugin_dealer_user  # noqa: F401 - fixture

# A SAIC Volkswagen VIN of model year 2018 (position 10 "J") with its check digit.
LAVIDA_VIN = with_check_digit("LSVAB41Z0J2123456")


@pytest.fixture
def plugin_name():
    return "autoparts"


@dataclass
class Garage:
    dealer: object
    buyer: object
    staff: object
    camry: object
    camry_old: object
    lavida: object
    pads: object  # SKU PAD-F
    rear_pads: object  # SKU PAD-R
    oil: object  # SKU OIL-1
    products: dict


def build_garage() -> Garage:
    """Parts of brand Acme (the dealer's authorised catalogue) fitted to three vehicles,
    with one part of every kind a look-up must leave out."""
    acme, other = BrandFactory(name="Acme Parts"), BrandFactory(name="Other Brand")
    warehouse = WarehouseFactory(code="WH-A")
    base = PriceListFactory(code="BASE-AP")

    def part(sku_code, name, price, stock, *, brand=acme, **product):
        sku = SkuFactory(code=sku_code, product=ProductFactory(name=name, brand=brand, **product))
        if price is not None:
            PriceListItemFactory(price_list=base, sku=sku, unit_price=Decimal(price))
        StockFactory(sku=sku, warehouse=warehouse, on_hand=stock)
        return sku

    pads = part("PAD-F", "Brake pads front", "120.00", 30, code="P-PAD-F")
    rear = part("PAD-R", "Brake pads rear", "100.00", 0, code="P-PAD-R")
    oil = part("OIL-1", "Oil filter", "25.00", 200, code="P-OIL")
    bulk = SkuFactory(code="OIL-1-BULK", product=oil.product, is_active=False)
    PriceListItemFactory(price_list=base, sku=bulk, unit_price=Decimal("20.00"))
    disc = part("DISC-1", "Brake disc", "300.00", 5, code="P-DISC", status="discontinued")
    hidden = part("HID-1", "Hidden wiper", "40.00", 9, brand=other, code="P-HID")
    unpriced = part("NOPRICE-1", "Cabin filter", None, 9, code="P-NOPRICE")

    dealer = DealerFactory(code="GARAGE-1")
    CatalogueFactory(grants={"brands": [acme], "dealers": [dealer]})
    camry = services.create_vehicle(
        make="Toyota",
        model="Camry",
        year_from=2018,
        year_to=2023,
        engine_code="A25A-FKS",
        displacement="2.5",
        fuel="petrol",
    )
    camry_old = services.create_vehicle(
        make="Toyota", model="Camry", year_from=2012, year_to=2017, engine_code="2AR-FE"
    )
    lavida = services.create_vehicle(
        make="Volkswagen", model="Lavida", year_from=2018, engine_code="EA211", fuel="petrol"
    )
    services.add_fitment(vehicle=camry, sku_code="PAD-F", position="front", note="With sensor")
    services.add_fitment(vehicle=camry, sku_code="PAD-R", position="rear")
    services.add_fitment(vehicle=camry, product_code="P-OIL")
    services.add_fitment(vehicle=lavida, product_code="P-OIL", note="Change every 10,000 km")
    for sku in (disc, hidden, unpriced):
        services.add_fitment(vehicle=camry, sku_code=sku.code)
    services.add_fitment(vehicle=camry_old, sku_code="PAD-R", position="rear")

    services.set_part_number(brand="Toyota", number="04465-33450", product_codes=["P-PAD-F"])
    services.set_part_number(brand="Toyota", number="90915-YZZE1", product_codes=["P-OIL"])
    services.set_part_number(brand="Toyota", number="04466-99999", product_codes=["P-HID"])
    services.add_cross_reference(
        brand="Bosch", number="0 986 AB2 640", other_brand="Toyota", other_number="04465-33450"
    )
    services.add_cross_reference(
        brand="Brembo",
        number="P 83 140",
        other_brand="Bosch",
        other_number="0986AB2640",
        other_kind="aftermarket",
    )
    return Garage(
        dealer=dealer,
        buyer=DealerUserFactory(dealer=dealer),
        staff=UserFactory(role="tenant_admin"),
        camry=camry,
        camry_old=camry_old,
        lavida=lavida,
        pads=pads,
        rear_pads=rear,
        oil=oil,
        products={"disc": disc, "hidden": hidden, "unpriced": unpriced, "bulk": bulk},
    )


@pytest.fixture
def garage(plugin_tenant):
    return build_garage()
