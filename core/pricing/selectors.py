"""Read queries for pricing: a dealer's prices and carts, credit, rebates, quotes.

The hot paths run a constant number of SQL statements whatever the number of
lines or SKUs:

* :func:`price_cart`: SKUs with their category ancestors (1), promotions for
  the dealer (2), prices of the applicable lists (3); a fourth only when a
  buy-X-get-Y promotion gives a SKU that no applicable list prices.
* :func:`price_products_for_dealer`: SKUs (1, unless the caller hands them in),
  then the promotions and the prices in one statement (2: both queries side by
  side, the prices already in resolution order).

Nothing a dealer's prices come from is kept between calls, so nothing can leak
from one dealer to another. Product pages keep only what follows from promotion
rows alone (each row's rule, and what a set of rules gives a SKU: see
:class:`PagePromotions`), found again by the rows' contents.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from itertools import groupby
from operator import itemgetter

import orjson
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from core.accounts.models import Dealer, User
from core.catalog.models import Category, Product, Sku
from core.exceptions import DomainError
from core.sql import PendingRows, execute_prepared, int_array, send_prepared

from .engine import (
    CartLine,
    DealerContext,
    PriceBreak,
    PricedCart,
    PricedLine,
    PriceRow,
    PriceSource,
    PriceWording,
    PromotionEngine,
    PromotionRule,
    ResolvedPrice,
    SkuInfo,
    apply_promotions,
    build_cart,
    can_price_one_unit,
    is_line_kind,
    one_unit_pricer,
    one_unit_promoted_price,
    order_lists,
    quick_init,
    resolve_line_price,
)
from .models import (
    KIND_RANK,
    CreditAccount,
    CreditEntry,
    PriceList,
    PriceListAssignment,
    PriceListItem,
    PriceListKind,
    Promotion,
    PromotionDealerUsage,
    PromotionKind,
    Quote,
    RebateAccount,
    RebateEntry,
)
from .money import ZERO, quantize


def dealer_context(dealer: Dealer) -> DealerContext:
    return DealerContext(
        id=dealer.pk, tier=dealer.tier or "", region=dealer.region or "", currency=dealer.currency
    )


# --- loading ------------------------------------------------------------------------------
def load_skus(sku_ids: Iterable[int]) -> dict[int, SkuInfo]:
    """SKUs with their product, brand, base unit and category with every ancestor: one query."""
    ids = sorted({int(i) for i in sku_ids})
    if not ids:
        return {}
    sku_t, product_t, cat_t = Sku._meta.db_table, Product._meta.db_table, Category._meta.db_table
    sql = f"""
        WITH RECURSIVE wanted AS (
            SELECT s.id AS sku_id, s.product_id, s.base_unit, p.brand_id, p.category_id
            FROM {sku_t} s JOIN {product_t} p ON p.id = s.product_id
            WHERE s.id = ANY(%s)
        ), up(category_id, ancestor_id) AS (
            SELECT DISTINCT category_id, category_id FROM wanted WHERE category_id IS NOT NULL
            UNION
            SELECT up.category_id, c.parent_id FROM up JOIN {cat_t} c ON c.id = up.ancestor_id
            WHERE c.parent_id IS NOT NULL
        )
        SELECT w.sku_id, w.product_id, w.brand_id, w.base_unit,
               COALESCE((SELECT array_agg(up.ancestor_id) FROM up
                         WHERE up.category_id = w.category_id), ARRAY[]::bigint[])
        FROM wanted w
    """  # noqa: S608 - table names come from the models, values are parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, [ids])
        rows = cursor.fetchall()
    return {
        r[0]: SkuInfo(
            id=r[0], product_id=r[1], brand_id=r[2], base_unit=r[3], category_ids=frozenset(r[4])
        )
        for r in rows
    }


def applicable_lists_q(dealer: DealerContext, at: datetime, prefix: str = "") -> Q:
    """The lists that may price for ``dealer`` at ``at``: active, in the dealer's
    currency, valid then, and the base list, its tier's, its region's or its own."""
    p = prefix
    audience = Q(**{f"{p}kind": PriceListKind.BASE}) | Q(
        **{f"{p}kind": PriceListKind.DEALER},
        **{
            f"{p}id__in": PriceListAssignment.objects.filter(dealer_id=dealer.id).values(
                "price_list_id"
            )
        },
    )
    if dealer.tier:
        audience |= Q(**{f"{p}kind": PriceListKind.TIER, f"{p}tier": dealer.tier})
    if dealer.region:
        audience |= Q(**{f"{p}kind": PriceListKind.REGION, f"{p}region": dealer.region})
    return (
        Q(**{f"{p}is_active": True, f"{p}currency": dealer.currency})
        & (Q(**{f"{p}valid_from__isnull": True}) | Q(**{f"{p}valid_from__lte": at}))
        & (Q(**{f"{p}valid_to__isnull": True}) | Q(**{f"{p}valid_to__gt": at}))
        & audience
    )


def load_price_rows(dealer: DealerContext, sku_ids: Iterable[int], at: datetime) -> list[PriceRow]:
    """Every quantity break of the lists that may price these SKUs for the dealer: one query.

    The lists are those of :func:`applicable_lists_q` (a test checks the two agree);
    the statement is written out because building it with the ORM cost more than
    running it on a product page.
    """
    return [PriceRow(*r) for r in _price_rows(dealer, sku_ids, at)]


# The rank of a list's kind in resolution order (engine.order_lists), in SQL.
_KIND_RANK_SQL = (
    "CASE l.kind "
    + " ".join(f"WHEN '{kind}' THEN {rank}" for kind, rank in KIND_RANK.items())
    + " END"
)


def _price_rows(dealer: DealerContext, sku_ids: Iterable[int], at: datetime) -> list[tuple]:
    """:func:`load_price_rows` as the statement's rows (PriceRow's fields, in order)."""
    ids = sorted({int(i) for i in sku_ids})
    if not ids:
        return []
    sql, params = _price_rows_query(dealer, ids, at)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _price_rows_query(dealer: DealerContext, ids: list[int], at: datetime) -> tuple[str, list]:
    """The statement of :func:`load_price_rows`, unordered, and its parameters."""
    item_t, list_t = PriceListItem._meta.db_table, PriceList._meta.db_table
    applicable, params = _applicable_lists_sql(dealer, at)
    sql = f"""
        SELECT i.price_list_id, l.code, l.name, l.kind, l.priority, l.valid_from, l.currency,
               i.sku_id, i.unit_code, i.min_quantity, i.unit_price
        FROM {item_t} i JOIN {list_t} l ON l.id = i.price_list_id
        WHERE i.sku_id = ANY(%s::bigint[])
          AND {applicable}
    """  # noqa: S608 - table names come from the models, values are parameters
    return sql, [int_array(ids), *params]


def _applicable_lists_sql(dealer: DealerContext, at: datetime) -> tuple[str, list]:
    """The condition on a price list ``l`` of :func:`applicable_lists_q` (active, in the
    dealer's currency, valid at ``at``, the base list or the dealer's tier's, region's
    or own) written out, and its parameters."""
    assign_t = PriceListAssignment._meta.db_table
    audience = [
        f"l.kind = '{PriceListKind.BASE}'",
        f"(l.kind = '{PriceListKind.DEALER}' AND l.id IN "
        f"(SELECT a.price_list_id FROM {assign_t} a WHERE a.dealer_id = %s))",
    ]
    params: list = [dealer.currency, at, at, dealer.id]
    if dealer.tier:
        audience.append(f"(l.kind = '{PriceListKind.TIER}' AND l.tier = %s)")
        params.append(dealer.tier)
    if dealer.region:
        audience.append(f"(l.kind = '{PriceListKind.REGION}' AND l.region = %s)")
        params.append(dealer.region)
    sql = f"""l.is_active AND l.currency = %s
          AND (l.valid_from IS NULL OR l.valid_from <= %s)
          AND (l.valid_to IS NULL OR l.valid_to > %s)
          AND ({" OR ".join(audience)})"""  # noqa: S608 - table names and kinds come from the code
    return sql, params


# The column of a page pricing statement's promotion rows holding the promotion (see
# _page_pricing and _page_rule).
_PROMOTION_COLUMN = 10


def _page_pricing(
    dealer: DealerContext,
    skus: dict[int, SkuInfo],
    at: datetime,
    rows: list[tuple] | None = None,
) -> tuple[PagePromotions, dict[int, tuple], list[tuple]]:
    """What a page's prices need, in one statement: :func:`load_promotions` (line
    promotions only, in its order), the lists of :func:`load_price_rows` and their price
    rows, ordered by SKU, then each SKU's lists in resolution order (as
    :func:`~core.pricing.engine.order_lists` orders them), then break. The queries are
    the ones those functions run, side by side (``UNION ALL``), with each list's place
    in resolution order (``position``, a window over the few applicable lists) and its
    code, kind and currency read once: the statement sorts on four narrow leading
    columns, and a page does not decode a list's strings for each of its rows. Each
    promotion comes as one JSON text (:func:`_page_rule`, which decodes a promotion
    once for every page it comes back on), so the rows have eleven columns, not
    twenty-two.

    ``(promotions, lists, price rows)``: ``promotions`` a :class:`PagePromotions`
    (its ``rules`` those of :func:`load_promotions`), ``lists`` maps a list's position to
    ``(price_list_id, code, kind, currency)``; a price row is ``(2, sku_id, position,
    min_quantity, ..., unit_code, unit_price, ...)`` (``unit_code`` and ``unit_price``
    at 8 and 9), a SKU's rows of one list ascending by break (each unit's breaks in
    order, units interleaved). ``rows``: the statement's rows when it was sent ahead
    (:func:`start_page_pricing`)."""
    if rows is None:
        # prepared: PostgreSQL plans it once per connection, as the page's products statement
        rows = execute_prepared(connection, *_page_pricing_statement(dealer, skus, at))
    rules, lists = [], {}
    for at_row, row in enumerate(rows):
        part = row[0]
        if part == 0:
            rules.append(_page_rule(row[_PROMOTION_COLUMN]))
        elif part == 1:
            lists[row[1]] = row[4:8]
        else:
            return PagePromotions(rules, dealer.currency), lists, rows[at_row:]
    return PagePromotions(rules, dealer.currency), lists, []


def _page_pricing_statement(
    dealer: DealerContext, skus: dict[int, SkuInfo], at: datetime
) -> tuple[str, list]:
    """The statement of :func:`_page_pricing` and its parameters."""
    sku_array = int_array(sorted(skus))
    promotions_sql, promotion_params = _promotions_query(
        dealer, skus, at, order_level=False, sku_array=sku_array
    )
    applicable, list_params = _applicable_lists_sql(dealer, at)
    item_t, list_t = PriceListItem._meta.db_table, PriceList._meta.db_table
    sql = f"""
        WITH pr AS ({promotions_sql}), l AS (
            SELECT l.id, l.code, l.kind, l.currency,
                   row_number() OVER (ORDER BY {_KIND_RANK_SQL}, l.priority DESC,
                                      l.valid_from DESC NULLS LAST, l.id) AS position
            FROM {list_t} l
            WHERE {applicable}
        )
        SELECT 0, -pr.priority, pr.id, 0,
               NULL::bigint, NULL::varchar, NULL::varchar, NULL::varchar, NULL::varchar,
               NULL::numeric,
               json_build_array(pr.id, pr.code, pr.name, pr.kind, pr.currency, pr.rule::json,
                                pr.priority, pr.stackable, pr.sku_ids, pr.product_ids,
                                pr.category_ids, pr.brand_ids)::text
        FROM pr
        UNION ALL
        SELECT 1, l.position, 0, 0, l.id, l.code, l.kind, l.currency, NULL, NULL, NULL
        FROM l
        UNION ALL
        SELECT 2, i.sku_id, l.position, i.min_quantity,
               NULL, NULL, NULL, NULL, i.unit_code, i.unit_price, NULL
        FROM {item_t} i JOIN l ON l.id = i.price_list_id
        WHERE i.sku_id = ANY(%s::bigint[])
        ORDER BY 1, 2, 3, 4
    """  # noqa: S608 - the parts are written out above, values are parameters
    return sql, [*promotion_params, *list_params, sku_array]


@dataclass(eq=False)
class PagePricing:
    """A page's pricing statement sent ahead (:func:`start_page_pricing`), for
    :func:`price_products_for_dealer` to read (``pending=``)."""

    dealer: DealerContext
    skus: dict[int, SkuInfo]
    at: datetime
    statement: PendingRows

    def close(self) -> None:
        """Discard the statement's rows when nothing is going to read them."""
        self.statement.close()


