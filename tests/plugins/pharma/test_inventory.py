"""Batches follow every stock movement: receipts, stock-takes, transfers (through the
core's inventory services and the ``stock_changed`` hook) and free goods; the recall
trace follows the lot through transfers and free goods."""

from __future__ import annotations

from collections import defaultdict

import pytest
from django.db import connection

from core.exceptions import DomainError, ValidationFailed
from core.inventory import services as inventory
from core.inventory.models import Stock, StockMovement, Transfer
from core.orders import services as orders
from core.orders.models import Allocation, OrderLine
from core.testing.factories import DealerFactory, SkuFactory
from plugins.pharma import selectors
from plugins.pharma.models import (
    Batch,
    BatchMovement,
    BatchReservation,
    ControlledCategory,
    DealerLicence,
    LicenceType,
    ShelfLifeRule,
)
from plugins.pharma.services import (
    count_batch,
    handle_order_event,
    sync_reservations,
    transfer_batch,
)

from .conftest import days


def assert_batches_add_up():
    """Every (SKU, warehouse) with batches: the core's stock is the sum of its batches."""
    sums = defaultdict(lambda: [0, 0])
    for b in Batch.objects.all():
        sums[(b.sku_id, b.warehouse_id)][0] += b.on_hand
        sums[(b.sku_id, b.warehouse_id)][1] += b.reserved
    for (sku_id, warehouse_id), (on_hand, reserved) in sums.items():
        stock = Stock.objects.get(sku_id=sku_id, warehouse_id=warehouse_id)
        assert (stock.on_hand, stock.reserved) == (on_hand, reserved), (sku_id, warehouse_id)


def _lots(warehouse):
    return {
        b.lot: (b.on_hand, b.reserved)
        for b in Batch.objects.filter(warehouse=warehouse).order_by("lot")
    }


# --- transfers -------------------------------------------------------------------------
def test_transfer_batch_moves_the_lot_with_its_dates_and_records_both_sides(pharmacy):
    batch = pharmacy.receive("T-1", 10, 300)
    out, into = transfer_batch(
        batch=batch, destination=pharmacy.west, quantity=4, user=pharmacy.staff
    )
    moved = Batch.objects.get(warehouse=pharmacy.west, lot="T-1")
    assert (moved.on_hand, moved.expires_on, moved.manufactured_on) == (
        4,
        batch.expires_on,
        batch.manufactured_on,
    )
    assert _lots(pharmacy.east) == {"T-1": (6, 0)}
    transfer = Transfer.objects.get()
    assert out.reference == into.reference == f"TR-{transfer.pk}"
    assert (out.quantity, out.counterpart_id, into.quantity, into.counterpart_id) == (
        -4,
        moved.pk,
        4,
        batch.pk,
    )
    assert (out.on_hand_after, into.on_hand_after) == (6, 4)
    assert_batches_add_up()


def test_a_core_transfer_of_a_batch_tracked_sku_carries_batches_fefo_in_date_first(pharmacy):
    pharmacy.receive("OLD", 3, -5)  # expired
    pharmacy.receive("SOON", 4, 100)
    pharmacy.receive("LATE", 10, 400)
    inventory.transfer_stock(
        sku=pharmacy.sku, source=pharmacy.east, destination=pharmacy.west, quantity=6
    )
    # In-date lots first (earliest expiry first); the expired lot stays.
    assert _lots(pharmacy.west) == {"LATE": (2, 0), "SOON": (4, 0)}
    assert _lots(pharmacy.east) == {"LATE": (8, 0), "OLD": (3, 0), "SOON": (0, 0)}
    # Only when nothing in date is left does a transfer take expired lots.
    inventory.transfer_stock(
        sku=pharmacy.sku, source=pharmacy.east, destination=pharmacy.west, quantity=10
    )
    assert _lots(pharmacy.west) == {"LATE": (10, 0), "OLD": (2, 0), "SOON": (4, 0)}
    assert_batches_add_up()


def test_a_transfer_never_moves_units_reserved_for_orders(pharmacy, place):
    batch = pharmacy.receive("R-1", 10, 300)
    place([("AMOX-250", 7)])
    with pytest.raises(DomainError) as exc:
        transfer_batch(batch=batch, destination=pharmacy.west, quantity=4)
    assert (exc.value.code, exc.value.params["available"]) == ("INSUFFICIENT_STOCK", 3)
    assert (
        not Transfer.objects.exists()
        and not BatchMovement.objects.filter(kind__startswith="transfer").exists()
    )
    transfer_batch(batch=batch, destination=pharmacy.west, quantity=3)
    assert _lots(pharmacy.east) == {"R-1": (7, 7)}
    assert_batches_add_up()


