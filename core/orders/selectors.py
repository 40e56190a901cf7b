"""Read queries for orders, scoped to what the caller may see."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Prefetch, QuerySet, Sum, prefetch_related_objects

from core.accounts.models import Dealer

from .models import Order, OrderLine, OrderTransition, Shipment


def visible_dealers(user, api_key=None) -> QuerySet[Dealer]:
    from core.accounts import selectors

    if hasattr(selectors, "visible_dealer_ids"):
        return Dealer.objects.filter(pk__in=selectors.visible_dealer_ids(user, api_key=api_key))
    return selectors.dealers_visible_to(user, api_key=api_key)


def orders_visible_to(user, api_key=None) -> QuerySet[Order]:
    """Staff and integrations with ``orders:read`` see all orders; a dealer's users
    see their dealer's (a dealer admin its subtree's); a sales rep its dealers'."""
    return Order.objects.filter(dealer__in=visible_dealers(user, api_key).values("pk"))


def orders_for_listing(
    user, api_key=None, *, status: str | None = None, dealer_id: int | None = None
) -> QuerySet[Order]:
    qs = (
        orders_visible_to(user, api_key)
        .select_related("dealer")
        .prefetch_related(
            Prefetch(
                "lines", queryset=OrderLine.objects.select_related("sku").order_by("position")
            ),
            Prefetch(
                "shipments", queryset=Shipment.objects.select_related("warehouse").order_by("id")
            ),
            Prefetch(
                "transitions", queryset=OrderTransition.objects.select_related("by").order_by("id")
            ),
        )
        .order_by("-id")
    )
    if status:
        qs = qs.filter(status=status)
    if dealer_id:
        qs = qs.filter(dealer_id=dealer_id)
    return qs


def with_details(order: Order) -> Order:
    """Load an order's lines (with SKUs) and shipments (with warehouses) in two queries,
    for answering a mutation without one query per line (none when the order comes
    with them, as a newly placed one does)."""
    cached = getattr(order, "_prefetched_objects_cache", {})
    if "lines" in cached and not all(OrderLine.sku.is_cached(line) for line in cached["lines"]):
        del cached["lines"]  # e.g. free goods placed by id: read them back with their SKUs
    if "lines" in cached and "shipments" in cached:
        return order
    prefetch_related_objects(
        [order],
        Prefetch("lines", queryset=OrderLine.objects.select_related("sku").order_by("position")),
        Prefetch("shipments", queryset=Shipment.objects.select_related("warehouse").order_by("id")),
    )
    return order


def purchases_by_dealer(start, end) -> dict[int, Decimal]:
    """What each dealer bought in ``[start, end)``: order totals (on account or prepaid),
    cancelled and rejected orders excluded, returns credited back. Rebate accrual
    (``core.pricing``) reads this."""
    from .models import OrderReturn, OrderStatus

    totals = dict(
        Order.objects.filter(created_at__gte=start, created_at__lt=end)
        .exclude(status=OrderStatus.CANCELLED)
        .values("dealer_id")
        .annotate(amount=Sum("total"))
        .values_list("dealer_id", "amount")
    )
    for dealer_id, credit in (
        OrderReturn.objects.filter(order__created_at__gte=start, order__created_at__lt=end)
        .values("order__dealer_id")
        .annotate(amount=Sum("credit_amount"))
        .values_list("order__dealer_id", "amount")
    ):
        totals[dealer_id] = totals.get(dealer_id, Decimal("0")) - credit
    return {k: v for k, v in totals.items() if v and v > 0}
