"""How lines arrive from each channel. Every function here ends in
:func:`core.orders.services.place_order` (or fills the cart it checks out)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from core.accounts.models import Dealer
from core.exceptions import DomainError, ValidationFailed, has_nul
from core.imports.spec import whole_number

from . import services
from .lines import LineInput, resolve_lines
from .models import Cart, CartLine, Channel, ExternalSkuMapping, Order
from .plugins import OrderPlugins

QUICK_LINE = re.compile(
    r"^\s*(?P<sku>[^\s,;\t]+)[\s,;\t]+(?P<qty>[^\s,;\t]+)(?:[\s,;\t]+(?P<unit>[^\s,;\t]+))?\s*$"
)


@dataclass
class QuickLineResult:
    """One pasted line: what it resolved to, or what is wrong with it."""

    line_number: int
    text: str
    sku_code: str | None = None
    product_name: str | None = None
    unit: str | None = None
    quantity: int | None = None
    base_quantity: int | None = None
    unit_price: Decimal | None = None
    currency: str | None = None
    error: DomainError | None = None
    suggestion: str | None = None
    extra: dict = field(default_factory=dict)


def parse_quick_order(text: str) -> tuple[list[LineInput], list[QuickLineResult]]:
    """``SKU qty [unit]`` per line (spaces, tabs, commas or semicolons between)."""
    inputs: list[LineInput] = []
    results: list[QuickLineResult] = []
    for number, raw in enumerate((text or "").splitlines(), start=1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        result = QuickLineResult(line_number=number, text=raw.strip())
        match = QUICK_LINE.match(raw)
        if not match:
            result.error = DomainError(
                _("Write each line as: SKU quantity [unit]."),
                code="INVALID_LINE",
                field=f"line.{number}",
            )
        else:
            try:
                qty = int(match["qty"])
            except ValueError:
                result.error = DomainError(
                    _("“%(qty)s” is not a whole number.") % {"qty": match["qty"]},
                    code="INVALID_QUANTITY",
                    field=f"line.{number}",
                )
            else:
                inputs.append(LineInput(sku=match["sku"], quantity=qty, unit=match["unit"]))
                result.extra["input_index"] = len(inputs) - 1
        results.append(result)
    return inputs, results


def plugin_line_errors(*, dealer: Dealer, user, resolved, channel: str) -> list[DomainError]:
    """The enabled plugins' verdict on lines before anything is placed: their
    ``expand_order_lines`` and ``validate_order_lines`` with ``context.preview``
    (licences, expiry, case policy, reel and MOQ rules …). Errors name
    ``lines.<position>.<field>`` like the order service's; nothing is locked or reserved."""
    if not resolved:
        return []
    plugins = OrderPlugins(dealer=dealer, user=user, channel=channel, preview=True)
    _lines, errors = plugins.prepare(list(resolved))
    return errors


def _line_index(error: DomainError) -> int | None:
    parts = (error.field or "").split(".")
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


def preview_quick_order(*, dealer: Dealer, text: str, user=None) -> list[QuickLineResult]:
    """Resolve every pasted line: product, unit, the dealer's price — or an error with a
    suggestion, the plugins' rules included (what placing the lines would refuse)."""
    inputs, results = parse_quick_order(text)
    resolved, errors = resolve_lines(inputs)
    by_index = {r.position: r for r in resolved}
    errors_by_index = {int(e.field.split(".")[1]): e for e in errors}
    for error in plugin_line_errors(
        dealer=dealer, user=user, resolved=resolved, channel=Channel.QUICK_ORDER
    ):
        index = _line_index(error)
        if index is not None:
            errors_by_index.setdefault(index, error)
    prices = _preview_prices(dealer, [r for r in resolved if r.position not in errors_by_index])
    for result in results:
        index = result.extra.get("input_index")
        if index is None:
            continue
        r = by_index.get(index)
        if r is not None:
            result.sku_code, result.product_name = r.sku.code, r.sku.product.name
            result.unit, result.quantity, result.base_quantity = (
                r.unit_code,
                r.quantity,
                r.base_quantity,
            )
        if index in errors_by_index:  # a plugin's error keeps the line's product beside it
            result.error = errors_by_index[index]
            result.suggestion = result.error.params.get("suggestion")
            continue
        result.unit_price, result.currency = prices.get(index, (None, None))
        if result.unit_price is None:
            result.error = DomainError(
                _("No price for you."), code="NO_PRICE", field=f"line.{result.line_number}"
            )
    return results