def start_page_pricing(dealer: Dealer, skus: dict[int, SkuInfo]) -> PagePricing:
    """Send the pricing statement of these SKUs (:func:`_page_pricing`) for ``dealer``
    now, so PostgreSQL runs it while the page builds its objects:
    :func:`price_products_for_dealer` given it (``pending=``) for the same dealer and
    SKUs reads its rows instead of running the statement. It must be read or closed."""
    ctx, at = dealer_context(dealer), timezone.now()
    statement = send_prepared(connection, *_page_pricing_statement(ctx, skus, at))
    return PagePricing(ctx, skus, at, statement)


def load_promotions(
    dealer: DealerContext, skus: dict[int, SkuInfo], at: datetime, *, order_level: bool = True
) -> list[PromotionRule]:
    """Live promotions for this dealer that could touch these SKUs: one query.

    Live: active, started, not ended, in the dealer's currency (or none), total
    and per-dealer usage below their limits. Targeted: no audience, or the
    dealer's id, tier or region. Relevant: a SKU, product, brand or category
    (ancestors included) of the cart, or an order-level threshold without
    products (only when ``order_level``). Highest priority first, then by id.
    """
    sql, params = _promotions_query(dealer, skus, at, order_level=order_level)
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} ORDER BY p.priority DESC, p.id", params)
        return _promotion_rules(cursor.fetchall())


