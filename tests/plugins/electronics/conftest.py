"""The electronics plugin's tests run on the plugin test kit (plugins.testing)."""

from __future__ import annotations

import pytest


@pytest.fixture
def plugin_name() -> str:
    return "electronics"


@pytest.fixture
def passives(plugin_tenant):
    """Resistor and capacitor categories with their parameters declared."""
    from core.testing.factories import CategoryFactory
    from plugins.electronics import services

    parent = CategoryFactory(name="Passives")
    resistors = CategoryFactory(name="Resistors", parent=parent)
    capacitors = CategoryFactory(name="Capacitors", parent=parent)
    services.define_parameter(
        category=parent,
        code="package",
        label="Package",
        quantity="package",
        required=True,
        position=9,
    )
    services.define_parameter(
        category=parent, code="tolerance", label="Tolerance", quantity="tolerance", position=2
    )
    services.define_parameter(
        category=parent,
        code="voltage",
        label="Voltage",
        quantity="voltage",
        display_unit="V",
        position=3,
    )
    services.define_parameter(
        category=parent,
        code="temperature",
        label="Temperature",
        quantity="temperature_range",
        position=5,
    )
    services.define_parameter(
        category=resistors,
        code="resistance",
        label="Resistance",
        quantity="resistance",
        display_unit="kΩ",
        required=True,
    )
    services.define_parameter(
        category=resistors, code="power", label="Power", quantity="power", position=4
    )
    services.define_parameter(
        category=capacitors,
        code="capacitance",
        label="Capacitance",
        quantity="capacitance",
        display_unit="nF",
        required=True,
    )
    services.define_parameter(
        category=capacitors, code="dielectric", label="Dielectric", quantity="choice", position=6
    )
    return {"parent": parent, "resistors": resistors, "capacitors": capacitors}


@pytest.fixture
def make_part(passives):
    """``make_part("R1", "resistors", {"resistance": "10k", ...})``: a product with one SKU."""
    from core.testing.factories import ProductFactory, SkuFactory
    from plugins.electronics import services

    def make(code: str, category: str, values: dict, **product):
        item = ProductFactory(
            name=product.pop("name", code), category=passives[category], **product
        )
        sku = SkuFactory(product=item, code=code)
        services.set_part_parameters(product=item, values=values)
        return sku

    return make
