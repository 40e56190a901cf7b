"""Price sheets: import and export of price-list breaks through :mod:`core.imports`.

One row per quantity break: price list code, SKU code, unit, from quantity,
unit price, and (optionally) the currency, which must be the list's. Rows are
validated by :func:`core.pricing.services.validate_prices` — the same checks as
the bulk mutation — and applied by :func:`upsert_prices`: for every SKU and
unit on the sheet, its breaks replace that ladder in the list. All rows or none.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from core.exceptions import DomainError, ValidationFailed
from core.imports.spec import (
    DECIMAL,
    INTEGER,
    ApplyResult,
    Column,
    ImportKind,
    Row,
    RowError,
    RowErrors,
)

from .models import PriceList, PriceListItem
from .services import PriceInput, upsert_prices, validate_prices


class PriceImport(ImportKind):
    key = "prices"
    label = _l("Prices")
    columns = (
        Column("price_list", _l("Price list code"), required=True, example="BASE", max_length=40),
        Column("sku_code", _l("SKU code"), required=True, example="VC-10", max_length=64),
        Column("unit_code", _l("Unit"), example="each", help=_l("Empty: the SKU's base unit.")),
        Column("min_quantity", _l("From quantity"), INTEGER, example=1),
        Column("unit_price", _l("Unit price"), DECIMAL, required=True, example="12.50"),
        Column(
            "currency",
            _l("Currency"),
            example="CNY",
            help=_l("Optional; must be the list's currency."),
        ),
    )

    def validate(self, rows: list[Row], *, user) -> Any:
        errors: list[RowError] = []
        lists = {
            pl.code: pl
            for pl in PriceList.objects.filter(code__in={r.values["price_list"] for r in rows})
        }
        groups: dict[str, list[Row]] = defaultdict(list)
        for row in rows:
            if row.values["price_list"] not in lists:
                errors.append(
                    RowError(
                        row.number,
                        "price_list",
                        "UNKNOWN_PRICE_LIST",
                        _("No price list %(code)s.") % {"code": row.values["price_list"]},
                    )
                )
            else:
                groups[row.values["price_list"]].append(row)
        payload = []
        for code, group in groups.items():
            inputs = [
                PriceInput(
                    sku_code=r.values["sku_code"],
                    unit_code=r.values.get("unit_code") or None,
                    min_quantity=r.values.get("min_quantity") or 1,
                    unit_price=r.values["unit_price"],
                    currency=r.values.get("currency") or None,
                )
                for r in group
            ]
            try:
                validate_prices(price_list=lists[code], prices=inputs)
            except ValidationFailed as exc:
                errors.extend(_row_error(group, e) for e in exc.errors)
                continue
            except DomainError as exc:
                errors.append(_row_error(group, exc))
                continue
            payload.append((lists[code], inputs))
        if errors:
            raise RowErrors(errors)
        return payload

    def apply(self, payload, *, user, progress=None) -> ApplyResult:
        result = ApplyResult()
        for n, (price_list, inputs) in enumerate(payload):
            outcome = upsert_prices(price_list=price_list, prices=inputs)
            result.created += outcome.created
            result.updated += outcome.replaced
            if progress:
                progress(n + 1, len(payload))
        return result

    def export_rows(self, *, user) -> Iterable[dict[str, Any]]:
        items = PriceListItem.objects.select_related("price_list", "sku").order_by(
            "price_list__code", "sku__code", "unit_code", "min_quantity"
        )
        for item in items.iterator(chunk_size=2000):
            yield {
                "price_list": item.price_list.code,
                "sku_code": item.sku.code,
                "unit_code": item.unit_code,
                "min_quantity": item.min_quantity,
                "unit_price": item.unit_price,
                "currency": item.price_list.currency,
            }


def _row_error(group: list[Row], error: DomainError) -> RowError:
    """``prices.<i>.<field>`` → the sheet row and column."""
    parts = (error.field or "").split(".")
    if len(parts) >= 2 and parts[1].isdigit() and int(parts[1]) < len(group):
        column = {"sku_id": "sku_code"}.get(parts[-1], parts[-1]) if len(parts) > 2 else None
        return RowError(group[int(parts[1])].number, column, error.code, error.message)
    return RowError(group[0].number, None, error.code, error.message)