def _promotions_query(
    dealer: DealerContext,
    skus: dict[int, SkuInfo],
    at: datetime,
    *,
    order_level: bool,
    sku_array: str | None = None,
) -> tuple[str, list]:
    """The statement of :func:`load_promotions`, unordered, and its parameters;
    ``sku_array``: the SKU ids' array literal when the caller has it."""
    promo_t, usage_t = Promotion._meta.db_table, PromotionDealerUsage._meta.db_table
    audience = [
        "(p.dealer_ids = '{}' AND p.tiers = '{}' AND p.regions = '{}')",
        "p.dealer_ids @> ARRAY[%s]::bigint[]",
    ]
    params: list = [dealer.id]
    if dealer.tier:
        audience.append("p.tiers @> ARRAY[%s]::varchar[]")
        params.append(dealer.tier)
    if dealer.region:
        audience.append("p.regions @> ARRAY[%s]::varchar[]")
        params.append(dealer.region)
    relevant = ["p.sku_ids && %s::bigint[]", "p.product_ids && %s::bigint[]"]
    if sku_array is None:
        sku_array = int_array(sorted(skus))
    params += [sku_array, int_array(sorted({s.product_id for s in skus.values()}))]
    brands = sorted({s.brand_id for s in skus.values() if s.brand_id is not None})
    if brands:
        relevant.append("p.brand_ids && %s::bigint[]")
        params.append(int_array(brands))
    categories = sorted(set().union(*(s.category_ids for s in skus.values()))) if skus else []
    if categories:
        relevant.append("p.category_ids && %s::bigint[]")
        params.append(int_array(categories))
    if order_level:
        relevant.append(
            f"(p.kind = '{PromotionKind.SPEND_THRESHOLD}' AND p.sku_ids = '{{}}' AND p.product_ids = '{{}}'"
            " AND p.category_ids = '{}' AND p.brand_ids = '{}')"
        )
    sql = f"""
        SELECT p.id, p.code, p.name, p.kind, p.currency, p.rule::text, p.priority, p.stackable,
               p.sku_ids, p.product_ids, p.category_ids, p.brand_ids
        FROM {promo_t} p
        WHERE p.is_active
          AND (p.starts_at IS NULL OR p.starts_at <= %s)
          AND (p.ends_at IS NULL OR p.ends_at > %s)
          AND (p.currency = '' OR p.currency = %s)
          AND (p.usage_limit IS NULL OR p.used_count < p.usage_limit)
          AND (p.usage_limit_per_dealer IS NULL OR COALESCE(
                (SELECT u.used_count FROM {usage_t} u WHERE u.promotion_id = p.id AND u.dealer_id = %s
                 LIMIT 1), 0) < p.usage_limit_per_dealer)
          AND ({" OR ".join(audience)})
          AND ({" OR ".join(relevant)})
    """  # noqa: S608 - table names and kinds come from the code, values are parameters
    return sql, [at, at, dealer.currency, dealer.id, *params]