def test_a_lot_with_other_dates_at_the_destination_refuses_the_transfer(pharmacy):
    batch = pharmacy.receive("D-1", 10, 300)
    pharmacy.receive("D-1", 2, 200, warehouse=pharmacy.west)  # same lot number, other expiry
    with pytest.raises(DomainError) as exc:
        inventory.transfer_stock(
            sku=pharmacy.sku, source=pharmacy.east, destination=pharmacy.west, quantity=5
        )
    assert exc.value.code == "LOT_DATES_DIFFER"
    with pytest.raises(DomainError):
        transfer_batch(batch=batch, destination=pharmacy.west, quantity=5)
    # Nothing moved: neither the core's rows nor the batches.
    assert not Transfer.objects.exists()
    assert Stock.objects.get(sku=pharmacy.sku, warehouse=pharmacy.east).on_hand == 10
    assert _lots(pharmacy.west) == {"D-1": (2, 0)}
    assert_batches_add_up()


def test_bad_transfer_input_is_a_typed_error(pharmacy):
    batch = pharmacy.receive("B-1", 10, 300)
    for quantity in (0, -1, "3"):
        with pytest.raises(DomainError) as exc:
            transfer_batch(batch=batch, destination=pharmacy.west, quantity=quantity)
        assert exc.value.code == "INVALID_QUANTITY"
    with pytest.raises(DomainError) as exc:
        transfer_batch(batch=batch, destination=pharmacy.east, quantity=1)
    assert exc.value.field == "destination"
    assert not Transfer.objects.exists()


# --- receipts and stock-takes ----------------------------------------------------------
def test_receipts_and_counts_without_a_batch_are_refused_for_batch_tracked_skus(pharmacy):
    pharmacy.receive("C-1", 10, 300)
    movements = StockMovement.objects.count()
    with pytest.raises(DomainError) as exc:
        inventory.receive_stock(sku=pharmacy.sku, warehouse=pharmacy.east, quantity=5)
    assert (exc.value.code, exc.value.params["sku"]) == ("BATCH_REQUIRED", "AMOX-250")
    with pytest.raises(DomainError) as exc:
        inventory.adjust_stock(sku=pharmacy.sku, warehouse=pharmacy.east, counted=7)
    assert exc.value.code == "BATCH_REQUIRED"
    assert Stock.objects.get(sku=pharmacy.sku, warehouse=pharmacy.east).on_hand == 10
    assert StockMovement.objects.count() == movements
    # SKUs without batches are none of the plugin's business.
    plain = SkuFactory(code="GAUZE")
    inventory.receive_stock(sku=plain, warehouse=pharmacy.east, quantity=5)
    inventory.adjust_stock(sku=plain, warehouse=pharmacy.east, counted=3)
    inventory.transfer_stock(sku=plain, source=pharmacy.east, destination=pharmacy.west, quantity=1)
    assert Stock.objects.get(sku=plain, warehouse=pharmacy.west).on_hand == 1
    assert_batches_add_up()


def test_count_batch_adjusts_the_batch_and_the_warehouse_stock(pharmacy, place):
    first = pharmacy.receive("K-1", 10, 300)
    pharmacy.receive("K-2", 5, 400)
    place([("AMOX-250", 4)])  # FEFO: 4 reserved on K-1
    count_batch(batch=first, counted=6, note="damaged", user=pharmacy.staff)
    assert _lots(pharmacy.east) == {"K-1": (6, 4), "K-2": (5, 0)}
    movement = BatchMovement.objects.filter(kind="adjustment").get()
    assert (movement.quantity, movement.on_hand_after, movement.note) == (-4, 6, "damaged")
    count_batch(batch=first, counted=9)
    assert _lots(pharmacy.east)["K-1"] == (9, 4)
    assert_batches_add_up()
    with pytest.raises(DomainError) as exc:
        count_batch(batch=first, counted=3)
    assert (exc.value.code, exc.value.params["reserved"]) == ("INSUFFICIENT_STOCK", 4)
    with pytest.raises(DomainError) as exc:
        count_batch(batch=first, counted=-1)
    assert exc.value.code == "INVALID_QUANTITY"
    assert _lots(pharmacy.east)["K-1"] == (9, 4)
    assert_batches_add_up()


