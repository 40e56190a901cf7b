"""Per-request batch loading of the viewing dealer's prices.

The products connection hands the SKUs of its page to :func:`remember_page`;
the first ``price`` resolved then asks the pricing engine for all of them in
one call (:func:`core.pricing.selectors.price_products_for_dealer`, a constant
number of statements), and every later SKU of the page is answered from
memory. A product fetched alone (``node(id)``) prices just its own SKUs.
Nothing outlives the request, so no price leaks to another dealer.
"""

from __future__ import annotations

from typing import Any


class PriceLoader:
    def __init__(self, dealer) -> None:
        self.dealer = dealer
        self.prices: dict[int, Any] = {}
        self.loaded: set[int] = set()

    def get(self, sku, page: set[int]) -> Any:
        if sku.pk not in self.loaded:
            wanted = {sku.pk} | (page - self.loaded)
            cache = getattr(sku.product, "_prefetched_objects_cache", {}) if hasattr(sku, "product") else {}
            if "skus" in cache:
                wanted |= {s.pk for s in cache["skus"]}
            self.prices.update(_price(self.dealer, sorted(wanted)))
            self.loaded |= wanted
        return self.prices.get(sku.pk)


def _price(dealer, sku_ids: list[int]) -> dict[int, Any]:
    try:
        from core.pricing.selectors import price_products_for_dealer
    except ImportError:  # pragma: no cover - pricing ships with the platform
        return {}
    return price_products_for_dealer(dealer, sku_ids)


def remember_page(info, products) -> None:
    """Note the SKUs of a page of products (their prefetched ``skus``) for batch pricing."""
    page: set[int] = getattr(info.context, "_catalog_page_skus", set())
    for product in products:
        cache = getattr(product, "_prefetched_objects_cache", {})
        if "skus" in cache:
            page.update(s.pk for s in cache["skus"])
    info.context._catalog_page_skus = page


def price_for(info, dealer, sku) -> Any | None:
    """The dealer's price of ``sku`` (a ``ProductPrice``) or None (no dealer, or no price)."""
    if dealer is None:
        return None
    loaders: dict[int, PriceLoader] = getattr(info.context, "_price_loaders", None) or {}
    info.context._price_loaders = loaders
    loader = loaders.get(dealer.pk)
    if loader is None:
        loader = loaders[dealer.pk] = PriceLoader(dealer)
    return loader.get(sku, getattr(info.context, "_catalog_page_skus", set()))
