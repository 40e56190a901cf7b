"""Prices of single units and cases (hook ``adjust_line_price``), at ordering time.

The core prices every line per ``unit_code`` from the dealer's lists: a
"case" row prices cases, a base-unit ("each") row prices single units. A
single-unit line of a SKU with a case policy is priced here, from what the
dealer's lists hold when the order is placed; nothing is written to the price
lists:

* **The tenant set a unit price.** The first of the dealer's lists (in the
  core's resolution order: dealer, region, tier, base) that prices the SKU at
  all prices single units: the core's price stands.
* **Only a case price.** That first list prices the SKU per case only: the
  line pays the case price ÷ the case size plus the tenant's
  ``split_surcharge_percent``, recorded as an adjustment on the line. The
  case's quantity breaks apply to the whole cases the units make (the first
  break from one unit). The core hands such a line to the hook with no list
  price (``line.unit_price is None``); without a case price either, the
  order is refused ``NO_PRICE`` by the core.
* **Mixed cases.** Single units of case-only SKUs that complete a mixed case
  pay the case price ÷ case size (no surcharge: they make whole cases).

One query per order, only when it has single-unit lines of food SKUs: the
dealer's price rows of those SKUs (``context.cache["food"]``).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from plugins.types import OrderContext, OrderLine, PriceAdjustment

from .rules import PolicyFacts, food_settings, is_split, order_facts, pooled

FOUR = Decimal("0.0001")
HUNDRED = Decimal(100)


def price_lists(context: OrderContext) -> dict[int, list]:
    """The dealer's price rows of the order's split food SKUs, by SKU, lists in
    resolution order (``core.pricing.engine.order_lists``): one query per order."""
    facts = order_facts(context)
    if "lists" not in facts:
        from core.pricing.engine import order_lists
        from core.pricing.selectors import dealer_context, load_price_rows

        policies = facts["policies"]
        sku_ids = {
            line.sku.pk
            for line in context.lines
            if line.sku.pk in policies and is_split(line, policies[line.sku.pk])
        }
        rows = []
        if sku_ids and context.dealer is not None:
            rows = load_price_rows(dealer_context(context.dealer), sku_ids, timezone.now())
        facts["lists"] = order_lists(rows)
    return facts["lists"]


def _case_break(rows: list, facts: PolicyFacts, cases: int) -> Decimal | None:
    """This list's price of one case when ``cases`` whole cases are bought: the highest
    break not above them (the first break when none is); ``None`` without case rows."""
    ladder = sorted(
        (r for r in rows if r.unit_code == facts.case_unit), key=lambda r: r.min_quantity
    )
    if not ladder:
        return None
    winning = ladder[0]
    for row in ladder:
        if row.min_quantity <= max(cases, 1):
            winning = row
    return winning.unit_price


def case_price(lists: list, sku: Any, facts: PolicyFacts, *, cases: int = 1) -> Decimal | None:
    """The dealer's price of one case from the first list with a case price."""
    for rows in lists:
        price = _case_break(rows, facts, cases)
        if price is not None:
            return price
    return None


def unit_source(
    lists: list, sku: Any, facts: PolicyFacts, units: int
) -> tuple[str, Decimal | None] | None:
    """What prices ``units`` single units: ``("unit", None)`` when the first list that
    prices them has a unit price for that quantity (the tenant's own: the core priced the
    line from it), ``("case", case price)`` when that list prices the case only; ``None``
    when no list prices the SKU. Lists are walked in the core's resolution order."""
    for rows in lists:
        if any(r.unit_code == sku.base_unit and r.min_quantity <= units for r in rows):
            return "unit", None
        price = _case_break(rows, facts, units // facts.case_size)
        if price is not None:
            return "case", price
    return None


def with_surcharge(per_unit: Decimal, percent: Decimal) -> Decimal:
    return (per_unit * (1 + Decimal(percent) / HUNDRED)).quantize(FOUR, rounding=ROUND_HALF_UP)


def adjust(context: OrderContext, line: OrderLine, price: Decimal) -> PriceAdjustment | None:
    facts = order_facts(context)
    policy = facts["policies"].get(line.sku.pk)
    if policy is None or not is_split(line, policy):
        return None
    lists = price_lists(context).get(line.sku.pk, [])
    settings = food_settings(context)
    whole_cases = line.quantity // policy.case_size
    if pooled(line, policy, bool(settings["allow_mixed_cases"])):
        per_case = case_price(lists, line.sku, policy, cases=whole_cases)
        if per_case is None:
            return None
        new = (per_case / policy.case_size).quantize(FOUR, rounding=ROUND_HALF_UP)
        reason = _("Mixed case %(group)s: the case price per unit") % {
            "group": policy.group_name or policy.group_code
        }
    else:
        source = unit_source(lists, line.sku, policy, line.quantity)
        if source is None or source[0] == "unit":
            return None  # the tenant prices single units itself (or nothing prices the SKU)
        percent = settings["split_surcharge_percent"]
        new = with_surcharge(source[1] / policy.case_size, percent)
        reason = _("Single units from a case: the case price per unit + %(percent)s%%") % {
            "percent": format(Decimal(percent).normalize(), "f")
        }
    if new == price and line.unit_price is not None:
        return None
    return PriceAdjustment(unit_price=new, reason=reason)
