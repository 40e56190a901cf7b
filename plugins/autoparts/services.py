"""Changing vehicles, fitments, part numbers and cross-references.

The only place that writes the plugin's tables: GraphQL mutations, the CSV
import page and the demo loader call these. Each change runs in one
transaction and raises :class:`core.exceptions.DomainError` (typed code and
field) on bad input, leaving nothing half-done.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models.functions import Upper
from django.utils.translation import gettext as _

from core.catalog.models import Product, Sku
from core.exceptions import DomainError, NotFound, ValidationFailed, check_lengths

from .models import CrossReference, Fitment, Fuel, NumberKind, PartNumber, Position, Vehicle
from .numbers import normalise_name, normalise_number

log = logging.getLogger(__name__)

MIN_YEAR, MAX_YEAR = 1900, 2100


# --- vehicles -------------------------------------------------------------------------------
def _year(value: Any, field_name: str, *, required: bool) -> int | None:
    if value in (None, ""):
        if required:
            raise DomainError(_("Enter a model year."), code="REQUIRED", field=field_name)
        return None
    try:
        year = int(str(value).strip())
    except ValueError:
        raise DomainError(
            _("“%(value)s” is not a year.") % {"value": value}, code="INVALID", field=field_name
        ) from None
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise DomainError(
            _("Enter a year between %(min)d and %(max)d.") % {"min": MIN_YEAR, "max": MAX_YEAR},
            code="INVALID",
            field=field_name,
        )
    return year


def _vehicle_values(data: dict[str, Any], current: Vehicle | None = None) -> dict[str, Any]:
    """Cleaned fields from ``data`` (only the keys it holds, over ``current``)."""
    values: dict[str, Any] = {}
    for name in ("make", "model"):
        if name in data or current is None:
            text = normalise_name(data.get(name) or "")
            if not text:
                raise DomainError(_("This field is required."), code="REQUIRED", field=name)
            values[name] = text
    if "year_from" in data or current is None:
        values["year_from"] = _year(data.get("year_from"), "yearFrom", required=True)
    if "year_to" in data:
        values["year_to"] = _year(data.get("year_to"), "yearTo", required=False)
    year_from = values.get("year_from", current.year_from if current else None)
    year_to = values.get("year_to", current.year_to if current else None)
    if year_to is not None and year_from is not None and year_to < year_from:
        raise DomainError(
            _("The last model year comes before the first."), code="INVALID", field="yearTo"
        )
    if "engine_code" in data:
        values["engine_code"] = normalise_name(data.get("engine_code") or "").upper()
    if "displacement" in data:
        raw = data.get("displacement")
        if raw in (None, ""):
            values["displacement"] = None
        else:
            try:
                litres = Decimal(str(raw).strip().upper().removesuffix("L").strip())
            except InvalidOperation:
                raise DomainError(
                    _("Enter the displacement in litres, e.g. 1.6."),
                    code="INVALID",
                    field="displacement",
                ) from None
            # NaN compares with nothing, and what rounds to 0.00 or 100.00 is outside the
            # column (positive, four digits).
            if not (litres.is_finite() and Decimal("0") < litres < Decimal("100")) or not (
                Decimal("0") < litres.quantize(Decimal("0.01")) < Decimal("100")
            ):
                raise DomainError(
                    _("Enter the displacement in litres, e.g. 1.6."),
                    code="INVALID",
                    field="displacement",
                )
            values["displacement"] = litres.quantize(Decimal("0.01"))
    if "fuel" in data:
        fuel = (data.get("fuel") or "").strip().lower()
        if fuel and fuel not in Fuel.values:
            raise DomainError(
                _("Unknown fuel %(fuel)s.") % {"fuel": fuel}, code="INVALID", field="fuel"
            )
        values["fuel"] = fuel
    for name in ("body", "trim"):
        if name in data:
            values[name] = normalise_name(data.get(name) or "")
    check_lengths(
        Vehicle,
        report_as={"engine_code": "engineCode"},
        **{
            k: v for k, v in values.items() if k in ("make", "model", "engine_code", "body", "trim")
        },
    )
    return values


def create_vehicle(**data: Any) -> Vehicle:
    """A vehicle from ``make``, ``model``, ``year_from`` and optionally ``year_to``,
    ``engine_code``, ``displacement`` (litres), ``fuel``, ``body``, ``trim``."""
    values = _vehicle_values(data)
    with transaction.atomic():
        return Vehicle.objects.create(**values)


def update_vehicle(*, vehicle: Vehicle, **data: Any) -> Vehicle:
    values = _vehicle_values(data, current=vehicle)
    with transaction.atomic():
        for name, value in values.items():
            setattr(vehicle, name, value)
        vehicle.save()
    return vehicle


def delete_vehicle(*, vehicle: Vehicle) -> None:
    with transaction.atomic():
        vehicle.delete()  # its fitments go with it


def find_or_create_vehicle(**data: Any) -> tuple[Vehicle, bool]:
    """The vehicle with exactly these make/model/years/engine/body/trim, or a new one."""
    values = _vehicle_values(data)
    lookup = {
        "make__iexact": values["make"],
        "model__iexact": values["model"],
        "year_from": values["year_from"],
        "year_to": values.get("year_to"),
        "engine_code__iexact": values.get("engine_code", ""),
        "body__iexact": values.get("body", ""),
        "trim__iexact": values.get("trim", ""),
    }
    existing = Vehicle.objects.filter(**lookup).order_by("id").first()
    if existing is not None:
        return existing, False
    return Vehicle.objects.create(**values), True


# --- fitments -------------------------------------------------------------------------------
def _part(product_code: str | None, sku_code: str | None) -> tuple[Product, Sku | None]:
    """The product (and SKU) a fitment names: a SKU code, or a product code."""
    if sku_code and sku_code.strip():
        sku = Sku.objects.select_related("product").filter(code=sku_code.strip()).first()
        if sku is None:
            raise NotFound(_("No SKU %(code)s.") % {"code": sku_code}, field="skuCode")
        if product_code and product_code.strip() and sku.product.code != product_code.strip():
            raise DomainError(
                _("SKU %(sku)s is not a SKU of product %(product)s.")
                % {"sku": sku.code, "product": product_code},
                code="SKU_OF_OTHER_PRODUCT",
                field="skuCode",
            )
        return sku.product, sku
    if product_code and product_code.strip():
        product = Product.objects.filter(code=product_code.strip()).first()
        if product is None:
            raise NotFound(_("No product %(code)s.") % {"code": product_code}, field="productCode")
        return product, None
    raise DomainError(
        _("Give the product code or the SKU code of the part."),
        code="REQUIRED",
        field="productCode",
    )


def _position(value: str | None) -> str:
    position = (value or "").strip().lower().replace("-", "_").replace(" ", "_")
    if position not in Position.values:
        raise DomainError(
            _("Unknown position %(position)s.") % {"position": value},
            code="INVALID",
            field="position",
        )
    return position


def add_fitment(
    *,
    vehicle: Vehicle,
    product_code: str | None = None,
    sku_code: str | None = None,
    position: str | None = "",
    note: str = "",
) -> tuple[Fitment, bool]:
    """Fit a product (every SKU) or one SKU to ``vehicle``; the same fitment again
    updates its note. Returns ``(fitment, created)``."""
    product, sku = _part(product_code, sku_code)
    note = (note or "").strip()
    check_lengths(Fitment, note=note)
    with transaction.atomic():
        return Fitment.objects.update_or_create(
            vehicle=vehicle,
            product=product,
            sku=sku,
            position=_position(position),
            defaults={"note": note},
        )


def remove_fitment(*, fitment: Fitment) -> None:
    with transaction.atomic():
        fitment.delete()


# --- part numbers ---------------------------------------------------------------------------
def _number_fields(
    kind: str | None, brand: str, number: str, *, other: bool = False
) -> tuple[str, str, str]:
    """Checked kind, brand and number; errors name ``kind``/``brand``/``number``, or
    ``otherKind``/``otherBrand``/``otherNumber`` for the other side of a cross-reference."""

    def field(name: str) -> str:
        return f"other{name.capitalize()}" if other else name

    kind = (kind or NumberKind.OE).strip().lower()
    if kind not in NumberKind.values:
        raise DomainError(
            _("Unknown kind %(kind)s.") % {"kind": kind}, code="INVALID", field=field("kind")
        )
    brand = normalise_name(brand)
    if not brand:
        raise DomainError(
            _("Enter the manufacturer or brand."), code="REQUIRED", field=field("brand")
        )
    if len(brand) > 60:
        raise DomainError(_("At most 60 characters."), code="TOO_LONG", field=field("brand"))
    number = normalise_name(number)
    if not normalise_number(number):
        raise DomainError(_("Enter a part number."), code="REQUIRED", field=field("number"))
    if len(number) > 60:
        raise DomainError(_("At most 60 characters."), code="TOO_LONG", field=field("number"))
    return kind, brand, number


def get_number(brand: str, number: str) -> PartNumber | None:
    return (
        PartNumber.objects.annotate(brand_key=Upper("brand"))
        .filter(brand_key=normalise_name(brand).upper(), normalised=normalise_number(number))
        .first()
    )


def _products(codes: Iterable[str]) -> list[Product]:
    wanted = [c.strip() for c in codes if c and c.strip()]
    found = {p.code: p for p in Product.objects.filter(code__in=wanted)}
    missing = [c for c in wanted if c not in found]
    if missing:
        raise NotFound(
            _("No product %(codes)s.") % {"codes": ", ".join(missing)}, field="productCodes"
        )
    return [found[c] for c in dict.fromkeys(wanted)]


def set_part_number(
    *,
    brand: str,
    number: str,
    kind: str | None = None,
    product_codes: Iterable[str] | None = None,
    replace_products: bool = False,
    note: str | None = None,
) -> tuple[PartNumber, bool]:
    """Create or update the number ``brand`` + ``number`` (matched normalised) and link
    it to the products (added to its links, or replacing them with ``replace_products``).
    ``kind`` defaults to ``oe`` for a new number and is kept for an existing one."""
    given_kind = kind
    kind, brand, number = _number_fields(kind, brand, number)
    if note is not None:
        note = note.strip()
        check_lengths(PartNumber, note=note)
    products = _products(product_codes or [])
    with transaction.atomic():
        row = get_number(brand, number)
        created = row is None
        if row is None:
            row = PartNumber(brand=brand, number=number, kind=kind)
        elif given_kind:  # an existing number keeps the form it was first typed in
            row.kind = kind
        if note is not None:
            row.note = note
        row.save()
        if replace_products:
            row.products.set(products)
        elif products:
            row.products.add(*products)
    return row, created


def delete_part_number(*, part_number: PartNumber) -> None:
    with transaction.atomic():
        part_number.delete()


def unlink_product(*, part_number: PartNumber, product_code: str) -> None:
    with transaction.atomic():
        part_number.products.remove(*_products([product_code]))


def add_cross_reference(
    *,
    brand: str,
    number: str,
    other_brand: str,
    other_number: str,
    kind: str | None = NumberKind.AFTERMARKET,
    other_kind: str | None = NumberKind.OE,
    note: str = "",
) -> tuple[CrossReference, bool]:
    """Declare ``brand number`` interchangeable with ``other_brand other_number``;
    numbers not yet known are created (``kind``/``other_kind``)."""
    kind, brand, number = _number_fields(kind, brand, number)
    other_kind, other_brand, other_number = _number_fields(
        other_kind, other_brand, other_number, other=True
    )
    if brand.upper() == other_brand.upper():
        raise DomainError(
            _("A cross-reference links numbers of two different brands."),
            code="SAME_BRAND",
            field="otherBrand",
        )
    note = (note or "").strip()
    check_lengths(CrossReference, note=note)
    with transaction.atomic():
        source = get_number(brand, number) or _create_number(kind, brand, number)
        target = get_number(other_brand, other_number) or _create_number(
            other_kind, other_brand, other_number
        )
        existing = CrossReference.objects.filter(source=target, target=source).first()
        if existing is not None:
            return existing, False
        row, created = CrossReference.objects.get_or_create(
            source=source, target=target, defaults={"note": note}
        )
    return row, created


def _create_number(kind: str, brand: str, number: str) -> PartNumber:
    row = PartNumber(kind=kind, brand=brand, number=number)
    row.save()
    return row


def remove_cross_reference(*, reference: CrossReference) -> None:
    with transaction.atomic():
        reference.delete()


# --- CSV import -------------------------------------------------------------------------------
IMPORT_KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # kind: (required columns, optional columns)
    "fitments": (
        ("make", "model", "year_from"),
        (
            "year_to",
            "engine_code",
            "displacement",
            "fuel",
            "body",
            "trim",
            "product_code",
            "sku_code",
            "position",
            "note",
        ),
    ),
    "numbers": (("brand", "number"), ("kind", "product_code", "note")),
    "cross_references": (
        ("brand", "number", "other_brand", "other_number"),
        ("kind", "other_kind", "note"),
    ),
}


@dataclass
class ImportReport:
    kind: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    errors: list[DomainError] = field(default_factory=list)


def _csv_rows(content: bytes | str) -> list[dict[str, str]]:
    from core.imports.tables import csv_rows, csv_text

    text = csv_text(content) if isinstance(content, bytes) else content.lstrip("\ufeff")
    if text is None or "\x00" in text:
        raise ValidationFailed(
            [DomainError(_("The CSV file is not UTF-8 or GBK text."), code="INVALID", field="file")]
        )
    try:
        lines = [cells for cells in csv_rows(text) if cells]  # blank lines are no rows
    except DomainError as exc:  # a cell past the csv module's limit
        raise ValidationFailed([DomainError(exc.message, code="INVALID", field="file")]) from None
    if not lines:
        return []
    header = [(h or "").strip().lower() for h in lines[0]]
    # Cells beyond the header are ignored, missing ones are empty (as csv.DictReader does).
    return [
        {
            k: (v or "").strip()
            for k, v in zip(header, cells + [""] * (len(header) - len(cells)), strict=False)
            if k
        }
        for cells in lines[1:]
    ]


def import_csv(*, kind: str, content: bytes | str) -> ImportReport:
    """Import fitments, part numbers or cross-references from CSV, all or nothing.

    ``fitments``: make, model, year_from[, year_to, engine_code, displacement, fuel,
    body, trim], product_code or sku_code[, position, note] — vehicles are found
    or created. ``numbers``: brand, number[, kind, product_code, note] (one product
    per row; repeat the number for more). ``cross_references``: brand, number,
    other_brand, other_number[, kind, other_kind, note]. Every bad row is reported
    (``ValidationFailed`` with ``row.<n>`` fields) and nothing is saved.
    """
    if kind not in IMPORT_KINDS:
        raise DomainError(_("Unknown import kind."), code="INVALID", field="kind")
    required, optional = IMPORT_KINDS[kind]
    rows = _csv_rows(content)
    if not rows:
        raise ValidationFailed(
            [DomainError(_("The file has no rows."), code="EMPTY", field="file")]
        )
    missing = [c for c in required if c not in rows[0]]
    if missing:
        raise ValidationFailed(
            [
                DomainError(
                    _("Missing columns: %(cols)s.") % {"cols": ", ".join(missing)},
                    code="MISSING_COLUMNS",
                    field="file",
                )
            ]
        )
    report = ImportReport(kind=kind)
    with transaction.atomic():
        for number, row in enumerate(rows, start=2):
            if not any(row.values()):
                continue
            report.rows += 1
            try:
                with transaction.atomic():
                    created = _import_row(kind, row)
            except (DomainError, IntegrityError) as exc:
                if isinstance(exc, ValidationFailed):
                    # the row's first problem's code (TOO_LONG, …), not the wrapper's INVALID
                    message = " ".join(e.message for e in exc.errors)
                    code = exc.errors[0].code if exc.errors else exc.code
                elif isinstance(exc, DomainError):
                    message, code = exc.message, exc.code
                else:  # the database's words (and the key values it quotes) stay in the log
                    log.info("autoparts import row %d refused by the database: %s", number, exc)
                    message, code = _("It conflicts with data saved meanwhile."), "CONFLICT"
                report.errors.append(
                    DomainError(
                        _("Row %(row)d: %(message)s") % {"row": number, "message": message},
                        code=code,
                        field=f"row.{number}",
                    )
                )
                continue
            if created:
                report.created += 1
            else:
                report.updated += 1
        if report.errors:
            transaction.set_rollback(True)
    if report.errors:
        failed = ValidationFailed(report.errors, message=_("Some rows cannot be imported."))
        failed.params["report"] = report
        raise failed
    return report


def _import_row(kind: str, row: dict[str, str]) -> bool:
    if kind == "fitments":
        vehicle, _created = find_or_create_vehicle(
            **{
                k: row.get(k, "")
                for k in (
                    "make",
                    "model",
                    "year_from",
                    "year_to",
                    "engine_code",
                    "displacement",
                    "fuel",
                    "body",
                    "trim",
                )
            }
        )
        _fitment, created = add_fitment(
            vehicle=vehicle,
            product_code=row.get("product_code"),
            sku_code=row.get("sku_code"),
            position=row.get("position"),
            note=row.get("note", ""),
        )
        return created
    if kind == "numbers":
        _row, created = set_part_number(
            brand=row["brand"],
            number=row["number"],
            kind=row.get("kind") or None,
            product_codes=[row["product_code"]] if row.get("product_code") else [],
            note=row.get("note") or None,
        )
        return created
    _ref, created = add_cross_reference(
        brand=row["brand"],
        number=row["number"],
        other_brand=row["other_brand"],
        other_number=row["other_number"],
        kind=row.get("kind") or NumberKind.AFTERMARKET,
        other_kind=row.get("other_kind") or NumberKind.OE,
        note=row.get("note", ""),
    )
    return created
