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
    assert (ok.sku_code, ok.quantity, ok.unit_price, ok.currency) == (
        "SKU0",
        3,
        ok.unit_price,
        "CNY",
    )
    assert str(ok.unit_price) == "10.0000"
    assert results[1].error is None and results[1].unit == "each"
    assert results[2].error.code == "UNKNOWN_SKU" and results[2].suggestion in {
        "SKU0",
        "SKU1",
        "SKU2",
    }
    assert results[3].error.code == "INVALID_QUANTITY"
    assert results[4].error.code == "INVALID_LINE"


def test_quick_order_places_all_or_nothing(shop):
    with pytest.raises(ValidationFailed):
        channels.place_quick_order(
            dealer=shop.dealer, user=shop.buyer, text="SKU0 1\nSKU1 x", idempotency_key="q"
        )
    assert not Order.objects.exists()
    order = channels.place_quick_order(
        dealer=shop.dealer, user=shop.buyer, text="SKU0 1\nSKU1 2", idempotency_key="q"
    ).order
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
    order = channels.place_sheet_order(
        dealer=shop.dealer,
        user=shop.buyer,
        filename="order.xlsx",
        content=good,
        idempotency_key="sheet-1",
    ).order
    assert order.channel == Channel.IMPORT and order.lines.count() == 2
    bad = _xlsx([["sku", "quantity"], ["SKU0", 2], ["SKU1", "three"], [None, 4]])
    with pytest.raises(ValidationFailed) as err:
        channels.place_sheet_order(
            dealer=shop.dealer,
            user=shop.buyer,
            filename="o.xlsx",
            content=bad,
            idempotency_key="sheet-2",
        )
    assert [e.field for e in err.value.errors] == ["row.3", "row.4"]
    with pytest.raises(ValidationFailed) as err:
        channels.place_sheet_order(
            dealer=shop.dealer,
            user=shop.buyer,
            filename="o.xlsx",
            content=_xlsx([["code", "qty"]]),
            idempotency_key="sheet-3",
        )
    assert err.value.errors[0].code == "MISSING_COLUMNS"
    unknown = b"sku,quantity\nSKU0,1\nNOPE,1\n"
    with pytest.raises(ValidationFailed) as err:
        channels.place_sheet_order(
            dealer=shop.dealer,
            user=shop.buyer,
            filename="o.csv",
            content=unknown,
            idempotency_key="sheet-4",
        )
    assert err.value.errors[0].code == "UNKNOWN_SKU" and err.value.errors[0].field == "lines.1.sku"
    with pytest.raises(ValidationFailed):
        channels.place_sheet_order(
            dealer=shop.dealer,
            user=shop.buyer,
            filename="o.xlsx",
            content=b"garbage",
            idempotency_key="sheet-5",
        )
    assert Order.objects.count() == 1
    assert Stock.objects.filter(reserved__gt=0).count() == 2


@pytest.mark.parametrize(
    ("filename", "content"),
    [
        ("o.csv", b"sku,quantity\nSKU0,2.05\n"),
        ("o.csv", b"sku,quantity\nSKU0,10.01\n"),
        ("o.csv", b"sku,quantity\nSKU0,1e2\n"),
        ("o.xlsx", "float"),
        ("o.xlsx", "bool"),
    ],
)
def test_sheet_quantity_must_be_a_whole_number(shop, filename, content):
    """2.05 or 10.01 was ordered as 2 or 10: every fraction is now a row error, nothing ordered."""
    if content == "float":
        content = _xlsx([["sku", "quantity"], ["SKU0", 2.05]])
    elif content == "bool":
        content = _xlsx([["sku", "quantity"], ["SKU0", True]])
    with pytest.raises(ValidationFailed) as err:
        channels.place_sheet_order(
            dealer=shop.dealer,
            user=shop.buyer,
            filename=filename,
            content=content,
            idempotency_key="frac",
        )
    assert [(e.field, e.code) for e in err.value.errors] == [("row.2", "INVALID_ROW")]
    assert not Order.objects.exists()


