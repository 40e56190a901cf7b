"""State changes of the pharma plugin: receiving batches, FEFO reservation, keeping
batch reservations in step with orders, and the licence check at ordering.

Every function that changes state runs in one transaction. Batch rows are
locked in id order and changed by conditional ``UPDATE`` statements; the
table's check constraints (never negative, never more reserved than on hand)
back that up whatever the concurrency.
"""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.exceptions import DomainError, ValidationFailed
from plugins.types import AllocationPick, LineError, OrderContext, OrderLine

from .models import (
    Batch,
    BatchReservation,
    BatchReturn,
    ControlledCategory,
    DealerLicence,
    LicenceType,
    ReservationStatus,
    ShelfLifeRule,
)

logger = logging.getLogger(__name__)

NAME = "pharma"
EXPIRED_BATCH = "EXPIRED_BATCH"
SHELF_LIFE_TOO_SHORT = "SHELF_LIFE_TOO_SHORT"
INSUFFICIENT_STOCK = "INSUFFICIENT_STOCK"
LICENCE_REQUIRED = "LICENCE_REQUIRED"
LICENCE_EXPIRED = "LICENCE_EXPIRED"
ERROR_CODES = [EXPIRED_BATCH, SHELF_LIFE_TOO_SHORT, LICENCE_REQUIRED, LICENCE_EXPIRED]

DEFAULT_LICENCE_TYPES = [
    ("DRUG_DISTRIBUTION", "药品经营许可证 Drug distribution licence"),
    ("GSP", "GSP 认证证书 GSP certificate"),
    ("CONTROLLED", "特殊药品经营许可 Controlled substance permit"),
]


def today() -> datetime.date:
    return timezone.localdate()


# --- licence types ---------------------------------------------------------------------
def ensure_default_licence_types() -> None:
    """The usual licence types (idempotent); tenants may add their own in the console."""
    for code, name in DEFAULT_LICENCE_TYPES:
        LicenceType.objects.get_or_create(code=code, defaults={"name": name})


# --- receiving -------------------------------------------------------------------------
@transaction.atomic
def receive_batch(
    *,
    sku: Any,
    warehouse: Any,
    lot: str,
    manufactured_on: datetime.date,
    expires_on: datetime.date,
    quantity: int,
    user: Any = None,
    reference: str = "",
) -> Batch:
    """Goods of lot ``lot`` received into ``warehouse``.

    Creates the batch (or adds to it when the lot is already there with the same
    dates) and raises the core stock by the same quantity, so the SKU's ``Stock``
    row stays the sum of its batches. Raises :class:`DomainError` on bad input.
    """
    from core.inventory.services import receive_stock

    lot = (lot or "").strip()
    if not lot:
        raise DomainError(_("Enter the lot number."), code="REQUIRED", field="lot")
    if len(lot) > 64:
        raise DomainError(_("A lot number has at most 64 characters."), code="INVALID", field="lot")
    if quantity is None or quantity <= 0:
        raise DomainError(
            _("The quantity must be positive."), code="INVALID_QUANTITY", field="quantity"
        )
    if expires_on <= manufactured_on:
        raise DomainError(
            _("The expiry date must be after the manufacture date."),
            code="INVALID",
            field="expiresOn",
        )
    if manufactured_on > today():
        raise DomainError(
            _("The manufacture date cannot be in the future."),
            code="INVALID",
            field="manufacturedOn",
        )
    batch = Batch.objects.select_for_update().filter(sku=sku, warehouse=warehouse, lot=lot).first()
    if batch is None:
        try:
            with transaction.atomic():
                batch = Batch.objects.create(
                    sku=sku,
                    warehouse=warehouse,
                    lot=lot,
                    manufactured_on=manufactured_on,
                    expires_on=expires_on,
                    on_hand=0,
                )
        except IntegrityError:  # the same lot received concurrently
            batch = Batch.objects.select_for_update().get(sku=sku, warehouse=warehouse, lot=lot)
    if batch.manufactured_on != manufactured_on or batch.expires_on != expires_on:
        raise DomainError(
            _("Lot %(lot)s is already in this warehouse with other dates (expiry %(expiry)s).")
            % {"lot": lot, "expiry": batch.expires_on.isoformat()},
            code="LOT_DATES_DIFFER",
            field="lot",
        )
    Batch.objects.filter(pk=batch.pk).update(on_hand=batch.on_hand + quantity)
    receive_stock(
        sku=sku,
        warehouse=warehouse,
        quantity=quantity,
        reference=reference or f"LOT {lot}",
        user=user,
    )
    batch.refresh_from_db()
    return batch


