"""Case/unit policies, mixed cases and case/unit prices through the order service, from
every channel: GraphQL placeOrder, quick order, sheet upload, scan + checkout."""

import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import Workbook

from core.exceptions import ValidationFailed
from core.inventory.models import Stock
from core.orders import channels, services
from core.orders.lines import LineInput
from core.orders.models import Order
from plugins.services import set_plugin_settings

from .conftest import build_drinks

PLACE = """mutation($lines: [OrderLineInput!]!, $key: String!) {
  placeOrder(lines: $lines, idempotencyKey: $key) {
    order { number lines { skuCode unitCode quantity baseQuantity unitPrice } }
    errors { field code message }
  }
}"""


def place(drinks, *lines, key="k1"):
    return services.place_order(
        dealer=drinks.dealer,
        user=drinks.buyer,
        lines=[LineInput(*line) for line in lines],
        channel="web",
        idempotency_key=key,
    ).order


def refused(drinks, *lines, key="bad"):
    with pytest.raises(ValidationFailed) as exc:
        place(drinks, *lines, key=key)
    assert not Order.objects.exists(), "a refused order left an order behind"
    assert not Stock.objects.filter(reserved__gt=0).exists(), "a refused order reserved stock"
    assert all(e.params.get("plugin") == "food" for e in exc.value.errors)
    return [
        (e.code, e.field, {k: v for k, v in e.params.items() if k != "plugin"})
        for e in exc.value.errors
    ]


def nothing_reserved():
    return not Stock.objects.filter(reserved__gt=0).exists()


# --- the policies -------------------------------------------------------------------
def test_case_only_refuses_single_units_with_the_alternatives(drinks):
    errors = refused(drinks, ("FIZZ-LEMON", 30, "each"))
    assert errors == [
        (
            "NOT_WHOLE_CASES",
            "lines.0.quantity",
            {
                "case_unit": "case",
                "case_size": 24,
                "cases_down": 1,
                "cases_up": 2,
                "units_down": 24,
                "units_up": 48,
            },
        )
    ]
    errors = refused(drinks, ("FIZZ-LEMON", 48, "each"), ("TEA", 2, "case"))
    assert [(c, f, p["cases_down"]) for c, f, p in errors] == [("CASE_ONLY", "lines.0.unit", 2)]
    order = place(drinks, ("FIZZ-LEMON", 2, "case"))
    line = order.lines.get()
    assert (line.unit_code, line.quantity, line.base_quantity, line.unit_price) == (
        "case",
        2,
        48,
        Decimal("48.0000"),
    )


def test_units_with_a_minimum(drinks):
    errors = refused(drinks, ("TEA", 4, "each"), ("JUICE", 1, "case"))
    assert errors == [
        (
            "BELOW_MINIMUM_UNITS",
            "lines.0.quantity",
            {"minimum": 6, "case_unit": "case", "case_size": 24},
        )
    ]
    order = place(drinks, ("TEA", 6, "each"), ("JUICE", 1, "each"))
    assert order.lines.count() == 2
    assert Stock.objects.get(sku=drinks.tea, warehouse=drinks.east).reserved == 6


def test_errors_of_several_lines_and_plugins_tagged(drinks):
    with pytest.raises(ValidationFailed) as exc:
        place(drinks, ("TEA", 5, "each"), ("FIZZ-LIME", 10, "each"), ("TEA", 1, "case"))
    assert [(e.code, e.field, e.params["plugin"]) for e in exc.value.errors] == [
        ("BELOW_MINIMUM_UNITS", "lines.0.quantity", "food"),
        ("NOT_WHOLE_CASES", "lines.1.quantity", "food"),
    ]
    assert nothing_reserved()


def test_graphql_place_order_refuses_and_accepts(drinks, plugin_client):
    status, body = plugin_client.graphql(
        PLACE,
        {"lines": [{"sku": "FIZZ-LEMON", "quantity": 24, "unit": "each"}], "key": "g1"},
        user=drinks.buyer,
    )
    assert status == 200, body
    assert body["data"]["placeOrder"]["order"] is None
    assert [(e["code"], e["field"]) for e in body["data"]["placeOrder"]["errors"]] == [
        ("CASE_ONLY", "lines.0.unit")
    ]
    assert "1 case" in body["data"]["placeOrder"]["errors"][0]["message"]
    assert nothing_reserved()
    status, body = plugin_client.graphql(
        PLACE,
        {
            "lines": [
                {"sku": "FIZZ-LEMON", "quantity": 1, "unit": "case"},
                {"sku": "TEA", "quantity": 8, "unit": "each"},
            ],
            "key": "g2",
        },
        user=drinks.buyer,
    )
    assert body["data"]["placeOrder"]["errors"] == [], body
    lines = body["data"]["placeOrder"]["order"]["lines"]
    assert [
        (li["skuCode"], li["unitCode"], li["baseQuantity"], li["unitPrice"]) for li in lines
    ] == [("FIZZ-LEMON", "case", 24, "48.0000"), ("TEA", "each", 8, "3.5000")]


