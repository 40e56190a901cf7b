"""Reel and minimum-order rules for one order line (no database access)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from .models import ReelMode, ReelRule

NOT_MULTIPLE_OF_REEL = "NOT_MULTIPLE_OF_REEL"
BELOW_MINIMUM = "BELOW_MINIMUM"
ORDER_ERROR_CODES = [NOT_MULTIPLE_OF_REEL, BELOW_MINIMUM]


@dataclass(frozen=True)
class Violation:
    code: str
    message: str
    params: dict[str, Any] = field(default_factory=dict)


def check_quantity(rule: ReelRule, quantity: int, *, sku_code: str = "") -> list[Violation]:
    """What is wrong with ordering ``quantity`` base units under ``rule`` (empty: fine)."""
    found: list[Violation] = []
    if quantity < rule.minimum_quantity:
        found.append(
            Violation(
                BELOW_MINIMUM,
                _("Order at least %(minimum)d of %(sku)s.")
                % {"minimum": rule.minimum_quantity, "sku": sku_code},
                {"minimum": rule.minimum_quantity},
            )
        )
    reel = rule.reel_quantity
    if not reel or rule.mode == ReelMode.ANY or quantity % reel == 0:
        return found
    lower, upper = quantity // reel * reel, (quantity // reel + 1) * reel
    params = {"reel_quantity": reel, "lower": lower, "upper": upper}
    if rule.mode == ReelMode.REEL_ONLY:
        found.append(
            Violation(
                NOT_MULTIPLE_OF_REEL,
                _("%(sku)s is sold in full reels of %(reel)d: order %(upper)d instead.")
                % {"sku": sku_code, "reel": reel, "upper": upper},
                params,
            )
        )
    elif rule.mode == ReelMode.CUT_TAPE_FROM and quantity < (rule.cut_tape_from or 0):
        found.append(
            Violation(
                NOT_MULTIPLE_OF_REEL,
                _("%(sku)s is sold in full reels of %(reel)d, or cut tape from %(from)d.")
                % {"sku": sku_code, "reel": reel, "from": rule.cut_tape_from},
                {**params, "cut_tape_from": rule.cut_tape_from},
            )
        )
    return found
