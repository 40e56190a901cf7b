"""A dealer's price lists in resolution order, and its live prices for a page of hits.

Both come from the pricing app (``core.pricing``); without it there are no
prices and price sorting falls back to name order.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from django.apps import apps
from django.utils import timezone


def price_list_chain(dealer, at: datetime | None = None) -> tuple[int, ...]:
    """The dealer's applicable price lists, first wins: own, region, tier, base
    (within a kind: higher priority, then later ``valid_from``)."""
    if dealer is None or not apps.is_installed("core.pricing"):
        return ()
    from core.pricing.models import KIND_RANK, PriceList
    from core.pricing.selectors import applicable_lists_q, dealer_context

    rows = PriceList.objects.filter(
        applicable_lists_q(dealer_context(dealer), at or timezone.now())
    )
    ordered = sorted(
        rows.values_list("id", "kind", "priority", "valid_from"),
        key=lambda r: (
            KIND_RANK.get(r[1], 99),
            -r[2],
            -(r[3].timestamp() if r[3] else float("-inf")),
            r[0],
        ),
    )
    return tuple(r[0] for r in ordered)


def dealer_prices(dealer, product_ids: Iterable[int]) -> dict[int, tuple[Decimal, str]]:
    """``{product_id: (lowest base-unit price over its SKUs, currency)}`` for ``dealer``, live."""
    if dealer is None or not apps.is_installed("core.pricing"):
        return {}
    from core.catalog.models import Sku
    from core.pricing.selectors import price_products_for_dealer

    sku_products = dict(
        Sku.objects.filter(product_id__in=list(product_ids)).values_list("id", "product_id")
    )
    out: dict[int, tuple[Decimal, str]] = {}
    for sku_id, price in price_products_for_dealer(dealer, sku_products).items():
        pid = sku_products[sku_id]
        amount = price.promoted_unit_price
        if pid not in out or amount < out[pid][0]:
            out[pid] = (amount, price.currency)
    return out