def test_quick_order_applies_the_policy(drinks):
    with pytest.raises(ValidationFailed) as exc:
        channels.place_quick_order(
            dealer=drinks.dealer,
            user=drinks.buyer,
            text="TEA 3 each\nFIZZ-LIME 1 case",
            idempotency_key="q1",
        )
    assert [(e.code, e.field) for e in exc.value.errors] == [
        ("BELOW_MINIMUM_UNITS", "lines.0.quantity")
    ]
    assert nothing_reserved() and not Order.objects.exists()
    order = channels.place_quick_order(
        dealer=drinks.dealer,
        user=drinks.buyer,
        text="TEA 6 each\nFIZZ-LIME 1 case",
        idempotency_key="q2",
    ).order
    assert order.channel == "quick_order" and order.lines.count() == 2


def _xlsx(rows):
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_sheet_upload_applies_the_policy(drinks):
    bad = _xlsx([["sku", "quantity", "unit"], ["JUICE", 2, "case"], ["FIZZ-LEMON", 12, "each"]])
    with pytest.raises(ValidationFailed) as exc:
        channels.place_sheet_order(
            dealer=drinks.dealer,
            user=drinks.buyer,
            filename="o.xlsx",
            content=bad,
            idempotency_key="s1",
        )
    assert [(e.code, e.field, e.params["cases_up"]) for e in exc.value.errors] == [
        ("NOT_WHOLE_CASES", "lines.1.quantity", 1)
    ]
    assert nothing_reserved() and not Order.objects.exists()
    good = _xlsx([["sku", "quantity", "unit"], ["JUICE", 2, "case"], ["FIZZ-LEMON", 1, "case"]])
    order = channels.place_sheet_order(
        dealer=drinks.dealer,
        user=drinks.buyer,
        filename="o.xlsx",
        content=good,
        idempotency_key="s2",
    ).order
    assert order.channel == "import" and order.lines.count() == 2


def test_scan_case_and_unit_barcodes(drinks):
    """A case barcode orders a case; the unit barcode of a case-only SKU is refused when
    scanned (the cart runs the plugins' line rules), and nothing is added or reserved."""
    from core.orders.models import CartLine

    channels.scan(dealer=drinks.dealer, user=drinks.buyer, barcode=drinks.lemon_case.gtin)
    placed = channels.checkout_cart(dealer=drinks.dealer, user=drinks.buyer, idempotency_key="c1")
    line = placed.order.lines.get()
    assert (line.unit_code, line.base_quantity, line.unit_price) == ("case", 24, Decimal("48.0000"))
    reserved = Stock.objects.get(sku=drinks.lemon, warehouse=drinks.east).reserved
    with pytest.raises(ValidationFailed) as exc:
        channels.scan(
            dealer=drinks.dealer, user=drinks.buyer, barcode=drinks.lemon.gtin, quantity=3
        )
    assert [e.code for e in exc.value.errors] == ["NOT_WHOLE_CASES"]
    assert not CartLine.objects.filter(sku=drinks.lemon).exists()
    assert Stock.objects.get(sku=drinks.lemon, warehouse=drinks.east).reserved == reserved
    assert Order.objects.count() == 1
    # The unit barcode of a SKU that allows units orders single units.
    channels.scan(dealer=drinks.dealer, user=drinks.buyer, barcode=drinks.tea.gtin, quantity=6)
    placed = channels.checkout_cart(dealer=drinks.dealer, user=drinks.buyer, idempotency_key="c3")
    assert placed.order.lines.get().unit_code == "each"


