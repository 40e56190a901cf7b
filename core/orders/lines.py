"""Turning what a channel sends (``SKU-or-barcode quantity [unit]``) into order lines.

Every channel — GraphQL, quick order, sheet upload, scan, reorder, marketplace
feed — hands :func:`resolve_lines` the same :class:`LineInput` list and gets
resolved lines, or one typed error per bad line, in one query whatever the
number of lines (plus one per unknown code, for its "did you mean").
Look-ups and quantity rules are the catalogue's
(:func:`core.catalog.selectors.resolve_sku_units`, :mod:`core.catalog.rules`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.catalog.models import Sku, SkuUnit
from core.catalog.rules import check_order_quantity, sku_order_quantity
from core.catalog.selectors import resolve_sku_units
from core.exceptions import DomainError


@dataclass(frozen=True)
class LineInput:
    sku: str  # SKU code, ``CODE/unit``, or a GTIN of any of its units
    quantity: int
    unit: str | None = (
        None  # a unit code; default: the barcode's unit or the smallest sellable unit
    )


@dataclass
class ResolvedLine:
    position: int
    sku: Sku
    unit_code: str
    unit_factor: int
    quantity: int
    base_quantity: int
    unit: SkuUnit | None = None
    extra: dict = field(default_factory=dict)


def _token(item: LineInput) -> str:
    code = (item.sku or "").strip()
    unit = (item.unit or "").strip()
    if unit and not code.isdigit():
        return f"{code}/{unit}"
    return code


def _located(error: DomainError, where: str) -> DomainError:
    part = {"unit": "unit", "quantity": "quantity"}.get(error.field or "", "sku")
    params = dict(error.params)
    suggestions = params.get("suggestions") or []
    if suggestions and "suggestion" not in params:
        params["suggestion"] = suggestions[0]
    return DomainError(error.message, code=error.code, field=f"{where}.{part}", **params)


def resolve_lines(
    inputs: list[LineInput], *, field_prefix: str = "lines", pack_rules: bool = True
) -> tuple[list[ResolvedLine], list[DomainError]]:
    """Resolve codes and units; check the quantity, the unit and (unless ``pack_rules`` is
    off, for quoted orders) the SKU's minimum and multiples."""
    tokens = [_token(i) for i in inputs]
    found = resolve_sku_units(tokens)
    # A barcode with an explicit unit: resolve the barcode, then that unit of its SKU.
    second = {
        t: f"{r.sku.code}/{i.unit.strip()}"
        for t, i in zip(tokens, inputs, strict=True)
        if i.unit
        and t.isdigit()
        and not isinstance(r := found.get(t), DomainError | None)
        and r.unit.code.lower() != i.unit.strip().lower()
    }
    if second:
        again = resolve_sku_units(second.values())
        for token, retry in second.items():
            found[token] = again[retry]
    resolved: list[ResolvedLine] = []
    errors: list[DomainError] = []
    for index, (item, token) in enumerate(zip(inputs, tokens, strict=True)):
        where = f"{field_prefix}.{index}"
        result = found.get(token)
        if result is None:
            errors.append(
                DomainError("Enter a SKU code or barcode.", code="REQUIRED", field=f"{where}.sku")
            )
            continue
        if isinstance(result, DomainError):
            errors.append(_located(result, where))
            continue
        sku, unit = result
        try:
            if pack_rules:
                base_quantity = sku_order_quantity(sku, unit, item.quantity)
            else:
                base_quantity = check_order_quantity(quantity=item.quantity, factor=unit.factor)
        except DomainError as exc:
            errors.append(_located(exc, where))
            continue
        resolved.append(
            ResolvedLine(
                position=index,
                sku=sku,
                unit=unit,
                unit_code=unit.code,
                unit_factor=unit.factor,
                quantity=item.quantity,
                base_quantity=base_quantity,
            )
        )
    return resolved, errors
