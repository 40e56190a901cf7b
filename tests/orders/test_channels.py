"""Every channel ends in the same order service, and records itself on the order."""

import io

import pytest
from openpyxl import Workbook

from core.exceptions import DomainError, ValidationFailed
from core.inventory.models import Stock
from core.orders import channels, services
from core.orders.lines import LineInput
from core.orders.models import Channel, ExternalSkuMapping, Order
from core.testing.factories import SkuUnitFactory, UserFactory


def test_quick_order_preview_reports_each_line(shop):
    text = "SKU0 3\nSKU1, 2, each\nSKUX 1\nSKU2 many\n\n# comment\nSKU0"
    results = channels.preview_quick_order(dealer=shop.dealer, text=text)
    assert [r.line_number for r in results] == [1, 2, 3, 4, 7]
    ok = results[0]
    assert (ok.sku_code, ok.quantity, ok.unit_price, ok.currency) == ("SKU0", 3, ok.unit_price, "CNY")
    assert str(ok.unit_price) == "10.0000"
    assert results[1].error is None and results[1].unit == "each"
    assert results[2].error.code == "UNKNOWN_SKU" and results[2].suggestion in {"SKU0", "SKU1", "SKU2"}
    assert results[3].error.code == "INVALID_QUANTITY"
    assert results[4].error.code == "INVALID_LINE"


def test_quick_order_places_all_or_nothing(shop):
    with pytest.raises(ValidationFailed):
        channels.place_quick_order(dealer=shop.dealer, user=shop.buyer, text="SKU0 1\nSKU1 x", idempotency_key="q")
    assert not Order.objects.exists()
    order = channels.place_quick_order(dealer=shop.dealer, user=shop.buyer, text="SKU0 1\nSKU1 2",
                                       idempotency_key="q").order
    assert order.channel == Channel.QUICK_ORDER and order.lines.count() == 2


def _xlsx(rows):
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_sheet_upload_good_and_bad(shop):
    good = _xlsx([["sku", "quantity", "unit"], ["SKU0", 2, None], ["SKU1", 3, "each"]])
    order = channels.place_sheet_order(dealer=shop.dealer, user=shop.buyer, filename="order.xlsx", content=good,
                                       idempotency_key="sheet-1").order
    assert order.channel == Channel.IMPORT and order.lines.count() == 2
    bad = _xlsx([["sku", "quantity"], ["SKU0", 2], ["SKU1", "three"], [None, 4]])
    with pytest.raises(ValidationFailed) as err:
        channels.place_sheet_order(dealer=shop.dealer, user=shop.buyer, filename="o.xlsx", content=bad,
                                   idempotency_key="sheet-2")
    assert [e.field for e in err.value.errors] == ["row.3", "row.4"]
    with pytest.raises(ValidationFailed) as err:
        channels.place_sheet_order(dealer=shop.dealer, user=shop.buyer, filename="o.xlsx",
                                   content=_xlsx([["code", "qty"]]), idempotency_key="sheet-3")
    assert err.value.errors[0].code == "MISSING_COLUMNS"
    unknown = b"sku,quantity\nSKU0,1\nNOPE,1\n"
    with pytest.raises(ValidationFailed) as err:
        channels.place_sheet_order(dealer=shop.dealer, user=shop.buyer, filename="o.csv", content=unknown,
                                   idempotency_key="sheet-4")
    assert err.value.errors[0].code == "UNKNOWN_SKU" and err.value.errors[0].field == "lines.1.sku"
    with pytest.raises(ValidationFailed):
        channels.place_sheet_order(dealer=shop.dealer, user=shop.buyer, filename="o.xlsx", content=b"garbage",
                                   idempotency_key="sheet-5")
    assert Order.objects.count() == 1
    assert Stock.objects.filter(reserved__gt=0).count() == 2


def test_sheet_template_round_trips(shop):
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(channels.order_sheet_template())).active
    assert [c.value for c in ws[1]] == ["sku", "quantity", "unit"]