def test_sheet_whole_number_quantities_in_any_form(shop):
    content = _xlsx([["sku", "quantity"], ["SKU0", 2.0], ["SKU1", "3"], ["SKU2", " 4.00 "]])
    order = channels.place_sheet_order(
        dealer=shop.dealer,
        user=shop.buyer,
        filename="o.xlsx",
        content=content,
        idempotency_key="whole",
    ).order
    assert sorted(order.lines.values_list("quantity", flat=True)) == [2, 3, 4]


def test_sheet_csv_with_nul_is_an_invalid_file(shop):
    with pytest.raises(ValidationFailed) as err:
        channels.place_sheet_order(
            dealer=shop.dealer,
            user=shop.buyer,
            filename="o.csv",
            content=b"sku,quantity\nSKU\x000,1\n",
            idempotency_key="nul",
        )
    assert [(e.field, e.code) for e in err.value.errors] == [("file", "INVALID_FILE")]
    assert not Order.objects.exists()


def test_sheet_csv_with_a_cell_past_the_csv_limit_is_an_invalid_file(shop):
    """A cell longer than the csv module's field limit raised csv.Error (an internal error)."""
    content = b"sku,quantity\nSKU0," + b"1" * 200_000 + b"\n"
    with pytest.raises(ValidationFailed) as err:
        channels.place_sheet_order(
            dealer=shop.dealer,
            user=shop.buyer,
            filename="o.csv",
            content=content,
            idempotency_key="huge",
        )
    assert [(e.field, e.code) for e in err.value.errors] == [("file", "INVALID_FILE")]
    assert not Order.objects.exists()


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
        ("SKU0", "case", 2),
        ("SKU1", shop.skus[1].base_unit, 3),
    ]
    with pytest.raises(ValidationFailed):
        channels.scan(dealer=shop.dealer, user=shop.buyer, barcode="0000000000000")
    placed = channels.checkout_cart(dealer=shop.dealer, user=shop.buyer, idempotency_key="cart-1")
    assert placed.order.lines.get(sku=shop.skus[0]).base_quantity == 24
    assert not cart.lines.exists()
    again = channels.checkout_cart(dealer=shop.dealer, user=shop.buyer, idempotency_key="cart-1")
    assert again.replayed and again.order.pk == placed.order.pk


def test_reorder_fills_the_cart_or_places_again(shop):
    first = services.place_order(
        dealer=shop.dealer,
        user=shop.buyer,
        lines=[LineInput("SKU0", 2), LineInput("SKU2", 1)],
        channel=Channel.WEB,
        idempotency_key="r0",
    ).order
    cart = channels.reorder(order=first, user=shop.buyer)
    assert cart.lines.count() == 2
    placed = channels.reorder(order=first, user=shop.buyer, to_cart=False)
    assert placed.order.channel == Channel.REORDER and placed.order.lines.count() == 2


def test_sales_rep_orders_for_covered_dealers_only(shop):
    rep = UserFactory(role="sales_rep")
    shop.dealer.sales_reps.add(rep)
    order = services.place_order(
        dealer=shop.dealer,
        user=rep,
        lines=[LineInput("SKU0", 1)],
        channel=Channel.SALES_REP,
        idempotency_key="rep",
    ).order
    assert order.placed_by == rep and order.channel == Channel.SALES_REP
    with pytest.raises(DomainError) as err:
        services.place_order(
            dealer=shop.other_dealer,
            user=rep,
            lines=[LineInput("SKU0", 1)],
            channel=Channel.SALES_REP,
            idempotency_key="rep2",
        )
    assert err.value.code == "PERMISSION_DENIED"


