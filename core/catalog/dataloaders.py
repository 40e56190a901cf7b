"""Per-request batch loading of the viewing dealer's prices.

The products connection hands the SKUs of its page to :func:`remember_page`;
the first ``price`` resolved then asks the pricing engine for all of them in
one call (:func:`core.pricing.selectors.price_products_for_dealer`, a constant
number of statements), and every later SKU of the page is answered from
memory. A product fetched alone (``node(id)``) prices just its own SKUs.
Nothing outlives the operation (both live in :func:`core.api.view.operation_cache`),
so no price leaks to another dealer, or into the next operation of a batch.

The page already holds what the engine needs about each SKU (product, brand,
base unit, the category's ancestors from its materialised path); when the
pricing function accepts it (a ``skus`` keyword), it is passed along and the
engine skips re-reading the SKUs.
"""

from __future__ import annotations

import inspect
from functools import lru_cache
from typing import Any

from core.api.view import after_operation, operation_cache


@lru_cache(maxsize=1)
def _pricing_function():
    try:
        from core.pricing.selectors import price_products_for_dealer
    except ImportError:  # pragma: no cover - pricing ships with the platform
        return None, False
    return price_products_for_dealer, "skus" in inspect.signature(
        price_products_for_dealer
    ).parameters


def _lineage(path: str, seen: dict[str, frozenset[int]]) -> frozenset[int]:
    """The category ids of a materialised path ("/1/5/9/"), parsed once per page and path."""
    lineage = seen.get(path)
    if lineage is None:
        lineage = seen[path] = frozenset(int(p) for p in path.strip("/").split("/") if p)
    return lineage


@lru_cache(maxsize=1)
def _sku_info_class():
    try:
        from core.pricing.engine import SkuInfo
    except ImportError:  # pragma: no cover - pricing ships with the platform
        return None
    return SkuInfo


def _product_lineage(product, paths: dict[str, frozenset[int]]) -> frozenset[int]:
    """The ids of the product's category and its ancestors."""
    if hasattr(product, "listing_category_path"):  # a listing without category rows
        return _lineage(product.listing_category_path or "", paths)
    category = product.category if product.category_id else None
    return frozenset(category.lineage_ids) if category is not None else frozenset()


def _sku_info(sku, product, paths: dict[str, frozenset[int]] | None = None) -> Any | None:
    SkuInfo = _sku_info_class()  # noqa: N806 - a class
    if SkuInfo is None:  # pragma: no cover
        return None
    return SkuInfo(
        id=sku.id,
        product_id=product.id,
        brand_id=product.brand_id,
        base_unit=sku.base_unit,
        category_ids=_product_lineage(product, {} if paths is None else paths),
    )


class PriceLoader:
    def __init__(self, dealer) -> None:
        self.dealer = dealer
        self.prices: dict[int, Any] = {}
        self.loaded: set[int] = set()
        self.views: dict[int, PriceView | None] = {}  # SKU id → what price_for answered
        self.pending = None  # the page's pricing statement, sent ahead (send_page_prices)

    def get(self, sku, page: dict[int, Any]) -> Any:
        pk = sku.pk
        if pk not in self.loaded:
            wanted = {pk} | (set(page) - self.loaded)
            pending, self.pending = self.pending, None
            self.prices.update(_price(self.dealer, sorted(wanted), page, pending))
            self.loaded |= wanted
        return self.prices.get(pk)

    def close(self) -> None:
        """Discard a statement sent ahead that nothing read."""
        pending, self.pending = self.pending, None
        if pending is not None:
            pending.close()


def _price(dealer, sku_ids: list[int], page: dict[int, Any], pending=None) -> dict[int, Any]:
    function, accepts_skus = _pricing_function()
    if function is None:
        return {}
    infos = {i: page[i] for i in sku_ids if page.get(i) is not None}
    if accepts_skus and len(infos) == len(sku_ids):
        if pending is not None:
            return function(dealer, sku_ids, skus=infos, pending=pending)
        return function(dealer, sku_ids, skus=infos)
    if pending is not None:
        pending.close()
    return function(dealer, sku_ids)


def send_page_prices(info, dealer, facts) -> bool:
    """Note a page's SKUs from its listing rows, before its objects are built, and send
    their pricing statement for ``dealer`` now: PostgreSQL prices the page while Python
    builds it, and the first price resolved reads the rows. ``facts``: for each product
    of the page, ``(product id, brand id, category path, [(SKU id, base unit), ...])``.
    What :func:`remember_page` would note; False (nothing sent, nothing noted) when
    pricing cannot take the statement ahead, a loader already priced for ``dealer`` in
    this operation, or the page has no SKUs."""
    start, SkuInfo = _page_pricing_starter(), _sku_info_class()  # noqa: N806 - a class
    if dealer is None or start is None or SkuInfo is None:
        return False
    loader = _loader(info, dealer)
    if loader.loaded or loader.pending is not None:
        return False
    page = _page_skus(info)
    if page:
        return False  # another page of the operation: priced with it, the usual way
    skus: dict[int, Any] = {}
    paths: dict[str, frozenset[int]] = {}
    for product_id, brand_id, path, sku_units in facts:
        lineage = _lineage(path or "", paths)
        for sku_id, base_unit in sku_units:
            skus[sku_id] = SkuInfo(sku_id, product_id, brand_id, lineage, base_unit)
    if not skus:
        return False  # nothing to price (an empty page): no statement
    loader.pending = start(dealer, skus)
    page.update(skus)
    # a page whose prices are never resolved (an error first): its rows are discarded
    after_operation(info.context, loader.close)
    return True