def _promotion_rules(rows: Iterable[Sequence]) -> list[PromotionRule]:
    """Promotion rules from rows of :func:`load_promotions`' columns (a page reads a few
    dozen per request: built positionally, an empty target set shared). Each rule, a
    ``jsonb`` column read as text, is decoded by orjson (a fifth of the time of the
    standard decoder psycopg uses for ``jsonb``)."""
    return [_promotion_rule(r, _json(r[5])) for r in rows]


def _json(text: str):
    """``text`` decoded by orjson; what it refuses (an integer beyond 64 bits) by the
    standard decoder."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _promotion_rule(r: Sequence, rule: dict) -> PromotionRule:
    """The rule of one row of :func:`load_promotions`' columns, its rule decoded."""
    no_ids = _NO_IDS
    return PromotionRule(
        r[0],  # id
        r[1],  # code
        r[2],  # name
        r[3],  # kind
        r[4],  # currency
        rule,
        r[6],  # priority
        r[7],  # stackable
        frozenset(r[8]) if r[8] else no_ids,  # sku_ids
        frozenset(r[9]) if r[9] else no_ids,  # product_ids
        frozenset(r[10]) if r[10] else no_ids,  # category_ids
        frozenset(r[11]) if r[11] else no_ids,  # brand_ids
    )


_NO_IDS: frozenset[int] = frozenset()


# --- price_cart ------------------------------------------------------------------------
def price_cart(
    *,
    dealer: Dealer,
    lines: Sequence[CartLine],
    at: datetime | None = None,
    require_prices: bool = True,
) -> PricedCart:
    """Price a dealer's cart: list prices, quantity breaks, promotions, totals.

    Every line must be priced by one of the dealer's lists; otherwise a
    ``NO_PRICE`` error names the line (``lines.<index>``). With
    ``require_prices=False`` (an order at quoted prices) such a line is priced
    0 with a source of kind ``"none"`` instead. Quantities must be positive.
    Runs three SQL statements (four when a free SKU has no price), whatever the
    number of lines. Amounts are in the dealer's currency, line amounts and
    discounts rounded to its minor unit.
    """
    at = at or timezone.now()
    ctx = dealer_context(dealer)
    for index, line in enumerate(lines):
        if line.quantity <= 0 or line.base_quantity <= 0:
            raise DomainError(
                _("The quantity must be at least 1."),
                code="INVALID_QUANTITY",
                field=f"lines.{index}.quantity",
            )
    skus = load_skus(line.sku_id for line in lines)
    promotions = load_promotions(ctx, skus, at)
    free_sku_ids = {
        int(p.rule["get_sku_id"])
        for p in promotions
        if p.kind == PromotionKind.BUY_X_GET_Y and p.rule.get("get_sku_id")
    }
    rows = load_price_rows(ctx, {*skus, *free_sku_ids}, at)
    lists_by_sku = order_lists(rows)
    priced: list[PricedLine] = []
    for index, line in enumerate(lines):
        info = skus.get(line.sku_id)
        if info is None:
            raise DomainError(_("Unknown SKU."), code="NOT_FOUND", field=f"lines.{index}.sku_id")
        resolved = resolve_line_price(
            lists_by_sku.get(line.sku_id, []),
            unit_code=line.unit_code,
            quantity=line.quantity,
            base_quantity=line.base_quantity,
            base_unit=info.base_unit,
        )
        if resolved is None and not require_prices:
            resolved = _unpriced(line.unit_code, ctx.currency)
        if resolved is None:
            raise DomainError(
                _("No price for this SKU and unit in your price lists."),
                code="NO_PRICE",
                field=f"lines.{index}",
                sku_id=line.sku_id,
                unit_code=line.unit_code,
            )
        priced.append(
            PricedLine(
                index=index,
                sku_id=line.sku_id,
                unit_code=line.unit_code,
                quantity=line.quantity,
                base_quantity=line.base_quantity,
                currency=ctx.currency,
                list_price=resolved.list_price,
                unit_price=resolved.unit_price,
                quantity_break=resolved.source.min_quantity,
                source=resolved.source,
                gross=quantize(resolved.unit_price * line.quantity, ctx.currency),
            )
        )
    free_prices = _free_prices(free_sku_ids, lists_by_sku, skus)
    engine = PromotionEngine(
        lines=priced, skus=skus, currency=ctx.currency, free_prices=free_prices
    )
    applied, skipped = apply_promotions(engine, promotions)
    return build_cart(dealer=ctx, lines=priced, engine=engine, applied=applied, skipped=skipped)


