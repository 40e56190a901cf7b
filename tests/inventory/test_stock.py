"""Stock: receipts, adjustments, transfers, reservation without oversell."""

import threading

import pytest
from django.db import connection, connections, transaction

from core.events.models import Event
from core.exceptions import DomainError, ValidationFailed
from core.inventory import services as inv
from core.inventory.models import MovementReason, Stock, StockMovement
from core.testing.factories import SkuFactory, StockFactory, WarehouseFactory


def test_receipt_adjustment_and_movements_explain_stock(tenant_db):
    sku, wh = SkuFactory(), WarehouseFactory()
    inv.receive_stock(sku=sku, warehouse=wh, quantity=40, reference="PO-1")
    stock = inv.adjust_stock(sku=sku, warehouse=wh, counted=37, note="count")
    assert stock.on_hand == 37
    moves = list(
        StockMovement.objects.filter(stock=stock)
        .order_by("id")
        .values_list("reason", "quantity", "on_hand_after")
    )
    assert moves == [(MovementReason.RECEIPT, 40, 40), (MovementReason.ADJUSTMENT, -3, 37)]
    assert sum(q for _r, q, _a in moves) == stock.on_hand
    assert Event.objects.filter(type="stock.changed").count() == 2


def test_bad_quantities_change_nothing(tenant_db):
    sku, wh = SkuFactory(), WarehouseFactory()
    with pytest.raises(DomainError) as err:
        inv.receive_stock(sku=sku, warehouse=wh, quantity=0)
    assert err.value.code == "INVALID_QUANTITY"
    with pytest.raises(DomainError):
        inv.adjust_stock(sku=sku, warehouse=wh, counted=-1)
    assert not StockMovement.objects.exists()


def test_quantities_beyond_the_columns_are_typed_errors(tenant_db):
    """2**31 - 1 more units overflowed the integer columns (an internal error)."""
    stock = StockFactory(on_hand=10, reserved=3)
    other = WarehouseFactory()
    big = 2**31 - 1
    with pytest.raises(DomainError) as err:
        inv.receive_stock(sku=stock.sku, warehouse=stock.warehouse, quantity=big)
    assert (err.value.code, err.value.field) == ("INVALID_QUANTITY", "quantity")
    with pytest.raises(DomainError) as err:
        inv.transfer_stock(sku=stock.sku, source=stock.warehouse, destination=other, quantity=big)
    assert err.value.code == "INSUFFICIENT_STOCK" and err.value.params["available"] == 7
    assert Stock.objects.get(pk=stock.pk).on_hand == 10
    assert not StockMovement.objects.exists()
    inv.receive_stock(sku=stock.sku, warehouse=stock.warehouse, quantity=big - 10)
    assert Stock.objects.get(pk=stock.pk).on_hand == big


def test_transfer_moves_available_stock_only(tenant_db):
    stock = StockFactory(on_hand=10, reserved=6)
    other = WarehouseFactory()
    with pytest.raises(DomainError) as err:
        inv.transfer_stock(sku=stock.sku, source=stock.warehouse, destination=other, quantity=5)
    assert err.value.code == "INSUFFICIENT_STOCK" and err.value.params["available"] == 4
    inv.transfer_stock(sku=stock.sku, source=stock.warehouse, destination=other, quantity=4)
    assert Stock.objects.get(pk=stock.pk).on_hand == 6
    assert Stock.objects.get(sku=stock.sku, warehouse=other).on_hand == 4


def test_count_below_reserved_is_refused(tenant_db):
    stock = StockFactory(on_hand=10, reserved=8)
    with pytest.raises(DomainError):
        inv.adjust_stock(sku=stock.sku, warehouse=stock.warehouse, counted=5)


def test_database_refuses_oversell_whatever_the_code(tenant_db):
    from django.db import IntegrityError

    stock = StockFactory(on_hand=5)
    with pytest.raises(IntegrityError), transaction.atomic():
        Stock.objects.filter(pk=stock.pk).update(reserved=6)


def test_allocation_prefers_one_warehouse_in_the_dealers_region(tenant_db):
    sku1, sku2 = SkuFactory(), SkuFactory()
    north = WarehouseFactory(region="north", priority=1)
    east = WarehouseFactory(region="east", priority=50)
    for wh in (north, east):
        StockFactory(sku=sku1, warehouse=wh, on_hand=10)
        StockFactory(sku=sku2, warehouse=wh, on_hand=10)
    demands = [inv.Demand(0, sku1.pk, 5), inv.Demand(1, sku2.pk, 5)]
    plan = inv.plan_allocation(demands, inv.lock_stock([sku1.pk, sku2.pk]), region="east")
    assert {a.warehouse_id for a in plan} == {east.pk}
    plan = inv.plan_allocation(demands, inv.lock_stock([sku1.pk, sku2.pk]), region="west")
    assert {a.warehouse_id for a in plan} == {north.pk}


def test_allocation_splits_and_skips_closed_warehouses(tenant_db):
    sku = SkuFactory()
    a = WarehouseFactory(priority=1)
    b = WarehouseFactory(priority=2)
    closed = WarehouseFactory(priority=0, is_active=False)
    StockFactory(sku=sku, warehouse=a, on_hand=3)
    StockFactory(sku=sku, warehouse=b, on_hand=4)
    StockFactory(sku=sku, warehouse=closed, on_hand=100)
    plan = inv.plan_allocation([inv.Demand(0, sku.pk, 6)], inv.lock_stock([sku.pk]))
    assert sorted((p.warehouse_id, p.quantity) for p in plan) == sorted([(a.pk, 3), (b.pk, 3)])
    with pytest.raises(ValidationFailed) as err:
        inv.plan_allocation([inv.Demand(0, sku.pk, 8)], inv.lock_stock([sku.pk]))
    assert (
        err.value.errors[0].code == "INSUFFICIENT_STOCK"
        and err.value.errors[0].params["available"] == 7
    )


def test_reserve_release_consume(tenant_db):
    stock = StockFactory(on_hand=10, safety_stock=5)
    locked = inv.lock_stock([stock.sku_id])
    plan = inv.plan_allocation([inv.Demand(0, stock.sku_id, 6)], locked)
    events = inv.reserve(plan, locked)
    assert {e.type for e in events} == {"stock.changed", "stock.low"}
    inv.consume([(stock.pk, 2)], reference="SO1")
    inv.release([(stock.pk, 4)])
    stock.refresh_from_db()
    assert (stock.on_hand, stock.reserved) == (8, 0)


def test_many_concurrent_reservations_never_oversell(committed_db, tenant):
    """20 threads, each on its own connection, race for 7 units."""
    connection.set_tenant(tenant)
    stock = StockFactory(on_hand=7)
    results: list[str] = []
    barrier = threading.Barrier(20)

    def buyer():
        try:
            connections["default"].set_tenant(tenant)
            barrier.wait()
            with transaction.atomic():
                locked = inv.lock_stock([stock.sku_id])
                plan = inv.plan_allocation([inv.Demand(0, stock.sku_id, 1)], locked)
                inv.reserve(plan, locked)
            results.append("ok")
        except ValidationFailed:
            results.append("short")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=buyer) for _ in range(20)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    stock.refresh_from_db()
    assert results.count("ok") == 7 and results.count("short") == 13
    assert stock.reserved == 7 and stock.on_hand == 7
