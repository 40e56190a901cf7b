"""The only place that changes the plugin's data: category parameters, part
parameters (parsed and normalised), reel rules. Each function runs in one
transaction and raises :class:`~core.exceptions.DomainError` (or
:class:`~core.exceptions.ValidationFailed` with one error per bad parameter),
changing nothing, on bad input.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from core.catalog.models import Category, Product, Sku
from core.exceptions import DomainError, ValidationFailed, check_lengths

from . import selectors
from .models import (
    CODE_VALIDATOR_RE,
    CategoryParameter,
    Match,
    PartParameter,
    ReelMode,
    ReelRule,
)
from .units import (
    REQUIRED,
    TEXT_QUANTITIES,
    ParameterError,
    ParsedValue,
    Quantity,
    parse_value,
    unit_scale,
)

UNKNOWN_PARAMETER = "UNKNOWN_PARAMETER"
PARAMETER_IN_USE = "PARAMETER_IN_USE"
INVALID = "INVALID"


def _reindex(product_ids: list[int]) -> None:
    from search.indexing import schedule_reindex

    schedule_reindex(product_ids)


# --- category parameters ------------------------------------------------------------------
def define_parameter(
    *,
    category: Category,
    code: str,
    label: str,
    quantity: str,
    display_unit: str = "",
    match: str = "",
    required: bool = False,
    position: int = 0,
) -> CategoryParameter:
    """Declare (or change) a parameter of ``category``'s parts.

    Changing the quantity kind of a parameter that parts already carry is
    refused (``PARAMETER_IN_USE``): their values would mean something else.
    """
    code = (code or "").strip()
    if not re.match(CODE_VALIDATOR_RE, code):
        raise DomainError(
            _("Use lower-case letters, digits and underscores, starting with a letter."),
            code=INVALID,
            field="code",
        )
    if quantity not in Quantity.__members__.values():
        raise DomainError(_("Unknown quantity kind."), code=INVALID, field="quantity")
    quantity = Quantity(quantity)
    if match and match not in Match.values:
        raise DomainError(_("Unknown match rule."), code=INVALID, field="match")
    display_unit = (display_unit or "").strip()
    if display_unit:
        if quantity in TEXT_QUANTITIES or unit_scale(quantity, display_unit) is None:
            raise DomainError(
                _("“%(unit)s” is not a unit of this quantity.") % {"unit": display_unit},
                code="UNKNOWN_UNIT",
                field="displayUnit",
            )
    label = (label or "").strip() or code
    check_lengths(CategoryParameter, label=label)
    if isinstance(position, bool) or not isinstance(position, int) or not 0 <= position <= 32767:
        raise DomainError(
            _("Enter a position from 0 to %(most)d.") % {"most": 32767},
            code=INVALID,
            field="position",
        )
    with transaction.atomic():
        existing = (
            CategoryParameter.objects.select_for_update()
            .filter(category=category, code=code)
            .first()
        )
        if existing is not None and existing.quantity != quantity:
            used = PartParameter.objects.filter(
                code=code, product__category_id__in=selectors.subtree_ids(category)
            ).exists()
            if used:
                raise DomainError(
                    _("Parts already carry %(code)s; its quantity kind cannot change.")
                    % {"code": code},
                    code=PARAMETER_IN_USE,
                    field="quantity",
                )
        row = existing or CategoryParameter(category=category, code=code)
        row.label, row.quantity, row.display_unit = label, quantity, display_unit
        row.match, row.required, row.position = match, bool(required), position
        row.save()
    return row


# --- part parameters ----------------------------------------------------------------------
def parse_parameters(
    product: Product, values: Mapping[str, Any]
) -> tuple[dict[str, ParsedValue | None], dict[str, CategoryParameter]]:
    """Parse ``{code: raw}`` against the parameters ``product``'s category declares.

    Returns the parsed values (``None``: remove) and the definitions; raises
    :class:`ValidationFailed` listing every bad parameter (``field`` = its code).
    """
    definitions = selectors.category_parameters(product.category)
    parsed: dict[str, ParsedValue | None] = {}
    errors: list[DomainError] = []
    for code, raw in values.items():
        definition = definitions.get(code)
        if definition is None:
            errors.append(
                DomainError(
                    _("%(code)s is not a parameter of this product's category.") % {"code": code},
                    code=UNKNOWN_PARAMETER,
                    field=code,
                    parameter=code,
                )
            )
            continue
        if raw is None or str(raw).strip() == "":
            parsed[code] = None
            continue
        try:
            parsed[code] = parse_value(definition.quantity, raw, parameter=code)
        except ParameterError as exc:
            errors.append(exc)
    if errors:
        raise ValidationFailed(errors, message=_("Some parameters cannot be read."))
    return parsed, definitions


def set_part_parameters(
    *, product: Product, values: Mapping[str, Any], replace: bool = False
) -> list[PartParameter]:
    """Set ``product``'s parameters from what people typed (``{"resistance": "10k"}``).

    Values are parsed with the category's quantity kinds and stored normalised;
    ``None`` or an empty string removes a parameter; ``replace`` removes every
    parameter not given. A required parameter left without a value is refused.
    Every problem is reported at once and nothing is saved. The product is
    reindexed for search after commit. Returns the product's parameters.
    """
    parsed, definitions = parse_parameters(product, values)
    with transaction.atomic():
        Product.objects.select_for_update().filter(pk=product.pk).first()
        current = {p.code: p for p in PartParameter.objects.filter(product=product)}
        keep = set(current) if not replace else set()
        final = (keep | {c for c, v in parsed.items() if v is not None}) - {
            c for c, v in parsed.items() if v is None
        }
        missing = [d for c, d in definitions.items() if d.required and c not in final]
        if missing:
            raise ValidationFailed(
                [
                    DomainError(
                        _("%(label)s is required.") % {"label": d.label},
                        code=REQUIRED,
                        field=d.code,
                        parameter=d.code,
                    )
                    for d in missing
                ],
                message=_("Some parameters cannot be read."),
            )
        PartParameter.objects.filter(product=product).exclude(code__in=final).delete()
        for code, value in parsed.items():
            if value is None:
                continue
            raw = str(values[code]).strip()[:80]
            row = current.get(code) or PartParameter(product=product, code=code)
            row.quantity, row.value, row.value_max = value.quantity, value.value, value.value_max
            row.text, row.raw = value.text, raw
            row.save()
        _reindex([product.pk])
    return list(PartParameter.objects.filter(product=product).order_by("code"))


# --- reel rules -----------------------------------------------------------------------------
def set_reel_rule(
    *,
    sku: Sku,
    reel_quantity: int | None,
    mode: str = ReelMode.ANY,
    cut_tape_from: int | None = None,
    minimum_quantity: int = 1,
) -> ReelRule:
    """Set how ``sku`` may be ordered (quantities in base units)."""
    if mode not in ReelMode.values:
        raise DomainError(_("Unknown reel mode."), code=INVALID, field="mode")
    if reel_quantity is not None and reel_quantity < 1:
        raise DomainError(_("Enter 1 or more."), code=INVALID, field="reelQuantity")
    if mode != ReelMode.ANY and not reel_quantity:
        raise DomainError(_("Enter the reel quantity."), code=REQUIRED, field="reelQuantity")
    if mode == ReelMode.CUT_TAPE_FROM and (cut_tape_from is None or cut_tape_from < 1):
        raise DomainError(
            _("Enter the quantity cut tape starts from."), code=REQUIRED, field="cutTapeFrom"
        )
    if minimum_quantity is None or minimum_quantity < 1:
        raise DomainError(_("Enter 1 or more."), code=INVALID, field="minimumQuantity")
    with transaction.atomic():
        rule, _created = ReelRule.objects.select_for_update().update_or_create(
            sku=sku,
            defaults={
                "reel_quantity": reel_quantity,
                "mode": mode,
                "cut_tape_from": cut_tape_from if mode == ReelMode.CUT_TAPE_FROM else None,
                "minimum_quantity": minimum_quantity,
            },
        )
    return rule


def remove_reel_rule(*, sku: Sku) -> None:
    with transaction.atomic():
        ReelRule.objects.filter(sku=sku).delete()
