"""Read queries of the pharma plugin: batches, licences, the recall trace and its export."""

from __future__ import annotations

import csv
import datetime
import io
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from .models import Batch, BatchMovement, BatchReservation, DealerLicence, MovementKind
from .services import today


def batches_for_sku(*, sku: Any, include_empty: bool = False) -> QuerySet[Batch]:
    """A SKU's batches, earliest expiry first (the order FEFO takes them in)."""
    qs = Batch.objects.select_related("warehouse", "sku").filter(sku=sku)
    if not include_empty:
        qs = qs.filter(on_hand__gt=0)
    return qs.order_by("expires_on", "warehouse__priority", "warehouse__code", "pk")


def dealer_licences(*, dealer: Any) -> QuerySet[DealerLicence]:
    return (
        DealerLicence.objects.select_related("licence_type")
        .filter(dealer=dealer)
        .order_by("licence_type__code", "-expires_on")
    )


def expiring_batches(*, within_days: int) -> QuerySet[Batch]:
    """Batches with stock that have expired or expire within ``within_days``."""
    limit = today() + datetime.timedelta(days=within_days)
    return (
        Batch.objects.select_related("sku", "warehouse")
        .filter(on_hand__gt=0, expires_on__lte=limit)
        .order_by("expires_on", "pk")
    )


def expired_shipments() -> QuerySet[BatchReservation]:
    """Batch quantities that left a warehouse after their expiry date (a GSP deviation)."""
    return (
        BatchReservation.objects.select_related("batch", "batch__sku", "order", "order__dealer")
        .filter(shipped_expired=True)
        .order_by("-updated_at")
    )


# --- recall trace ----------------------------------------------------------------------
@dataclass(frozen=True)
class TraceRow:
    order_id: int
    order_number: str
    order_status: str
    ordered_at: datetime.datetime
    dealer_id: int
    dealer_code: str
    dealer_name: str
    sku_code: str
    lot: str
    expiry: str
    warehouse_code: str
    quantity: int
    state: str  # reserved | shipped | released
    shipment_status: str
    carrier: str
    tracking_number: str
    shipped_at: datetime.datetime | None
    delivered_at: datetime.datetime | None
    shipped_expired: bool
    free: bool = False  # free goods a promotion added to the order


@dataclass(frozen=True)
class TransferRow:
    """Units of the lot moved between warehouses (before, or after, orders took them)."""

    reference: str
    sku_code: str
    lot: str
    from_warehouse: str
    to_warehouse: str
    quantity: int
    moved_at: datetime.datetime


@dataclass
class RecallTrace:
    lot: str
    batches: list[Batch]
    rows: list[TraceRow] = field(default_factory=list)
    transfers: list[TransferRow] = field(default_factory=list)

    @property
    def orders(self) -> int:
        return len({r.order_id for r in self.rows})

    @property
    def dealers(self) -> int:
        return len({r.dealer_id for r in self.rows})

    @property
    def shipped_quantity(self) -> int:
        return sum(r.quantity for r in self.rows if r.state == "shipped")

    @property
    def open_quantity(self) -> int:
        return sum(r.quantity for r in self.rows if r.state == "reserved")


def find_batches(*, lot: str, sku_code: str | None = None) -> list[Batch]:
    """Every batch with lot number ``lot`` (in any warehouse), optionally of one SKU."""
    qs = Batch.objects.select_related("sku", "warehouse").filter(lot=(lot or "").strip())
    if sku_code:
        qs = qs.filter(sku__code=sku_code.strip())
    return list(qs.order_by("sku__code", "warehouse__code"))


def recall_trace(*, lot: str, sku_code: str | None = None) -> RecallTrace:
    """Every order, dealer and shipment that received (or holds) lot ``lot``, and
    every transfer of the lot between warehouses.

    Orders are read from the allocations' data, written in each order's own
    transaction (``{"batch_id": ..., "batches": [{"batch_id", "lot", "expiry",
    "quantity"}]}``), free goods included (``free`` on the row); the lot is the
    same in every warehouse it was transferred to, so its batches there are
    traced too. A fixed number of queries whatever the number of orders.
    """
    from core.orders.models import Allocation, Shipment

    batches = find_batches(lot=lot, sku_code=sku_code)
    trace = RecallTrace(lot=(lot or "").strip(), batches=batches)
    if not batches:
        return trace
    by_id = {b.pk: b for b in batches}
    trace.transfers = [
        TransferRow(
            reference=m.reference,
            sku_code=m.batch.sku.code,
            lot=m.batch.lot,
            from_warehouse=m.batch.warehouse.code,
            to_warehouse=m.counterpart.warehouse.code if m.counterpart else "",
            quantity=-m.quantity,
            moved_at=m.created_at,
        )
        for m in BatchMovement.objects.select_related(
            "batch__sku", "batch__warehouse", "counterpart__warehouse"
        )
        .filter(batch_id__in=list(by_id), kind=MovementKind.TRANSFER_OUT)
        .order_by("created_at", "pk")
    ]
    match = Q()
    for batch_id in by_id:
        match |= Q(data__batches__contains=[{"batch_id": batch_id}]) | Q(data__batch_id=batch_id)
    allocations = list(
        Allocation.objects.select_related("line__order__dealer", "line__sku", "warehouse")
        .filter(match)
        .order_by("line__order__created_at", "pk")
    )
    order_ids = {a.line.order_id for a in allocations}
    shipments = {
        (s.order_id, s.warehouse_id): s for s in Shipment.objects.filter(order_id__in=order_ids)
    }
    flagged = set(
        BatchReservation.objects.filter(
            allocation__in=[a.pk for a in allocations], shipped_expired=True
        ).values_list("allocation_id", "batch_id")
    )
    for a in allocations:
        entries = (a.data or {}).get("batches") or [
            {"batch_id": a.data.get("batch_id"), "quantity": a.quantity}
        ]
        order = a.line.order
        shipment = shipments.get((order.pk, a.warehouse_id))
        for entry in entries:
            batch = by_id.get(int(entry.get("batch_id") or 0))
            if batch is None:
                continue
            if a.shipped_quantity:
                state = "shipped"
            elif a.released_quantity:
                state = "released"
            else:
                state = "reserved"
            trace.rows.append(
                TraceRow(
                    order_id=order.pk,
                    order_number=order.number,
                    order_status=order.status,
                    ordered_at=order.created_at,
                    dealer_id=order.dealer_id,
                    dealer_code=order.dealer.code,
                    dealer_name=order.dealer.name,
                    sku_code=batch.sku.code,
                    lot=batch.lot,
                    expiry=batch.expires_on.isoformat(),
                    warehouse_code=a.warehouse.code,
                    quantity=int(entry.get("quantity") or 0),
                    state=state,
                    shipment_status=shipment.status if shipment else "",
                    carrier=shipment.carrier if shipment else "",
                    tracking_number=shipment.tracking_number if shipment else "",
                    shipped_at=shipment.shipped_at if shipment else None,
                    delivered_at=shipment.delivered_at if shipment else None,
                    shipped_expired=(a.pk, batch.pk) in flagged,
                    free=a.line.is_free,
                )
            )
    return trace