def test_marketplace_feed_maps_codes_and_is_idempotent(shop):
    ExternalSkuMapping.objects.create(source="tmall", external_code="TM-A", sku=shop.skus[0])
    payload = {
        "order_id": "889",
        "dealer_code": shop.dealer.code,
        "lines": [{"sku": "TM-A", "quantity": 3}],
    }
    first = channels.import_marketplace_order(source="tmall", payload=payload)
    again = channels.import_marketplace_order(source="tmall", payload=payload)
    assert first.order.channel == Channel.MARKETPLACE and first.order.external_ref == "889"
    assert again.replayed and Order.objects.count() == 1
    bad = {"order_id": "890", "dealer_code": "NOPE", "lines": [{"sku": "TM-Z", "quantity": 0}]}
    with pytest.raises(ValidationFailed) as err:
        channels.import_marketplace_order(source="tmall", payload=bad)
    assert {e.code for e in err.value.errors} == {"UNKNOWN_DEALER", "UNKNOWN_SKU"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"order_id": "8\x0091"}, ("payload", "INVALID")),
        ({"note": "gift\x00"}, ("payload", "INVALID")),
        ({"lines": [{"sku": "TM\x00A", "quantity": 1}]}, ("payload", "INVALID")),
        (
            {"lines": [{"sku": "TM-A", "quantity": 10**30}]},
            ("lines.0.quantity", "INVALID_QUANTITY"),
        ),
        ({"lines": [{"sku": "TM-A", "quantity": 2**31}]}, ("lines.0.quantity", "INVALID_QUANTITY")),
    ],
)
def test_marketplace_feed_with_nul_or_a_huge_quantity_is_refused(shop, change, field):
    """A feed's JSON may carry NUL (escaped) or any integer: typed errors, not database errors."""
    ExternalSkuMapping.objects.create(source="tmall", external_code="TM-A", sku=shop.skus[0])
    payload = {
        "order_id": "891",
        "dealer_code": shop.dealer.code,
        "lines": [{"sku": "TM-A", "quantity": 1}],
        **change,
    }
    with pytest.raises(ValidationFailed) as err:
        channels.import_marketplace_order(source="tmall", payload=payload)
    assert [(e.field, e.code) for e in err.value.errors] == [field]
    assert not Order.objects.exists()


def test_a_feed_for_a_dealer_the_caller_may_not_order_for_names_no_dealer(shop):
    """Another dealer's code answers as a code that does not exist, so a dealer's user
    cannot find out which dealer codes exist by importing feeds."""
    ExternalSkuMapping.objects.create(source="tmall", external_code="TM-A", sku=shop.skus[0])
    codes = []
    for dealer_code in (shop.other_dealer.code, "NO-SUCH-DEALER"):
        payload = {
            "order_id": "892",
            "dealer_code": dealer_code,
            "lines": [{"sku": "TM-A", "quantity": 1}],
        }
        with pytest.raises(ValidationFailed) as err:
            channels.import_marketplace_order(source="tmall", payload=payload, user=shop.buyer)
        codes.append([(e.field, e.code, e.message) for e in err.value.errors])
    assert codes[0] == codes[1] == [("dealer_code", "UNKNOWN_DEALER", codes[0][0][2])]
    placed = channels.import_marketplace_order(
        source="tmall",
        user=shop.staff,
        payload={
            "order_id": "893",
            "dealer_code": shop.other_dealer.code,
            "lines": [{"sku": "TM-A", "quantity": 1}],
        },
    )
    assert placed.order.dealer == shop.other_dealer
    assert Order.objects.count() == 1


def test_a_line_of_more_base_units_than_an_integer_holds_is_refused(shop):
    with pytest.raises(ValidationFailed) as err:
        channels.place_quick_order(
            dealer=shop.dealer,
            user=shop.buyer,
            text="SKU0 99999999999999999999",
            idempotency_key="huge",
        )
    assert [(e.field, e.code) for e in err.value.errors] == [
        ("lines.0.quantity", "INVALID_QUANTITY")
    ]
    assert not Order.objects.exists()


