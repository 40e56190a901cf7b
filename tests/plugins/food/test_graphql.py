"""The food plugin's GraphQL fields, console page and demo data, for a tenant with the
plugin and one without."""

import datetime
from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.inventory.services import receive_stock
from plugins.food import selectors
from plugins.food.models import CasePolicy
from plugins.services import set_plugin_settings
from plugins.testing import assert_plugin_disabled

INFO = """query($codes: [String!]!) {
  foodProductInfo(skuCodes: $codes) {
    skuCode policy minUnits caseUnit caseSize mixedGroup unitsOrderable currency unitPrice
    casePrice unitPriceDerived splitSurchargePercent shelfLifeDays warehouseCode available
    productionDate receivedOn bestBefore bestBeforeSource daysLeft
  }
}"""
SET = """mutation($sku: String!, $policy: FoodCasePolicy!, $min: Int, $unit: String, $days: Int) {
  foodSetSkuPolicy(skuCode: $sku, policy: $policy, minUnits: $min, caseUnit: $unit,
                   shelfLifeDays: $days) {
    policy { skuCode policy minUnits caseUnit caseSize shelfLifeDays }
    errors { field code }
  }
}"""
DATE = """mutation($sku: String!, $wh: String!, $date: Date!) {
  foodSetProductionDate(skuCode: $sku, warehouseCode: $wh, productionDate: $date, lot: "L1") {
    productionDate errors { field code }
  }
}"""


def test_product_info_for_the_dealer(drinks, plugin_client, plugin_tenant):
    from plugins.food.services import set_production_date

    produced = timezone.localdate() - datetime.timedelta(days=10)
    set_production_date(sku=drinks.tea, warehouse=drinks.east, production_date=produced)
    receive_stock(sku=drinks.juice, warehouse=drinks.east, quantity=12)
    status, body = plugin_client.graphql(
        INFO, {"codes": ["TEA", "JUICE", "FIZZ-LEMON", "NOPE"]}, user=drinks.buyer
    )
    assert status == 200 and "errors" not in body, body
    tea, juice, lemon = body["data"]["foodProductInfo"]
    assert tea == {
        "skuCode": "TEA",
        "policy": "UNITS_MIN",
        "minUnits": 6,
        "caseUnit": "case",
        "caseSize": 24,
        "mixedGroup": None,
        "unitsOrderable": True,
        "currency": "CNY",
        "unitPrice": "3.5000",
        "casePrice": "72.0000",
        "unitPriceDerived": False,
        "splitSurchargePercent": None,
        "shelfLifeDays": 270,
        "warehouseCode": "EAST",
        "available": 500,
        "productionDate": produced.isoformat(),
        "receivedOn": None,
        "bestBefore": (produced + datetime.timedelta(days=270)).isoformat(),
        "bestBeforeSource": "LOT",
        "daysLeft": 260,
    }
    # Only a case price: the unit price is derived (60 / 12 + 5%); best-before from the
    # latest receipt, the latest it can be.
    today = timezone.localdate()
    assert (juice["unitPrice"], juice["casePrice"], juice["unitPriceDerived"]) == (
        "5.2500",
        "60.0000",
        True,
    )
    assert juice["splitSurchargePercent"] == "5"
    assert (juice["receivedOn"], juice["bestBeforeSource"], juice["daysLeft"]) == (
        today.isoformat(),
        "RECEIPT",
        180,
    )
    # Case only: no unit price, until the tenant allows mixed cases.
    assert (lemon["unitsOrderable"], lemon["unitPrice"], lemon["casePrice"]) == (
        False,
        None,
        "48.0000",
    )
    assert lemon["bestBefore"] is None and lemon["mixedGroup"] == "FIZZ"
    set_plugin_settings(tenant=plugin_tenant, name="food", values={"allow_mixed_cases": True})
    status, body = plugin_client.graphql(INFO, {"codes": ["FIZZ-LEMON"]}, user=drinks.buyer)
    assert body["data"]["foodProductInfo"][0]["unitPrice"] == "2.0000"