# --- shelf life ------------------------------------------------------------------------
def min_shelf_life_days(*, tenant: Any, dealer: Any) -> int:
    """The least remaining shelf life (days) ``dealer`` accepts.

    The dealer's own rule, else the nearest ancestor's (the rule covers a
    subtree), else the plugin's ``min_remaining_shelf_life_days`` setting.
    """
    from plugins.services import plugin_settings

    ids = [int(p) for p in (getattr(dealer, "path", "") or "").strip("/").split("/") if p]
    if dealer is not None and dealer.pk not in ids:
        ids.append(dealer.pk)
    if ids:
        rules = dict(
            ShelfLifeRule.objects.filter(dealer_id__in=ids).values_list(
                "dealer_id", "min_remaining_days"
            )
        )
        for dealer_id in reversed(ids):  # nearest first
            if dealer_id in rules:
                return rules[dealer_id]
    return int(plugin_settings(tenant=tenant, name=NAME)["min_remaining_shelf_life_days"])


# --- FEFO allocation -------------------------------------------------------------------
@dataclass
class _Plan:
    picks: dict[int, list[AllocationPick]]  # by line index; lines of untracked SKUs are absent


def _line_field(line: OrderLine) -> str:
    return f"lines.{line.index}.quantity"


def choose_allocation(
    context: OrderContext, line: OrderLine, candidates: Sequence[Any]
) -> list[AllocationPick] | None:
    """FEFO picks for ``line``; the whole order is planned and reserved on the first call.

    On the first call of an order, every batch of the order's SKUs with stock is
    locked (id order), each line takes the earliest-expiring eligible batches
    (never expired, never below the dealer's minimum remaining shelf life; the
    core's warehouse order breaks ties), and one conditional ``UPDATE`` reserves
    them. Short lines raise :class:`ValidationFailed` (``EXPIRED_BATCH``,
    ``SHELF_LIFE_TOO_SHORT`` or ``INSUFFICIENT_STOCK`` with ``available``) before
    anything is reserved. Later calls return the planned picks (one query per
    order, whatever the number of lines). SKUs without batches are left to the core.
    """
    state = context.cache.setdefault(NAME, {})
    plan = state.get("plan")
    if plan is None:
        plan = state["plan"] = _plan_and_reserve(context)
    picks = plan.picks.get(line.index)
    if picks is None:
        return None
    allowed = {c.warehouse_id: c.available for c in candidates}
    for pick in picks:
        if allowed.get(pick.warehouse_id, 0) < pick.quantity:
            raise ValidationFailed(
                [
                    DomainError(
                        _("Stock changed while the order was placed; try again."),
                        code=INSUFFICIENT_STOCK,
                        field=_line_field(line),
                        available=allowed.get(pick.warehouse_id, 0),
                    )
                ],
                message=_("Not enough stock."),
            )
    return picks


def _plan_and_reserve(context: OrderContext) -> _Plan:
    from core.inventory.models import Stock
    from core.inventory.services import stock_rank

    lines = list({pl.index: pl for pl in context.lines}.values())  # as the core calls them
    sku_ids = sorted({pl.sku.pk for pl in lines})
    if not sku_ids:
        return _Plan(picks={})
    batches = list(
        Batch.objects.select_for_update().filter(sku_id__in=sku_ids, on_hand__gt=0).order_by("pk")
    )
    batches = [b for b in batches if b.on_hand > b.reserved]
    tracked = {b.sku_id for b in batches}
    untracked_candidates = [s for s in sku_ids if s not in tracked]
    if untracked_candidates:  # SKUs with batches, all sold out, are still batch-tracked
        tracked |= set(
            Batch.objects.filter(sku_id__in=untracked_candidates)
            .values_list("sku_id", flat=True)
            .distinct()
        )
    if not tracked:
        return _Plan(picks={})
    stocks = list(
        Stock.objects.select_related("warehouse").filter(
            sku_id__in=sorted(tracked), warehouse__is_active=True
        )
    )
    dealer = context.dealer
    rank = stock_rank(getattr(dealer, "region", "") or "")
    stock_of = {(s.sku_id, s.warehouse_id): s for s in stocks}
    stock_left = {s.pk: s.on_hand - s.reserved for s in stocks}
    batch_left = {b.pk: b.available for b in batches}
    day = today()
    minimum = min_shelf_life_days(tenant=context.tenant, dealer=dealer)

    by_sku: dict[int, list[Batch]] = defaultdict(list)
    for b in batches:
        if (b.sku_id, b.warehouse_id) in stock_of:  # active warehouses only
            by_sku[b.sku_id].append(b)
    for sku_batches in by_sku.values():
        sku_batches.sort(
            key=lambda b: (b.expires_on, rank(stock_of[(b.sku_id, b.warehouse_id)]), b.pk)
        )

    picks: dict[int, list[AllocationPick]] = {}
    taken: dict[int, int] = defaultdict(int)
    errors: list[DomainError] = []
    for line in lines:
        if line.sku.pk not in tracked:
            continue
        want = line.quantity
        used: list[tuple[Batch, int]] = []
        expired = short = 0
        for b in by_sku.get(line.sku.pk, []):
            stock = stock_of[(b.sku_id, b.warehouse_id)]
            room = min(batch_left[b.pk], stock_left[stock.pk])
            if room <= 0:
                continue
            if b.is_expired(day):
                expired += room
                continue
            if b.days_to_expiry(day) < minimum:
                short += room
                continue
            if want == 0:
                continue
            take = min(want, room)
            used.append((b, take))
            batch_left[b.pk] -= take
            stock_left[stock.pk] -= take
            want -= take
        if want:
            for b, qty in used:  # a refused line holds nothing
                batch_left[b.pk] += qty
                stock_left[stock_of[(b.sku_id, b.warehouse_id)].pk] += qty
            errors.append(
                _shortage(
                    line, got=line.quantity - want, expired=expired, short=short, minimum=minimum
                )
            )
            continue
        for b, qty in used:
            taken[b.pk] += qty
        picks[line.index] = _picks(used)
    if errors:
        raise ValidationFailed(errors, message=_("Not enough stock within its shelf life."))
    _reserve(taken)
    return _Plan(picks=picks)


