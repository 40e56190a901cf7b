"""Demo data (hook ``load_demo_data``): parameters and reel rules for the demo's
R0603-10K and C0603-100N, and one alternate part for each. Idempotent."""

from __future__ import annotations

from django.db import transaction

from core.catalog.models import Category, Product, Sku

from . import services
from .models import ReelMode

CATEGORIES = {
    "resistors": (
        "Chip resistors 贴片电阻",
        [
            ("resistance", "Resistance 阻值", "resistance", "kΩ", True),
            ("tolerance", "Tolerance 精度", "tolerance", "", False),
            ("power", "Power 功率", "power", "mW", False),
            ("voltage", "Voltage rating 额定电压", "voltage", "V", False),
            ("package", "Package 封装", "package", "", True),
            ("temperature", "Operating temperature 工作温度", "temperature_range", "", False),
        ],
    ),
    "capacitors": (
        "Ceramic capacitors 贴片电容",
        [
            ("capacitance", "Capacitance 容值", "capacitance", "nF", True),
            ("tolerance", "Tolerance 精度", "tolerance", "", False),
            ("voltage", "Voltage rating 额定电压", "voltage", "V", False),
            ("dielectric", "Dielectric 介质", "choice", "", False),
            ("package", "Package 封装", "package", "", True),
            ("temperature", "Operating temperature 工作温度", "temperature_range", "", False),
        ],
    ),
}

PARTS = {
    "R0603-10K": (
        "resistors",
        {
            "resistance": "10k",
            "tolerance": "±1%",
            "power": "1/10W",
            "voltage": "50V",
            "package": "0603",
            "temperature": "-55~155°C",
        },
        (5000, ReelMode.CUT_TAPE_FROM, 100, 10),
    ),
    "C0603-100N": (
        "capacitors",
        {
            "capacitance": "100nF",
            "tolerance": "±10%",
            "voltage": "50V",
            "dielectric": "X7R",
            "package": "0603",
            "temperature": "-55~125°C",
        },
        (4000, ReelMode.CUT_TAPE_FROM, 50, 50),
    ),
}

ALTERNATES = {
    "R0603-10K": (
        "R0603-10K-B",
        "Resistor 10kΩ 0603 0.5% (alternate)",
        {
            "resistance": "10.0kΩ",
            "tolerance": "±0.5%",
            "power": "0.1W",
            "voltage": "75V",
            "package": "0603",
            "temperature": "-55~155°C",
        },
    ),
    "C0603-100N": (
        "C0603-104-B",
        "Ceramic capacitor 0.1µF 100V X7R (alternate)",
        {
            "capacitance": "0.1uF",
            "tolerance": "±10%",
            "voltage": "100V",
            "dielectric": "x7r",
            "package": "0603",
            "temperature": "-55~125℃",
        },
    ),
}


@transaction.atomic
def load_demo() -> None:
    parent, _created = Category.objects.get_or_create(
        slug="electronic-components", defaults={"name": "Electronic components 电子元器件"}
    )
    categories = {}
    for slug, (name, parameters) in CATEGORIES.items():
        category, _created = Category.objects.get_or_create(
            slug=slug, defaults={"name": name, "parent": parent}
        )
        categories[slug] = category
        for position, (code, label, quantity, unit, required) in enumerate(parameters):
            services.define_parameter(
                category=category,
                code=code,
                label=label,
                quantity=quantity,
                display_unit=unit,
                required=required,
                position=position,
            )
    for code, (slug, values, reel) in PARTS.items():
        sku = Sku.objects.select_related("product").filter(code=code).first()
        if sku is None:
            continue
        product = sku.product
        if product.category_id != categories[slug].pk:
            product.category = categories[slug]
            product.save(update_fields=["category", "updated_at"])
        services.set_part_parameters(product=product, values=values)
        reel_quantity, mode, cut_tape_from, minimum = reel
        services.set_reel_rule(
            sku=sku,
            reel_quantity=reel_quantity,
            mode=mode,
            cut_tape_from=cut_tape_from,
            minimum_quantity=minimum,
        )
        _alternate(sku, categories[slug], *ALTERNATES[code])


def _alternate(original: Sku, category: Category, code: str, name: str, values: dict) -> None:
    sku = Sku.objects.select_related("product").filter(code=code).first()
    if sku is None:
        product = Product.objects.create(name=name, category=category, brand=original.product.brand)
        sku = Sku.objects.create(product=product, code=code, name=name)
    services.set_part_parameters(product=sku.product, values=values)
    from core.inventory.models import Stock

    for stock in Stock.objects.filter(sku=original):
        Stock.objects.get_or_create(
            sku=sku, warehouse_id=stock.warehouse_id, defaults={"on_hand": stock.on_hand}
        )
    from core.pricing.models import PriceListItem

    for item in PriceListItem.objects.filter(sku=original):
        PriceListItem.objects.get_or_create(
            price_list_id=item.price_list_id,
            sku=sku,
            unit_code=item.unit_code,
            min_quantity=item.min_quantity,
            defaults={"unit_price": item.unit_price},
        )
