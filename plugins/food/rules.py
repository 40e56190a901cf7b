"""The case/unit ordering rules, applied to the lines of one order.

Policies of every SKU in the order are loaded in one query on the first hook
call and kept in ``context.cache["food"]``; the rules themselves are plain
Python over those facts, so an order's SQL does not grow with its lines.

Per line (``quantity`` in base units; the line's unit factor from what the
dealer typed):

* a line in the case unit (or a larger pack) must hold whole cases, else
  ``NOT_WHOLE_CASES``;
* a line in single units (a unit smaller than the case) of a SKU that is
  **case only** is refused: ``CASE_ONLY`` when the quantity is whole cases
  (order it as cases), ``NOT_WHOLE_CASES`` otherwise; both name the case unit
  and the nearest whole numbers of cases in ``params``. Nothing is rounded;
* of a SKU allowing **units with a minimum**: below the minimum,
  ``BELOW_MINIMUM_UNITS``;
* with the tenant's ``allow_mixed_cases`` setting on, single-unit lines of
  case-only SKUs in one mixed-case group are pooled across the order: their
  units must add up to whole mixed cases, else ``MIXED_CASE_INCOMPLETE`` on
  each of them with the units missing.

SKUs without a policy are left to the core's rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from plugins.types import LineError, OrderContext, OrderLine

NAME = "food"
CASE_ONLY = "CASE_ONLY"
BELOW_MINIMUM_UNITS = "BELOW_MINIMUM_UNITS"
NOT_WHOLE_CASES = "NOT_WHOLE_CASES"
MIXED_CASE_INCOMPLETE = "MIXED_CASE_INCOMPLETE"
ERROR_CODES = [CASE_ONLY, BELOW_MINIMUM_UNITS, NOT_WHOLE_CASES, MIXED_CASE_INCOMPLETE]


@dataclass(frozen=True)
class PolicyFacts:
    sku_id: int
    policy: str
    min_units: int
    case_unit: str
    case_size: int
    shelf_life_days: int | None = None
    group_code: str | None = None
    group_name: str | None = None
    group_size: int | None = None


POLICY_FIELDS = (
    "sku_id",
    "policy",
    "min_units",
    "case_unit__code",
    "case_unit__factor",
    "shelf_life_days",
    "mixed_group__code",
    "mixed_group__name",
    "mixed_group__case_size",
)


def _policies(sku_ids: Any) -> Any:
    from .models import CasePolicy

    return CasePolicy.objects.filter(sku_id__in=set(sku_ids)).values(*POLICY_FIELDS)


def _facts(row: dict[str, Any]) -> PolicyFacts:
    return PolicyFacts(*(row[f] for f in POLICY_FIELDS))


def load_policies(sku_ids: set[int] | list[int]) -> dict[int, PolicyFacts]:
    """Policies of these SKUs with their case unit and group: one query."""
    if not sku_ids:
        return {}
    return {row["sku_id"]: _facts(row) for row in _policies(sku_ids)}


def facts_source() -> tuple[str, Any]:
    """The order's policies, asked with the other plugins' facts (``plugins.orderfacts``)."""
    from core.catalog.models import SkuUnit

    from .models import CasePolicy, MixedCaseGroup

    sql = (
        "SELECT p.sku_id, p.policy, p.min_units, u.code AS case_unit__code, "
        "u.factor AS case_unit__factor, p.shelf_life_days, g.code AS mixed_group__code, "
        "g.name AS mixed_group__name, g.case_size AS mixed_group__case_size "
        f'FROM "{CasePolicy._meta.db_table}" p '
        f'JOIN "{SkuUnit._meta.db_table}" u ON u.id = p.case_unit_id '
        f'LEFT JOIN "{MixedCaseGroup._meta.db_table}" g ON g.id = p.mixed_group_id '
        "WHERE p.sku_id = ANY(%s)"
    )
    return sql, _facts


def order_facts(context: OrderContext) -> dict[str, Any]:
    """What the food hooks need for the whole order, loaded once (cache ``food``).

    The policies of every SKU in the order, asked in the one statement of
    ``plugins.orderfacts`` with the other plugins' facts. An order without a
    food SKU stops there; the tenant's settings are read (:func:`food_settings`)
    only when a policy applies.
    """
    facts = context.cache.get(NAME)
    if facts is None:
        from plugins.orderfacts import facts_for

        facts = {"policies": facts_for(context, NAME)}
        context.cache[NAME] = facts
    return facts


def food_settings(context: OrderContext) -> dict[str, Any]:
    """The tenant's food settings, read once per order (and cached on the tenant)."""
    facts = order_facts(context)
    if "settings" not in facts:
        from plugins.services import plugin_settings

        facts["settings"] = plugin_settings(tenant=context.tenant, name=NAME)
    return facts["settings"]