def _preview_prices(dealer: Dealer, resolved) -> dict:
    """Unit prices for the preview; a line without a price for this dealer gets none."""
    from core.pricing.engine import CartLine
    from core.pricing.selectors import price_cart

    pending = list(resolved)
    while pending:
        try:
            cart = price_cart(
                dealer=dealer,
                lines=[
                    CartLine(
                        sku_id=r.sku.pk,
                        unit_code=r.unit_code,
                        quantity=r.quantity,
                        base_quantity=r.base_quantity,
                    )
                    for r in pending
                ],
            )
        except DomainError as exc:
            parts = (exc.field or "").split(".")
            if exc.code != "NO_PRICE" or len(parts) < 2 or not parts[1].isdigit():
                raise
            pending.pop(int(parts[1]))
            continue
        return {
            r.position: (p.unit_price, cart.currency)
            for r, p in zip(pending, cart.lines, strict=True)
        }
    return {}


def place_quick_order(
    *, dealer: Dealer, user, text: str, idempotency_key: str, **options
) -> services.PlacedOrder:
    inputs, results = parse_quick_order(text)
    bad = [r.error for r in results if r.error]
    if bad:
        raise ValidationFailed(bad, message=_("Some lines cannot be read."))
    return services.place_order(
        dealer=dealer,
        user=user,
        lines=inputs,
        channel=Channel.QUICK_ORDER,
        idempotency_key=idempotency_key,
        **options,
    )


# --- sheets -----------------------------------------------------------------------
ORDER_SHEET_COLUMNS = ("sku", "quantity", "unit")


def read_order_sheet(filename: str, content: bytes) -> list[LineInput]:
    """Rows of an order sheet (.xlsx or .csv with columns sku, quantity, unit).

    Raises :class:`ValidationFailed` naming every broken row; nothing is ordered.
    """
    rows = _sheet_rows(filename, content)
    if not rows:
        raise ValidationFailed([DomainError(_("The sheet is empty."), code="EMPTY", field="file")])
    header = [str(c or "").strip().lower() for c in rows[0]]
    missing = [c for c in ("sku", "quantity") if c not in header]
    if missing:
        raise ValidationFailed(
            [
                DomainError(
                    _("Missing columns: %(cols)s. Download the template.")
                    % {"cols": ", ".join(missing)},
                    code="MISSING_COLUMNS",
                    field="file",
                )
            ]
        )
    col = {name: header.index(name) for name in ORDER_SHEET_COLUMNS if name in header}
    lines, errors = [], []
    for number, row in enumerate(rows[1:], start=2):
        values = list(row) + [None] * (len(header) - len(row))
        sku = str(values[col["sku"]] or "").strip()
        qty_raw = values[col["quantity"]]
        unit = str(values[col["unit"]] or "").strip() if "unit" in col else ""
        if not sku and qty_raw in (None, ""):
            continue
        qty = whole_number(qty_raw)
        if not sku or qty is None:
            errors.append(
                DomainError(
                    _("Row %(row)d: give a SKU and a whole-number quantity.") % {"row": number},
                    code="INVALID_ROW",
                    field=f"row.{number}",
                )
            )
            continue
        lines.append(LineInput(sku=sku, quantity=qty, unit=unit or None))
    if errors:
        raise ValidationFailed(errors, message=_("Some rows cannot be read."))
    return lines


def _sheet_rows(filename: str, content: bytes) -> list[list]:
    name = (filename or "").lower()
    if name.endswith(".xlsx"):
        import io

        from openpyxl import load_workbook

        try:
            sheet = load_workbook(io.BytesIO(content), read_only=True, data_only=True).active
        except Exception as exc:  # noqa: BLE001 - any unreadable workbook is the user's file
            raise ValidationFailed(
                [
                    DomainError(
                        _("This is not a readable .xlsx file."), code="INVALID_FILE", field="file"
                    )
                ]
            ) from exc
        return [list(r) for r in sheet.iter_rows(values_only=True)]
    if name.endswith(".csv"):
        from core.imports.tables import csv_rows, csv_text

        text = csv_text(content)
        if text is None:
            raise ValidationFailed(
                [
                    DomainError(
                        _("The CSV file is not UTF-8 or GBK text."),
                        code="INVALID_FILE",
                        field="file",
                    )
                ]
            )
        try:
            return csv_rows(text)
        except DomainError as exc:  # a cell past the csv module's limit
            raise ValidationFailed(
                [DomainError(exc.message, code="INVALID_FILE", field="file")]
            ) from None
    raise ValidationFailed(
        [DomainError(_("Upload an .xlsx or .csv file."), code="INVALID_FILE", field="file")]
    )


