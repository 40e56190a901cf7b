"""The pricing engine: pure Python, no database.

:mod:`core.pricing.selectors` loads what a dealer's cart needs in a constant
number of queries and hands it to these functions, which

* resolve each line's list price (``resolve_line_price``): the dealer's own
  lists, then its region's, its tier's, the base list; within a list the
  highest quantity break not above the ordered quantity; and
* evaluate every promotion with one engine (``apply_promotions``).

Promotion semantics (the rules staff rely on):

* Promotions are considered from the highest ``priority`` down (then by id).
  The highest-priority promotion that applies to the cart decides: if it is
  exclusive (``stackable=False``) it is the only one applied; if it is
  stackable, every applicable stackable promotion is applied and exclusive
  ones are skipped.
* Stackable promotions apply in phases: line discounts (percentage, amount
  off per base unit) and bundle prices, each on what is left of the line after
  the ones before; then buy X get Y free (free lines added); then spend
  thresholds, judged on the net amount after line discounts.
* ``rule`` of each kind:
  percent_off ``{"percent": "10"}``; amount_off ``{"amount": "1.50"}`` per
  base unit; spend_threshold ``{"threshold": "1000", "percent": "5"}`` or
  ``{"threshold": "1000", "amount": "50"}`` (products, if given, say what
  counts toward the threshold and what is discounted); buy_x_get_y
  ``{"buy_quantity": 10, "get_quantity": 1, "get_sku_id": 7 or null (same
  SKU), "max_applications": null}`` in base units; bundle_price
  ``{"components": [{"sku_id": 1, "quantity": 2}, ...], "price": "99.00",
  "max_applications": null}`` (the price of one bundle).
"""

from __future__ import annotations

import dataclasses
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from functools import lru_cache
from operator import attrgetter

from django.utils.translation import gettext as _

from .models import KIND_RANK, PromotionKind
from .money import ZERO, minor_units, quantize, quantize_unit_price

HUNDRED = Decimal("100")


def quick_init(cls):
    """Give a frozen dataclass (every field set by ``__init__``, no defaults, no
    ``__post_init__``) an ``__init__`` that fills the instance's ``__dict__`` directly,
    with the same parameters. The generated one sets each field through
    ``object.__setattr__`` (frozen), some 0.5 µs a field: a product page builds a
    few thousand of these values (price rows, breaks, sources, prices). Equality,
    hashing, ``repr`` and immutability are the dataclass's own."""
    params = getattr(cls, "__dataclass_params__", None)
    fields = dataclasses.fields(cls)
    if (
        params is None
        or not params.frozen
        or "__slots__" in cls.__dict__
        or hasattr(cls, "__post_init__")
        or any(
            not f.init
            or f.default is not dataclasses.MISSING
            or f.default_factory is not dataclasses.MISSING
            for f in fields
        )
    ):
        raise TypeError(f"quick_init does not fit {cls.__name__}")
    names = [f.name for f in fields]
    body = "".join(f"    d[{name!r}] = {name}\n" for name in names)
    namespace: dict = {}
    exec(f"def __init__(self, {', '.join(names)}):\n    d = self.__dict__\n{body}", namespace)  # noqa: S102 - field names only
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    cls.__init__ = init
    return cls


# --- inputs --------------------------------------------------------------------------------
@dataclass(frozen=True)
class CartLine:
    """A line to price: ``quantity`` of ``unit_code``, which is ``base_quantity`` base units."""

    sku_id: int
    unit_code: str
    quantity: int
    base_quantity: int


@dataclass(frozen=True)
class DealerContext:
    id: int
    tier: str
    region: str
    currency: str


@quick_init
@dataclass(frozen=True)
class SkuInfo:
    id: int
    product_id: int
    brand_id: int | None
    category_ids: frozenset[int]  # the product's category and all its ancestors
    base_unit: str


@quick_init
@dataclass(frozen=True)
class PriceRow:
    """One quantity break of one list, as loaded for a dealer."""

    price_list_id: int
    price_list_code: str
    price_list_name: str
    kind: str
    priority: int
    valid_from: datetime | None
    currency: str
    sku_id: int
    unit_code: str
    min_quantity: int
    unit_price: Decimal


