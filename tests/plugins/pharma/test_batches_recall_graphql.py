"""Receiving batches, the recall trace (service, GraphQL, CSV/.xlsx from the console), GraphQL
fields, demo data, and a tenant without the plugin."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import IntegrityError, connection, transaction
from openpyxl import load_workbook

from core.exceptions import DomainError
from core.inventory.models import Stock
from core.orders import services as orders
from core.testing.factories import DealerFactory, DealerUserFactory, UserFactory
from plugins.manager import get_manager
from plugins.pharma import selectors
from plugins.pharma.models import Batch, DealerLicence, LicenceType
from plugins.testing import assert_plugin_disabled

from .conftest import build_pharmacy, days

RECEIVE = """mutation($sku: String!, $wh: String!, $lot: String!, $made: Date!, $exp: Date!, $qty: Int!) {
  pharmaReceiveBatch(skuCode: $sku, warehouseCode: $wh, lot: $lot, manufacturedOn: $made,
                     expiresOn: $exp, quantity: $qty) {
    batch { lot onHand reserved available expiresOn warehouseCode skuCode isExpired }
    errors { field code }
  }
}"""
BATCHES = """query($sku: String!) { pharmaBatches(skuCode: $sku) {
  lot expiresOn daysToExpiry isExpired onHand reserved warehouseCode } }"""
LICENCES = "query { pharmaMyLicences { number licenceType isValid expiresOn } }"
TRACE = """query($lot: String!) { pharmaRecallTrace(lot: $lot) {
  lot orderCount dealerCount shippedQuantity openQuantity
  batches { skuCode warehouseCode }
  rows { orderNumber dealerCode warehouseCode quantity state shipmentStatus trackingNumber }
} }"""


# --- receiving --------------------------------------------------------------------------
def test_receiving_raises_the_core_stock_to_the_sum_of_batches(pharmacy):
    pharmacy.receive("A", 10, 300)
    pharmacy.receive("B", 5, 500)
    pharmacy.receive("A", 2, 300)  # more of the same lot
    assert dict(Batch.objects.values_list("lot", "on_hand")) == {"A": 12, "B": 5}
    stock = Stock.objects.get(sku=pharmacy.sku, warehouse=pharmacy.east)
    assert stock.on_hand == 17
    assert stock.movements.count() == 3


@pytest.mark.parametrize(
    ("kwargs", "code", "field"),
    [
        ({"lot": " "}, "REQUIRED", "lot"),
        ({"quantity": 0}, "INVALID_QUANTITY", "quantity"),
        ({"expires_on": "made"}, "INVALID", "expiresOn"),
    ],
)
def test_receiving_refuses_bad_input(pharmacy, kwargs, code, field):
    from plugins.pharma.services import receive_batch

    args = {
        "sku": pharmacy.sku,
        "warehouse": pharmacy.east,
        "lot": "L",
        "manufactured_on": days(-10),
        "expires_on": days(300),
        "quantity": 5,
    }
    args.update(kwargs)
    if args["expires_on"] == "made":
        args["expires_on"] = args["manufactured_on"]
    with pytest.raises(DomainError) as exc:
        receive_batch(**args)
    assert (exc.value.code, exc.value.field) == (code, field)
    assert not Batch.objects.filter(on_hand__gt=0).exists()
    assert not Stock.objects.filter(on_hand__gt=0).exists()


def test_a_lot_received_again_with_other_dates_is_refused(pharmacy):
    pharmacy.receive("A", 10, 300)
    with pytest.raises(DomainError) as exc:
        pharmacy.receive("A", 10, 301)
    assert exc.value.code == "LOT_DATES_DIFFER"
    assert Stock.objects.get(sku=pharmacy.sku).on_hand == 10


def test_database_constraints_guard_batches(pharmacy):
    batch = pharmacy.receive("A", 3, 300)
    for change in ({"reserved": 4}, {"on_hand": -1}, {"reserved": -1}):
        with pytest.raises(IntegrityError), transaction.atomic():
            Batch.objects.filter(pk=batch.pk).update(**change)
    with pytest.raises(IntegrityError), transaction.atomic():
        Batch.objects.create(
            sku=pharmacy.sku,
            warehouse=pharmacy.east,
            lot="A",
            manufactured_on=days(-1),
            expires_on=days(9),
        )


def test_staff_receive_a_batch_through_graphql(pharmacy, plugin_client):
    variables = {
        "sku": "AMOX-250",
        "wh": "EAST",
        "lot": "G-1",
        "made": days(-30).isoformat(),
        "exp": days(400).isoformat(),
        "qty": 24,
    }
    status, body = plugin_client.graphql(RECEIVE, variables, user=pharmacy.staff)
    assert status == 200, body
    assert body["data"]["pharmaReceiveBatch"] == {
        "batch": {
            "lot": "G-1",
            "onHand": 24,
            "reserved": 0,
            "available": 24,
            "expiresOn": days(400).isoformat(),
            "warehouseCode": "EAST",
            "skuCode": "AMOX-250",
            "isExpired": False,
        },
        "errors": [],
    }
    assert Stock.objects.get(sku=pharmacy.sku, warehouse=pharmacy.east).on_hand == 24
    status, body = plugin_client.graphql(RECEIVE, {**variables, "wh": "NOPE"}, user=pharmacy.staff)
    assert body["data"]["pharmaReceiveBatch"]["errors"] == [
        {"field": "warehouseCode", "code": "NOT_FOUND"}
    ]
    status, body = plugin_client.graphql(RECEIVE, variables, user=pharmacy.buyer)
    assert body["data"]["pharmaReceiveBatch"] is None and body["errors"]
    assert Batch.objects.get().on_hand == 24


def test_batches_and_licences_through_graphql(pharmacy, plugin_client):
    pharmacy.receive("LATE", 5, 400)
    pharmacy.receive("SOON", 5, 100, warehouse=pharmacy.west)
    pharmacy.receive("GONE", 5, -3)
    status, body = plugin_client.graphql(BATCHES, {"sku": "AMOX-250"}, user=pharmacy.staff)
    assert [
        (b["lot"], b["isExpired"], b["daysToExpiry"]) for b in body["data"]["pharmaBatches"]
    ] == [
        ("GONE", True, -3),
        ("SOON", False, 100),
        ("LATE", False, 400),
    ]
    status, body = plugin_client.graphql(BATCHES, {"sku": "AMOX-250"}, user=pharmacy.buyer)
    assert body["data"]["pharmaBatches"] is None  # staff only

    gsp = LicenceType.objects.get(code="GSP")
    DealerLicence.objects.create(
        dealer=pharmacy.dealer,
        licence_type=gsp,
        number="GSP-1",
        valid_from=days(-100),
        expires_on=days(-1),
    )
    other = DealerFactory()
    DealerLicence.objects.create(
        dealer=other, licence_type=gsp, number="GSP-2", valid_from=days(-100), expires_on=days(100)
    )
    status, body = plugin_client.graphql(LICENCES, user=pharmacy.buyer)
    assert body["data"]["pharmaMyLicences"] == [
        {
            "number": "GSP-1",
            "licenceType": "GSP",
            "isValid": False,
            "expiresOn": days(-1).isoformat(),
        }
    ]


# --- recall trace -------------------------------------------------------------------------
@pytest.fixture
def recalled(pharmacy, place, django_capture_on_commit_callbacks):
    """Lot R-1 in both warehouses; three orders from two dealers, one shipped, one cancelled."""
    pharmacy.receive("R-1", 4, 200)
    pharmacy.receive("R-1", 10, 200, warehouse=pharmacy.west)
    pharmacy.receive("OTHER", 50, 500)
    second = DealerFactory(region="west")
    second_buyer = DealerUserFactory(dealer=second)
    with django_capture_on_commit_callbacks(execute=True):
        shipped = place([("AMOX-250", 6)], key="a")  # 4 east + 2 west of R-1
    with django_capture_on_commit_callbacks(execute=True):
        for shipment in shipped.shipments.order_by("pk"):
            orders.ship(
                shipment=shipment,
                user=pharmacy.staff,
                carrier="SF",
                tracking_number=f"SF{shipment.pk}",
            )
    with django_capture_on_commit_callbacks(execute=True):
        open_order = place([("AMOX-250", 3)], key="b", dealer=second, user=second_buyer)
    with django_capture_on_commit_callbacks(execute=True):
        cancelled = place([("AMOX-250", 1)], key="c")
        orders.cancel_order(order=cancelled, user=pharmacy.staff)
    place([("AMOX-250", 40)], key="d")  # takes the rest of R-1 (4) and OTHER
    return shipped, open_order, cancelled, second


def test_recall_trace_finds_every_order_dealer_and_shipment(recalled):
    shipped, open_order, cancelled, second = recalled
    trace = selectors.recall_trace(lot="R-1")
    assert len(trace.batches) == 2
    rows = [
        (r.order_number, r.dealer_code, r.warehouse_code, r.quantity, r.state) for r in trace.rows
    ]
    assert (shipped.number, shipped.dealer.code, "EAST", 4, "shipped") in rows
    assert (shipped.number, shipped.dealer.code, "WEST", 2, "shipped") in rows
    assert (open_order.number, second.code, "WEST", 3, "reserved") in rows
    assert (cancelled.number, cancelled.dealer.code, "WEST", 1, "released") in rows
    assert trace.orders == 4 and trace.dealers == 2
    assert trace.shipped_quantity == 6
    assert all(r.lot == "R-1" for r in trace.rows)
    east_row = next(
        r for r in trace.rows if r.order_number == shipped.number and r.warehouse_code == "EAST"
    )
    assert east_row.shipment_status == "shipped" and east_row.tracking_number.startswith("SF")
    assert selectors.recall_trace(lot="NOPE").rows == []
    assert selectors.recall_trace(lot="R-1", sku_code="OTHER-SKU").batches == []


def test_recall_trace_through_graphql(recalled, pharmacy, plugin_client):
    status, body = plugin_client.graphql(TRACE, {"lot": "R-1"}, user=pharmacy.staff)
    assert status == 200, body
    trace = body["data"]["pharmaRecallTrace"]
    assert (trace["orderCount"], trace["dealerCount"], trace["shippedQuantity"]) == (4, 2, 6)
    assert {b["warehouseCode"] for b in trace["batches"]} == {"EAST", "WEST"}
    status, body = plugin_client.graphql(TRACE, {"lot": "R-1"}, user=pharmacy.buyer)
    assert body["data"]["pharmaRecallTrace"] is None
    assert body["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"


def test_recall_trace_exports_from_the_console(recalled, pharmacy, plugin_client):
    shipped = recalled[0]
    plugin_client.client.force_login(pharmacy.staff)
    page = plugin_client.get("/console/plugins/pharma/recall/", data={"lot": "R-1"})
    assert page.status_code == 200
    assert shipped.number in page.content.decode() and "export-xlsx" in page.content.decode()

    response = plugin_client.get("/console/plugins/pharma/recall/export.csv", data={"lot": "R-1"})
    assert response.status_code == 200 and "recall-R-1.csv" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["订单", "订单状态", "下单时间"]  # the console speaks Chinese by default
    assert len(rows) == 1 + 5  # header + 5 batch takes
    assert {r[0] for r in rows[1:]} >= {shipped.number}

    response = plugin_client.get("/console/plugins/pharma/recall/export.xlsx", data={"lot": "R-1"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[0][:2] == ["批号", "R-1"]
    assert values[3][0] == "订单" and len(values) == 4 + 5

    assert (
        plugin_client.get(
            "/console/plugins/pharma/recall/export.pdf", data={"lot": "R-1"}
        ).status_code
        == 400
    )


def test_console_pages_are_for_staff(pharmacy, plugin_client):
    assert plugin_client.get("/console/plugins/pharma/recall/").status_code == 302  # to login
    plugin_client.client.force_login(pharmacy.buyer)
    assert plugin_client.get("/console/plugins/pharma/recall/").status_code == 403
    assert plugin_client.get("/console/plugins/pharma/expiry/").status_code == 403


def test_expiry_page_warns_about_expiring_batches(pharmacy, plugin_client):
    pharmacy.receive("GONE", 5, -3)
    pharmacy.receive("SOON", 5, 30)
    pharmacy.receive("FAR", 5, 900)
    plugin_client.client.force_login(pharmacy.staff)
    html = plugin_client.get("/console/plugins/pharma/expiry/").content.decode()
    assert "GONE" in html and "SOON" in html and "FAR" not in html


def test_admin_receives_a_batch_through_the_service(pharmacy, plugin_client):
    admin_user = UserFactory(role="tenant_admin", is_staff=True, is_superuser=True)
    plugin_client.client.force_login(admin_user)
    response = plugin_client.client.post(
        "/admin/pharma/batch/add/",
        {
            "sku": pharmacy.sku.pk,
            "warehouse": pharmacy.west.pk,
            "lot": "ADM-1",
            "manufactured_on": days(-5).isoformat(),
            "expires_on": days(500).isoformat(),
            "quantity": 7,
        },
    )
    connection.set_tenant(plugin_client.tenant)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Batch.objects.get(lot="ADM-1").on_hand == 7
    assert Stock.objects.get(sku=pharmacy.sku, warehouse=pharmacy.west).on_hand == 7


# --- demo data --------------------------------------------------------------------------
def test_demo_data_is_idempotent(plugin_tenant, plugin_hooks):
    from core.demo import seed_demo

    seed_demo()
    plugin_hooks.load_demo_data(plugin_tenant)
    plugin_hooks.load_demo_data(plugin_tenant)
    for stock in Stock.objects.filter(sku__code__in=["VC-10", "VC-20", "IBU-300"]):
        batches = Batch.objects.filter(sku=stock.sku, warehouse=stock.warehouse)
        assert batches.count() == 2 and sum(b.on_hand for b in batches) == stock.on_hand
    assert DealerLicence.objects.filter(dealer__code="EAST-01").count() == 2
    assert not Batch.objects.filter(sku__code="BP-F-001").exists()


# --- a tenant without the plugin -----------------------------------------------------------
def test_disabled_tenant_runs_no_hook_and_gets_no_data(
    plugin_tenant, plugin_disabled_tenant, plugin_disabled_client, order_context
):
    from core.orders.lines import LineInput

    connection.set_tenant(plugin_disabled_tenant)
    shop = build_pharmacy()
    # Only expired stock, no licence, a controlled category: the plugin would refuse all of it.
    Stock.objects.create(sku=shop.sku, warehouse=shop.east, on_hand=10)
    Batch.objects.create(
        sku=shop.sku,
        warehouse=shop.east,
        lot="X",
        manufactured_on=days(-900),
        expires_on=days(-5),
        on_hand=10,
    )
    hooks = get_manager().hooks_for(plugin_disabled_tenant)
    assert not hooks.has("choose_allocation") and not hooks.has("validate_order_lines")
    placed = orders.place_order(
        dealer=shop.dealer,
        user=shop.buyer,
        lines=[LineInput("AMOX-250", 4)],
        channel="web",
        idempotency_key="off",
    )
    allocation = placed.order.lines.get().allocations.get()
    assert allocation.data == {}  # the core allocated it; no batch was touched
    assert Batch.objects.get().reserved == 0

    for query, variables, field in [
        (BATCHES, {"sku": "AMOX-250"}, "pharmaBatches"),
        (LICENCES, None, "pharmaMyLicences"),
        (TRACE, {"lot": "X"}, "pharmaRecallTrace"),
        (
            RECEIVE,
            {
                "sku": "AMOX-250",
                "wh": "EAST",
                "lot": "Y",
                "made": days(-1).isoformat(),
                "exp": days(99).isoformat(),
                "qty": 1,
            },
            "pharmaReceiveBatch",
        ),
    ]:
        status, body = plugin_disabled_client.graphql(query, variables, user=shop.staff)
        assert_plugin_disabled(body, field)
    assert not Batch.objects.filter(lot="Y").exists()
    plugin_disabled_client.client.force_login(shop.staff)
    assert plugin_disabled_client.get("/console/plugins/pharma/recall/").status_code == 404
    assert (
        plugin_disabled_client.get(
            "/console/plugins/pharma/recall/export.csv", data={"lot": "X"}
        ).status_code
        == 404
    )
