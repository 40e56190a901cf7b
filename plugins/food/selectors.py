"""What a dealer sees of a SKU: its case policy, case and unit prices, shelf life
and the best-before date of the stock it would get.

:func:`product_info` answers for any number of SKUs in a fixed number of
queries (SKUs with policies, prices through
``core.pricing.selectors.price_products_for_dealer`` plus one for case rows,
stock rows, production dates, latest receipts). Unit prices are what an order
would charge (:mod:`plugins.food.pricing`): the tenant's unit price, else the
case price per unit plus the split surcharge.

Best-before, kept simple and honest: the warehouse the dealer would be served
from is the first with available stock in the core's allocation order (the
dealer's region first, then warehouse priority). Its date is the production
date staff recorded for the stock that warehouse ships next
(:class:`~plugins.food.models.ProductionDate`, source ``lot``) plus the SKU's
shelf life. Without a recorded date the latest receipt of that stock is used
(source ``receipt``): goods are produced before they are received, so that
date is the *latest* the best-before can be, and is labelled as such.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Max
from django.utils import timezone

from .models import ProductionDate
from .pricing import case_price, unit_source, with_surcharge
from .rules import NAME, PolicyFacts, load_policies


@dataclass
class FoodProductInfo:
    sku: Any
    policy: PolicyFacts | None
    currency: str
    unit_price: Decimal | None = None  # one single unit, what a unit line pays
    case_price: Decimal | None = None  # one case
    unit_price_derived: bool = False  # from the case price + the split surcharge
    split_surcharge_percent: Decimal | None = None
    units_orderable: bool = True
    warehouse_code: str | None = None
    available: int = 0
    production_date: datetime.date | None = None  # recorded for the stock shipping next
    received_on: datetime.date | None = None  # the latest receipt, when no date is recorded
    best_before: datetime.date | None = None
    best_before_source: str | None = None  # "lot" or "receipt"

    @property
    def days_left(self) -> int | None:
        if self.best_before is None:
            return None
        return (self.best_before - timezone.localdate()).days


def product_info(*, tenant: Any, dealer: Any, sku_codes: list[str]) -> list[FoodProductInfo]:
    """Info for the SKUs of ``sku_codes`` the dealer may order, in the order asked."""
    from core.catalog.models import Sku
    from core.catalog.selectors import authorised_products
    from core.inventory.models import MovementReason, Stock, StockMovement
    from core.inventory.services import stock_rank
    from core.pricing.engine import order_lists
    from core.pricing.selectors import dealer_context, load_price_rows, price_products_for_dealer
    from plugins.services import plugin_settings

    codes = list(dict.fromkeys(c.strip() for c in sku_codes if c and c.strip()))
    if not codes:
        return []
    skus = {
        s.code: s
        for s in Sku.objects.filter(
            code__in=codes, is_active=True, product__in=authorised_products(dealer)
        )
    }
    if not skus:
        return []
    ids = [s.pk for s in skus.values()]
    settings = plugin_settings(tenant=tenant, name=NAME)
    allow_mixed = bool(settings["allow_mixed_cases"])
    percent = settings["split_surcharge_percent"]
    policies = load_policies(ids)
    base_prices = price_products_for_dealer(dealer, ids)
    lists = order_lists(load_price_rows(dealer_context(dealer), ids, timezone.now()))
    stocks: dict[int, list] = {}
    rank = stock_rank(dealer.region or "")
    for stock in sorted(
        Stock.objects.select_related("warehouse").filter(sku_id__in=ids, warehouse__is_active=True),
        key=rank,
    ):
        stocks.setdefault(stock.sku_id, []).append(stock)
    dates = {
        (row.sku_id, row.warehouse_id): row.production_date
        for row in ProductionDate.objects.filter(sku_id__in=ids)
    }
    receipts = dict(
        StockMovement.objects.filter(
            stock__sku_id__in=ids, reason=MovementReason.RECEIPT, quantity__gt=0
        )
        .values("stock_id")
        .annotate(last=Max("created_at"))
        .values_list("stock_id", "last")
    )
    out: list[FoodProductInfo] = []
    for code in codes:
        sku = skus.get(code)
        if sku is None:
            continue
        policy = policies.get(sku.pk)
        base = base_prices.get(sku.pk)
        info = FoodProductInfo(sku=sku, policy=policy, currency=dealer.currency)
        info.unit_price = base.unit_price if base else None
        if policy is not None:
            sku_lists = lists.get(sku.pk, [])
            info.case_price = case_price(sku_lists, sku, policy)
            if info.case_price is None and info.unit_price is not None:
                info.case_price = info.unit_price * policy.case_size
            per_unit = info.case_price / policy.case_size if info.case_price is not None else None
            mixed = allow_mixed and policy.group_code and policy.policy == "case_only"
            if policy.policy == "case_only" and not mixed:
                info.units_orderable, info.unit_price = False, None
            elif mixed and per_unit is not None:
                info.unit_price = per_unit.quantize(Decimal("0.0001"))
            else:
                source = unit_source(sku_lists, sku, policy, max(policy.min_units, 1))
                if source is not None and source[0] == "case":
                    info.unit_price = with_surcharge(source[1] / policy.case_size, percent)
                    info.unit_price_derived = True
                    info.split_surcharge_percent = percent
        serving = next((s for s in stocks.get(sku.pk, []) if s.available > 0), None)
        if serving is not None:
            info.warehouse_code, info.available = serving.warehouse.code, serving.available
            info.production_date = dates.get((sku.pk, serving.warehouse_id))
            if serving.pk in receipts:
                info.received_on = timezone.localtime(receipts[serving.pk]).date()
            start, source = (
                (info.production_date, "lot")
                if info.production_date
                else (info.received_on, "receipt")
            )
            if start and policy is not None and policy.shelf_life_days:
                info.best_before = start + datetime.timedelta(days=policy.shelf_life_days)
                info.best_before_source = source
        out.append(info)
    return out
