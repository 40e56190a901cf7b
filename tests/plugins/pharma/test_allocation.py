"""FEFO allocation, expiry and shelf life, and batch reservations through the order's life."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.exceptions import ValidationFailed
from core.inventory.models import Stock
from core.orders import services as orders
from core.orders.models import Allocation, Order, ShipmentStatus
from core.testing.factories import DealerFactory
from plugins.pharma.models import Batch, BatchReservation, ShelfLifeRule
from plugins.services import set_plugin_settings

from .conftest import days


def _batch_quantities(order):
    """``[(lot, quantity), ...]`` of an order's allocations, in the order they were taken."""
    taken = []
    for a in Allocation.objects.filter(line__order=order).order_by("pk"):
        taken += [(e["lot"], e["quantity"]) for e in a.data["batches"]]
    return taken


def test_fefo_takes_the_earliest_expiry_first_with_warehouse_order_as_tie_break(pharmacy, place):
    late_east = pharmacy.receive("L-LATE", 10, 400)
    soon_west = pharmacy.receive("L-SOON-W", 4, 200, warehouse=pharmacy.west)
    soon_east = pharmacy.receive("L-SOON-E", 3, 200)
    earliest = pharmacy.receive("L-FIRST", 2, 150, warehouse=pharmacy.west)

    order = place([("AMOX-250", 7)])

    # Earliest expiry first; on the same day the dealer's region (EAST) before WEST.
    by_lot = {b.lot: b.reserved for b in Batch.objects.all()}
    assert by_lot == {"L-FIRST": 2, "L-SOON-E": 3, "L-SOON-W": 2, "L-LATE": 0}
    # One allocation per warehouse, named after its earliest batch.
    allocations = {a.warehouse_id: a for a in Allocation.objects.filter(line__order=order)}
    west, east = allocations[pharmacy.west.pk], allocations[pharmacy.east.pk]
    assert (west.quantity, west.data["batch"], west.data["batch_id"]) == (4, "L-FIRST", earliest.pk)
    assert west.data["expiry"] == days(150).isoformat()
    assert [(e["lot"], e["quantity"]) for e in west.data["batches"]] == [
        ("L-FIRST", 2),
        ("L-SOON-W", 2),
    ]
    assert (east.quantity, east.data["batch"], east.data["batch_id"]) == (
        3,
        "L-SOON-E",
        soon_east.pk,
    )
    # The core's stock rows were reserved in step with the batches.
    stocks = {s.warehouse_id: s for s in Stock.objects.filter(sku=pharmacy.sku)}
    assert stocks[pharmacy.east.pk].reserved == 3 and stocks[pharmacy.west.pk].reserved == 4
    assert soon_west.pk and late_east.pk


def test_same_expiry_prefers_the_dealers_region(pharmacy, place):
    pharmacy.receive("W-1", 5, 300, warehouse=pharmacy.west)
    pharmacy.receive("E-1", 5, 300)
    order = place([("AMOX-250", 4)])
    assert _batch_quantities(order) == [("E-1", 4)]


def test_expired_batch_is_never_allocated(pharmacy, place):
    pharmacy.receive("OLD", 50, -1)  # expired yesterday
    pharmacy.receive("GOOD", 3, 365)
    with pytest.raises(ValidationFailed) as exc:
        place([("AMOX-250", 5)])
    [error] = exc.value.errors
    assert (error.code, error.field, error.params["available"]) == (
        "EXPIRED_BATCH",
        "lines.0.quantity",
        3,
    )
    assert not Order.objects.exists()
    assert set(Batch.objects.values_list("reserved", flat=True)) == {0}
    assert set(Stock.objects.values_list("reserved", flat=True)) == {0}
    # What is in date can still be ordered; the expired lot stays untouched.
    order = place([("AMOX-250", 3)], key="k2")
    assert _batch_quantities(order) == [("GOOD", 3)]
    assert Batch.objects.get(lot="OLD").reserved == 0


def test_a_batch_expiring_today_is_still_in_date(pharmacy, place):
    set_plugin_settings(
        tenant=connection.tenant, name="pharma", values={"min_remaining_shelf_life_days": 0}
    )
    pharmacy.receive("TODAY", 2, 0)
    assert _batch_quantities(place([("AMOX-250", 2)])) == [("TODAY", 2)]


def test_shelf_life_below_the_minimum_is_refused(pharmacy, place):
    pharmacy.receive("SHORT", 20, 30)  # 30 days left; the default minimum is 90
    pharmacy.receive("LONG", 2, 200)
    with pytest.raises(ValidationFailed) as exc:
        place([("AMOX-250", 10)])
    [error] = exc.value.errors
    assert error.code == "SHELF_LIFE_TOO_SHORT"
    assert error.params == {"available": 2, "minimum_days": 90}
    assert set(Batch.objects.values_list("reserved", flat=True)) == {0}
    assert not Order.objects.exists()