def test_confirmation_pdf(shop, tenant_client):
    from core.orders.documents import order_confirmation_pdf
    from core.testing.pytest_plugin import token_for

    order = services.place_order(
        dealer=shop.dealer,
        user=shop.buyer,
        lines=[LineInput("SKU0", 2)],
        channel=Channel.WEB,
        idempotency_key="pdf",
    ).order
    assert order_confirmation_pdf(order).startswith(b"%PDF")
    response = tenant_client.get(
        f"/orders/{order.number}/confirmation.pdf",
        HTTP_AUTHORIZATION=f"Bearer {token_for(shop.buyer)}",
    )
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    other = tenant_client.get(
        f"/orders/{order.number}/confirmation.pdf",
        HTTP_AUTHORIZATION=f"Bearer {token_for(shop.other_buyer)}",
    )
    assert other.status_code == 404
    nul = tenant_client.get(
        f"/orders/{order.number}%00/confirmation.pdf",
        HTTP_AUTHORIZATION=f"Bearer {token_for(shop.buyer)}",
    )
    assert nul.status_code == 404 and nul.json()["code"] == "NOT_FOUND"


# --- plugin rules before submitting ----------------------------------------------------------
from plugins import hookimpl  # noqa: E402
from plugins.testing import register_plugin  # noqa: E402,F401 - fixture
from plugins.types import LineError  # noqa: E402


class MinimumOfFive:
    """A plugin: SKU1 only in lines of at least 5 (with ``minimum`` for the client)."""

    def __init__(self):
        self.contexts = []

    @hookimpl
    def validate_order_lines(self, context, lines):
        self.contexts.append(context)
        return [
            LineError(
                index=line.index,
                code="PLUGIN_RULE",
                field="quantity",
                message="At least 5 of SKU1.",
                params={"minimum": 5},
            )
            for line in lines
            if line.sku.code == "SKU1" and line.quantity < 5
        ]


@pytest.fixture
def moq(shop, tenant, register_plugin):  # noqa: F811 - the fixture imported above
    """``MinimumOfFive`` enabled for the shop's tenant (and only there)."""
    plugin = register_plugin(MinimumOfFive(), "chan_moq")
    saved = list(tenant.modules or [])
    tenant.modules = [*saved, "chan_moq"]
    yield plugin
    tenant.modules = saved


def test_quick_order_preview_shows_the_plugin_error_on_its_line(shop, moq):
    results = channels.preview_quick_order(
        dealer=shop.dealer, user=shop.buyer, text="SKU0 3\nSKU1 2\nSKU1 6\nNOPE 1"
    )
    assert [r.error and r.error.code for r in results] == [None, "PLUGIN_RULE", None, "UNKNOWN_SKU"]
    refused = results[1]
    assert (refused.sku_code, refused.quantity, refused.unit_price) == ("SKU1", 2, None)
    assert refused.error.field == "lines.1.quantity"
    assert refused.error.params == {"minimum": 5, "plugin": "chan_moq"}
    assert str(results[2].unit_price) == "11.0000"
    context = moq.contexts[-1]
    assert (
        context.preview and context.channel == Channel.QUICK_ORDER and context.dealer == shop.dealer
    )
    assert not Order.objects.exists() and set(Stock.objects.values_list("reserved", flat=True)) == {
        0
    }


