"""Stock views: the enterprise (all warehouses), one warehouse, and a dealer (what it can get, where)."""

from __future__ import annotations

from django.db.models import F, QuerySet, Sum

from core.accounts.models import Dealer

from .models import Stock, StockMovement


def stock_levels(
    *, warehouse_code: str | None = None, sku_code: str | None = None, low_only: bool = False
) -> QuerySet[Stock]:
    """Stock rows for staff and integrations, with warehouse and SKU loaded."""
    qs = Stock.objects.select_related("warehouse", "sku").order_by(
        "sku__code", "warehouse__priority"
    )
    if warehouse_code:
        qs = qs.filter(warehouse__code=warehouse_code)
    if sku_code:
        qs = qs.filter(sku__code=sku_code)
    if low_only:
        qs = qs.filter(safety_stock__gt=0, on_hand__lt=F("reserved") + F("safety_stock"))
    return qs


def enterprise_totals(sku_ids: list[int] | None = None) -> QuerySet:
    """On hand, reserved and available per SKU across active warehouses (one query)."""
    qs = Stock.objects.filter(warehouse__is_active=True)
    if sku_ids is not None:
        qs = qs.filter(sku_id__in=sku_ids)
    return (
        qs.values("sku_id", "sku__code")
        .annotate(
            on_hand=Sum("on_hand"),
            reserved=Sum("reserved"),
            available=Sum(F("on_hand") - F("reserved")),
        )
        .order_by("sku__code")
    )


def dealer_availability(dealer: Dealer, sku_codes: list[str]) -> list[dict]:
    """For a dealer: per SKU, how many it can get and from which warehouses (its region first).

    Only active warehouses count; on-hand and reserved figures are not shown to dealers.
    """
    rows = (
        Stock.objects.filter(sku__code__in=sku_codes, warehouse__is_active=True)
        .select_related("warehouse", "sku")
        .order_by("sku__code", "warehouse__priority")
    )
    result: dict[str, dict] = {
        c: {"sku_code": c, "available": 0, "warehouses": []} for c in sku_codes
    }
    for s in rows:
        entry = result[s.sku.code]
        available = max(s.on_hand - s.reserved, 0)
        entry["available"] += available
        if available:
            entry["warehouses"].append(
                {
                    "code": s.warehouse.code,
                    "name": s.warehouse.name,
                    "region": s.warehouse.region,
                    "available": available,
                    "in_region": bool(dealer.region) and s.warehouse.region == dealer.region,
                }
            )
    for entry in result.values():
        entry["warehouses"].sort(key=lambda w: (not w["in_region"], -w["available"]))
    return list(result.values())


def movements(stock: Stock, limit: int = 100) -> QuerySet[StockMovement]:
    return stock.movements.select_related("created_by").order_by("-id")[:limit]