def _unpriced(unit_code: str, currency: str) -> ResolvedPrice:
    source = PriceSource(
        price_list_id=0,
        price_list_code="",
        kind="none",
        unit_code=unit_code,
        min_quantity=1,
        list_unit_price=ZERO,
        factor=1,
        explanation=_("No list price for this SKU and unit."),
    )
    return ResolvedPrice(
        unit_price=ZERO, list_price=ZERO, currency=currency, source=source, breaks=()
    )


def _free_prices(
    sku_ids: set[int], lists_by_sku: dict[int, list[list[PriceRow]]], skus: dict[int, SkuInfo]
) -> dict[int, tuple[str, Decimal]]:
    """Base unit and one-unit price of SKUs given free (for the free lines' value)."""
    units = {sid: info.base_unit for sid, info in skus.items()}
    missing = [sid for sid in sku_ids if sid not in units]
    if missing:
        units.update(dict(Sku.objects.filter(id__in=missing).values_list("id", "base_unit")))
    result: dict[int, tuple[str, Decimal]] = {}
    for sid in sku_ids:
        unit = units.get(sid, "")
        resolved = resolve_line_price(
            lists_by_sku.get(sid, []), unit_code=unit, quantity=1, base_quantity=1, base_unit=unit
        )
        result[sid] = (unit, resolved.unit_price if resolved else ZERO)
    return result


# --- listing prices -------------------------------------------------------------------------
@quick_init
@dataclass(frozen=True)
class PromotionInfo:
    id: int
    code: str
    name: str
    kind: str
    stackable: bool
    priority: int


@quick_init
@dataclass(frozen=True)
class ProductPrice:
    """A SKU's price for a dealer, per base unit, for product pages and listings."""

    sku_id: int
    unit_code: str
    unit_price: Decimal  # one base unit, no promotion
    promoted_unit_price: Decimal  # one base unit after the line promotions that would apply
    currency: str
    breaks: tuple[PriceBreak, ...]
    promotions: tuple[PromotionInfo, ...]
    source: PriceSource

    def __getattr__(self, name: str):
        # A page's price (_page_price) builds its source, explanation and all, the first
        # time it is read: a page that does not show it (most) never formats it.
        facts = self.__dict__.get("_source_facts") if name == "source" else None
        if facts is None:
            raise AttributeError(name)
        source = self.__dict__["source"] = _page_source(facts)
        return source


def _page_price(
    sku_id: int,
    unit_code: str,
    unit_price: Decimal,
    promoted_unit_price: Decimal,
    currency: str,
    breaks: tuple[PriceBreak, ...],
    promotions: tuple[PromotionInfo, ...],
    source_facts: tuple,
) -> ProductPrice:
    """A :class:`ProductPrice` whose ``source`` is made from ``source_facts`` (what
    :func:`_base_unit_price` found) when first read: the same value, equal and hashed
    the same, as one built with it."""
    price = _new_instance(ProductPrice)
    d = price.__dict__
    d["sku_id"] = sku_id
    d["unit_code"] = unit_code
    d["unit_price"] = unit_price
    d["promoted_unit_price"] = promoted_unit_price
    d["currency"] = currency
    d["breaks"] = breaks
    d["promotions"] = promotions
    d["_source_facts"] = source_facts
    return price


def _page_source(facts: tuple) -> PriceSource:
    """The :class:`PriceSource` of :func:`_base_unit_price`'s source facts."""
    list_id, code, kind, kind_word, unit_code, min_quantity, unit_price, base_unit, text = facts
    explanation = text(code, kind_word, unit_price, base_unit, min_quantity)
    return PriceSource(list_id, code, kind, unit_code, min_quantity, unit_price, 1, explanation)


_new_instance = object.__new__