def test_shelf_life_minimum_per_dealer_inherited_by_its_subtree(pharmacy, place):
    pharmacy.receive("SHORT", 20, 30)
    branch = DealerFactory(parent=pharmacy.dealer, region="east")
    from core.testing.factories import DealerUserFactory

    branch_buyer = DealerUserFactory(dealer=branch)
    ShelfLifeRule.objects.create(dealer=pharmacy.dealer, min_remaining_days=20)
    order = place([("AMOX-250", 5)], dealer=branch, user=branch_buyer)  # inherits 20 days
    assert _batch_quantities(order) == [("SHORT", 5)]
    ShelfLifeRule.objects.create(dealer=branch, min_remaining_days=60)  # its own rule wins
    with pytest.raises(ValidationFailed) as exc:
        place([("AMOX-250", 5)], dealer=branch, user=branch_buyer, key="k2")
    assert exc.value.errors[0].code == "SHELF_LIFE_TOO_SHORT"


def test_plugin_level_default_minimum(pharmacy, place):
    pharmacy.receive("MID", 10, 60)
    with pytest.raises(ValidationFailed):
        place([("AMOX-250", 1)])
    set_plugin_settings(
        tenant=connection.tenant, name="pharma", values={"min_remaining_shelf_life_days": 45}
    )
    assert _batch_quantities(place([("AMOX-250", 1)], key="k2")) == [("MID", 1)]


def test_not_enough_stock_at_all_is_insufficient_stock_per_line(pharmacy, place):
    pharmacy.receive("A", 4, 300)
    other = pharmacy.sku_with_price("CEF-100")
    pharmacy.receive("B", 1, -5, sku=other)
    with pytest.raises(ValidationFailed) as exc:
        place([("AMOX-250", 9), ("CEF-100", 2)])
    assert [(e.code, e.field, e.params["available"]) for e in exc.value.errors] == [
        ("INSUFFICIENT_STOCK", "lines.0.quantity", 4),
        ("INSUFFICIENT_STOCK", "lines.1.quantity", 0),
    ]
    assert set(Batch.objects.values_list("reserved", flat=True)) == {0}


def test_sold_out_batch_tracked_sku_is_not_left_to_the_core(pharmacy, place):
    batch = pharmacy.receive("A", 2, 300)
    Batch.objects.filter(pk=batch.pk).update(on_hand=0)  # the batch is gone, the core row is not
    with pytest.raises(ValidationFailed) as exc:
        place([("AMOX-250", 1)])
    assert exc.value.errors[0].code == "INSUFFICIENT_STOCK"


def test_skus_without_batches_are_allocated_by_the_core(pharmacy, place):
    from core.testing.factories import StockFactory

    plain = pharmacy.sku_with_price("GAUZE")
    StockFactory(sku=plain, warehouse=pharmacy.east, on_hand=10)
    order = place([("GAUZE", 3)])
    [allocation] = Allocation.objects.filter(line__order=order)
    assert allocation.data == {} and allocation.quantity == 3


def test_sql_per_order_does_not_grow_with_lines(pharmacy, place):
    codes = []
    for i in range(6):
        sku = pharmacy.sku_with_price(f"RX-{i}")
        pharmacy.receive(f"LOT-{i}-A", 50, 120, sku=sku)
        pharmacy.receive(f"LOT-{i}-B", 50, 300, sku=sku, warehouse=pharmacy.west)
        codes.append(sku.code)
    place([(codes[0], 1)], key="warm-up")  # first-order-only look-ups (settings, caches)
    with CaptureQueriesContext(connection) as two:
        place([(c, 30) for c in codes[:2]], key="two")
    with CaptureQueriesContext(connection) as six:
        place([(c, 30) for c in codes], key="six")
    assert len(six.captured_queries) == len(two.captured_queries), [
        q["sql"][:120] for q in six.captured_queries
    ]


# --- the order's life -------------------------------------------------------------------
def test_cancel_releases_the_batches_once(pharmacy, place, django_capture_on_commit_callbacks):
    pharmacy.receive("A", 10, 300)
    with django_capture_on_commit_callbacks(execute=True):
        order = place([("AMOX-250", 6)])
    reservation = BatchReservation.objects.get()
    assert (reservation.status, reservation.quantity) == ("reserved", 6)
    with django_capture_on_commit_callbacks(execute=True):
        orders.cancel_order(order=order, user=pharmacy.staff)
    batch = Batch.objects.get()
    assert (batch.on_hand, batch.reserved) == (10, 0)
    assert BatchReservation.objects.get().status == "released"
    # The event delivered again changes nothing.
    from plugins.manager import hooks_for

    hooks_for(connection.tenant).order_event(connection.tenant, "order.cancelled", order, {})
    batch.refresh_from_db()
    assert (batch.on_hand, batch.reserved) == (10, 0)
    stock = Stock.objects.get(sku=pharmacy.sku)
    assert (stock.on_hand, stock.reserved) == (batch.on_hand, batch.reserved)