def _columns() -> list[tuple[str, str]]:
    return [
        ("order_number", pgettext("pharma", "Order")),
        ("order_status", pgettext("pharma", "Order status")),
        ("ordered_at", pgettext("pharma", "Ordered at")),
        ("dealer_code", pgettext("pharma", "Dealer code")),
        ("dealer_name", pgettext("pharma", "Dealer")),
        ("sku_code", pgettext("pharma", "SKU")),
        ("lot", pgettext("pharma", "Lot number")),
        ("expiry", pgettext("pharma", "Expiry date")),
        ("warehouse_code", pgettext("pharma", "Warehouse")),
        ("quantity", pgettext("pharma", "Quantity")),
        ("state", pgettext("pharma", "Batch state")),
        ("shipment_status", pgettext("pharma", "Shipment status")),
        ("carrier", pgettext("pharma", "Carrier")),
        ("tracking_number", pgettext("pharma", "Tracking number")),
        ("shipped_at", pgettext("pharma", "Shipped at")),
        ("delivered_at", pgettext("pharma", "Delivered at")),
        ("shipped_expired", pgettext("pharma", "Shipped after expiry")),
        ("free", pgettext("pharma", "Free goods")),
    ]


def _transfer_columns() -> list[tuple[str, str]]:
    return [
        ("reference", pgettext("pharma", "Transfer")),
        ("sku_code", pgettext("pharma", "SKU")),
        ("lot", pgettext("pharma", "Lot number")),
        ("from_warehouse", pgettext("pharma", "From warehouse")),
        ("to_warehouse", pgettext("pharma", "To warehouse")),
        ("quantity", pgettext("pharma", "Quantity")),
        ("moved_at", pgettext("pharma", "Moved at")),
    ]


def _cell(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, bool):
        return _("yes") if value else ""
    return "" if value is None else value


def export_trace(trace: RecallTrace, fmt: str) -> bytes:
    """The trace as a sheet: ``csv`` (UTF-8 with BOM, Excel opens it) or ``xlsx``."""
    columns = _columns()
    rows = [[_cell(getattr(r, key)) for key, _label in columns] for r in trace.rows]
    headers = [str(label) for _key, label in columns]
    transfer_columns = _transfer_columns()
    transfer_headers = [str(label) for _key, label in transfer_columns]
    transfers = [[_cell(getattr(t, key)) for key, _l in transfer_columns] for t in trace.transfers]
    if fmt == "csv":
        from core.imports.tables import csv_row  # text that would run as a formula stays text

        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(csv_row(headers))
        for row in rows:
            writer.writerow(
                csv_row(
                    v.isoformat(sep=" ") if isinstance(v, datetime.datetime) else v for v in row
                )
            )
        if transfers:  # a second table after an empty row
            writer.writerow([])
            writer.writerow(csv_row(transfer_headers))
            for row in transfers:
                writer.writerow(
                    csv_row(
                        v.isoformat(sep=" ") if isinstance(v, datetime.datetime) else v for v in row
                    )
                )
        return ("\ufeff" + out.getvalue()).encode("utf-8")
    if fmt != "xlsx":
        raise ValueError(fmt)
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from core.imports.tables import sheet_row  # text that starts with "=" stays text

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("Recall trace")[:31]
    sheet.append(sheet_row(sheet, [pgettext("pharma", "Lot number"), trace.lot]))
    sheet.append(
        [
            _("Orders"),
            trace.orders,
            _("Dealers"),
            trace.dealers,
            _("Shipped units"),
            trace.shipped_quantity,
        ]
    )
    sheet.append([])
    sheet.append(headers)
    for cell in sheet[4]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(sheet_row(sheet, row))
    moved = workbook.create_sheet(_("Transfers")[:31])
    moved.append(transfer_headers)
    for cell in moved[1]:
        cell.font = Font(bold=True)
    for row in transfers:
        moved.append(sheet_row(moved, row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