def _shortage(line: OrderLine, *, got: int, expired: int, short: int, minimum: int) -> DomainError:
    code = line.sku.code
    if got + short >= line.quantity and short:
        return DomainError(
            _("Only %(available)d units of %(sku)s have at least %(days)d days of shelf life left.")
            % {"available": got, "sku": code, "days": minimum},
            code=SHELF_LIFE_TOO_SHORT,
            field=_line_field(line),
            available=got,
            minimum_days=minimum,
        )
    if got + short + expired >= line.quantity and expired:
        return DomainError(
            _("Only %(available)d units of %(sku)s are in date; the rest of the stock has expired.")
            % {"available": got, "sku": code},
            code=EXPIRED_BATCH,
            field=_line_field(line),
            available=got,
        )
    return DomainError(
        _("Only %(available)d units are available.") % {"available": got},
        code=INSUFFICIENT_STOCK,
        field=_line_field(line),
        available=got,
    )


def _picks(used: list[tuple[Batch, int]]) -> list[AllocationPick]:
    """One pick per warehouse (the core keys an allocation's data by line and stock row),
    naming its earliest batch; ``data["batches"]`` lists every batch taken there."""
    by_warehouse: dict[int, list[tuple[Batch, int]]] = {}
    for b, qty in used:
        by_warehouse.setdefault(b.warehouse_id, []).append((b, qty))
    picks = []
    for warehouse_id, items in by_warehouse.items():
        first = items[0][0]
        picks.append(
            AllocationPick(
                warehouse_id=warehouse_id,
                quantity=sum(q for _b, q in items),
                batch=first.lot,
                data={
                    "batch_id": first.pk,
                    "expiry": first.expires_on.isoformat(),
                    "batches": [
                        {
                            "batch_id": b.pk,
                            "lot": b.lot,
                            "expiry": b.expires_on.isoformat(),
                            "quantity": q,
                        }
                        for b, q in items
                    ],
                },
            )
        )
    return picks


def _reserve(taken: dict[int, int]) -> None:
    """Reserve ``{batch id: quantity}`` in one conditional UPDATE (rows already locked)."""
    if not taken:
        return
    ids = sorted(taken)
    values = ", ".join(["(%s::bigint, %s::int)"] * len(ids))
    params: list[int] = []
    for i in ids:
        params += [i, taken[i]]
    table = Batch._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS b SET reserved = b.reserved + v.qty, updated_at = now() "
            f"FROM (VALUES {values}) AS v(id, qty) "
            f"WHERE b.id = v.id AND b.on_hand - b.reserved >= v.qty RETURNING b.id",
            params,
        )
        done = {row[0] for row in cursor.fetchall()}
    if done != set(ids):
        raise ValidationFailed(
            [
                DomainError(
                    _("Stock changed while the order was placed; try again."),
                    code=INSUFFICIENT_STOCK,
                    field="lines",
                    available=0,
                )
            ],
            message=_("Not enough stock."),
        )