@quick_init
@dataclass(frozen=True)
class PromotionRule:
    id: int
    code: str
    name: str
    kind: str
    currency: str
    rule: dict
    priority: int
    stackable: bool
    sku_ids: frozenset[int]
    product_ids: frozenset[int]
    category_ids: frozenset[int]
    brand_ids: frozenset[int]

    @property
    def has_product_scope(self) -> bool:
        return bool(self.sku_ids or self.product_ids or self.category_ids or self.brand_ids)

    def matches(self, sku: SkuInfo | None) -> bool:
        if sku is None:
            return False
        return (
            sku.id in self.sku_ids
            or sku.product_id in self.product_ids
            or (sku.brand_id is not None and sku.brand_id in self.brand_ids)
            or bool(self.category_ids & sku.category_ids)
        )

    def number(self, key: str) -> Decimal:
        value = self.rule.get(key)
        return Decimal(str(value)) if value not in (None, "") else ZERO


# --- outputs ------------------------------------------------------------------------------
@quick_init
@dataclass(frozen=True)
class PriceBreak:
    min_quantity: int
    unit_price: Decimal


@quick_init
@dataclass(frozen=True)
class PriceSource:
    """Why this price: the list and the break that won."""

    price_list_id: int
    price_list_code: str
    kind: str
    unit_code: str  # the unit the list prices (the base unit when converted)
    min_quantity: int
    list_unit_price: Decimal  # the break's price, in ``unit_code``
    factor: int  # base units per ordered unit when converted from the base unit, else 1
    explanation: str


@quick_init
@dataclass(frozen=True)
class ResolvedPrice:
    unit_price: Decimal  # per ordered unit, after the quantity break
    list_price: Decimal  # per ordered unit, at the ladder's first break
    currency: str
    source: PriceSource
    breaks: tuple[PriceBreak, ...]  # the winning ladder, per ordered unit


@dataclass(frozen=True)
class AppliedDiscount:
    promotion_id: int
    promotion_code: str
    kind: str
    amount: Decimal
    description: str


@dataclass
class PricedLine:
    index: int
    sku_id: int
    unit_code: str
    quantity: int
    base_quantity: int
    currency: str
    list_price: Decimal
    unit_price: Decimal  # after the quantity break, before promotions
    quantity_break: int
    source: PriceSource
    gross: Decimal
    discounts: list[AppliedDiscount] = field(default_factory=list)

    @property
    def discount(self) -> Decimal:
        return sum((d.amount for d in self.discounts), ZERO)

    @property
    def total(self) -> Decimal:
        return self.gross - self.discount

    @property
    def net_unit_price(self) -> Decimal:
        return quantize_unit_price(self.total / self.quantity) if self.quantity else ZERO


@dataclass(frozen=True)
class FreeLine:
    """Goods given by a buy-X-get-Y promotion; ``value`` is what they would have cost."""

    sku_id: int
    unit_code: str
    base_quantity: int
    unit_price: Decimal
    value: Decimal
    promotion_id: int
    promotion_code: str


@dataclass(frozen=True)
class SkippedPromotion:
    promotion_id: int
    promotion_code: str
    reason: str


@dataclass(frozen=True)
class PricedCart:
    dealer_id: int
    currency: str
    lines: tuple[PricedLine, ...]
    free_lines: tuple[FreeLine, ...]
    order_discounts: tuple[AppliedDiscount, ...]
    subtotal: Decimal  # sum of line gross amounts (after quantity breaks)
    line_discount: Decimal
    order_discount: Decimal
    discount: Decimal
    total: Decimal
    promotion_ids: tuple[int, ...]  # applied: record their usage when the order is placed
    skipped_promotions: tuple[SkippedPromotion, ...]


# --- price resolution ------------------------------------------------------------------
def order_lists(rows: Iterable[PriceRow]) -> dict[int, list[list[PriceRow]]]:
    """Rows of each SKU grouped by list, lists in resolution order (kind, then higher
    priority, then later start, then id; a list's rank computed once per list)."""
    by_sku: dict[int, dict[int, list[PriceRow]]] = {}
    rank: dict[int, tuple] = {}
    for row in rows:
        lists = by_sku.get(row.sku_id)
        if lists is None:
            lists = by_sku[row.sku_id] = {}
        same_list = lists.get(row.price_list_id)
        if same_list is None:
            lists[row.price_list_id] = [row]
            if row.price_list_id not in rank:
                rank[row.price_list_id] = (
                    KIND_RANK[row.kind],
                    -row.priority,
                    -(row.valid_from.timestamp() if row.valid_from else float("-inf")),
                    row.price_list_id,
                )
        else:
            same_list.append(row)
    ordered: dict[int, list[list[PriceRow]]] = {}
    for sku_id, lists in by_sku.items():
        if len(lists) == 1:
            ordered[sku_id] = list(lists.values())
        else:
            ordered[sku_id] = sorted(lists.values(), key=lambda rs: rank[rs[0].price_list_id])
    return ordered