def test_rejected_order_releases_even_when_the_placed_event_was_lost(
    pharmacy, place, django_capture_on_commit_callbacks
):
    from core.orders.models import ApprovalRule

    ApprovalRule.objects.create(name="all", kind="amount_over", amount=0, approver_role="staff")
    pharmacy.receive("A", 10, 300)
    order = place([("AMOX-250", 4)])  # order.placed handler never ran (no commit)
    assert not BatchReservation.objects.exists()
    assert Batch.objects.get().reserved == 4
    with django_capture_on_commit_callbacks(execute=True):
        orders.reject_order(order=order, user=pharmacy.staff, comment="no")
    assert Batch.objects.get().reserved == 0
    assert BatchReservation.objects.get().status == "released"


def test_shipping_consumes_the_shipped_warehouses_batches(
    pharmacy, place, django_capture_on_commit_callbacks
):
    pharmacy.receive("W", 3, 200, warehouse=pharmacy.west)
    pharmacy.receive("E", 10, 300)
    with django_capture_on_commit_callbacks(execute=True):
        order = place([("AMOX-250", 8)])
    west_shipment = order.shipments.get(warehouse=pharmacy.west)
    with django_capture_on_commit_callbacks(execute=True):
        orders.ship(
            shipment=west_shipment, user=pharmacy.staff, carrier="SF", tracking_number="SF1"
        )
    west, east = Batch.objects.get(lot="W"), Batch.objects.get(lot="E")
    assert (west.on_hand, west.reserved) == (0, 0)
    assert (east.on_hand, east.reserved) == (10, 5)
    assert dict(BatchReservation.objects.values_list("batch__lot", "status")) == {
        "W": "shipped",
        "E": "reserved",
    }
    # Delivered twice (a retried event): consumed once.
    from plugins.manager import hooks_for

    hooks_for(connection.tenant).order_event(
        connection.tenant, "order.shipped", order, {"shipment_id": west_shipment.pk}
    )
    west.refresh_from_db()
    assert west.on_hand == 0
    east_shipment = order.shipments.get(warehouse=pharmacy.east)
    with django_capture_on_commit_callbacks(execute=True):
        orders.ship(
            shipment=east_shipment, user=pharmacy.staff, carrier="SF", tracking_number="SF2"
        )
    east.refresh_from_db()
    assert (east.on_hand, east.reserved) == (5, 0)
    for stock in Stock.objects.filter(sku=pharmacy.sku):
        batches = Batch.objects.filter(sku=pharmacy.sku, warehouse=stock.warehouse)
        assert stock.on_hand == sum(b.on_hand for b in batches)
        assert stock.reserved == sum(b.reserved for b in batches)
    assert not BatchReservation.objects.filter(shipped_expired=True).exists()


def test_shipping_a_batch_that_expired_meanwhile_is_recorded_and_shown(
    pharmacy, place, django_capture_on_commit_callbacks, plugin_client
):
    batch = pharmacy.receive("LAPSED", 5, 100)
    with django_capture_on_commit_callbacks(execute=True):
        order = place([("AMOX-250", 5)])
    Batch.objects.filter(pk=batch.pk).update(expires_on=days(-2))  # time passes
    shipment = order.shipments.get()
    with django_capture_on_commit_callbacks(execute=True):
        orders.ship(shipment=shipment, user=pharmacy.staff, carrier="SF", tracking_number="X")
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.SHIPPED  # recorded and warned, not blocked
    reservation = BatchReservation.objects.get()
    assert reservation.status == "shipped" and reservation.shipped_expired
    plugin_client.client.force_login(pharmacy.staff)
    page = plugin_client.get("/console/plugins/pharma/expiry/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "expired-shipments" in html and order.number in html and "LAPSED" in html


def test_returned_goods_go_back_to_their_batch(pharmacy, place, django_capture_on_commit_callbacks):
    pharmacy.receive("A", 10, 300)
    with django_capture_on_commit_callbacks(execute=True):
        order = place([("AMOX-250", 4)])
        orders.ship(
            shipment=order.shipments.get(), user=pharmacy.staff, carrier="SF", tracking_number="1"
        )
    line = order.lines.get()
    with django_capture_on_commit_callbacks(execute=True):
        ret = orders.return_goods(
            order=order,
            user=pharmacy.staff,
            items=[orders.ReturnRequest(line_id=line.pk, base_quantity=3)],
        )
    batch = Batch.objects.get()
    assert batch.on_hand == 9
    from plugins.manager import hooks_for

    hooks_for(connection.tenant).order_event(
        connection.tenant, "order.returned", order, {"return_id": ret.pk}
    )
    batch.refresh_from_db()
    assert batch.on_hand == 9 == Stock.objects.get(sku=pharmacy.sku).on_hand
