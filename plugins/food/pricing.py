"""Prices of single units and cases (hook ``adjust_line_price``).

The core prices every line per ``unit_code`` from the dealer's lists: a
"case" row prices cases, an "each" (base-unit) row prices single units, so a
dealer ordering single units pays the unit price, usually higher per unit
than the case price. Two cases need the food plugin:

* **Only a case price.** A tenant that prices a SKU per case only gets base-
  unit rows *derived* from the case price (``services.derive_unit_prices``,
  run when a policy allowing single units is saved; marked by
  :class:`~plugins.food.models.DerivedUnitPrice`) so the core can price the
  line at all. At ordering, such a line is priced from the dealer's *current*
  case price ÷ case size plus the tenant's ``split_surcharge_percent``, and
  the change is recorded as an adjustment on the line.
* **Mixed cases.** Single units of case-only SKUs that complete a mixed case
  pay the case price ÷ case size (no surcharge: they make whole cases).

Everything is loaded once per order (the dealer's price rows and the derived
markers of every SKU in the order: two queries) into ``context.cache["food"]``.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from plugins.types import OrderContext, OrderLine, PriceAdjustment

from .rules import PolicyFacts, is_split, line_factor, order_facts, pooled

FOUR = Decimal("0.0001")
HUNDRED = Decimal(100)


def price_facts(context: OrderContext) -> dict[str, Any]:
    facts = order_facts(context)
    if "lists" not in facts:
        from core.pricing.engine import order_lists
        from core.pricing.selectors import dealer_context, load_price_rows

        from .models import DerivedUnitPrice

        sku_ids = set(facts["policies"])
        lists: dict[int, list] = {}
        derived: set[tuple[int, int]] = set()
        if sku_ids and context.dealer is not None:
            rows = load_price_rows(dealer_context(context.dealer), sku_ids, timezone.now())
            lists = order_lists(rows)
            derived = set(
                DerivedUnitPrice.objects.filter(sku_id__in=sku_ids).values_list(
                    "price_list_id", "sku_id"
                )
            )
        facts["lists"], facts["derived"] = lists, derived
    return facts


def case_price(lists: list, sku: Any, facts: PolicyFacts, *, cases: int = 1) -> Decimal | None:
    """The dealer's price of one case (quantity breaks judged on ``cases``)."""
    from core.pricing.engine import resolve_line_price

    cases = max(cases, 1)
    resolved = resolve_line_price(
        lists,
        unit_code=facts.case_unit,
        quantity=cases,
        base_quantity=cases * facts.case_size,
        base_unit=sku.base_unit,
    )
    if resolved is None or resolved.source.unit_code != facts.case_unit:
        return None  # no real case price (only base-unit rows, multiplied up)
    return resolved.unit_price


def unit_price_is_derived(lists: list, derived: set, line: OrderLine, factor: int) -> bool:
    """Whether the list that priced this single-unit line only derived it from a case price."""
    from core.pricing.engine import resolve_line_price

    resolved = resolve_line_price(
        lists,
        unit_code=line.unit or line.sku.base_unit,
        quantity=line.quantity // factor,
        base_quantity=line.quantity,
        base_unit=line.sku.base_unit,
    )
    return resolved is not None and (resolved.source.price_list_id, line.sku.pk) in derived


def with_surcharge(per_unit: Decimal, percent: Decimal) -> Decimal:
    return (per_unit * (1 + Decimal(percent) / HUNDRED)).quantize(FOUR, rounding=ROUND_HALF_UP)


def adjust(context: OrderContext, line: OrderLine, price: Decimal) -> PriceAdjustment | None:
    facts = order_facts(context)
    policy = facts["policies"].get(line.sku.pk)
    if policy is None or not is_split(line, policy):
        return None
    facts = price_facts(context)
    lists = facts["lists"].get(line.sku.pk, [])
    whole_cases = line.quantity // policy.case_size
    per_case = case_price(lists, line.sku, policy, cases=whole_cases)
    if per_case is None:
        return None
    per_unit = per_case / policy.case_size
    settings = facts["settings"]
    if pooled(line, policy, bool(settings["allow_mixed_cases"])):
        new = per_unit.quantize(FOUR, rounding=ROUND_HALF_UP)
        reason = _("Mixed case %(group)s: the case price per unit") % {
            "group": policy.group_name or policy.group_code
        }
    else:
        if not unit_price_is_derived(lists, facts["derived"], line, line_factor(line)):
            return None  # the tenant prices single units itself
        percent = settings["split_surcharge_percent"]
        new = with_surcharge(per_unit, percent)
        reason = _("Single units from a case: the case price per unit + %(percent)s%%") % {
            "percent": format(Decimal(percent).normalize(), "f")
        }
    if new == price:
        return None
    return PriceAdjustment(unit_price=new, reason=reason)