# --- mixed cases ------------------------------------------------------------------------
def test_mixed_cases_only_when_the_tenant_allows_them(drinks, plugin_tenant):
    lines = (("FIZZ-LEMON", 12, "each"), ("FIZZ-LIME", 12, "each"))
    assert [c for c, _f, _p in refused(drinks, *lines)] == ["NOT_WHOLE_CASES", "NOT_WHOLE_CASES"]
    set_plugin_settings(tenant=plugin_tenant, name="food", values={"allow_mixed_cases": True})
    errors = refused(
        drinks, ("FIZZ-LEMON", 12, "each"), ("FIZZ-LIME", 10, "each"), ("TEA", 1, "case")
    )
    assert errors == [
        (
            "MIXED_CASE_INCOMPLETE",
            f"lines.{i}.quantity",
            {"group": "FIZZ", "case_size": 24, "units": 22, "missing": 2},
        )
        for i in (0, 1)
    ]
    order = place(drinks, *lines)
    assert sorted(
        (li.sku.code, li.unit_code, li.quantity, li.unit_price) for li in order.lines.all()
    ) == [
        ("FIZZ-LEMON", "each", 12, Decimal("2.0000")),
        ("FIZZ-LIME", "each", 12, Decimal("2.0000")),
    ]
    # Two whole mixed cases over three lines, and a case line beside them.
    order = place(
        drinks,
        ("FIZZ-LEMON", 30, "each"),
        ("FIZZ-LIME", 6, "each"),
        ("FIZZ-LIME", 12, "each"),
        ("FIZZ-LEMON", 1, "case"),
        key="k2",
    )
    assert order.lines.count() == 4


# --- prices per case and per unit ---------------------------------------------------------
def test_unit_price_and_case_price(drinks):
    """The tenant prices TEA per each (3.50) and per case (72.00 = 3.00 a unit): a unit
    order pays the unit price, a case order the case price; the plugin leaves both alone."""
    order = place(drinks, ("TEA", 10, "each"), ("TEA", 2, "case"))
    each, case = order.lines.order_by("position")
    assert (each.unit_price, each.unit_price * each.quantity) == (Decimal("3.5"), Decimal("35"))
    assert (case.unit_price, case.unit_price * case.quantity) == (Decimal("72"), Decimal("144"))
    assert order.subtotal == Decimal("179.00")
    assert "plugins" not in each.price_source and "plugins" not in case.price_source


def test_unit_price_from_the_case_price_with_a_surcharge(drinks, plugin_tenant):
    """JUICE is priced per case of 12 only (60.00): a unit costs 60/12 = 5.00 + 5%, priced
    when the order is placed; no unit price row is written anywhere."""
    from django.utils import translation

    from core.pricing.models import PriceListItem

    with translation.override("en"):
        order = place(drinks, ("JUICE", 3, "each"), ("JUICE", 1, "case"))
    units, case = order.lines.order_by("position")
    assert units.unit_price == Decimal("5.2500") and order.subtotal == Decimal("75.75")
    assert units.price_source["plugins"] == [
        {
            "plugin": "food",
            "unit_price": "5.2500",
            "reason": "Single units from a case: the case price per unit + 5%",
        }
    ]
    assert units.list_price == Decimal("5.2500")
    assert case.unit_price == Decimal("60.0000") and "plugins" not in case.price_source
    assert not PriceListItem.objects.filter(sku=drinks.juice).exclude(unit_code="case").exists()
    set_plugin_settings(tenant=plugin_tenant, name="food", values={"split_surcharge_percent": "10"})
    from core.pricing.services import PriceInput, upsert_prices

    # A new case price counts at once.
    upsert_prices(
        price_list=drinks.price_list,
        prices=[PriceInput(unit_price=Decimal("66.00"), sku_id=drinks.juice.pk, unit_code="case")],
    )
    order = place(drinks, ("JUICE", 2, "each"), key="k2")
    assert order.lines.get().unit_price == Decimal("6.0500")  # 66 / 12 × 1.10


def test_case_breaks_apply_to_the_whole_cases_the_units_make(drinks):
    """A case break from 2 cases (54.00): 30 units make 2 whole cases, so 54/12 + 5%."""
    from core.pricing.services import PriceInput, upsert_prices

    upsert_prices(
        price_list=drinks.price_list,
        prices=[
            PriceInput(unit_price=Decimal("60.00"), sku_id=drinks.juice.pk, unit_code="case"),
            PriceInput(
                unit_price=Decimal("54.00"),
                sku_id=drinks.juice.pk,
                unit_code="case",
                min_quantity=2,
            ),
        ],
    )
    assert place(drinks, ("JUICE", 11, "each")).lines.get().unit_price == Decimal("5.2500")
    order = place(drinks, ("JUICE", 30, "each"), key="k2")
    assert order.lines.get().unit_price == Decimal("4.7250")  # 54 / 12 × 1.05


def test_a_tenant_unit_price_is_not_surcharged(drinks):
    from core.pricing.services import PriceInput, upsert_prices

    upsert_prices(
        price_list=drinks.price_list,
        prices=[PriceInput(unit_price=Decimal("5.90"), sku_id=drinks.juice.pk, unit_code="each")],
    )
    line = place(drinks, ("JUICE", 2, "each")).lines.get()
    assert line.unit_price == Decimal("5.9000") and "plugins" not in line.price_source