class PromotionIndex:
    """Promotions by what they target, so each SKU of a page checks only the few that
    name its id, product, brand or one of its categories instead of all of them.

    ``touching(sku)`` returns the same promotions, in the same order, as
    ``[p for p in promotions if p.matches(sku)]``.
    """

    # The most (brand, categories) pairs and promotion tuples an index remembers (it
    # serves one page; beyond this, a very large one works the rest out each time).
    MEMO_MAX = 1024

    def __init__(self, promotions: Sequence[PromotionRule]) -> None:
        self.order = {p.id: i for i, p in enumerate(promotions)}
        self.by_sku: dict[int, list[PromotionRule]] = defaultdict(list)
        self.by_product: dict[int, list[PromotionRule]] = defaultdict(list)
        self.by_brand: dict[int, list[PromotionRule]] = defaultdict(list)
        self.by_category: dict[int, list[PromotionRule]] = defaultdict(list)
        self.by_brand_and_categories: dict[tuple, tuple[PromotionRule, ...]] = {}
        self.by_ids: dict[tuple[int, ...], tuple[PromotionRule, ...]] = {}
        for p in promotions:
            for target, ids in (
                (self.by_sku, p.sku_ids),
                (self.by_product, p.product_ids),
                (self.by_brand, p.brand_ids),
                (self.by_category, p.category_ids),
            ):
                for i in ids:
                    target[i].append(p)

    def touching(self, sku: SkuInfo) -> list[PromotionRule]:
        return list(self.touching_tuple(sku))

    def touching_tuple(self, sku: SkuInfo) -> tuple[PromotionRule, ...]:
        """:meth:`touching` as a tuple: for a SKU that no promotion names by its id or
        product, the very tuple every SKU of its brand and categories gets."""
        shared = self.by_brand_and_categories.get((sku.brand_id, sku.category_ids))
        if shared is None:
            shared = self._shared(sku.brand_id, sku.category_ids)
        by_sku, by_product = self.by_sku.get(sku.id), self.by_product.get(sku.product_id)
        if by_sku is None and by_product is None:
            return shared
        found: dict[int, PromotionRule] = {p.id: p for p in shared}
        for promotions in (by_sku, by_product):
            for p in promotions or ():
                found[p.id] = p
        return self._interned(found)

    def _interned(self, found: dict[int, PromotionRule]) -> tuple[PromotionRule, ...]:
        """``found``'s promotions in order, as the one tuple of this index holding them
        (whichever SKUs draw them: a caller may key what it works out of a set of
        promotions by the tuple's identity), while the index keeps fewer than
        ``MEMO_MAX`` tuples; a new one after that."""
        # ids in order (sorted by a method of the order dict, not a lambda per item)
        ids = tuple(sorted(found, key=self.order.__getitem__) if len(found) > 1 else found)
        interned = self.by_ids.get(ids)
        if interned is None:
            interned = tuple([found[i] for i in ids])
            if len(self.by_ids) < self.MEMO_MAX:
                self.by_ids[ids] = interned
        return interned

    def _shared(self, brand_id: int | None, category_ids: frozenset[int]) -> tuple:
        """The promotions naming this brand or one of these categories, in order: the
        same for every SKU of a brand and category, so worked out once per pair (and
        the same tuple for pairs drawing the same promotions)."""
        key = (brand_id, category_ids)
        shared = self.by_brand_and_categories.get(key)
        if shared is None:
            found: dict[int, PromotionRule] = {}
            if brand_id is not None:
                for p in self.by_brand.get(brand_id, ()):
                    found[p.id] = p
            by_category = self.by_category
            for category_id in category_ids:
                for p in by_category.get(category_id, ()):
                    found[p.id] = p
            shared = self._interned(found)
            if len(self.by_brand_and_categories) < self.MEMO_MAX:
                self.by_brand_and_categories[key] = shared
        return shared


class PagePromotions:
    """The promotions a page's pricing statement found (``rules``, in the order
    :func:`load_promotions` gives them) and what they give the SKUs they touch: their
    :class:`PromotionIndex`, and for each set of promotions touching a SKU
    (:meth:`effect`) their summaries, the line promotions priced per unit and their
    one-unit pricer.

    What a set of promotions gives does not depend on the page: each rule is one
    object for the same row wherever it comes back (:func:`_page_rule`), and an
    effect is kept for the next page the same rules touch a SKU on (``_EFFECTS``).
    """

    __slots__ = ("rules", "currency", "index", "per_unit", "summaries", "numbers", "effects")

    def __init__(self, rules: list[PromotionRule], currency: str) -> None:
        self.rules = rules
        self.currency = currency
        self.index = PromotionIndex(rules)
        # line promotions priced per unit (a bundle's price needs its components)
        self.per_unit = {
            p.id for p in rules if is_line_kind(p.kind) and p.kind != PromotionKind.BUNDLE_PRICE
        }
        self.summaries: dict[int, PromotionInfo] = {}
        self.numbers: dict = {}
        # by the touching tuple's id, the tuple kept with its effect (so its id is not
        # reused): most SKUs share the tuple of their brand and categories
        self.effects: dict[int, tuple] = {}

    def effect(self, touching: tuple[PromotionRule, ...]) -> tuple:
        """:func:`_promotion_effect` of the promotions touching a SKU (a tuple of
        :attr:`index`): worked out once per tuple, and once for every page where the
        same rule objects touch a SKU."""
        known = self.effects.get(id(touching))
        if known is not None and known[0] is touching:
            return known[1]
        # the rules' identities: each entry keeps its rules (in its effect), so no id in
        # a key is reused while the entry lasts
        key = (self.currency, *map(id, touching))
        effect = _EFFECTS.get(key)
        if effect is None:
            effect = _promotion_effect(
                touching, self.per_unit, self.summaries, self.currency, self.numbers
            )
            if len(_EFFECTS) >= _EFFECTS_MAX:
                _EFFECTS.clear()
            _EFFECTS[key] = effect
        self.effects[id(touching)] = (touching, effect)
        return effect


# What a set of promotion rules gives the SKUs it touches (PagePromotions.effect), by
# currency and the identities of the rules (_page_rule's objects), across pages.
_EFFECTS: dict[tuple, tuple] = {}
_EFFECTS_MAX = 4096