def test_cart_refuses_lines_the_plugins_refuse_and_checks_the_merged_quantity(shop, moq):
    with pytest.raises(ValidationFailed) as err:
        channels.add_to_cart(
            dealer=shop.dealer, user=shop.buyer, lines=[LineInput("SKU0", 1), LineInput("SKU1", 2)]
        )
    assert [(e.code, e.field, e.params["minimum"]) for e in err.value.errors] == [
        ("PLUGIN_RULE", "lines.1.quantity", 5)
    ]
    cart = channels._cart(shop.dealer, shop.buyer)
    assert not cart.lines.exists()  # all or nothing
    assert moq.contexts[-1].preview and moq.contexts[-1].channel == Channel.WEB
    channels.add_to_cart(dealer=shop.dealer, user=shop.buyer, lines=[LineInput("SKU1", 5)])
    cart = channels.add_to_cart(
        dealer=shop.dealer, user=shop.buyer, lines=[LineInput("SKU1", 2)]
    )  # 7 in all
    assert [(li.sku.code, li.quantity) for li in cart.lines.all()] == [("SKU1", 7)]
    with pytest.raises(ValidationFailed):
        channels.set_cart_line(
            dealer=shop.dealer, user=shop.buyer, sku_code="SKU1", unit=None, quantity=3
        )
    with pytest.raises(ValidationFailed):
        channels.scan(dealer=shop.other_dealer, user=shop.other_buyer, barcode=shop.skus[1].gtin)
    assert moq.contexts[-1].channel == Channel.SCAN
    assert [(li.sku.code, li.quantity) for li in cart.lines.all()] == [("SKU1", 7)]
    channels.set_cart_line(
        dealer=shop.dealer, user=shop.buyer, sku_code="SKU1", unit=None, quantity=0
    )
    assert not cart.lines.exists()


def test_checkout_runs_the_plugin_rules_again(shop, moq, tenant):
    channels.add_to_cart(
        dealer=shop.dealer, user=shop.buyer, lines=[LineInput("SKU0", 1), LineInput("SKU1", 6)]
    )

    # The rules change after the lines were added: checkout checks again.
    class AtLeastTen(MinimumOfFive):
        @hookimpl
        def validate_order_lines(self, context, lines):
            return [
                LineError(
                    index=line.index,
                    code="PLUGIN_RULE",
                    field="quantity",
                    message="At least 10.",
                    params={"minimum": 10},
                )
                for line in lines
                if line.sku.code == "SKU1" and line.quantity < 10
            ]

    from plugins.manager import get_manager

    get_manager().register(AtLeastTen(), "chan_moq_ten", source="test")
    tenant.modules = [*tenant.modules, "chan_moq_ten"]
    try:
        with pytest.raises(ValidationFailed) as err:
            channels.checkout_cart(
                dealer=shop.dealer, user=shop.buyer, idempotency_key="cart-strict"
            )
        assert [(e.code, e.field, e.params["minimum"]) for e in err.value.errors] == [
            ("PLUGIN_RULE", "lines.1.quantity", 10)
        ]
        assert channels._cart(shop.dealer, shop.buyer).lines.count() == 2  # the cart is kept
        assert not Order.objects.exists()
    finally:
        get_manager().unregister("chan_moq_ten")
        tenant.modules = [m for m in tenant.modules if m != "chan_moq_ten"]
    placed = channels.checkout_cart(dealer=shop.dealer, user=shop.buyer, idempotency_key="cart-ok")
    assert placed.order.lines.count() == 2


def test_other_tenants_carts_do_not_run_the_plugin(shop, moq, in_tenant, other_tenant):
    from core.testing.factories import (
        DealerFactory,
        DealerUserFactory,
        PriceListItemFactory,
        SkuFactory,
    )

    with in_tenant(other_tenant):
        dealer = DealerFactory()
        sku = SkuFactory(code="SKU1")
        PriceListItemFactory(sku=sku)
        cart = channels.add_to_cart(
            dealer=dealer, user=DealerUserFactory(dealer=dealer), lines=[LineInput("SKU1", 1)]
        )
        assert cart.lines.get().quantity == 1
        results = channels.preview_quick_order(dealer=dealer, text="SKU1 1")
        assert results[0].error is None
    assert moq.contexts == []


ERRORS = """mutation($lines: [OrderLineInput!]!, $key: String!) {
  placeOrder(lines: $lines, idempotencyKey: $key) {
    order { number }
    errors { field code available params { key value } }
  }
}"""