def order_sheet_template() -> bytes:
    """An .xlsx template for order uploads."""
    import io

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "order"
    ws.append(list(ORDER_SHEET_COLUMNS))
    ws.append(["VC-10", 12, "each"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def place_sheet_order(
    *, dealer: Dealer, user, filename: str, content: bytes, idempotency_key: str, **options
) -> services.PlacedOrder:
    """Validate every row, then place one order: all or nothing."""
    lines = read_order_sheet(filename, content)
    return services.place_order(
        dealer=dealer,
        user=user,
        lines=lines,
        channel=Channel.IMPORT,
        idempotency_key=idempotency_key,
        **options,
    )


# --- cart, scan, reorder ---------------------------------------------------------------
def _cart(dealer: Dealer, user) -> Cart:
    services.check_can_order_for(user, dealer)
    cart, _created = Cart.objects.get_or_create(dealer=dealer, user=user)
    return cart


def _check_cart_lines(dealer: Dealer, user, lines, channel: str) -> None:
    """Refuse cart lines the enabled plugins would refuse at checkout (``lines.<i>``
    names the line as sent)."""
    errors = plugin_line_errors(dealer=dealer, user=user, resolved=lines, channel=channel)
    if errors:
        raise ValidationFailed(errors, message=_("Some lines cannot be ordered."))


@transaction.atomic
def add_to_cart(
    *, dealer: Dealer, user, lines: list[LineInput], channel: str = Channel.WEB
) -> Cart:
    """Add lines (SKU code or barcode) to the user's cart for the dealer.

    The cart line each addition makes (what was there plus what is added) is
    checked by the enabled plugins first; any error refuses the whole addition.
    """
    cart = _cart(dealer, user)
    resolved, errors = resolve_lines(lines)
    if errors:
        raise ValidationFailed(errors)
    existing = {(li.sku_id, li.unit_code): li for li in cart.lines.select_for_update()}
    totals: dict[tuple[int, str], int] = {key: li.quantity for key, li in existing.items()}
    for r in resolved:
        totals[(r.sku.pk, r.unit_code)] = totals.get((r.sku.pk, r.unit_code), 0) + r.quantity
    _check_cart_lines(
        dealer,
        user,
        [
            replace(
                r,
                quantity=totals[(r.sku.pk, r.unit_code)],
                base_quantity=totals[(r.sku.pk, r.unit_code)] * r.unit_factor,
                extra={},
            )
            for r in resolved
        ],
        channel,
    )
    for r in resolved:
        current = existing.get((r.sku.pk, r.unit_code))
        if current:
            current.quantity += r.quantity
            current.save(update_fields=["quantity"])
        else:
            existing[(r.sku.pk, r.unit_code)] = CartLine.objects.create(
                cart=cart, sku=r.sku, unit_code=r.unit_code, quantity=r.quantity
            )
    cart.save(update_fields=["updated_at"])
    return cart


def scan(*, dealer: Dealer, user, barcode: str, quantity: int = 1) -> Cart:
    """A scanned GTIN adds its SKU in the scanned unit (a case barcode adds a case)."""
    return add_to_cart(
        dealer=dealer,
        user=user,
        lines=[LineInput(sku=barcode.strip(), quantity=quantity)],
        channel=Channel.SCAN,
    )


@transaction.atomic
def set_cart_line(*, dealer: Dealer, user, sku_code: str, unit: str | None, quantity: int) -> Cart:
    cart = _cart(dealer, user)
    resolved, errors = resolve_lines(
        [LineInput(sku=sku_code, quantity=max(quantity, 1), unit=unit)]
    )
    if errors:
        raise ValidationFailed(errors)
    r = resolved[0]
    if quantity <= 0:
        cart.lines.filter(sku=r.sku, unit_code=r.unit_code).delete()
    else:
        _check_cart_lines(dealer, user, [r], Channel.WEB)
        CartLine.objects.update_or_create(
            cart=cart, sku=r.sku, unit_code=r.unit_code, defaults={"quantity": quantity}
        )
    return cart


def checkout_cart(
    *, dealer: Dealer, user, idempotency_key: str, channel: str = Channel.WEB, **options
) -> services.PlacedOrder:
    """Place the cart as an order; the cart empties when the order commits."""
    cart = _cart(dealer, user)
    lines = [
        LineInput(sku=li.sku.code, quantity=li.quantity, unit=li.unit_code)
        for li in cart.lines.select_related("sku")
    ]
    if not lines:
        found = services.Order.objects.filter(
            dealer=dealer, idempotency_key=idempotency_key
        ).first()
        if found:
            return services.PlacedOrder(order=found, replayed=True)
        raise DomainError(_("The cart is empty."), code="REQUIRED", field="lines")
    with transaction.atomic():
        placed = services.place_order(
            dealer=dealer,
            user=user,
            lines=lines,
            channel=channel,
            idempotency_key=idempotency_key,
            **options,
        )
        if not placed.replayed:
            cart.lines.all().delete()
    return placed


def reorder(
    *, order: Order, user, to_cart: bool = True, idempotency_key: str | None = None
) -> Cart | services.PlacedOrder:
    """Put a past order's lines (not its free goods) in the cart, or place them again."""
    lines = [
        LineInput(sku=li.sku.code, quantity=li.quantity, unit=li.unit_code)
        for li in order.lines.select_related("sku").filter(is_free=False)
    ]
    if to_cart:
        return add_to_cart(dealer=order.dealer, user=user, lines=lines, channel=Channel.REORDER)
    return services.place_order(
        dealer=order.dealer,
        user=user,
        lines=lines,
        channel=Channel.REORDER,
        idempotency_key=idempotency_key or f"reorder-{order.number}",
    )


# --- marketplace feed ----------------------------------------------------------------------
def import_marketplace_order(*, source: str, payload: dict, user=None) -> services.PlacedOrder:
    """An order from an external channel as JSON::

        {"order_id": "TM-889", "dealer_code": "EAST-01",
         "lines": [{"sku": "<their SKU code>", "quantity": 3}], "note": "..."}

    External SKU codes are mapped through :class:`ExternalSkuMapping`; the
    idempotency key is ``<source>:<order_id>``, so a feed delivered twice
    makes one order.
    """
    if has_nul(payload):  # PostgreSQL can neither store nor look up such text
        raise ValidationFailed(
            [
                DomainError(
                    _("Text may not contain the NUL character (U+0000)."),
                    code="INVALID",
                    field="payload",
                )
            ]
        )
    errors: list[DomainError] = []
    order_id = str(payload.get("order_id") or "").strip()
    if not order_id:
        errors.append(
            DomainError(_("The feed order has no order_id."), code="REQUIRED", field="order_id")
        )
    dealer = Dealer.objects.filter(code=str(payload.get("dealer_code") or "")).first()
    if dealer is not None and user is not None:
        from core.accounts.selectors import can_act_for_dealer

        if not can_act_for_dealer(user, dealer):
            dealer = None  # as unknown as a code that does not exist: no probing for dealers
    if dealer is None:
        errors.append(
            DomainError(_("Unknown dealer code."), code="UNKNOWN_DEALER", field="dealer_code")
        )
    raw_lines = payload.get("lines") if isinstance(payload.get("lines"), list) else []
    if not raw_lines:
        errors.append(
            DomainError(_("The feed order has no lines."), code="REQUIRED", field="lines")
        )
    codes = {str(li.get("sku")) for li in raw_lines if isinstance(li, dict)}
    mapping = {
        m.external_code: m
        for m in ExternalSkuMapping.objects.filter(
            source=source, external_code__in=codes
        ).select_related("sku")
    }
    lines: list[LineInput] = []
    for index, li in enumerate(raw_lines):
        code = str(li.get("sku")) if isinstance(li, dict) else ""
        m = mapping.get(code)
        qty = li.get("quantity") if isinstance(li, dict) else None
        if m is None:
            errors.append(
                DomainError(
                    _("No mapping for the marketplace SKU “%(code)s”.") % {"code": code},
                    code="UNKNOWN_SKU",
                    field=f"lines.{index}.sku",
                )
            )
        elif not isinstance(qty, int) or qty <= 0:
            errors.append(
                DomainError(
                    _("The quantity must be a whole number above zero."),
                    code="INVALID_QUANTITY",
                    field=f"lines.{index}.quantity",
                )
            )
        else:
            lines.append(LineInput(sku=m.sku.code, quantity=qty, unit=m.unit_code or None))
    if errors:
        raise ValidationFailed(errors, message=_("The marketplace order cannot be imported."))
    return services.place_order(
        dealer=dealer,
        user=user,
        lines=lines,
        channel=Channel.MARKETPLACE,
        idempotency_key=f"{source}:{order_id}",
        external_ref=order_id,
        note=str(payload.get("note") or ""),
    )
