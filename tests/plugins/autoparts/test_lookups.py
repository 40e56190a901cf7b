"""Look-ups by vehicle, part number and VIN: the fitting, orderable parts with the
dealer's price and availability, typed errors, and SQL that does not grow with results."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.exceptions import DomainError
from core.testing.factories import PriceListItemFactory, ProductFactory, SkuFactory
from plugins.autoparts import selectors, services
from plugins.autoparts.vin import with_check_digit

from .conftest import LAVIDA_VIN


def codes(result):
    return [p.sku.code for p in result.parts]


def test_by_vehicle_lists_orderable_parts_with_price_and_availability(garage):
    result = selectors.lookup_by_vehicle(
        garage.dealer, make="toyota", model="CAMRY", year=2020, engine_code="a25a-fks"
    )
    assert [v.pk for v in result.vehicles] == [garage.camry.pk]
    # Not: the discontinued disc, the hidden brand, the unpriced filter, the inactive bulk SKU.
    assert codes(result) == ["PAD-F", "PAD-R", "OIL-1"]
    pads, rear, oil = result.parts
    assert pads.price.unit_price == Decimal("120.00") and pads.available == 30
    assert rear.available == 0 and rear.price.unit_price == Decimal("100.00")
    assert [(f.vehicle.model, f.position, f.note) for f in pads.fitments] == [
        ("Camry", "front", "With sensor")
    ]
    assert oil.price.currency == "CNY"


def test_vehicle_year_range_and_engine_decide(garage):
    old = selectors.lookup_by_vehicle(garage.dealer, make="Toyota", model="Camry", year=2015)
    assert [v.pk for v in old.vehicles] == [garage.camry_old.pk]
    assert codes(old) == ["PAD-R"]
    both = selectors.lookup_by_vehicle(garage.dealer, make="Toyota", model="Camry")
    assert len(both.vehicles) == 2 and codes(both) == ["PAD-F", "PAD-R", "OIL-1"]
    open_ended = selectors.lookup_by_vehicle(garage.dealer, make="Volkswagen", year=2031)
    assert codes(open_ended) == ["OIL-1"]
    for kwargs in ({"year": 2024}, {"year": 2011}, {"engine_code": "1ZZ-FE"}):
        with pytest.raises(DomainError) as exc:
            selectors.lookup_by_vehicle(garage.dealer, make="Toyota", model="Camry", **kwargs)
        assert exc.value.code == "UNKNOWN_VEHICLE"
    with pytest.raises(DomainError) as exc:
        selectors.lookup_by_vehicle(garage.dealer, vehicle_id=999999)
    assert exc.value.code == "UNKNOWN_VEHICLE"
    with pytest.raises(DomainError) as exc:
        selectors.lookup_by_vehicle(garage.dealer)
    assert exc.value.code == "REQUIRED"


def test_sku_fitment_is_only_that_sku(garage):
    other_sku = SkuFactory(code="PAD-F-CERAMIC", product=garage.pads.product)
    PriceListItemFactory(sku=other_sku, unit_price="150.00")
    result = selectors.lookup_by_vehicle(garage.dealer, vehicle_id=garage.camry.pk)
    assert "PAD-F-CERAMIC" not in codes(result)  # the fitment names SKU PAD-F only
    services.add_fitment(vehicle=garage.camry, product_code=garage.pads.product.code)
    result = selectors.lookup_by_vehicle(garage.dealer, vehicle_id=garage.camry.pk)
    assert "PAD-F-CERAMIC" in codes(result)


def test_staff_without_dealer_sees_every_active_part_without_price(garage):
    result = selectors.lookup_by_vehicle(None, vehicle_id=garage.camry.pk)
    assert codes(result) == ["PAD-F", "PAD-R", "NOPRICE-1", "HID-1", "OIL-1"]
    assert all(p.price is None for p in result.parts)


def test_unpriced_parts_listed_when_the_tenant_asks(garage):
    result = selectors.lookup_by_vehicle(
        garage.dealer, vehicle_id=garage.camry.pk, include_unpriced=True
    )
    assert "NOPRICE-1" in codes(result)
    assert next(p for p in result.parts if p.sku.code == "NOPRICE-1").price is None


@pytest.mark.parametrize("typed", ["04465-33450", "0446533450", "04465 33450", "04465.33450"])
def test_oe_number_in_any_form_finds_the_part(garage, typed):
    result = selectors.lookup_by_number(garage.dealer, typed)
    assert codes(result) == ["PAD-F"]
    assert [(n.brand, n.number) for n in result.parts[0].numbers] == [("Toyota", "04465-33450")]
    assert result.parts[0].price.unit_price == Decimal("120.00")


def test_cross_references_are_followed_both_ways_two_hops(garage):
    bosch = selectors.lookup_by_number(garage.dealer, "0986-ab2-640")
    assert codes(bosch) == ["PAD-F"]
    assert {(n.brand, n.kind) for n in bosch.numbers} == {
        ("Bosch", "aftermarket"),
        ("Toyota", "oe"),
        ("Brembo", "aftermarket"),
    }
    brembo = selectors.lookup_by_number(garage.dealer, "p83140")  # Brembo ⇄ Bosch ⇄ Toyota
    assert codes(brembo) == ["PAD-F"]
    assert selectors.lookup_by_number(garage.dealer, "P83140", brand="brembo").parts
    with pytest.raises(DomainError) as exc:
        selectors.lookup_by_number(garage.dealer, "P83140", brand="Bosch")
    assert exc.value.code == "UNKNOWN_OE_NUMBER"


def test_number_of_a_part_outside_the_catalogue_finds_nothing_orderable(garage):
    assert selectors.lookup_by_number(garage.dealer, "04466-99999").parts == []
    assert codes(selectors.lookup_by_number(None, "04466-99999")) == ["HID-1"]


def test_unknown_number(garage):
    with pytest.raises(DomainError) as exc:
        selectors.lookup_by_number(garage.dealer, "12345-67890")
    assert exc.value.code == "UNKNOWN_OE_NUMBER" and exc.value.field == "number"
    with pytest.raises(DomainError) as exc:
        selectors.lookup_by_number(garage.dealer, " -- ")
    assert exc.value.code == "REQUIRED"


def test_by_vin_decodes_make_and_year(garage):
    result = selectors.lookup_by_vin(garage.dealer, LAVIDA_VIN.lower())
    assert result.decoded_vin.model_year == 2018
    assert [v.pk for v in result.vehicles] == [garage.lavida.pk]
    assert codes(result) == ["OIL-1"]
    assert result.parts[0].fitments[0].note == "Change every 10,000 km"


def test_by_vin_matches_make_aliases(garage):
    services.update_vehicle(vehicle=garage.lavida, make="大众")
    assert codes(selectors.lookup_by_vin(garage.dealer, LAVIDA_VIN)) == ["OIL-1"]


def test_by_vin_japanese_vin_without_check_digit(garage):
    vin = "JTDKB20U0J3012345"  # position 9 "0" is no check digit; Toyota, 2018
    result = selectors.lookup_by_vin(garage.dealer, vin)
    assert [w[0] for w in result.decoded_vin.warnings] in ([], ["CHECK_DIGIT_NOT_VERIFIED"])
    assert [v.pk for v in result.vehicles] == [garage.camry.pk]
    assert codes(result) == ["PAD-F", "PAD-R", "OIL-1"]


@pytest.mark.parametrize(
    ("vin", "code", "reason"),
    [
        ("LSVAB41Z", "INVALID_VIN", "LENGTH"),
        ("LSVAB41ZOJ2123456", "INVALID_VIN", "CHARACTERS"),
        (
            LAVIDA_VIN[:8] + ("X" if LAVIDA_VIN[8] != "X" else "0") + LAVIDA_VIN[9:],
            "INVALID_VIN",
            "CHECK_DIGIT",
        ),
        (with_check_digit("1ZZAB41Z0J2123456"), "UNKNOWN_VEHICLE", None),  # unknown WMI
        (with_check_digit("LSVAB41Z0B2123456"), "UNKNOWN_VEHICLE", None),  # 2011: no Lavida
        (with_check_digit("LSGAB41Z0J2123456"), "UNKNOWN_VEHICLE", None),  # no Buick vehicles
    ],
)
def test_by_vin_typed_errors(garage, vin, code, reason):
    with pytest.raises(DomainError) as exc:
        selectors.lookup_by_vin(garage.dealer, vin)
    assert exc.value.code == code and exc.value.field == "vin"
    assert exc.value.params.get("reason") == reason


def _add_fitting_parts(vehicle, n, start=0):
    for i in range(start, start + n):
        sku = SkuFactory(code=f"BULK-{i}", product=ProductFactory(code=f"P-BULK-{i}"))
        PriceListItemFactory(sku=sku, unit_price="9.00")
        services.add_fitment(vehicle=vehicle, sku_code=sku.code)
        services.set_part_number(
            brand="Toyota", number="04465 33450", product_codes=[sku.product.code]
        )


@pytest.mark.parametrize(
    "lookup",
    [
        lambda dealer, v: selectors.lookup_by_vehicle(
            dealer, make="Toyota", model="Camry", year=2020
        ),
        lambda dealer, v: selectors.lookup_by_number(dealer, "04465-33450"),
        lambda dealer, v: selectors.lookup_by_vin(dealer, with_check_digit("JTDKB20U0J3012345")),
    ],
    ids=["vehicle", "number", "vin"],
)
def test_query_count_does_not_grow_with_results(plugin_tenant, lookup):
    from .conftest import build_garage

    garage = build_garage()
    garage.dealer.catalogues.clear()  # unrestricted: every part below is orderable

    def count():
        with CaptureQueriesContext(connection) as ctx:
            result = lookup(garage.dealer, garage.camry)
        return len(ctx.captured_queries), len(result.parts)

    _add_fitting_parts(garage.camry, 2)
    few_queries, few = count()
    _add_fitting_parts(garage.camry, 20, start=2)
    many_queries, many = count()
    assert many > few
    assert many_queries == few_queries, (few_queries, many_queries)
    assert many_queries <= 10