def _kind_label(kind: str) -> str:
    """The list kind's name in the active language (only the one needed is translated)."""
    if kind == "dealer":
        return _("dealer-specific")
    if kind == "region":
        return _("region")
    if kind == "tier":
        return _("tier")
    if kind == "base":
        return _("base")
    raise KeyError(kind)


class PriceWording:
    """The words of price explanations in the active language, each translated once:
    pass one instance to every :func:`resolve_line_price` call of a batch (a page of
    100 SKUs otherwise translates 200 strings)."""

    def __init__(self) -> None:
        self._words: dict[str, str] = {}
        self._kinds: dict[str, str] = {}
        self._direct_text = None

    def _get(self, key: str, make) -> str:
        word = self._words.get(key)
        if word is None:
            word = self._words[key] = make()
        return word

    def kind(self, kind: str) -> str:
        word = self._kinds.get(kind)
        if word is None:
            word = self._kinds[kind] = _kind_label(kind)
        return word

    def direct(self) -> str:
        return self._get(
            "direct",
            lambda: _("%(list)s (%(kind)s list): %(price)s per %(unit)s from %(min)s %(unit)s"),
        )

    def direct_text(self):
        """``direct() % values`` as a function of ``(list, kind, price, unit, min)``: the
        translated template turned once into string concatenation (each value as its
        ``str``, as ``%s`` does); ``%`` itself for a template with other conversions."""
        text = self._direct_text
        if text is None:
            text = self._direct_text = _template_function(
                self.direct(), ("list", "kind", "price", "unit", "min")
            )
        return text

    def converted(self) -> str:
        return self._get(
            "converted",
            lambda: _(
                "%(list)s (%(kind)s list): %(price)s per %(base)s from %(min)s %(base)s, "
                "× %(factor)s %(base)s per %(unit)s"
            ),
        )


_PLACEHOLDER = re.compile(r"%\(([a-z]+)\)s|%%")


@lru_cache(maxsize=64)
def _template_function(template: str, names: tuple[str, ...]):
    """A function of ``names`` (positional) giving ``template % dict(zip(names, values))``.

    Built as one f-string when the template's conversions are all ``%(name)s`` of those
    names (or ``%%``); otherwise a function that applies ``%``. Built once per template
    and names (a template is one language's text): compiling it took longer than
    wording a page's two hundred prices with it."""
    pieces: list[str] = []
    at = 0
    for match in _PLACEHOLDER.finditer(template):
        literal = template[at : match.start()]
        if "%" in literal:
            break
        pieces.append(literal.replace("{", "{{").replace("}", "}}"))
        name = match.group(1)
        if name is None:
            pieces.append("%")
        elif name in names:
            pieces.append("{%s!s}" % name)  # noqa: UP031 - writing an f-string's field
        else:
            break
        at = match.end()
    else:
        rest = template[at:]
        if "%" not in rest:
            pieces.append(rest.replace("{", "{{").replace("}", "}}"))
            namespace: dict = {}
            body = "".join(pieces)
            exec(f"def text({', '.join(names)}):\n    return f{body!r}", namespace)  # noqa: S102 - names and the template's text only
            return namespace["text"]

    def text(*values):
        return template % dict(zip(names, values, strict=True))

    return text


_BY_MIN_QUANTITY = attrgetter("min_quantity")
_ONE = Decimal(1)


def _ladder(rows: list[PriceRow], unit_code: str) -> list[PriceRow]:
    ladder = [r for r in rows if r.unit_code == unit_code]
    if len(ladder) > 1:
        ladder.sort(key=_BY_MIN_QUANTITY)
    return ladder


