"""Read queries for the catalogue."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet, Sum

from core.inventory.models import Stock

from .models import Product, ProductStatus, Sku


def products_for_listing(*, search: str | None = None, include_inactive: bool = False) -> QuerySet[Product]:
    """Products with their SKUs and each SKU's available quantity, in two queries."""
    skus = Sku.objects.annotate(
        on_hand_total=Sum("stocks__on_hand", filter=_active_stock()),
        reserved_total=Sum("stocks__reserved", filter=_active_stock()),
    ).order_by("code")
    qs = Product.objects.prefetch_related(Prefetch("skus", queryset=skus)).order_by("id")
    if not include_inactive:
        qs = qs.filter(status=ProductStatus.ACTIVE)
    if search:
        qs = qs.filter(name__icontains=search.strip())
    return qs


def _active_stock():
    from django.db.models import Q

    return Q(stocks__warehouse__is_active=True)


def available_quantity(sku: Sku) -> int:
    on_hand = getattr(sku, "on_hand_total", None)
    if on_hand is None:
        agg = Stock.objects.filter(sku=sku, warehouse__is_active=True).aggregate(
            on_hand=Sum("on_hand"), reserved=Sum("reserved")
        )
        return (agg["on_hand"] or 0) - (agg["reserved"] or 0)
    return (on_hand or 0) - (getattr(sku, "reserved_total", 0) or 0)
