"""Pure catalogue rules other apps apply: barcodes and order quantities."""

from __future__ import annotations

from django.utils.translation import gettext as _

from core.exceptions import DomainError

GTIN_LENGTHS = (8, 12, 13, 14)


def gtin_check_digit(body: str) -> int:
    """The GS1 mod-10 check digit for the digits ``body`` (a GTIN without its last digit)."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        total += int(ch) * (3 if i % 2 == 0 else 1)
    return (10 - total % 10) % 10


def is_valid_gtin(value: str) -> bool:
    return (
        value.isdigit()
        and len(value) in GTIN_LENGTHS
        and gtin_check_digit(value[:-1]) == int(value[-1])
    )


def clean_gtin(value: str | None, *, field: str = "gtin") -> str:
    """A GTIN-8/12/13/14 (EAN/UPC) with a correct check digit, or ``""`` when empty."""
    value = (value or "").strip().replace(" ", "")
    if not value:
        return ""
    if not value.isdigit() or len(value) not in GTIN_LENGTHS:
        raise DomainError(
            _("A barcode (GTIN) has 8, 12, 13 or 14 digits."), field=field, code="INVALID_GTIN"
        )
    if gtin_check_digit(value[:-1]) != int(value[-1]):
        raise DomainError(
            _("The barcode %(gtin)s has a wrong check digit (expected %(digit)d).")
            % {"gtin": value, "digit": gtin_check_digit(value[:-1])},
            field=field,
            code="INVALID_GTIN",
        )
    return value


# Order lines, allocations and stock count base units in PostgreSQL integers.
MAX_LINE_QUANTITY = 2**31 - 1


def check_order_quantity(
    *,
    quantity: int,
    factor: int = 1,
    min_order_qty: int = 1,
    order_multiple: int = 1,
    field: str = "quantity",
) -> int:
    """The line's quantity in base units, or a DomainError when it breaks the SKU's
    rules. ``quantity`` counts units of ``factor`` base units; ``min_order_qty``
    and ``order_multiple`` are in base units (see :class:`core.catalog.models.Sku`)."""
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
        raise DomainError(
            _("The quantity must be a whole number above zero."),
            field=field,
            code="INVALID_QUANTITY",
        )
    base = quantity * factor
    if base > MAX_LINE_QUANTITY:
        raise DomainError(
            _("At most %(max)d base units per line.") % {"max": MAX_LINE_QUANTITY},
            field=field,
            code="INVALID_QUANTITY",
        )
    if base < min_order_qty:
        raise DomainError(
            _("The minimum order is %(moq)d base units.") % {"moq": min_order_qty},
            field=field,
            code="BELOW_MINIMUM",
            minimum=min_order_qty,
        )
    if base % order_multiple:
        raise DomainError(
            _("Order in multiples of %(n)d base units.") % {"n": order_multiple},
            field=field,
            code="NOT_MULTIPLE_OF_PACK",
            multiple=order_multiple,
        )
    return base


def sku_order_quantity(sku, unit, quantity: int, *, field: str = "quantity") -> int:
    """:func:`check_order_quantity` for a :class:`Sku` and one of its units."""
    if unit is not None and not unit.is_sellable:
        raise DomainError(
            _("%(sku)s is not sold by the %(unit)s.") % {"sku": sku.code, "unit": unit.code},
            field="unit",
            code="UNIT_NOT_SELLABLE",
        )
    return check_order_quantity(
        quantity=quantity,
        factor=unit.factor if unit is not None else 1,
        min_order_qty=sku.min_order_qty,
        order_multiple=sku.order_multiple,
        field=field,
    )
