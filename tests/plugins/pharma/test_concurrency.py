"""Orders racing for the last in-date units of a batch, on real concurrent connections."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections, transaction

from core.exceptions import DomainError
from core.inventory.models import Stock
from core.orders import services
from core.orders.lines import LineInput
from core.orders.models import Order
from plugins.services import disable_plugin, enable_plugin

from .conftest import build_pharmacy, days


@pytest.fixture
def pharma_committed(committed_db, tenant):
    """The test tenant with the plugin enabled, committed (undone afterwards)."""
    was_enabled = "pharma" in (tenant.modules or [])
    enable_plugin(tenant=tenant, name="pharma")
    connection.set_tenant(tenant)
    try:
        yield tenant
    finally:
        connection.set_schema_to_public()
        if not was_enabled:
            disable_plugin(tenant=tenant, name="pharma")
        tenant.__dict__.pop("_plugin_settings_cache", None)


def _race(n, target):
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def worker(i):
        try:
            barrier.wait()
            results[i] = target(i)
        except DomainError as exc:
            results[i] = exc.errors[0].code if hasattr(exc, "errors") else exc.code
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_racing_orders_never_over_reserve_a_batch(pharma_committed):
    from plugins.pharma.models import Batch

    tenant = pharma_committed
    shop = build_pharmacy()
    last = shop.receive("LAST", 5, 300)  # the only in-date units
    shop.receive("OLD", 20, -10)  # the core's stock row says 25 are there
    assert Stock.objects.get(sku=shop.sku).on_hand == 25

    def buy(i):
        connection.set_tenant(tenant)
        services.place_order(
            dealer=shop.dealer,
            user=shop.buyer,
            lines=[LineInput("AMOX-250", 2)],
            channel="web",
            idempotency_key=f"race-{i}",
        )
        return "ok"

    results = _race(4, buy)
    connection.set_tenant(tenant)
    assert sorted(results) == ["EXPIRED_BATCH", "EXPIRED_BATCH", "ok", "ok"], results
    last.refresh_from_db()
    assert (last.on_hand, last.reserved) == (5, 4)
    assert Batch.objects.get(lot="OLD").reserved == 0
    assert Stock.objects.get(sku=shop.sku).reserved == 4
    assert Order.objects.count() == 2


def test_two_orders_for_the_last_units_one_wins(pharma_committed):
    from plugins.pharma.models import Batch

    tenant = pharma_committed
    shop = build_pharmacy()
    shop.receive("ONLY", 3, 300)

    def buy(i):
        connection.set_tenant(tenant)
        services.place_order(
            dealer=shop.dealer,
            user=shop.buyer,
            lines=[LineInput("AMOX-250", 3)],
            channel="web",
            idempotency_key=f"last-{i}",
        )
        return "ok"

    results = _race(2, buy)
    connection.set_tenant(tenant)
    assert sorted(results) == ["INSUFFICIENT_STOCK", "ok"], results
    batch = Batch.objects.get()
    assert (batch.on_hand, batch.reserved) == (3, 3)


def test_transfers_racing_orders_and_each_other_keep_batches_equal_to_stock(pharma_committed):
    """Orders, lot transfers both ways and core transfers of the same SKU at once: no
    deadlock, nothing over-reserved or moved twice, each warehouse's stock the sum of
    its batches."""
    from core.inventory.services import transfer_stock
    from plugins.pharma.models import Batch
    from plugins.pharma.services import transfer_batch

    tenant = pharma_committed
    shop = build_pharmacy()
    east = shop.receive("MIX", 10, 300)
    west = shop.receive("MIX", 10, 300, warehouse=shop.west)

    def act(i):
        connection.set_tenant(tenant)
        if i in (0, 1):
            services.place_order(
                dealer=shop.dealer,
                user=shop.buyer,
                lines=[LineInput("AMOX-250", 6)],
                channel="web",
                idempotency_key=f"mix-{i}",
            )
        elif i == 2:
            transfer_batch(batch=east, destination=shop.west, quantity=6)
        elif i == 3:
            transfer_batch(batch=west, destination=shop.east, quantity=6)
        else:
            transfer_stock(sku=shop.sku, source=shop.east, destination=shop.west, quantity=3)
        return "ok"

    results = _race(5, act)
    connection.set_tenant(tenant)
    assert all(r in ("ok", "INSUFFICIENT_STOCK") for r in results), results
    for stock in Stock.objects.filter(sku=shop.sku):
        batches = Batch.objects.filter(sku=shop.sku, warehouse_id=stock.warehouse_id)
        assert stock.on_hand == sum(b.on_hand for b in batches)
        assert stock.reserved == sum(b.reserved for b in batches)
    assert sum(s.on_hand for s in Stock.objects.filter(sku=shop.sku)) == 20
    reserved = sum(s.reserved for s in Stock.objects.filter(sku=shop.sku))
    assert reserved == 6 * Order.objects.count()


def _wait_for_a_lock_wait(seconds: float = 20.0) -> bool:
    """Whether another session of this database waits for a row lock (within ``seconds``)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return True
        time.sleep(0.05)
    return False