def resolve_line_price(
    lists: list[list[PriceRow]],
    *,
    unit_code: str,
    quantity: int,
    base_quantity: int,
    base_unit: str,
    wording: PriceWording | None = None,
) -> ResolvedPrice | None:
    """The first list (in resolution order) that prices this quantity of this unit.

    A list prices the unit directly, or (when it has no prices for the unit)
    through its base-unit prices times the unit's factor, the break judged on
    the base quantity. A list whose lowest break is above the quantity does not
    price the line; the next list is tried.
    """
    factor = base_quantity // quantity if quantity and base_quantity % quantity == 0 else 0
    for rows in lists:
        ladder = _ladder(rows, unit_code)
        converted = False
        if not ladder and unit_code != base_unit and factor:
            ladder = _ladder(rows, base_unit)
            converted = True
        if not ladder:
            continue
        judged = base_quantity if converted else quantity
        winning = None
        for row in ladder:
            if row.min_quantity <= judged:
                winning = row
        if winning is None:
            continue
        mult = Decimal(factor) if converted else _ONE
        head = ladder[0]
        words = wording or PriceWording()
        kind_label = words.kind(head.kind)
        if converted:
            explanation = words.converted() % {
                "list": head.price_list_code,
                "kind": kind_label,
                "price": winning.unit_price,
                "base": base_unit,
                "min": winning.min_quantity,
                "factor": factor,
                "unit": unit_code,
            }
        else:
            explanation = words.direct() % {
                "list": head.price_list_code,
                "kind": kind_label,
                "price": winning.unit_price,
                "unit": unit_code,
                "min": winning.min_quantity,
            }
        source = PriceSource(
            price_list_id=head.price_list_id,
            price_list_code=head.price_list_code,
            kind=head.kind,
            unit_code=winning.unit_code,
            min_quantity=winning.min_quantity,
            list_unit_price=winning.unit_price,
            factor=factor if converted else 1,
            explanation=explanation,
        )
        if converted:
            # Breaks expressed per ordered unit: a base-unit break from m applies from ceil(m / factor) units.
            breaks = tuple(
                PriceBreak(
                    min_quantity=-(-r.min_quantity // factor), unit_price=r.unit_price * mult
                )
                for r in ladder
            )
        else:
            breaks = tuple(
                PriceBreak(min_quantity=r.min_quantity, unit_price=r.unit_price) for r in ladder
            )
        return ResolvedPrice(
            unit_price=winning.unit_price * mult,
            list_price=head.unit_price * mult,
            currency=head.currency,
            source=source,
            breaks=breaks,
        )
    return None


# --- promotions ------------------------------------------------------------------------------
_LINE_KINDS = (PromotionKind.PERCENT_OFF, PromotionKind.AMOUNT_OFF, PromotionKind.BUNDLE_PRICE)
_PHASE = {
    PromotionKind.PERCENT_OFF: 0,
    PromotionKind.AMOUNT_OFF: 0,
    PromotionKind.BUNDLE_PRICE: 0,
    PromotionKind.BUY_X_GET_Y: 1,
    PromotionKind.SPEND_THRESHOLD: 2,
}


def _allocate(total: Decimal, weights: Sequence[Decimal], currency: str) -> list[Decimal]:
    """Split ``total`` (already in minor units) over ``weights``; the parts add up exactly."""
    weight_sum = sum(weights, ZERO)
    if weight_sum <= 0:
        return [ZERO for _w in weights]
    step = Decimal(1).scaleb(-_minor(currency))
    raw = [total * w / weight_sum for w in weights]
    parts = [(r / step).to_integral_value(rounding=ROUND_FLOOR) * step for r in raw]
    left = total - sum(parts, ZERO)
    order = sorted(range(len(raw)), key=lambda i: raw[i] - parts[i], reverse=True)
    i = 0
    while left > 0 and order:
        parts[order[i % len(order)]] += step
        left -= step
        i += 1
    return parts


def _minor(currency: str) -> int:
    return minor_units(currency)


@dataclass
class _Evaluation:
    line_discounts: list[tuple[PricedLine, AppliedDiscount]] = field(default_factory=list)
    free_lines: list[FreeLine] = field(default_factory=list)
    order_discounts: list[AppliedDiscount] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.line_discounts or self.free_lines or self.order_discounts)