def test_scan_adds_the_scanned_unit_and_checkout_places(shop):
    SkuUnitFactory(sku=shop.skus[0], code="case", factor=12, gtin="6912345678906")
    channels.scan(dealer=shop.dealer, user=shop.buyer, barcode="6912345678906")
    channels.scan(dealer=shop.dealer, user=shop.buyer, barcode="6912345678906")
    cart = channels.scan(dealer=shop.dealer, user=shop.buyer, barcode=shop.skus[1].gtin, quantity=3)
    assert sorted((li.sku.code, li.unit_code, li.quantity) for li in cart.lines.all()) == [
        ("SKU0", "case", 2), ("SKU1", shop.skus[1].base_unit, 3)]
    with pytest.raises(ValidationFailed):
        channels.scan(dealer=shop.dealer, user=shop.buyer, barcode="0000000000000")
    placed = channels.checkout_cart(dealer=shop.dealer, user=shop.buyer, idempotency_key="cart-1")
    assert placed.order.lines.get(sku=shop.skus[0]).base_quantity == 24
    assert not cart.lines.exists()
    again = channels.checkout_cart(dealer=shop.dealer, user=shop.buyer, idempotency_key="cart-1")
    assert again.replayed and again.order.pk == placed.order.pk


def test_reorder_fills_the_cart_or_places_again(shop):
    first = services.place_order(dealer=shop.dealer, user=shop.buyer, lines=[LineInput("SKU0", 2), LineInput("SKU2", 1)],
                                 channel=Channel.WEB, idempotency_key="r0").order
    cart = channels.reorder(order=first, user=shop.buyer)
    assert cart.lines.count() == 2
    placed = channels.reorder(order=first, user=shop.buyer, to_cart=False)
    assert placed.order.channel == Channel.REORDER and placed.order.lines.count() == 2


def test_sales_rep_orders_for_covered_dealers_only(shop):
    rep = UserFactory(role="sales_rep")
    shop.dealer.sales_reps.add(rep)
    order = services.place_order(dealer=shop.dealer, user=rep, lines=[LineInput("SKU0", 1)],
                                 channel=Channel.SALES_REP, idempotency_key="rep").order
    assert order.placed_by == rep and order.channel == Channel.SALES_REP
    with pytest.raises(DomainError) as err:
        services.place_order(dealer=shop.other_dealer, user=rep, lines=[LineInput("SKU0", 1)],
                             channel=Channel.SALES_REP, idempotency_key="rep2")
    assert err.value.code == "PERMISSION_DENIED"


def test_marketplace_feed_maps_codes_and_is_idempotent(shop):
    ExternalSkuMapping.objects.create(source="tmall", external_code="TM-A", sku=shop.skus[0])
    payload = {"order_id": "889", "dealer_code": shop.dealer.code, "lines": [{"sku": "TM-A", "quantity": 3}]}
    first = channels.import_marketplace_order(source="tmall", payload=payload)
    again = channels.import_marketplace_order(source="tmall", payload=payload)
    assert first.order.channel == Channel.MARKETPLACE and first.order.external_ref == "889"
    assert again.replayed and Order.objects.count() == 1
    bad = {"order_id": "890", "dealer_code": "NOPE", "lines": [{"sku": "TM-Z", "quantity": 0}]}
    with pytest.raises(ValidationFailed) as err:
        channels.import_marketplace_order(source="tmall", payload=bad)
    assert {e.code for e in err.value.errors} == {"UNKNOWN_DEALER", "UNKNOWN_SKU"}


def test_confirmation_pdf(shop, tenant_client):
    from core.orders.documents import order_confirmation_pdf
    from core.testing.pytest_plugin import token_for

    order = services.place_order(dealer=shop.dealer, user=shop.buyer, lines=[LineInput("SKU0", 2)],
                                 channel=Channel.WEB, idempotency_key="pdf").order
    assert order_confirmation_pdf(order).startswith(b"%PDF")
    response = tenant_client.get(f"/orders/{order.number}/confirmation.pdf",
                                 HTTP_AUTHORIZATION=f"Bearer {token_for(shop.buyer)}")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    other = tenant_client.get(f"/orders/{order.number}/confirmation.pdf",
                              HTTP_AUTHORIZATION=f"Bearer {token_for(shop.other_buyer)}")
    assert other.status_code == 404
