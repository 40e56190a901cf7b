"""Turning what a channel sends (``SKU-or-barcode quantity [unit]``) into order lines.

Every channel — GraphQL, quick order, sheet upload, scan, reorder, marketplace
feed — hands :func:`resolve_lines` the same :class:`LineInput` list and gets
resolved lines or one typed error per bad line, in two queries whatever the
number of lines.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Q
from django.utils.translation import gettext as _

from core.catalog.models import ProductStatus, Sku, SkuUnit
from core.exceptions import DomainError


@dataclass(frozen=True)
class LineInput:
    sku: str  # SKU code or a GTIN (of the SKU or of one of its units)
    quantity: int
    unit: str | None = None


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


def _suggest(code: str) -> str | None:
    """The closest SKU code, for "did you mean" (trigram similarity when available)."""
    try:
        from django.contrib.postgres.search import TrigramSimilarity

        match = (
            Sku.objects.annotate(sim=TrigramSimilarity("code", code))
            .filter(sim__gt=0.2).order_by("-sim").values_list("code", flat=True).first()
        )
        if match:
            return match
    except Exception:  # noqa: BLE001 - pg_trgm may be missing; fall back to a prefix
        pass
    prefix = code[: max(2, len(code) // 2)]
    return Sku.objects.filter(code__istartswith=prefix).order_by("code").values_list("code", flat=True).first()


def resolve_lines(inputs: list[LineInput], *, field_prefix: str = "lines") -> tuple[list[ResolvedLine], list[DomainError]]:
    """Resolve SKU codes/GTINs and units; check quantity, unit, pack rules and status."""
    keys = {i.sku.strip() for i in inputs if i.sku and i.sku.strip()}
    skus = list(
        Sku.objects.filter(Q(code__in=keys) | Q(gtin__in=keys) | Q(units__gtin__in=keys))
        .select_related("product").prefetch_related("units").distinct()
    )
    by_code = {s.code.lower(): s for s in skus}
    by_gtin: dict[str, tuple[Sku, SkuUnit | None]] = {}
    for s in skus:
        if s.gtin:
            by_gtin[s.gtin] = (s, None)
        for u in s.units.all():
            if u.gtin:
                by_gtin[u.gtin] = (s, u)

    resolved: list[ResolvedLine] = []
    errors: list[DomainError] = []
    for index, item in enumerate(inputs):
        where = f"{field_prefix}.{index}"
        key = (item.sku or "").strip()
        sku, unit = None, None
        if key.lower() in by_code:
            sku = by_code[key.lower()]
        elif key in by_gtin:
            sku, unit = by_gtin[key]
        if sku is None:
            suggestion = _suggest(key) if key else None
            message = _("Unknown SKU or barcode “%(code)s”.") % {"code": key}
            if suggestion:
                message += " " + _("Did you mean %(code)s?") % {"code": suggestion}
            errors.append(DomainError(message, code="UNKNOWN_SKU", field=f"{where}.sku", suggestion=suggestion))
            continue
        if not isinstance(item.quantity, int) or item.quantity <= 0:
            errors.append(DomainError(_("The quantity must be a whole number above zero."),
                                      code="INVALID_QUANTITY", field=f"{where}.quantity"))
            continue
        units = {u.code.lower(): u for u in sku.units.all()}
        if item.unit:
            unit = units.get(item.unit.strip().lower())
            if unit is None and item.unit.strip().lower() != sku.base_unit.lower():
                errors.append(DomainError(
                    _("%(sku)s is not sold by the unit “%(unit)s”. Units: %(units)s.")
                    % {"sku": sku.code, "unit": item.unit, "units": ", ".join(sorted({sku.base_unit, *units})) },
                    code="UNKNOWN_UNIT", field=f"{where}.unit",
                ))
                continue
        elif unit is None:
            unit = units.get(sku.base_unit.lower())
        factor = unit.factor if unit else 1
        if unit is not None and not unit.is_sellable:
            errors.append(DomainError(
                _("%(sku)s cannot be ordered by the %(unit)s.") % {"sku": sku.code, "unit": unit.code},
                code="UNIT_NOT_SELLABLE", field=f"{where}.unit",
            ))
            continue
        if sku.product.status != ProductStatus.ACTIVE:
            errors.append(DomainError(_("%(sku)s is not available for ordering.") % {"sku": sku.code},
                                      code="NOT_ORDERABLE", field=f"{where}.sku"))
            continue
        base_quantity = item.quantity * factor
        minimum = getattr(sku, "min_order_quantity", 0) or 0
        multiple = getattr(sku, "order_multiple", 1) or 1
        if minimum and base_quantity < minimum:
            errors.append(DomainError(
                _("The minimum order for %(sku)s is %(min)d %(unit)s.") % {"sku": sku.code, "min": minimum, "unit": sku.base_unit},
                code="BELOW_MINIMUM", field=f"{where}.quantity", minimum=minimum,
            ))
            continue
        if multiple > 1 and base_quantity % multiple:
            errors.append(DomainError(
                _("%(sku)s is sold in multiples of %(n)d %(unit)s.") % {"sku": sku.code, "n": multiple, "unit": sku.base_unit},
                code="NOT_MULTIPLE_OF_PACK", field=f"{where}.quantity", multiple=multiple,
            ))
            continue
        resolved.append(ResolvedLine(
            position=index, sku=sku, unit=unit, unit_code=unit.code if unit else sku.base_unit,
            unit_factor=factor, quantity=item.quantity, base_quantity=base_quantity,
        ))
    return resolved, errors