class PromotionEngine:
    """Evaluates promotions on priced lines. One instance per cart; not shared."""

    def __init__(
        self,
        *,
        lines: list[PricedLine],
        skus: dict[int, SkuInfo],
        currency: str,
        free_prices: dict[int, tuple[str, Decimal]],
    ):
        self.lines = lines
        self.skus = skus
        self.currency = currency
        self.free_prices = free_prices  # sku_id -> (base unit, base unit price) for free goods
        self.order_discounts: list[AppliedDiscount] = []
        self.free_lines: list[FreeLine] = []

    # one promotion, evaluated on the current state, without changing it
    def evaluate(self, promo: PromotionRule) -> _Evaluation:
        if promo.currency and promo.currency != self.currency:
            return _Evaluation()
        method = {
            PromotionKind.PERCENT_OFF: self._percent_off,
            PromotionKind.AMOUNT_OFF: self._amount_off,
            PromotionKind.SPEND_THRESHOLD: self._spend_threshold,
            PromotionKind.BUY_X_GET_Y: self._buy_x_get_y,
            PromotionKind.BUNDLE_PRICE: self._bundle_price,
        }.get(promo.kind)
        return method(promo) if method else _Evaluation()

    def commit(self, evaluation: _Evaluation) -> None:
        for line, discount in evaluation.line_discounts:
            line.discounts.append(discount)
        self.free_lines.extend(evaluation.free_lines)
        self.order_discounts.extend(evaluation.order_discounts)

    def _matching(self, promo: PromotionRule) -> list[PricedLine]:
        return [line for line in self.lines if promo.matches(self.skus.get(line.sku_id))]

    def _discount(self, promo: PromotionRule, amount: Decimal) -> AppliedDiscount:
        return AppliedDiscount(
            promotion_id=promo.id,
            promotion_code=promo.code,
            kind=promo.kind,
            amount=amount,
            description=promo.name,
        )

    def _percent_off(self, promo: PromotionRule) -> _Evaluation:
        percent = promo.number("percent")
        result = _Evaluation()
        for line in self._matching(promo):
            amount = min(quantize(line.total * percent / HUNDRED, self.currency), line.total)
            if amount > 0:
                result.line_discounts.append((line, self._discount(promo, amount)))
        return result

    def _amount_off(self, promo: PromotionRule) -> _Evaluation:
        per_unit = promo.number("amount")
        result = _Evaluation()
        for line in self._matching(promo):
            amount = min(quantize(per_unit * line.base_quantity, self.currency), line.total)
            if amount > 0:
                result.line_discounts.append((line, self._discount(promo, amount)))
        return result

    def _order_net(self) -> Decimal:
        return sum((line.total for line in self.lines), ZERO) - sum(
            (d.amount for d in self.order_discounts), ZERO
        )

    def _spend_threshold(self, promo: PromotionRule) -> _Evaluation:
        threshold = promo.number("threshold")
        if promo.has_product_scope:
            qualifying = sum((line.total for line in self._matching(promo)), ZERO)
        else:
            qualifying = self._order_net()
        result = _Evaluation()
        if qualifying <= 0 or qualifying < threshold:
            return result
        if promo.rule.get("percent") not in (None, ""):
            amount = quantize(qualifying * promo.number("percent") / HUNDRED, self.currency)
        else:
            amount = quantize(promo.number("amount"), self.currency)
        amount = min(amount, qualifying, self._order_net())
        if amount > 0:
            result.order_discounts.append(self._discount(promo, amount))
        return result

    def _buy_x_get_y(self, promo: PromotionRule) -> _Evaluation:
        buy = int(promo.rule.get("buy_quantity") or 0)
        get = int(promo.rule.get("get_quantity") or 0)
        cap = promo.rule.get("max_applications")
        get_sku_id = promo.rule.get("get_sku_id")
        result = _Evaluation()
        if buy <= 0 or get <= 0:
            return result
        quantities: dict[int, int] = defaultdict(int)
        for line in self._matching(promo):
            quantities[line.sku_id] += line.base_quantity
        if get_sku_id:
            pools = {int(get_sku_id): sum(quantities.values())}
        else:
            pools = dict(quantities)
        for sku_id, bought in sorted(pools.items()):
            times = bought // buy
            if cap:
                times = min(times, int(cap))
            if times <= 0:
                continue
            unit, price = self.free_prices.get(sku_id, ("", ZERO))
            if not unit:
                unit = self.skus[sku_id].base_unit if sku_id in self.skus else ""
            quantity = times * get
            result.free_lines.append(
                FreeLine(
                    sku_id=sku_id,
                    unit_code=unit,
                    base_quantity=quantity,
                    unit_price=price,
                    value=quantize(price * quantity, self.currency),
                    promotion_id=promo.id,
                    promotion_code=promo.code,
                )
            )
        return result

    def _bundle_price(self, promo: PromotionRule) -> _Evaluation:
        components = [
            (int(c["sku_id"]), int(c["quantity"])) for c in promo.rule.get("components", [])
        ]
        bundle_price = promo.number("price")
        cap = promo.rule.get("max_applications")
        result = _Evaluation()
        if not components:
            return result
        by_sku: dict[int, list[PricedLine]] = defaultdict(list)
        for line in self.lines:
            by_sku[line.sku_id].append(line)
        times = min(
            sum(line.base_quantity for line in by_sku.get(sku_id, [])) // qty
            for sku_id, qty in components
        )
        if cap:
            times = min(times, int(cap))
        if times <= 0:
            return result
        # What the bundled units cost now, per line: the line's net per base unit × bundled units.
        shares: list[tuple[PricedLine, Decimal]] = []
        for sku_id, qty in components:
            need = qty * times
            for line in by_sku[sku_id]:
                take = min(need, line.base_quantity)
                need -= take
                if take:
                    shares.append((line, line.total * take / line.base_quantity))
        bundled_value = sum((v for _line, v in shares), ZERO)
        discount_total = quantize(bundled_value - bundle_price * times, self.currency)
        if discount_total <= 0:
            return result
        parts = _allocate(discount_total, [v for _line, v in shares], self.currency)
        merged: dict[int, tuple[PricedLine, Decimal]] = {}
        for (line, _value), part in zip(shares, parts, strict=True):
            prev = merged.get(line.index, (line, ZERO))[1]
            merged[line.index] = (line, prev + part)
        for line, amount in merged.values():
            if amount > 0:
                result.line_discounts.append((line, self._discount(promo, min(amount, line.total))))
        return result