def test_order_errors_carry_their_params(shop, tenant_client):
    from core.testing.pytest_plugin import gql, token_for

    shop.skus[2].min_order_qty = 4
    shop.skus[2].save()
    status, body = gql(
        tenant_client,
        ERRORS,
        {"key": "p1", "lines": [{"sku": "SKU2", "quantity": 2}]},
        token=token_for(shop.buyer),
    )
    assert status == 200, body
    (error,) = body["data"]["placeOrder"]["errors"]
    assert (error["code"], error["field"]) == ("BELOW_MINIMUM", "lines.0.quantity")
    assert {p["key"]: p["value"] for p in error["params"]}["minimum"] == "4"
    status, body = gql(
        tenant_client,
        ERRORS,
        {"key": "p2", "lines": [{"sku": "SKU0", "quantity": 500}]},
        token=token_for(shop.buyer),
    )
    (error,) = body["data"]["placeOrder"]["errors"]
    assert (error["code"], error["available"]) == ("INSUFFICIENT_STOCK", 100)
    assert {"key": "available", "value": "100"} in error["params"]
    status, body = gql(
        tenant_client,
        ERRORS,
        {"key": "p3", "lines": [{"sku": "SKU0", "quantity": 1}]},
        token=token_for(shop.buyer),
    )
    assert body["data"]["placeOrder"]["errors"] == []


def test_order_error_params_from_a_plugin_error():
    from core.orders.schema import order_error

    error = order_error(
        DomainError(
            "Your licence expired.",
            code="LICENCE_EXPIRED",
            field="lines.0.sku",
            plugin="pharma",
            licence_type="DRUG_DISTRIBUTION",
            expired_on="2026-01-31",
            batches=[{"lot": "L1"}],
            free=True,
            missing=None,
        )
    )
    assert error.code in {"LICENCE_EXPIRED", "INVALID"}
    assert [(p.key, p.value) for p in error.params] == [
        ("batches", '[{"lot": "L1"}]'),
        ("expiredOn", "2026-01-31"),
        ("free", "true"),
        ("licenceType", "DRUG_DISTRIBUTION"),
        ("plugin", "pharma"),
    ]
    assert error.available is None


@pytest.fixture
def food_and_electronics(shop, tenant):
    """The built-in food and electronics plugins enabled for the shop's tenant: SKU0 sold by
    whole cases of 12 only; SKU1 on reels of 1000 with a minimum of 1000."""
    from plugins.electronics.services import set_reel_rule
    from plugins.food.services import set_case_policy

    SkuUnitFactory(sku=shop.skus[0], code="case", factor=12)
    set_case_policy(sku=shop.skus[0], policy="case_only")
    set_reel_rule(sku=shop.skus[1], reel_quantity=1000, mode="reel_only", minimum_quantity=1000)
    saved = list(tenant.modules or [])
    tenant.modules = [*saved, "food", "electronics"]
    yield shop
    tenant.modules = saved


def test_preview_and_cart_show_food_and_electronics_rules(food_and_electronics):
    shop = food_and_electronics
    results = channels.preview_quick_order(
        dealer=shop.dealer, user=shop.buyer, text="SKU0 5\nSKU0 2 case\nSKU1 300\nSKU2 1"
    )
    assert [(r.error.code, r.error.params["plugin"]) if r.error else None for r in results] == [
        ("NOT_WHOLE_CASES", "food"),
        None,
        ("BELOW_MINIMUM", "electronics"),
        None,
    ]
    with pytest.raises(ValidationFailed) as err:
        channels.add_to_cart(
            dealer=shop.dealer,
            user=shop.buyer,
            lines=[LineInput("SKU2", 1), LineInput("SKU1", 300)],
        )
    assert {(e.code, e.field) for e in err.value.errors} == {
        ("BELOW_MINIMUM", "lines.1.quantity"),
        ("NOT_MULTIPLE_OF_REEL", "lines.1.quantity"),
    }
    assert not channels._cart(shop.dealer, shop.buyer).lines.exists()
    cart = channels.add_to_cart(
        dealer=shop.dealer,
        user=shop.buyer,
        lines=[LineInput("SKU0", 2, "case"), LineInput("SKU1", 1000)],
    )
    assert sorted((li.sku.code, li.quantity) for li in cart.lines.all()) == [
        ("SKU0", 2),
        ("SKU1", 1000),
    ]