def test_product_info_best_before_from_the_dealers_warehouse(drinks, plugin_tenant):
    """A west dealer is served from the west warehouse: its production date counts."""
    from core.testing.factories import DealerFactory
    from plugins.food.services import set_production_date

    west_dealer = DealerFactory(region="west")
    today = timezone.localdate()
    set_production_date(sku=drinks.tea, warehouse=drinks.east, production_date=today)
    set_production_date(
        sku=drinks.tea, warehouse=drinks.west, production_date=today - datetime.timedelta(days=100)
    )
    (east,) = selectors.product_info(tenant=plugin_tenant, dealer=drinks.dealer, sku_codes=["TEA"])
    (west,) = selectors.product_info(tenant=plugin_tenant, dealer=west_dealer, sku_codes=["TEA"])
    assert (east.warehouse_code, east.days_left) == ("EAST", 270)
    assert (west.warehouse_code, west.days_left) == ("WEST", 170)


def test_product_info_runs_a_fixed_number_of_queries(drinks, plugin_tenant):
    from plugins.services import plugin_settings

    plugin_settings(tenant=plugin_tenant, name="food")
    with CaptureQueriesContext(connection) as one:
        selectors.product_info(tenant=plugin_tenant, dealer=drinks.dealer, sku_codes=["TEA"])
    with CaptureQueriesContext(connection) as four:
        found = selectors.product_info(
            tenant=plugin_tenant,
            dealer=drinks.dealer,
            sku_codes=["TEA", "JUICE", "FIZZ-LEMON", "FIZZ-LIME"],
        )
    assert len(found) == 4
    assert len(four) == len(one) <= 12


def test_staff_set_a_policy(drinks, plugin_client):
    from core.testing.factories import SkuFactory

    variables = {"sku": "FIZZ-LIME", "policy": "UNITS_MIN", "min": 12, "days": 200}
    status, body = plugin_client.graphql(SET, variables, user=drinks.staff)
    assert body["data"]["foodSetSkuPolicy"] == {
        "policy": {
            "skuCode": "FIZZ-LIME",
            "policy": "UNITS_MIN",
            "minUnits": 12,
            "caseUnit": "case",
            "caseSize": 24,
            "shelfLifeDays": 200,
        },
        "errors": [],
    }, body
    assert CasePolicy.objects.get(sku=drinks.lime).min_units == 12
    SkuFactory(code="LOOSE")
    for variables, error in [
        ({"sku": "LOOSE", "policy": "CASE_ONLY"}, {"field": "caseUnit", "code": "NO_CASE_UNIT"}),
        (
            {"sku": "TEA", "policy": "UNITS_MIN", "min": 24},
            {"field": "minUnits", "code": "INVALID"},
        ),
        (
            {"sku": "TEA", "policy": "UNITS", "unit": "pallet"},
            {"field": "caseUnit", "code": "INVALID"},
        ),
        ({"sku": "NOPE", "policy": "UNITS"}, {"field": "skuCode", "code": "NOT_FOUND"}),
    ]:
        status, body = plugin_client.graphql(SET, variables, user=drinks.staff)
        assert body["data"]["foodSetSkuPolicy"]["errors"] == [error], (variables, body)
    assert CasePolicy.objects.get(sku=drinks.tea).policy == "units_min"
    # A dealer may not change policies.
    status, body = plugin_client.graphql(SET, {"sku": "TEA", "policy": "UNITS"}, user=drinks.buyer)
    assert body["data"]["foodSetSkuPolicy"] is None
    assert CasePolicy.objects.get(sku=drinks.tea).policy == "units_min"
    # Production dates.
    day = (timezone.localdate() - datetime.timedelta(days=3)).isoformat()
    status, body = plugin_client.graphql(
        DATE, {"sku": "TEA", "wh": "EAST", "date": day}, user=drinks.staff
    )
    assert body["data"]["foodSetProductionDate"] == {"productionDate": day, "errors": []}
    future = (timezone.localdate() + datetime.timedelta(days=3)).isoformat()
    status, body = plugin_client.graphql(
        DATE, {"sku": "TEA", "wh": "EAST", "date": future}, user=drinks.staff
    )
    assert body["data"]["foodSetProductionDate"]["errors"] == [
        {"field": "productionDate", "code": "INVALID"}
    ]