def apply_promotions(
    engine: PromotionEngine, promotions: Sequence[PromotionRule], *, with_skipped: bool = True
) -> tuple[list[int], list[SkippedPromotion]]:
    """Apply ``promotions`` (already filtered to the dealer, dates and usage) to the cart.

    Returns the ids applied and the ones skipped with the reason (none listed with
    ``with_skipped=False``, for callers that only need the discounts, such as a
    product page: the reasons are translated text).
    """
    ordered = sorted(promotions, key=lambda p: (-p.priority, p.id))
    skipped: list[SkippedPromotion] = []
    leader = None
    for promo in ordered:
        if not engine.evaluate(promo).empty:
            leader = promo
            break
    if leader is None:
        if not with_skipped:
            return [], []
        return [], [
            SkippedPromotion(p.id, p.code, _("Its conditions are not met by this cart."))
            for p in ordered
        ]
    if not leader.stackable:
        engine.commit(engine.evaluate(leader))
        if with_skipped:
            skipped = [
                SkippedPromotion(
                    p.id, p.code, _("An exclusive promotion of higher priority applies.")
                )
                for p in ordered
                if p.id != leader.id
            ]
        return [leader.id], skipped
    applied: list[int] = []
    for phase in (0, 1, 2):
        for promo in ordered:
            if _PHASE.get(promo.kind) != phase:
                continue
            if not promo.stackable:
                if with_skipped:
                    skipped.append(
                        SkippedPromotion(
                            promo.id, promo.code, _("Exclusive; other promotions already apply.")
                        )
                    )
                continue
            evaluation = engine.evaluate(promo)
            if evaluation.empty:
                if with_skipped:
                    skipped.append(
                        SkippedPromotion(
                            promo.id, promo.code, _("Its conditions are not met by this cart.")
                        )
                    )
                continue
            engine.commit(evaluation)
            applied.append(promo.id)
    return applied, skipped


_UNIT_LINE_KINDS = frozenset((PromotionKind.PERCENT_OFF, PromotionKind.AMOUNT_OFF))


def can_price_one_unit(promotions: Sequence[PromotionRule]) -> bool:
    """Whether :func:`one_unit_promoted_price` handles these promotions (percentage and
    amount off only)."""
    return all(p.kind in _UNIT_LINE_KINDS for p in promotions)