# --- licences at ordering --------------------------------------------------------------
def validate_licences(context: OrderContext, lines: list[OrderLine]) -> list[LineError]:
    """Lines in prescription or controlled categories need a valid licence of the
    category's type: ``LICENCE_REQUIRED`` (none held) or ``LICENCE_EXPIRED``
    (held, but not valid today), per line. Two queries per order."""
    if not lines:
        return []
    from core.catalog.models import Category

    controls = {
        c.category_id: c
        for c in ControlledCategory.objects.select_related("required_licence", "category")
    }
    if not controls:
        return []
    category_ids = {line.sku.product.category_id for line in lines} - {None}
    paths = dict(Category.objects.filter(pk__in=category_ids).values_list("pk", "path"))
    category_paths: dict[int, list[int]] = {}
    for line in lines:
        category_id = line.sku.product.category_id
        if category_id is None:
            continue
        path = paths.get(category_id) or ""
        category_paths[line.index] = [int(p) for p in path.strip("/").split("/") if p] or [
            category_id
        ]
    held: dict[int, list[DealerLicence]] = defaultdict(list)
    dealer = context.dealer
    if dealer is not None:
        for licence in DealerLicence.objects.filter(dealer=dealer):
            held[licence.licence_type_id].append(licence)
    day = today()
    errors = []
    for line in lines:
        ids = category_paths.get(line.index)
        if not ids:
            continue
        control = next((controls[i] for i in reversed(ids) if i in controls), None)  # nearest
        if control is None:
            continue
        licence_type = control.required_licence
        mine = held.get(licence_type.pk, [])
        if any(lic.is_valid_on(day) for lic in mine):
            continue
        params = {"licence_type": licence_type.code, "category": control.category.name}
        if any(lic.expires_on < day for lic in mine):
            latest = max(lic.expires_on for lic in mine)
            errors.append(
                LineError(
                    index=line.index,
                    code=LICENCE_EXPIRED,
                    field="sku",
                    message=_("Your %(licence)s expired on %(date)s; %(sku)s cannot be ordered.")
                    % {
                        "licence": licence_type.name,
                        "date": latest.isoformat(),
                        "sku": line.sku.code,
                    },
                    params={**params, "expired_on": latest.isoformat()},
                )
            )
        else:
            errors.append(
                LineError(
                    index=line.index,
                    code=LICENCE_REQUIRED,
                    field="sku",
                    message=_(
                        "%(sku)s is a %(kind)s product: ordering it needs a valid %(licence)s."
                    )
                    % {
                        "sku": line.sku.code,
                        "kind": control.get_kind_display(),
                        "licence": licence_type.name,
                    },
                    params=params,
                )
            )
    return errors


# --- keeping batch reservations in step with orders ------------------------------------
def _allocation_batches(allocation: Any) -> list[tuple[int, int]]:
    """``(batch id, quantity)`` pairs a pharma allocation reserved (from its data)."""
    data = allocation.data or {}
    entries = data.get("batches")
    if entries:
        return [(int(e["batch_id"]), int(e["quantity"])) for e in entries]
    if data.get("batch_id"):
        return [(int(data["batch_id"]), int(allocation.quantity))]
    return []


def sync_reservations(order: Any) -> None:
    """Create the missing :class:`BatchReservation` rows of ``order`` from its
    allocations' data (idempotent: ``INSERT … ON CONFLICT DO NOTHING``)."""
    from core.orders.models import Allocation

    rows = [
        BatchReservation(allocation=a, order_id=order.pk, batch_id=batch_id, quantity=qty)
        for a in Allocation.objects.filter(line__order_id=order.pk).order_by("pk")
        for batch_id, qty in _allocation_batches(a)
    ]
    if rows:
        BatchReservation.objects.bulk_create(rows, ignore_conflicts=True)


