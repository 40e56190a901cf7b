"""Dealer licences for prescription and controlled categories, checked on every channel."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from core.exceptions import ValidationFailed
from core.inventory.models import Stock
from core.orders import channels
from core.orders.models import Order
from core.testing.factories import CategoryFactory, ProductFactory, SkuFactory
from plugins.pharma.models import Batch, ControlledCategory, DealerLicence, LicenceType

from .conftest import days

PLACE = """mutation($lines: [OrderLineInput!]!, $key: String!) {
  placeOrder(lines: $lines, idempotencyKey: $key) {
    order { number status }
    errors { field code message available }
  }
}"""


@pytest.fixture
def rx(pharmacy):
    """An antibiotics category under prescription drugs; AMOX-250 in it; a controlled SKU."""
    prescription = CategoryFactory(name="Prescription")
    antibiotics = CategoryFactory(name="Antibiotics", parent=prescription)
    narcotics = CategoryFactory(name="Narcotics")
    licence = LicenceType.objects.get(code="DRUG_DISTRIBUTION")
    permit = LicenceType.objects.get(code="CONTROLLED")
    ControlledCategory.objects.create(
        category=prescription, kind="prescription", required_licence=licence
    )
    ControlledCategory.objects.create(
        category=narcotics, kind="controlled", required_licence=permit
    )
    pharmacy.sku.product.category = antibiotics
    pharmacy.sku.product.save()
    morphine = SkuFactory(code="MORPH-10", product=ProductFactory(category=narcotics))
    from core.testing.factories import PriceListItemFactory

    PriceListItemFactory(price_list=pharmacy.price_list, sku=morphine, unit_price="50.00")
    pharmacy.receive("AM-1", 100, 300)
    pharmacy.receive("MO-1", 100, 300, sku=morphine)
    return licence, permit


def _codes(exc):
    return [(e.code, e.field) for e in exc.value.errors]


def test_plugin_enabled_created_the_usual_licence_types(plugin_tenant):
    assert set(LicenceType.objects.values_list("code", flat=True)) >= {
        "DRUG_DISTRIBUTION",
        "GSP",
        "CONTROLLED",
    }


def test_unlicensed_dealer_is_refused_per_line_and_nothing_is_reserved(pharmacy, rx, place):
    with pytest.raises(ValidationFailed) as exc:
        place([("AMOX-250", 2), ("MORPH-10", 1)])
    assert _codes(exc) == [("LICENCE_REQUIRED", "lines.0.sku"), ("LICENCE_REQUIRED", "lines.1.sku")]
    assert exc.value.errors[0].params["licence_type"] == "DRUG_DISTRIBUTION"
    assert exc.value.errors[1].params["licence_type"] == "CONTROLLED"
    assert not Order.objects.exists()
    assert set(Batch.objects.values_list("reserved", flat=True)) == {0}
    assert set(Stock.objects.values_list("reserved", flat=True)) == {0}


def test_expired_licence_and_licence_of_the_wrong_type(pharmacy, rx, place):
    licence, permit = rx
    DealerLicence.objects.create(
        dealer=pharmacy.dealer,
        licence_type=licence,
        number="RX-1",
        valid_from=days(-800),
        expires_on=days(-1),
    )
    with pytest.raises(ValidationFailed) as exc:
        place([("AMOX-250", 2), ("MORPH-10", 1)])
    assert _codes(exc) == [("LICENCE_EXPIRED", "lines.0.sku"), ("LICENCE_REQUIRED", "lines.1.sku")]
    assert exc.value.errors[0].params["expired_on"] == days(-1).isoformat()


def test_valid_licences_let_the_order_through(pharmacy, rx, place):
    licence, permit = rx
    DealerLicence.objects.create(
        dealer=pharmacy.dealer,
        licence_type=licence,
        number="RX-2",
        valid_from=days(-10),
        expires_on=days(0),
    )  # valid through today
    DealerLicence.objects.create(
        dealer=pharmacy.dealer,
        licence_type=permit,
        number="CS-2",
        valid_from=days(-10),
        expires_on=days(300),
    )
    order = place([("AMOX-250", 2), ("MORPH-10", 1)])
    assert order.status == "allocated"


def test_licence_not_yet_valid_is_no_licence(pharmacy, rx, place):
    licence, _permit = rx
    DealerLicence.objects.create(
        dealer=pharmacy.dealer,
        licence_type=licence,
        number="RX-3",
        valid_from=days(5),
        expires_on=days(300),
    )
    with pytest.raises(ValidationFailed) as exc:
        place([("AMOX-250", 2)])
    assert _codes(exc) == [("LICENCE_REQUIRED", "lines.0.sku")]


def test_uncontrolled_products_need_no_licence(pharmacy, place):
    pharmacy.receive("AM-1", 10, 300)
    assert place([("AMOX-250", 1)]).status == "allocated"


# --- channels -------------------------------------------------------------------------
def test_graphql_place_order_reports_licence_and_expiry_codes(pharmacy, rx, plugin_client):
    status, body = plugin_client.graphql(
        PLACE, {"lines": [{"sku": "MORPH-10", "quantity": 1}], "key": "g1"}, user=pharmacy.buyer
    )
    assert status == 200, body
    assert body["data"]["placeOrder"]["order"] is None
    assert [(e["code"], e["field"]) for e in body["data"]["placeOrder"]["errors"]] == [
        ("LICENCE_REQUIRED", "lines.0.sku")
    ]
    licence, permit = rx
    DealerLicence.objects.create(
        dealer=pharmacy.dealer,
        licence_type=permit,
        number="CS-9",
        valid_from=days(-1),
        expires_on=days(100),
    )
    Batch.objects.filter(lot="MO-1").update(expires_on=days(-1))
    status, body = plugin_client.graphql(
        PLACE, {"lines": [{"sku": "MORPH-10", "quantity": 1}], "key": "g2"}, user=pharmacy.buyer
    )
    assert [(e["code"], e["available"]) for e in body["data"]["placeOrder"]["errors"]] == [
        ("EXPIRED_BATCH", 0)
    ], body
    Batch.objects.filter(lot="MO-1").update(expires_on=days(400))
    status, body = plugin_client.graphql(
        PLACE, {"lines": [{"sku": "MORPH-10", "quantity": 3}], "key": "g3"}, user=pharmacy.buyer
    )
    assert body["data"]["placeOrder"]["errors"] == [] and body["data"]["placeOrder"]["order"]
    assert Batch.objects.get(lot="MO-1").reserved == 3


def test_quick_order_applies_the_rules(pharmacy, rx):
    with pytest.raises(ValidationFailed) as exc:
        channels.place_quick_order(
            dealer=pharmacy.dealer, user=pharmacy.buyer, text="AMOX-250 2", idempotency_key="q1"
        )
    assert _codes(exc) == [("LICENCE_REQUIRED", "lines.0.sku")]
    licence, _permit = rx
    DealerLicence.objects.create(
        dealer=pharmacy.dealer,
        licence_type=licence,
        number="RX-Q",
        valid_from=days(-1),
        expires_on=days(100),
    )
    pharmacy.receive("AM-0", 5, 120)  # expires before AM-1: taken first
    placed = channels.place_quick_order(
        dealer=pharmacy.dealer, user=pharmacy.buyer, text="AMOX-250 7", idempotency_key="q2"
    )
    allocation = placed.order.lines.get().allocations.get()
    assert [(e["lot"], e["quantity"]) for e in allocation.data["batches"]] == [
        ("AM-0", 5),
        ("AM-1", 2),
    ]


def _sheet(rows):
    wb = Workbook()
    ws = wb.active
    ws.append(["sku", "quantity", "unit"])
    for row in rows:
        ws.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def test_sheet_upload_applies_the_rules(pharmacy, rx):
    licence, _permit = rx
    DealerLicence.objects.create(
        dealer=pharmacy.dealer,
        licence_type=licence,
        number="RX-S",
        valid_from=days(-1),
        expires_on=days(100),
    )
    Batch.objects.filter(lot="AM-1").update(expires_on=days(30))  # below the 90-day minimum
    with pytest.raises(ValidationFailed) as exc:
        channels.place_sheet_order(
            dealer=pharmacy.dealer,
            user=pharmacy.buyer,
            filename="o.xlsx",
            content=_sheet([["AMOX-250", 4, ""]]),
            idempotency_key="s1",
        )
    assert _codes(exc) == [("SHELF_LIFE_TOO_SHORT", "lines.0.quantity")]
    assert Batch.objects.get(lot="AM-1").reserved == 0
    Batch.objects.filter(lot="AM-1").update(expires_on=days(300))
    placed = channels.place_sheet_order(
        dealer=pharmacy.dealer,
        user=pharmacy.buyer,
        filename="o.xlsx",
        content=_sheet([["AMOX-250", 4, ""]]),
        idempotency_key="s2",
    )
    assert placed.order.channel == "import"
    assert Batch.objects.get(lot="AM-1").reserved == 4
