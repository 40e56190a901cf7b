"""Demo data for the demo tenant (hook ``load_demo_data``): two vehicles, the demo's
brake pads and oil filter fitted to them, OE numbers and a cross-reference.
Idempotent: every row is found before it is created."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from core.catalog.models import Sku

from . import services

VEHICLES = [
    # (make, model, from, to, engine, litres, fuel)
    ("Toyota", "Camry", 2018, 2023, "A25A-FKS", Decimal("2.5"), "petrol"),
    ("Volkswagen", "Lavida", 2018, None, "EA211", Decimal("1.5"), "petrol"),
]
FITMENTS = [
    # (vehicle index, SKU code, position, note)
    (0, "BP-F-001", "front", "With electronic wear sensor"),
    (1, "BP-F-001", "front", ""),
    (0, "OF-204", "", "Change every 10,000 km"),
    (1, "OF-204", "", ""),
]
NUMBERS = [
    # (kind, brand, number, SKU code whose product it is)
    ("oe", "Toyota", "04465-33450", "BP-F-001"),
    ("oe", "Toyota", "90915-YZZE1", "OF-204"),
    ("oe", "Volkswagen", "04E 115 561 H", "OF-204"),
]
CROSS_REFERENCES = [
    # (brand, number, OE brand, OE number)
    ("Bosch", "0 986 AB2 640", "Toyota", "04465-33450"),
    ("Mann-Filter", "W 68/3", "Toyota", "90915-YZZE1"),
]


def load_demo() -> None:
    codes = {c for _v, c, _p, _n in FITMENTS} | {c for *_rest, c in NUMBERS}
    products = {
        s.code: s.product for s in Sku.objects.filter(code__in=codes).select_related("product")
    }
    with transaction.atomic():
        vehicles = []
        for make, model, start, end, engine, litres, fuel in VEHICLES:
            vehicle, _created = services.find_or_create_vehicle(
                make=make,
                model=model,
                year_from=start,
                year_to=end,
                engine_code=engine,
                displacement=litres,
                fuel=fuel,
            )
            vehicles.append(vehicle)
        for index, sku_code, position, note in FITMENTS:
            if sku_code in products:
                services.add_fitment(
                    vehicle=vehicles[index], sku_code=sku_code, position=position, note=note
                )
        for kind, brand, number, sku_code in NUMBERS:
            product = products.get(sku_code)
            services.set_part_number(
                kind=kind,
                brand=brand,
                number=number,
                product_codes=[product.code] if product else [],
            )
        for brand, number, oe_brand, oe_number in CROSS_REFERENCES:
            services.add_cross_reference(
                brand=brand, number=number, other_brand=oe_brand, other_number=oe_number
            )
