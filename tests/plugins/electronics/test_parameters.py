"""Category parameters and part parameters through the services; the plugin's
hooks for a tenant with it and for one without."""

from decimal import Decimal

import pytest
from django.db import connection

from core.exceptions import DomainError, ValidationFailed
from core.testing.factories import CategoryFactory, ProductFactory, SkuFactory
from plugins.electronics import selectors, services
from plugins.electronics.models import PartParameter, ReelRule
from plugins.manager import get_manager


def test_parameters_are_declared_per_category_and_inherited(passives):
    resistors = selectors.category_parameters(passives["resistors"])
    assert list(resistors) == [
        "resistance",
        "tolerance",
        "voltage",
        "power",
        "temperature",
        "package",
    ]
    assert resistors["resistance"].quantity == "resistance"
    assert resistors["resistance"].match_rule == "within_tolerance"
    assert resistors["voltage"].match_rule == "at_least"
    assert "capacitance" in selectors.category_parameters(passives["capacitors"])
    assert "capacitance" not in resistors


def test_define_parameter_refuses_bad_input(passives):
    with pytest.raises(DomainError) as exc:
        services.define_parameter(
            category=passives["resistors"], code="Bad Code", label="x", quantity="resistance"
        )
    assert (exc.value.code, exc.value.field) == ("INVALID", "code")
    with pytest.raises(DomainError) as exc:
        services.define_parameter(
            category=passives["resistors"],
            code="r2",
            label="x",
            quantity="resistance",
            display_unit="nF",
        )
    assert (exc.value.code, exc.value.field) == ("UNKNOWN_UNIT", "displayUnit")
    with pytest.raises(DomainError) as exc:
        services.define_parameter(
            category=passives["resistors"], code="r2", label="x", quantity="weight"
        )
    assert exc.value.code == "INVALID"


def test_quantity_kind_of_a_used_parameter_cannot_change(make_part, passives):
    make_part("R1", "resistors", {"resistance": "10k", "package": "0603"})
    with pytest.raises(DomainError) as exc:
        services.define_parameter(
            category=passives["resistors"], code="resistance", label="R", quantity="capacitance"
        )
    assert exc.value.code == "PARAMETER_IN_USE"
    # Changing the label keeps the kind: allowed.
    services.define_parameter(
        category=passives["resistors"], code="resistance", label="阻值", quantity="resistance"
    )


def test_part_parameters_are_stored_normalised(make_part):
    sku = make_part(
        "R1",
        "resistors",
        {
            "resistance": "10K0",
            "tolerance": "±1%",
            "voltage": "50 VDC",
            "power": "1/10W",
            "package": "0603",
            "temperature": "-55°C to +155°C",
        },
    )
    rows = {p.code: p for p in PartParameter.objects.filter(product=sku.product)}
    assert rows["resistance"].value == Decimal("10000")
    assert rows["resistance"].raw == "10K0"
    assert rows["tolerance"].value == Decimal("1")
    assert rows["voltage"].value == Decimal("50")
    assert rows["power"].value == Decimal("0.1")
    assert rows["package"].text == "0603" and rows["package"].value is None
    assert (rows["temperature"].value, rows["temperature"].value_max) == (-55, 155)
    assert selectors.display(rows["resistance"]) == "10kΩ"


def test_every_bad_parameter_is_reported_and_nothing_saved(make_part):
    sku = make_part("R1", "resistors", {"resistance": "10k", "package": "0603"})
    with pytest.raises(ValidationFailed) as exc:
        services.set_part_parameters(
            product=sku.product,
            values={
                "resistance": "10V",
                "voltage": "50 furlongs",
                "capacitance": "1n",
                "package": "0402",
            },
        )
    assert sorted((e.field, e.code) for e in exc.value.errors) == [
        ("capacitance", "UNKNOWN_PARAMETER"),
        ("resistance", "WRONG_QUANTITY"),
        ("voltage", "UNKNOWN_UNIT"),
    ]
    rows = {p.code: p for p in PartParameter.objects.filter(product=sku.product)}
    assert rows["package"].text == "0603" and rows["resistance"].value == 10000