def test_receipts_are_recorded_on_the_batch(pharmacy):
    batch = pharmacy.receive("G-1", 10, 300)
    pharmacy.receive("G-1", 5, 300)
    assert list(
        BatchMovement.objects.filter(batch=batch).order_by("pk").values_list("kind", "quantity")
    ) == [("receipt", 10), ("receipt", 5)]
    assert_batches_add_up()


# --- free goods ---------------------------------------------------------------------------
@pytest.fixture
def buy_ten_get_two(pharmacy):
    """Buy 10 of AMOX-250, get 2 of SAMPLE-5 free (a batch-tracked SKU)."""
    from core.pricing.services import save_promotion

    sample = pharmacy.sku_with_price("SAMPLE-5", "3.00")
    save_promotion(
        code="B10G2",
        name="Buy 10 get 2",
        kind="buy_x_get_y",
        rule={"buy_quantity": 10, "get_quantity": 2, "get_sku_id": sample.pk},
        sku_ids=[pharmacy.sku.pk],
    )
    return sample


def test_free_goods_are_allocated_fefo_within_shelf_life(pharmacy, place, buy_ten_get_two):
    sample = buy_ten_get_two
    pharmacy.receive("AM-1", 50, 300)
    pharmacy.receive("S-OLD", 5, -1, sku=sample)  # expired
    pharmacy.receive("S-SHORT", 5, 30, sku=sample)  # under the 90-day default
    pharmacy.receive("S-OK", 5, 200, sku=sample)
    pharmacy.receive("S-LATE", 5, 500, sku=sample)
    order = place([("AMOX-250", 10)])
    free = OrderLine.objects.get(order=order, is_free=True)
    assert (free.sku_id, free.base_quantity) == (sample.pk, 2)
    allocation = Allocation.objects.get(line=free)
    assert [(e["lot"], e["quantity"]) for e in allocation.data["batches"]] == [("S-OK", 2)]
    assert _lots(pharmacy.east)["S-OK"] == (5, 2)
    sync_reservations(order)  # what the order.placed event does once the order commits
    assert {r.batch.lot for r in BatchReservation.objects.filter(order=order)} == {
        "AM-1",
        "S-OK",
    }
    assert_batches_add_up()
    trace = selectors.recall_trace(lot="S-OK")
    assert [(r.order_number, r.quantity, r.free) for r in trace.rows] == [(order.number, 2, True)]
    assert selectors.recall_trace(lot="AM-1").rows[0].free is False


def test_free_goods_without_stock_in_shelf_life_refuse_the_order(pharmacy, place, buy_ten_get_two):
    sample = buy_ten_get_two
    pharmacy.receive("AM-1", 50, 300)
    pharmacy.receive("S-OLD", 5, -1, sku=sample)
    ShelfLifeRule.objects.create(dealer=pharmacy.dealer, min_remaining_days=10)
    with pytest.raises(ValidationFailed) as exc:
        place([("AMOX-250", 10)])
    assert [(e.code, e.field) for e in exc.value.errors] == [("EXPIRED_BATCH", "lines.1.quantity")]
    assert not orders.Order.objects.exists()
    assert set(Batch.objects.values_list("reserved", flat=True)) == {0}
    assert set(Stock.objects.values_list("reserved", flat=True)) == {0}


def test_free_controlled_goods_need_the_licence_too(pharmacy, place, buy_ten_get_two):
    from core.testing.factories import CategoryFactory

    sample = buy_ten_get_two
    narcotics = CategoryFactory(name="Narcotics")
    permit = LicenceType.objects.get(code="CONTROLLED")
    ControlledCategory.objects.create(
        category=narcotics, kind="controlled", required_licence=permit
    )
    sample.product.category = narcotics
    sample.product.save()
    pharmacy.receive("AM-1", 50, 300)
    pharmacy.receive("S-OK", 5, 200, sku=sample)
    with pytest.raises(ValidationFailed) as exc:
        place([("AMOX-250", 10)])
    assert [(e.code, e.field, e.params["free"]) for e in exc.value.errors] == [
        ("LICENCE_REQUIRED", "lines.1.sku", True)
    ]
    assert set(Batch.objects.values_list("reserved", flat=True)) == {0}
    DealerLicence.objects.create(
        dealer=pharmacy.dealer,
        licence_type=permit,
        number="CS-9",
        valid_from=days(-1),
        expires_on=days(100),
    )
    order = place([("AMOX-250", 10)], key="k2")
    assert order.lines.filter(is_free=True).count() == 1
    assert_batches_add_up()