def _settle(
    reservations: Iterable[int], *, to: str, consume: bool, ship_day: datetime.date | None = None
) -> list[BatchReservation]:
    """Move reserved rows to ``to`` once (conditional UPDATE … RETURNING) and change
    their batches: reserved drops, and on hand too when ``consume``."""
    ids = sorted(set(reservations))
    if not ids:
        return []
    table = BatchReservation._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = %s, updated_at = now() "
            f"WHERE id = ANY(%s) AND status = %s RETURNING id, batch_id, quantity",
            [to, ids, ReservationStatus.RESERVED],
        )
        moved = cursor.fetchall()
    if not moved:
        return []
    totals: dict[int, int] = defaultdict(int)
    for _id, batch_id, qty in moved:
        totals[batch_id] += qty
    batches = {
        b.pk: b
        for b in Batch.objects.select_for_update().filter(pk__in=sorted(totals)).order_by("pk")
    }
    for batch_id, qty in totals.items():
        b = batches[batch_id]
        b.reserved = max(b.reserved - qty, 0)
        if consume:
            b.on_hand -= qty
    Batch.objects.bulk_update(list(batches.values()), ["reserved", "on_hand", "updated_at"])
    settled = list(
        BatchReservation.objects.filter(pk__in=[r[0] for r in moved]).select_related("batch")
    )
    if consume and ship_day is not None:
        expired = [r.pk for r in settled if r.batch.expires_on < ship_day]
        if expired:
            BatchReservation.objects.filter(pk__in=expired).update(shipped_expired=True)
            for r in settled:
                if r.pk in expired:
                    r.shipped_expired = True
                    logger.warning(
                        "Order %s shipped %d units of lot %s after its expiry (%s)",
                        r.order_id,
                        r.quantity,
                        r.batch.lot,
                        r.batch.expires_on,
                    )
    return settled


@transaction.atomic
def release_order(order: Any) -> list[BatchReservation]:
    """The order was cancelled or rejected: give its batch reservations back (once)."""
    sync_reservations(order)
    ids = BatchReservation.objects.filter(
        order_id=order.pk, status=ReservationStatus.RESERVED
    ).values_list("pk", flat=True)
    return _settle(list(ids), to=ReservationStatus.RELEASED, consume=False)


@transaction.atomic
def ship_order(order: Any, *, shipment_id: int | None) -> list[BatchReservation]:
    """A shipment left: the batches it took leave the warehouse (once).

    Batches that expired before the shipment left are recorded
    (``shipped_expired``) and shown as a warning in the console: the core ships
    in its own transaction before plugins hear of it, so the plugin records and
    warns rather than blocks.
    """
    from core.orders.models import Shipment

    sync_reservations(order)
    shipment = (
        Shipment.objects.filter(pk=shipment_id, order_id=order.pk).first() if shipment_id else None
    )
    rows = BatchReservation.objects.filter(order_id=order.pk, status=ReservationStatus.RESERVED)
    if shipment is not None:
        rows = rows.filter(allocation__warehouse_id=shipment.warehouse_id)
    else:  # no shipment named: everything the core has shipped
        rows = rows.filter(allocation__shipped_quantity__gt=0)
    shipped_at = (
        shipment.shipped_at if shipment is not None and shipment.shipped_at else timezone.now()
    )
    ship_day = timezone.localdate(shipped_at)
    return _settle(
        list(rows.values_list("pk", flat=True)),
        to=ReservationStatus.SHIPPED,
        consume=True,
        ship_day=ship_day,
    )


@transaction.atomic
def restock_return(order: Any, *, return_id: int | None) -> list[BatchReturn]:
    """Returned goods: the core put them back on the stock row of the line's first
    allocation; put them back on that allocation's earliest batch too (once per
    return line), so the stock stays the sum of its batches."""
    from core.orders.models import ReturnLine

    if not return_id:
        return []
    from core.orders.models import OrderReturn

    ret = OrderReturn.objects.filter(pk=return_id, order_id=order.pk).first()
    if ret is None:
        return []
    done = []
    for rl in ReturnLine.objects.filter(order_return=ret).select_related("line").order_by("pk"):
        allocation = rl.line.allocations.order_by("id").first()
        pairs = _allocation_batches(allocation) if allocation is not None else []
        if not pairs:
            continue
        batch_id = pairs[0][0]
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {BatchReturn._meta.db_table} "
                "(return_line_id, batch_id, quantity, created_by_id, created_at) "
                "VALUES (%s, %s, %s, %s, now()) ON CONFLICT (return_line_id) DO NOTHING RETURNING id",
                [rl.pk, batch_id, rl.base_quantity, ret.created_by_id],
            )
            row = cursor.fetchone()
        if row is None:
            continue  # applied before
        batch = Batch.objects.select_for_update().get(pk=batch_id)
        Batch.objects.filter(pk=batch.pk).update(on_hand=batch.on_hand + rl.base_quantity)
        done.append(BatchReturn.objects.get(pk=row[0]))
    return done


def handle_order_event(event: str, order: Any, payload: dict[str, Any]) -> None:
    """The plugin's ``order_event``: keep batch reservations in step with the order."""
    if event == "order.placed":
        sync_reservations(order)
    elif event in ("order.cancelled", "order.rejected"):
        release_order(order)
    elif event == "order.shipped":
        ship_order(order, shipment_id=payload.get("shipment_id"))
    elif event == "order.returned":
        restock_return(order, return_id=payload.get("return_id"))