@lru_cache(maxsize=4096)
def _page_rule(text: str) -> PromotionRule:
    """The rule of one of the page statement's promotion rows: the promotion's columns
    as one JSON array (those of :func:`load_promotions`, the rule itself an object),
    decoded by orjson (the standard decoder for what it refuses, an integer beyond 64
    bits). One object for the same text on every page: what is worked out of a set of
    rules (an effect) is then found again by the rules' identities."""
    values = _json(text)
    return _promotion_rule(values, values[5])


def price_products_for_dealer(
    dealer: Dealer,
    sku_ids: Iterable[int],
    *,
    at: datetime | None = None,
    skus: dict[int, SkuInfo] | None = None,
    pending: PagePricing | None = None,
) -> dict[int, ProductPrice]:
    """Each SKU's base-unit price for ``dealer``, its breaks and the promotions that
    touch it; SKUs without a price are left out. Two SQL statements for any number
    of SKUs; one (:func:`_page_pricing`) when the caller passes what it already read
    about them (``skus``: SKU id → :class:`SkuInfo`, as a product page's loader has),
    none when it sent that statement ahead (``pending``, :func:`start_page_pricing`)
    for the same dealer and SKUs (otherwise it is closed, and the statement run)."""
    ctx = dealer_context(dealer)
    rows = None
    wanted = {int(i) for i in sku_ids}
    if pending is not None:
        if (
            at is None
            and pending.dealer == ctx
            and skus is not None
            and pending.skus.keys() == skus.keys() == wanted
        ):
            at, rows = pending.at, pending.statement.rows()
        else:
            pending.close()
    at = at or timezone.now()
    if skus and len(skus) == len(wanted) and skus.keys() >= wanted:
        known = skus  # exactly the wanted SKUs (a page's loader hands in these)
    else:
        known = {i: skus[i] for i in wanted if i in skus} if skus else {}
        if len(known) < len(wanted):
            known.update(load_skus(wanted - set(known)))
    skus = known
    if not skus:
        return {}
    promotions, lists, rows = _page_pricing(ctx, skus, at, rows)
    touching_tuple, effect_of = promotions.index.touching_tuple, promotions.effect
    numbers = promotions.numbers
    wording = PriceWording()
    lists, text = _worded_lists(lists, wording), wording.direct_text()
    currency = ctx.currency
    result: dict[int, ProductPrice] = {}
    for sku_id, sku_rows in groupby(rows, _SKU_OF_ROW):  # SKUs in order, as sorted(skus)
        info = skus[sku_id]
        found = _base_unit_price(sku_rows, info.base_unit, lists, text)
        if found is None:
            continue
        unit_price, breaks, source_facts, list_price, list_currency = found
        _, shown, line_promotions, pricer = effect_of(touching_tuple(info))
        promoted = unit_price
        if line_promotions:
            if pricer is not None:
                promoted = pricer(unit_price)
            else:
                source = _page_source(source_facts)
                resolved = ResolvedPrice(unit_price, list_price, list_currency, source, breaks)
                promoted = _one_unit_promoted(
                    sku_id, info, resolved, line_promotions, currency, numbers
                )
        result[sku_id] = _page_price(
            sku_id,
            info.base_unit,
            unit_price,
            promoted,
            currency,
            breaks,
            shown,
            source_facts,
        )
    return result


_SKU_OF_ROW = itemgetter(1)


def _base_unit_price(
    sku_rows: Iterable[tuple], base_unit: str, lists: dict[int, tuple], text: Callable
):
    """The price of one base unit from one SKU's price rows as :func:`_page_pricing`
    reads them (lists in resolution order, each list's breaks ascending; ``lists``: a
    list's position → ``(id, code, kind, currency, the kind's word)``, ``text``: the
    wording's ``direct_text()``): what ``resolve_line_price(order_lists(rows),
    unit_code=base_unit, quantity=1, base_quantity=1, base_unit=base_unit)`` gives,
    without a ``PriceRow`` per row, a sort per SKU or the unit conversion a base unit
    never needs (a product page prices a few hundred SKUs; randomized and database
    tests hold the two to the same prices). ``(unit price, breaks, source facts, list
    price, currency)``, the source as the facts :func:`_page_source` makes it of (its
    explanation formatted only when read), the list price that of the ladder's first
    break, or None when no list prices one base unit. The prices are the rows' own
    (the general code multiplies them by a factor of 1, exact for the column's 18
    digits: the same values)."""
    # One pass: a list's first base-unit row decides whether it prices one unit (its
    # ladder starts at one or less); the first list that does wins, and its ladder is
    # the rest of its base-unit rows.
    rows = iter(sku_rows)
    passed = None  # a list whose ladder starts above one unit
    for first in rows:
        if first[8] != base_unit:
            continue
        position = first[2]
        if position == passed:
            continue
        if first[3] > 1:
            passed = position
            continue
        ladder = [first]
        for row in rows:
            if row[2] != position:
                break
            if row[8] == base_unit:
                ladder.append(row)
        winning = first
        for row in ladder:  # ascending: the last break from one unit or less wins
            if row[3] > 1:
                break
            winning = row
        list_id, code, kind, currency, kind_word = lists[position]
        unit_price = winning[9]
        source = (
            list_id,
            code,
            kind,
            kind_word,
            winning[8],
            winning[3],
            unit_price,
            base_unit,
            text,
        )
        if len(ladder) == 1:
            breaks = (PriceBreak(winning[3], unit_price),)
        else:
            breaks = tuple([PriceBreak(r[3], r[9]) for r in ladder])
        return unit_price, breaks, source, ladder[0][9], currency
    return None