def test_disabled_tenant_gets_no_fields(
    plugin_tenant, plugin_disabled_tenant, plugin_disabled_client
):
    from core.testing.factories import DealerFactory, DealerUserFactory, UserFactory

    from .conftest import build_drinks

    connection.set_tenant(plugin_disabled_tenant)
    other = build_drinks(DealerFactory(region="east"))
    buyer, staff = DealerUserFactory(dealer=other.dealer), UserFactory(role="tenant_admin")
    status, body = plugin_disabled_client.graphql(INFO, {"codes": ["TEA"]}, user=buyer)
    assert_plugin_disabled(body, "foodProductInfo")
    status, body = plugin_disabled_client.graphql(
        SET, {"sku": "TEA", "policy": "CASE_ONLY"}, user=staff
    )
    assert_plugin_disabled(body, "foodSetSkuPolicy")
    assert CasePolicy.objects.get(sku=other.tea).policy == "units_min"
    connection.set_tenant(plugin_tenant)


def test_console_page(drinks, plugin_tenant, plugin_disabled_tenant):
    from django.test import Client

    from core.testing.pytest_plugin import host_of

    client = Client(HTTP_HOST=host_of(plugin_tenant))
    client.force_login(drinks.staff)
    response = client.get("/console/plugins/food/policies/")
    assert response.status_code == 200
    assert b"FIZZ-LEMON" in response.content and b"JUICE" in response.content
    dealer_client = Client(HTTP_HOST=host_of(plugin_tenant))
    dealer_client.force_login(drinks.buyer)
    assert dealer_client.get("/console/plugins/food/policies/").status_code == 403
    other = Client(HTTP_HOST=host_of(plugin_disabled_tenant))
    assert other.get("/console/plugins/food/policies/").status_code == 404
    connection.set_tenant(plugin_tenant)


def test_demo_data_is_idempotent(plugin_tenant, plugin_hooks):
    from core.catalog.models import SkuUnit
    from core.catalog.rules import is_valid_gtin
    from core.orders import channels, services
    from core.orders.lines import LineInput
    from core.testing.factories import (
        DealerFactory,
        DealerUserFactory,
        SkuFactory,
        StockFactory,
        WarehouseFactory,
    )
    from plugins.food.models import ProductionDate

    tea, spk = SkuFactory(code="TEA-500"), SkuFactory(code="SPK-330")
    for code in ("SH", "CD"):
        warehouse = WarehouseFactory(code=code)
        StockFactory(sku=tea, warehouse=warehouse, on_hand=500)
        StockFactory(sku=spk, warehouse=warehouse, on_hand=500)
    plugin_hooks.load_demo_data(plugin_tenant)
    plugin_hooks.load_demo_data(plugin_tenant)
    cases = {u.sku.code: u for u in SkuUnit.objects.filter(factor=24).select_related("sku")}
    assert set(cases) == {"TEA-500", "SPK-330"}
    assert all(is_valid_gtin(u.gtin) and len(u.gtin) == 14 for u in cases.values())
    assert {(p.sku.code, p.policy) for p in CasePolicy.objects.select_related("sku")} == {
        ("TEA-500", "units_min"),
        ("SPK-330", "case_only"),
    }
    assert ProductionDate.objects.count() == 4
    buyer = DealerUserFactory(dealer=DealerFactory())
    # The case barcode orders a case; TEA-500 units pay the case price per unit + 5%.
    channels.scan(dealer=buyer.dealer, user=buyer, barcode=cases["SPK-330"].gtin)
    order = channels.checkout_cart(dealer=buyer.dealer, user=buyer, idempotency_key="demo").order
    assert order.lines.get().unit_price == Decimal("48")
    order = services.place_order(
        dealer=buyer.dealer,
        user=buyer,
        channel="web",
        idempotency_key="demo-2",
        lines=[LineInput("TEA-500", 6)],
    ).order
    assert order.lines.get().unit_price == Decimal("3.15")  # 72 / 24 × 1.05