def test_free_goods_of_the_sku_bought_come_after_the_paid_units(pharmacy, place):
    from core.pricing.services import save_promotion

    save_promotion(
        code="B5G1",
        name="Buy 5 get 1",
        kind="buy_x_get_y",
        rule={"buy_quantity": 5, "get_quantity": 1},
        sku_ids=[pharmacy.sku.pk],
    )
    pharmacy.receive("FIRST", 5, 150)
    pharmacy.receive("NEXT", 5, 300)
    order = place([("AMOX-250", 5)])
    taken = {
        line.is_free: [
            (e["lot"], e["quantity"]) for a in line.allocations.all() for e in a.data["batches"]
        ]
        for line in order.lines.all()
    }
    assert taken == {False: [("FIRST", 5)], True: [("NEXT", 1)]}
    assert_batches_add_up()


# --- shipping, release and the recall trace across transfers --------------------------------
def test_the_recall_trace_follows_a_lot_through_transfers(pharmacy, place):
    batch = pharmacy.receive("RC-1", 10, 300)
    transfer_batch(batch=batch, destination=pharmacy.west, quantity=6, user=pharmacy.staff)
    west_dealer = DealerFactory(region="west", credit_limit=10**6)
    from core.testing.factories import DealerUserFactory

    west_order = place(
        [("AMOX-250", 5)], key="w1", dealer=west_dealer, user=DealerUserFactory(dealer=west_dealer)
    )
    east_order = place([("AMOX-250", 4)], key="e1")
    trace = selectors.recall_trace(lot="RC-1")
    assert {(r.order_number, r.warehouse_code, r.quantity) for r in trace.rows} == {
        (west_order.number, "WEST", 5),
        (east_order.number, "EAST", 4),
    }
    assert [(t.from_warehouse, t.to_warehouse, t.quantity) for t in trace.transfers] == [
        ("EAST", "WEST", 6)
    ]
    assert trace.transfers[0].reference == f"TR-{Transfer.objects.get().pk}"
    sheet = selectors.export_trace(trace, "csv").decode("utf-8-sig")
    assert "EAST,WEST,6" in sheet.replace('"', "")
    assert_batches_add_up()


def test_cancelling_and_shipping_keep_batches_and_stock_equal(pharmacy, place):
    pharmacy.receive("S-1", 10, 300)
    order = place([("AMOX-250", 4)])
    cancelled = place([("AMOX-250", 2)], key="k2")
    orders.cancel_order(order=cancelled, user=pharmacy.staff)
    sync_reservations(order)
    handle_order_event("order.cancelled", cancelled, {})
    assert_batches_add_up()
    batch = Batch.objects.get(lot="S-1")
    transfer_batch(batch=batch, destination=pharmacy.west, quantity=6)
    assert _lots(pharmacy.east) == {"S-1": (4, 4)}
    assert_batches_add_up()


def test_console_lists_the_batch_history_read_only(pharmacy, plugin_client):
    from core.testing.factories import UserFactory

    batch = pharmacy.receive("H-1", 10, 300)
    transfer_batch(batch=batch, destination=pharmacy.west, quantity=3)
    admin_user = UserFactory(role="tenant_admin", is_staff=True, is_superuser=True)
    plugin_client.client.force_login(admin_user)
    page = plugin_client.client.get("/admin/pharma/batchmovement/")
    add = plugin_client.client.get("/admin/pharma/batchmovement/add/")
    connection.set_tenant(plugin_client.tenant)
    assert page.status_code == 200
    assert f"TR-{Transfer.objects.get().pk}" in page.content.decode()
    assert add.status_code == 403


def test_console_recall_page_and_xlsx_show_transfers_and_free_goods(pharmacy, plugin_client):
    import io

    from openpyxl import load_workbook

    batch = pharmacy.receive("RX-T", 10, 300)
    transfer_batch(batch=batch, destination=pharmacy.west, quantity=4)
    reference = f"TR-{Transfer.objects.get().pk}"
    plugin_client.client.force_login(pharmacy.staff)
    page = plugin_client.get("/console/plugins/pharma/recall/", data={"lot": "RX-T"})
    response = plugin_client.get("/console/plugins/pharma/recall/export.xlsx", data={"lot": "RX-T"})
    connection.set_tenant(plugin_client.tenant)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="trace-transfers"' in html and reference in html
    workbook = load_workbook(io.BytesIO(response.content))
    moved = [list(r) for r in workbook.worksheets[1].iter_rows(values_only=True)]
    assert moved[1][:6] == [reference, "AMOX-250", "RX-T", "EAST", "WEST", 4]