def test_the_dealers_own_case_price_wins_over_a_base_unit_price(drinks):
    """The first list that prices the SKU decides, as for every price: a dealer list with a
    case price only (48.00) prices units from it, although the base list has a unit price."""
    from core.pricing.services import PriceInput, upsert_prices
    from core.testing.factories import PriceListFactory

    upsert_prices(
        price_list=drinks.price_list,
        prices=[PriceInput(unit_price=Decimal("5.90"), sku_id=drinks.juice.pk, unit_code="each")],
    )
    own = PriceListFactory(code="EAST-DEALER", kind="dealer")
    own.assignments.create(dealer=drinks.dealer)
    upsert_prices(
        price_list=own,
        prices=[PriceInput(unit_price=Decimal("48.00"), sku_id=drinks.juice.pk, unit_code="case")],
    )
    line = place(drinks, ("JUICE", 2, "each")).lines.get()
    assert line.unit_price == Decimal("4.2000")  # 48 / 12 × 1.05


def test_without_a_case_or_unit_price_the_order_is_refused(drinks):
    from core.exceptions import DomainError
    from core.pricing.models import PriceListItem

    PriceListItem.objects.filter(sku=drinks.juice).delete()
    with pytest.raises(DomainError) as exc:
        place(drinks, ("TEA", 6, "each"), ("JUICE", 2, "each"))
    assert (exc.value.code, exc.value.field) == ("NO_PRICE", "lines.1")
    assert not Order.objects.exists() and nothing_reserved()


def test_a_plain_sku_without_a_price_is_still_refused(drinks):
    """The food plugin prices only its own SKUs' single units: another unpriced SKU is
    refused NO_PRICE as without the plugin."""
    from core.exceptions import DomainError
    from core.testing.factories import SkuFactory, StockFactory

    StockFactory(sku=SkuFactory(code="NOPRICE"), warehouse=drinks.east, on_hand=10)
    with pytest.raises(DomainError) as exc:
        place(drinks, ("TEA", 6, "each"), ("NOPRICE", 1))
    assert (exc.value.code, exc.value.field) == ("NO_PRICE", "lines.1")
    assert not Order.objects.exists() and nothing_reserved()


# --- two tenants, and the SQL budget --------------------------------------------------------
def test_disabled_tenant_orders_without_the_rules(plugin_tenant, plugin_disabled_tenant):
    from core.testing.factories import DealerFactory
    from plugins.manager import get_manager

    connection.set_tenant(plugin_disabled_tenant)
    other = build_drinks(DealerFactory(region="east"))
    assert get_manager().hooks_for(plugin_disabled_tenant).has("validate_order_lines") is False
    # Below the minimum, single units of a case-only SKU: accepted at the list prices, no
    # food hook ran. Single units of a SKU priced per case only have no price without it.
    order = place(other, ("TEA", 1, "each"), ("FIZZ-LEMON", 2, "case"))
    assert [(li.sku.code, li.unit_price) for li in order.lines.order_by("position")] == [
        ("TEA", Decimal("3.5")),
        ("FIZZ-LEMON", Decimal("48")),
    ]
    assert all("plugins" not in li.price_source for li in order.lines.all())
    from core.exceptions import DomainError

    with pytest.raises(DomainError) as exc:
        place(other, ("JUICE", 3, "each"), key="k2")
    assert exc.value.code == "NO_PRICE"
    connection.set_tenant(plugin_tenant)


def test_order_sql_does_not_grow_with_lines(drinks, plugin_tenant):
    set_plugin_settings(tenant=plugin_tenant, name="food", values={"allow_mixed_cases": True})
    few = [("TEA", 6, "each"), ("JUICE", 1, "each"), ("FIZZ-LEMON", 24, "each")]
    many = few + [
        ("TEA", 1, "case"),
        ("JUICE", 2, "each"),
        ("FIZZ-LIME", 1, "case"),
        ("FIZZ-LIME", 24, "each"),
        ("TEA", 7, "each"),
    ]
    place(drinks, ("TEA", 1, "case"), key="warm-up")  # the dealer's credit account, settings
    with CaptureQueriesContext(connection) as small:
        place(drinks, *few, key="few")
    with CaptureQueriesContext(connection) as large:
        place(drinks, *many, key="many")
    assert len(large) == len(small), "\n".join(q["sql"][:150] for q in large.captured_queries)


def test_messages_in_chinese(drinks):
    from django.utils import translation

    with translation.override("zh-hans"), pytest.raises(ValidationFailed) as exc:
        place(drinks, ("FIZZ-LEMON", 24, "each"))
    assert exc.value.errors[0].message == "FIZZ-LEMON 仅整箱销售：请订购 1 case。"