def _worded_lists(lists: dict[int, tuple], wording: PriceWording) -> dict[int, tuple]:
    """:func:`_page_pricing`'s lists, each with its kind's word (:func:`_base_unit_price`)."""
    return {position: (*facts, wording.kind(facts[2])) for position, facts in lists.items()}


def _promotion_effect(
    touching: tuple[PromotionRule, ...],
    per_unit: set[int],
    summaries: dict[int, PromotionInfo],
    currency: str,
    numbers: dict,
) -> tuple:
    """``(touching, their summaries, the line promotions priced per unit, their one-unit
    shortcut or None)`` for the SKUs these promotions touch
    (:func:`~core.pricing.engine.one_unit_pricer`, when it prices them); ``summaries``
    shares each promotion's summary, ``numbers`` their rule numbers. ``touching`` is in
    the promotions' order, highest priority first, then by id (as :class:`PromotionIndex`
    gives them), so the line promotions are in the order the engine applies them."""
    shown = []
    line = []
    for p in touching:
        summary = summaries.get(p.id)
        if summary is None:
            summary = summaries[p.id] = PromotionInfo(
                p.id, p.code, p.name, p.kind, p.stackable, p.priority
            )
        shown.append(summary)
        if p.id in per_unit:
            line.append(p)
    pricer = one_unit_pricer(line, currency, numbers) if can_price_one_unit(line) else None
    return touching, tuple(shown), line, pricer


def _one_unit_promoted(
    sku_id: int,
    info: SkuInfo,
    resolved: ResolvedPrice,
    promotions: list[PromotionRule],
    currency: str,
    numbers: dict,
) -> Decimal:
    """One base unit's price after the line promotions touching it: the one-unit
    shortcut for percentage and amount off (a test holds it to the engine), the
    engine for anything else."""
    if can_price_one_unit(promotions):
        return one_unit_promoted_price(resolved.unit_price, promotions, currency, numbers)
    line = PricedLine(
        index=0,
        sku_id=sku_id,
        unit_code=info.base_unit,
        quantity=1,
        base_quantity=1,
        currency=currency,
        list_price=resolved.list_price,
        unit_price=resolved.unit_price,
        quantity_break=resolved.source.min_quantity,
        source=resolved.source,
        gross=resolved.unit_price,
    )
    engine = PromotionEngine(lines=[line], skus={sku_id: info}, currency=currency, free_prices={})
    apply_promotions(engine, promotions, with_skipped=False)
    return max(line.gross - line.discount, ZERO)


# --- credit --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CreditSummary:
    currency: str
    limit: Decimal
    balance: Decimal  # open balance: what the dealer owes
    available: Decimal  # limit − balance, never below zero


def credit_summary(dealer: Dealer) -> CreditSummary:
    balance = (
        CreditAccount.objects.filter(dealer_id=dealer.pk).values_list("balance", flat=True).first()
        or ZERO
    )
    limit = dealer.credit_limit or ZERO
    return CreditSummary(
        currency=dealer.currency, limit=limit, balance=balance, available=max(limit - balance, ZERO)
    )


def available_credit(dealer: Dealer) -> Decimal:
    """What the dealer may still buy on account (``credit_limit`` − open balance, ≥ 0)."""
    return credit_summary(dealer).available


def credit_entries(dealer: Dealer) -> QuerySet[CreditEntry]:
    return CreditEntry.objects.filter(dealer_id=dealer.pk).order_by("-occurred_at", "-id")


# --- rebates ---------------------------------------------------------------------------------------
def rebate_balance(dealer: Dealer) -> Decimal:
    return (
        RebateAccount.objects.filter(dealer_id=dealer.pk).values_list("balance", flat=True).first()
        or ZERO
    )


def rebate_entries(dealer: Dealer) -> QuerySet[RebateEntry]:
    return RebateEntry.objects.filter(dealer_id=dealer.pk).select_related("programme")


# --- quotes and lists for the console --------------------------------------------------------------
def quotes_visible_to(user: User | None, *, api_key=None) -> QuerySet[Quote]:
    """Staff see every quote; dealer users those of the dealers they may see."""
    from core.accounts.selectors import filter_by_visible_dealers

    qs = Quote.objects.select_related("dealer").order_by("-created_at", "-id")
    return filter_by_visible_dealers(qs, user, api_key=api_key)


def price_lists_for_dealer(dealer: Dealer, *, at: datetime | None = None) -> QuerySet[PriceList]:
    """The lists that may price for ``dealer`` now, in resolution order."""
    ctx = dealer_context(dealer)
    return PriceList.objects.filter(applicable_lists_q(ctx, at or timezone.now()))


def group_by(items: Iterable, key) -> dict:
    grouped: dict = defaultdict(list)
    for item in items:
        grouped[key(item)].append(item)
    return grouped