def test_a_first_lot_received_while_the_order_waits_for_the_stock_is_taken_fefo(
    pharma_committed,
):
    """The order reads its SKUs' facts before locking their stock: a SKU's first lot
    received in between (its receipt holds the stock row until it commits) is not in
    the facts. The order sees the locked stock moved since, asks for the batches, and
    takes the new lot with its reservation, like any order of a batch-tracked SKU."""
    from core.orders.models import Allocation
    from core.testing.factories import StockFactory
    from plugins.pharma.models import Batch, BatchReservation
    from plugins.pharma.services import receive_batch

    tenant = pharma_committed
    shop = build_pharmacy()
    StockFactory(sku=shop.sku, warehouse=shop.east, on_hand=0)  # no lot yet: untracked
    received, commit = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def receive():
        connection.set_tenant(tenant)
        try:
            with transaction.atomic():
                receive_batch(
                    sku=shop.sku,
                    warehouse=shop.east,
                    lot="FIRST",
                    manufactured_on=days(-100),
                    expires_on=days(300),
                    quantity=5,
                )
                received.set()
                commit.wait(30)
        finally:
            connections.close_all()

    def buy():
        connection.set_tenant(tenant)
        try:
            received.wait(30)
            outcome["order"] = services.place_order(
                dealer=shop.dealer,
                user=shop.buyer,
                lines=[LineInput("AMOX-250", 2)],
                channel="web",
                idempotency_key="first-lot",
            ).order
        except DomainError as exc:  # pragma: no cover - reported by the assertion below
            outcome["error"] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=receive), threading.Thread(target=buy)]
    for t in threads:
        t.start()
    try:
        assert received.wait(30)
        assert _wait_for_a_lock_wait(), "the order never waited for the receipt's stock row"
    finally:
        commit.set()
        for t in threads:
            t.join()
    connection.set_tenant(tenant)
    assert "error" not in outcome, outcome
    order = outcome["order"]
    batch = Batch.objects.get(lot="FIRST")
    assert (batch.on_hand, batch.reserved) == (5, 2)
    (allocation,) = Allocation.objects.filter(line__order_id=order.pk)
    assert allocation.data["batch"] == "FIRST"
    assert BatchReservation.objects.get(order_id=order.pk).quantity == 2


def test_a_changed_stock_row_is_seen_even_when_its_on_hand_is_the_same():
    """``_stock_moved`` compares row versions, not quantities: a receipt and an equal
    decrease committed between the facts and the lock leave ``on_hand`` as it was,
    yet the row is a new version, so the batches are checked again."""
    from plugins.pharma.services import SkuFacts, _stock_moved
    from plugins.types import OrderContext

    seen = {7: SkuFacts(tracked=False, controlled=False, stock={70: "1001"})}
    same = Stock(pk=70, sku_id=7, warehouse_id=1, on_hand=10, reserved=0)
    same.row_version = "1001"
    changed = Stock(pk=70, sku_id=7, warehouse_id=1, on_hand=10, reserved=0)
    changed.row_version = "1002"
    context = OrderContext(tenant=None, dealer=None)
    context.locked_stock = [same]
    assert _stock_moved(context, seen, [7]) is False
    context.locked_stock = [changed]
    assert _stock_moved(context, seen, [7]) is True
    context.locked_stock = None  # no lock to compare with: ask the database
    assert _stock_moved(context, seen, [7]) is True