@lru_cache(maxsize=1)
def _page_pricing_starter():
    try:
        from core.pricing.selectors import start_page_pricing
    except ImportError:  # pragma: no cover - pricing ships with the platform
        return None
    return start_page_pricing


def remember_page(info, products) -> None:
    """Note the SKUs of a page of products (their prefetched ``skus``) for batch pricing."""
    page = _page_skus(info)
    paths: dict[str, frozenset[int]] = {}
    SkuInfo = _sku_info_class()  # noqa: N806 - a class
    for product in products:
        cache = getattr(product, "_prefetched_objects_cache", None)
        skus = cache.get("skus") if cache else None
        if skus is None:
            continue
        if SkuInfo is None:  # pragma: no cover - pricing ships with the platform
            page.update((sku.id, None) for sku in skus)
            continue
        # the product's facts read once for its SKUs
        product_id, brand_id = product.id, product.brand_id
        lineage = _product_lineage(product, paths)
        for sku in skus:
            # by position (id, product, brand, categories, base unit): keywords cost a
            # quick_init class twice the time, for each of a page's SKUs
            page[sku.id] = SkuInfo(sku.id, product_id, brand_id, lineage, sku.base_unit)


def _page_skus(info) -> dict[int, Any]:
    """SKU id → what pricing needs of it, for the SKUs of the operation's pages."""
    return operation_cache(info.context).setdefault("catalog_page_skus", {})


_VIEWED = (
    "unit_code",
    "unit_price",
    "promoted_unit_price",
    "currency",
    "breaks",
    "promotions",
)


class PriceView:
    """A ``ProductPrice`` as the pricing schema's ``SkuPrice`` type reads it (with
    ``sku_code``). The fields ``SkuPrice`` shows are copied (plain attribute reads for
    the executor), but for its ``source``, which a page's price builds when it is first
    read; anything else is read from the price."""

    __slots__ = ("sku_code", "_price", *_VIEWED)

    def __init__(self, sku_code: str, price: Any) -> None:
        self.sku_code = sku_code
        self._price = price
        try:  # a ProductPrice (the page's): its fields, read once
            self.unit_code = price.unit_code
            self.unit_price = price.unit_price
            self.promoted_unit_price = price.promoted_unit_price
            self.currency = price.currency
            self.breaks = price.breaks
            self.promotions = price.promotions
        except AttributeError:  # another price-like object: what it has
            for name in _VIEWED:
                try:
                    setattr(self, name, getattr(price, name))
                except AttributeError:
                    pass

    def __getattr__(self, name: str) -> Any:
        if name == "_price":  # pragma: no cover - only while unpickling or copying
            raise AttributeError(name)
        return getattr(self._price, name)


def _loader(info, dealer) -> PriceLoader:
    loaders: dict[int, PriceLoader] = operation_cache(info.context).setdefault("price_loaders", {})
    loader = loaders.get(dealer.pk)
    if loader is None:
        loader = loaders[dealer.pk] = PriceLoader(dealer)
    return loader


def price_for(info, dealer, sku) -> PriceView | None:
    """The dealer's price of ``sku`` (a ``ProductPrice`` seen as ``SkuPrice``) or None
    (no dealer, or no price for it)."""
    if dealer is None:
        return None
    loader = _loader(info, dealer)
    views = loader.views
    pk = sku.pk
    if pk in views:  # the page's price, promotions and breaks read it 2-3 times per SKU
        return views[pk]
    page = _page_skus(info)
    if pk not in loader.loaded and pk not in page:
        product = sku.product  # a SKU outside a page (node lookup): price it with its siblings
        remember_page(info, [product])
    price = loader.get(sku, page)
    view = views[pk] = PriceView(sku.code, price) if price is not None else None
    return view


def prices_for_page(info, dealer, skus: list) -> list[PriceView | None]:
    """:func:`price_for` of each of a page's SKUs (noted by :func:`remember_page`), in
    order: the loader looked up once and asked once for the whole page."""
    if dealer is None:
        return [None] * len(skus)
    loader = _loader(info, dealer)
    page = _page_skus(info)
    views = loader.views
    loaded = loader.loaded
    if any(sku.id not in page and sku.id not in loaded for sku in skus):
        return [price_for(info, dealer, sku) for sku in skus]  # not a remembered page
    for sku in skus:
        if sku.id not in loaded:
            loader.get(sku, page)  # prices every remembered SKU not yet priced
            break
    prices = loader.prices
    out = []
    for sku in skus:
        pk = sku.id
        view = views.get(pk, _UNSET)
        if view is _UNSET:
            price = prices.get(pk)
            view = views[pk] = PriceView(sku.code, price) if price is not None else None
        out.append(view)
    return out


_UNSET = object()