def test_required_parameters_and_removal(make_part):
    sku = make_part("R1", "resistors", {"resistance": "10k", "package": "0603", "power": "0.1W"})
    with pytest.raises(ValidationFailed) as exc:
        services.set_part_parameters(product=sku.product, values={"package": ""})
    assert [(e.field, e.code) for e in exc.value.errors] == [("package", "REQUIRED")]
    services.set_part_parameters(product=sku.product, values={"power": None})
    assert not PartParameter.objects.filter(product=sku.product, code="power").exists()
    services.set_part_parameters(
        product=sku.product, values={"resistance": "4k7", "package": "0402"}, replace=True
    )
    assert set(
        PartParameter.objects.filter(product=sku.product).values_list("code", flat=True)
    ) == {"resistance", "package"}


def test_reel_rule_service_validates(passives):
    sku = SkuFactory()
    with pytest.raises(DomainError) as exc:
        services.set_reel_rule(sku=sku, reel_quantity=None, mode="reel_only")
    assert (exc.value.code, exc.value.field) == ("REQUIRED", "reelQuantity")
    with pytest.raises(DomainError) as exc:
        services.set_reel_rule(sku=sku, reel_quantity=5000, mode="cut_tape_from")
    assert exc.value.field == "cutTapeFrom"
    with pytest.raises(DomainError) as exc:
        services.set_reel_rule(sku=sku, reel_quantity=5000, mode="reel_only", minimum_quantity=0)
    assert exc.value.field == "minimumQuantity"
    assert not ReelRule.objects.exists()
    rule = services.set_reel_rule(sku=sku, reel_quantity=5000, mode="reel_only")
    assert (rule.reel_quantity, rule.mode, rule.minimum_quantity) == (5000, "reel_only", 1)


def test_enabled_tenant_runs_the_hooks_disabled_tenant_none(
    plugin_tenant, plugin_disabled_tenant, order_context, make_part
):
    sku = make_part("R1", "resistors", {"resistance": "10k", "package": "0603"})
    services.set_reel_rule(sku=sku, reel_quantity=5000, mode="reel_only")
    hooks = get_manager().hooks_for(plugin_tenant)
    context = order_context([(sku, 100)])
    assert [e.code for e in hooks.validate_order_lines(context, context.lines)] == [
        "NOT_MULTIPLE_OF_REEL"
    ]
    fields = hooks.search_document_fields(plugin_tenant, sku.product)
    assert fields["electronics_resistance"] == 10000.0
    assert fields["electronics_package"] == "0603"
    assert "resistance" in {f.name for f in hooks.search_filters(plugin_tenant)}
    assert {"NOT_MULTIPLE_OF_REEL", "BELOW_MINIMUM"} <= set(get_manager().order_error_codes())

    # The other tenant has the same tables (and here the same kind of data) but not the plugin.
    connection.set_tenant(plugin_disabled_tenant)
    category = CategoryFactory()
    services.define_parameter(
        category=category, code="resistance", label="R", quantity="resistance"
    )
    product = ProductFactory(category=category)
    other = SkuFactory(product=product)
    services.set_part_parameters(product=product, values={"resistance": "10k"})
    services.set_reel_rule(sku=other, reel_quantity=5000, mode="reel_only")
    hooks = get_manager().hooks_for(plugin_disabled_tenant)
    context = order_context([(other, 100)], tenant=plugin_disabled_tenant)
    assert hooks.validate_order_lines(context, context.lines) == []
    assert hooks.search_document_fields(plugin_disabled_tenant, product) == {}
    assert hooks.search_filters(plugin_disabled_tenant) == []


def test_demo_data_is_idempotent(plugin_tenant, plugin_hooks):
    from core.catalog.models import Product, Sku

    for code in ("R0603-10K", "C0603-100N"):
        SkuFactory(code=code, product=ProductFactory(name=code))
    plugin_hooks.load_demo_data(plugin_tenant)
    plugin_hooks.load_demo_data(plugin_tenant)
    resistor = Sku.objects.get(code="R0603-10K")
    rows = selectors.parameters_by_product([resistor.product_id])[resistor.product_id]
    assert rows["resistance"].value == 10000 and rows["package"].text == "0603"
    assert resistor.electronics_reel_rule.reel_quantity == 5000
    capacitor = Sku.objects.get(code="C0603-100N")
    rows = selectors.parameters_by_product([capacitor.product_id])[capacitor.product_id]
    assert rows["capacitance"].value == Decimal("1E-7") and rows["dielectric"].text == "X7R"
    assert Product.objects.filter(skus__code__in=["R0603-10K-B", "C0603-104-B"]).count() == 2
    assert [a.sku.code for a in selectors.alternates(resistor)] == ["R0603-10K-B"]
    assert [a.sku.code for a in selectors.alternates(capacitor)] == ["C0603-104-B"]