def line_factor(line: OrderLine) -> int:
    """Base units per unit the dealer typed (1 for single units)."""
    if line.unit_quantity and line.quantity % line.unit_quantity == 0:
        return max(line.quantity // line.unit_quantity, 1)
    return 1


def is_split(line: OrderLine, facts: PolicyFacts) -> bool:
    """Whether the line orders single units (a unit smaller than the case)."""
    return line_factor(line) < facts.case_size


def pooled(line: OrderLine, facts: PolicyFacts, allow_mixed: bool) -> bool:
    """A case-only single-unit line that may complete a mixed case with its group."""
    return bool(
        allow_mixed and facts.group_code and facts.policy == "case_only" and is_split(line, facts)
    )


def _case_params(line: OrderLine, facts: PolicyFacts) -> dict[str, Any]:
    down, up = line.quantity // facts.case_size, -(-line.quantity // facts.case_size)
    return {
        "case_unit": facts.case_unit,
        "case_size": facts.case_size,
        "cases_down": down,
        "cases_up": up,
        "units_down": down * facts.case_size,
        "units_up": up * facts.case_size,
    }


def _not_whole(line: OrderLine, facts: PolicyFacts) -> LineError:
    params = _case_params(line, facts)
    return LineError(
        index=line.index,
        code=NOT_WHOLE_CASES,
        field="quantity",
        message=_(
            "%(sku)s is sold in whole cases of %(size)d: %(quantity)d units is not whole cases; "
            "order %(down)d or %(up)d %(unit)s."
        )
        % {
            "sku": line.sku.code,
            "size": facts.case_size,
            "quantity": line.quantity,
            "down": params["cases_down"],
            "up": params["cases_up"],
            "unit": facts.case_unit,
        },
        params=params,
    )


def check_lines(
    lines: list[OrderLine], policies: dict[int, PolicyFacts], *, allow_mixed: bool
) -> list[LineError]:
    errors: list[LineError] = []
    groups: dict[str, list[tuple[OrderLine, PolicyFacts]]] = {}
    for line in lines:
        facts = policies.get(line.sku.pk)
        if facts is None:
            continue
        if not is_split(line, facts):
            if line.quantity % facts.case_size:
                errors.append(_not_whole(line, facts))
            continue
        if pooled(line, facts, allow_mixed):
            groups.setdefault(facts.group_code or "", []).append((line, facts))
            continue
        if facts.policy == "case_only":
            if line.quantity % facts.case_size:
                errors.append(_not_whole(line, facts))
            else:
                params = _case_params(line, facts)
                errors.append(
                    LineError(
                        index=line.index,
                        code=CASE_ONLY,
                        field="unit",
                        message=_("%(sku)s is sold by the case only: order %(cases)d %(unit)s.")
                        % {
                            "sku": line.sku.code,
                            "cases": params["cases_down"],
                            "unit": facts.case_unit,
                        },
                        params=params,
                    )
                )
        elif facts.policy == "units_min" and line.quantity < facts.min_units:
            errors.append(
                LineError(
                    index=line.index,
                    code=BELOW_MINIMUM_UNITS,
                    field="quantity",
                    message=_(
                        "Order at least %(minimum)d single units of %(sku)s, or whole %(unit)s "
                        "of %(size)d."
                    )
                    % {
                        "minimum": facts.min_units,
                        "sku": line.sku.code,
                        "unit": facts.case_unit,
                        "size": facts.case_size,
                    },
                    params={
                        "minimum": facts.min_units,
                        "case_unit": facts.case_unit,
                        "case_size": facts.case_size,
                    },
                )
            )
    for code, members in groups.items():
        size = members[0][1].group_size or 1
        units = sum(line.quantity for line, _facts in members)
        if units % size == 0:
            continue
        missing = size - units % size
        for line, facts in members:
            errors.append(
                LineError(
                    index=line.index,
                    code=MIXED_CASE_INCOMPLETE,
                    field="quantity",
                    message=_(
                        "Mixed case %(group)s: %(units)d units ordered, add %(missing)d more to "
                        "complete a case of %(size)d."
                    )
                    % {
                        "group": facts.group_name or code,
                        "units": units,
                        "missing": missing,
                        "size": size,
                    },
                    params={"group": code, "case_size": size, "units": units, "missing": missing},
                )
            )
    return errors


def validate(context: OrderContext, lines: list[OrderLine]) -> list[LineError]:
    facts = order_facts(context)
    if not facts["policies"]:
        return []
    return check_lines(
        lines, facts["policies"], allow_mixed=bool(food_settings(context)["allow_mixed_cases"])
    )
