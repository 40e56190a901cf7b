"""Races on real concurrent connections: oversell, idempotency keys, approvals, credit."""

import threading
from decimal import Decimal

from django.db import connection, connections

from core.exceptions import DomainError
from core.inventory.models import Stock
from core.orders import services
from core.orders.lines import LineInput
from core.orders.models import ApprovalRule, Channel, Order, OrderStatus
from core.testing.factories import DealerUserFactory

from .conftest import build_shop


def run_threads(n, target):
    barrier = threading.Barrier(n)
    results = [None] * n

    def worker(i):
        try:
            barrier.wait()
            results[i] = target(i)
        except DomainError as exc:
            results[i] = exc.code if not hasattr(exc, "errors") else exc.errors[0].code
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    return results


def test_many_buyers_little_stock_never_oversold(committed_db, tenant):
    connection.set_tenant(tenant)
    shop = build_shop(n_skus=1, on_hand=4)  # 8 units in two warehouses
    buyers = [DealerUserFactory(dealer=shop.dealer) for _ in range(12)]

    def buy(i):
        connection.set_tenant(tenant)
        services.place_order(
            dealer=shop.dealer,
            user=buyers[i],
            lines=[LineInput("SKU0", 1)],
            channel=Channel.WEB,
            idempotency_key=f"buyer-{i}",
        )
        return "ok"

    results = run_threads(12, buy)
    connection.set_tenant(tenant)
    assert results.count("ok") == 8 and results.count("INSUFFICIENT_STOCK") == 4
    assert sum(Stock.objects.values_list("reserved", flat=True)) == 8
    assert not Stock.objects.filter(reserved__gt=4).exists()


def test_concurrent_submissions_with_one_key_make_one_order(committed_db, tenant):
    connection.set_tenant(tenant)
    shop = build_shop(n_skus=1)

    def submit(i):
        connection.set_tenant(tenant)
        placed = services.place_order(
            dealer=shop.dealer,
            user=shop.buyer,
            lines=[LineInput("SKU0", 2)],
            channel=Channel.MOBILE,
            idempotency_key="offline-42",
        )
        return placed.order.pk

    results = run_threads(6, submit)
    connection.set_tenant(tenant)
    assert len(set(results)) == 1 and isinstance(results[0], int)
    assert Order.objects.count() == 1
    assert sum(Stock.objects.values_list("reserved", flat=True)) == 2


def test_concurrent_approvals_approve_once(committed_db, tenant):
    connection.set_tenant(tenant)
    shop = build_shop(n_skus=1)
    ApprovalRule.objects.create(
        name="all", kind="amount_over", amount=Decimal("0"), approver_role="staff"
    )
    order = services.place_order(
        dealer=shop.dealer,
        user=shop.buyer,
        lines=[LineInput("SKU0", 1)],
        channel=Channel.WEB,
        idempotency_key="a",
    ).order
    assert order.status == OrderStatus.PENDING_APPROVAL

    def approve(i):
        connection.set_tenant(tenant)
        services.approve_order(order=order, user=shop.staff)
        return "ok"

    results = run_threads(4, approve)
    connection.set_tenant(tenant)
    assert results.count("ok") == 1 and results.count("INVALID_TRANSITION") == 3
    order.refresh_from_db()
    assert order.status == OrderStatus.ALLOCATED
    assert order.transitions.filter(to_status="approved").count() == 1


def test_concurrent_orders_cannot_together_pass_the_credit_limit(committed_db, tenant):
    connection.set_tenant(tenant)
    shop = build_shop(n_skus=1, credit_limit=Decimal("120"))
    from core.orders.models import OrderSettings

    OrderSettings.objects.create(credit_policy="refuse")

    def buy(i):
        connection.set_tenant(tenant)
        services.place_order(
            dealer=shop.dealer,
            user=shop.buyer,
            lines=[LineInput("SKU0", 10)],
            channel=Channel.WEB,
            idempotency_key=f"c{i}",
        )  # 113.00 each
        return "ok"

    results = run_threads(3, buy)
    assert results.count("ok") == 1 and results.count("CREDIT_LIMIT_EXCEEDED") == 2