def one_unit_promoted_price(
    gross: Decimal,
    promotions: Sequence[PromotionRule],
    currency: str,
    numbers: dict | None = None,
    *,
    ordered: bool = False,
) -> Decimal:
    """What :func:`apply_promotions` leaves of a line of one base unit at ``gross``
    when every promotion matches the line and is a percentage or an amount off
    (:func:`can_price_one_unit`): the same leader, exclusivity, order and rounding,
    without building a cart (a product page prices a hundred SKUs this way).

    ``numbers`` caches each promotion's rule numbers (and the currency's rounding
    step) across the SKUs of one call; ``ordered``: the promotions are already
    highest priority first, then by id. :func:`one_unit_pricer` prices many SKUs
    touched by the same promotions.
    """
    if not promotions:
        return gross
    if not ordered and len(promotions) > 1:
        promotions = sorted(promotions, key=lambda p: (-p.priority, p.id))
    return one_unit_pricer(promotions, currency, numbers)(gross)


def one_unit_pricer(
    promotions: Sequence[PromotionRule], currency: str, numbers: dict | None = None
) -> Callable[[Decimal], Decimal]:
    """:func:`one_unit_promoted_price` of these promotions (highest priority first,
    then by id) as a function of ``gross``, each promotion's kind, currency and rule
    number read once for every SKU they touch. A promotion in another currency takes
    nothing, so it neither leads nor stacks and is left out."""
    cache = numbers if numbers is not None else {}
    step = cache.get(currency)
    if step is None:
        step = cache[currency] = Decimal(1).scaleb(-_minor(currency))
    steps: list[tuple[bool, bool, Decimal]] = []
    for promo in promotions:
        if promo.currency and promo.currency != currency:
            continue
        percent = promo.kind == PromotionKind.PERCENT_OFF
        key = "percent" if percent else "amount"
        number = cache.get((promo.id, key))
        if number is None:
            number = cache[(promo.id, key)] = promo.number(key)
        # amount off: per base unit × one base unit
        steps.append((promo.stackable, percent, number if percent else number * 1))
    if not steps:
        return _unchanged

    def price(gross: Decimal) -> Decimal:
        # The leader: the first promotion taking something from the line's total.
        start = gross - ZERO  # the line's total before any discount, as the engine computes it
        for at, (stackable, percent, number) in enumerate(steps):  # noqa: B007 - read below
            raw = start * number / HUNDRED if percent else number
            off = raw.quantize(step, ROUND_HALF_UP)  # rounding given by position: cheaper
            if start < off:
                off = start  # min(off, start)
            if off > ZERO:
                break
        else:
            return gross
        if not stackable:
            left = gross - (ZERO + off)
            return ZERO if ZERO > left else left  # max(left, ZERO)
        # Stacking from the leader on: a stackable promotion before it took nothing from
        # the same total, and the leader's own amount on it is the one just computed.
        discount = ZERO + off
        for stackable, percent, number in steps[at + 1 :]:
            if not stackable:
                continue
            total = gross - discount
            raw = total * number / HUNDRED if percent else number
            amount = raw.quantize(step, ROUND_HALF_UP)
            if total < amount:
                amount = total
            if amount > ZERO:
                discount += amount
        left = gross - discount
        return ZERO if ZERO > left else left

    return price


def _unchanged(gross: Decimal) -> Decimal:
    return gross


def build_cart(
    *,
    dealer: DealerContext,
    lines: list[PricedLine],
    engine: PromotionEngine,
    applied: list[int],
    skipped: list[SkippedPromotion],
) -> PricedCart:
    subtotal = sum((line.gross for line in lines), ZERO)
    line_discount = sum((line.discount for line in lines), ZERO)
    order_discount = sum((d.amount for d in engine.order_discounts), ZERO)
    return PricedCart(
        dealer_id=dealer.id,
        currency=dealer.currency,
        lines=tuple(lines),
        free_lines=tuple(engine.free_lines),
        order_discounts=tuple(engine.order_discounts),
        subtotal=subtotal,
        line_discount=line_discount,
        order_discount=order_discount,
        discount=line_discount + order_discount,
        total=subtotal - line_discount - order_discount,
        promotion_ids=tuple(sorted(applied)),
        skipped_promotions=tuple(skipped),
    )


def is_line_kind(kind: str) -> bool:
    return kind in _LINE_KINDS
