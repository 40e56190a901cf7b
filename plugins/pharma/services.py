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
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _

from core.exceptions import DomainError, ValidationFailed, check_lengths
from plugins.types import AllocationPick, LineError, OrderContext, OrderLine

from .models import (
    Batch,
    BatchMovement,
    BatchReservation,
    BatchReturn,
    ControlledCategory,
    DealerLicence,
    LicenceType,
    MovementKind,
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
BATCH_REQUIRED = "BATCH_REQUIRED"
LOT_DATES_DIFFER = "LOT_DATES_DIFFER"
ERROR_CODES = [
    EXPIRED_BATCH,
    SHELF_LIFE_TOO_SHORT,
    LICENCE_REQUIRED,
    LICENCE_EXPIRED,
    BATCH_REQUIRED,
    LOT_DATES_DIFFER,
]

#: What the stock_changed hook may refuse a receipt, count or transfer with.
STOCK_ERROR_CODES = [BATCH_REQUIRED]

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


# --- receiving, counting, transferring ------------------------------------------------
# The core's stock services tell plugins about every receipt, stock-take and transfer
# (hook ``stock_changed``). Changes this module makes itself, batch in hand, run the
# core service inside ``_own_change``: the hook then knows the batches are taken care
# of. Anything else that changes a batch-tracked SKU's stock is refused, or (a
# transfer) carries batches FEFO. The core's ``Stock`` rows are locked first (by the
# core service), then the batches: the order placement's lock order.
_own: ContextVar[tuple[str, int, int] | None] = ContextVar("pharma_own_change", default=None)


@contextmanager
def _own_change(reason: str, sku: Any, warehouse: Any) -> Iterator[None]:
    token = _own.set((reason, sku.pk, warehouse.pk))
    try:
        yield
    finally:
        _own.reset(token)


def is_batch_tracked(sku: Any) -> bool:
    """A SKU is batch-tracked once any lot of it was received."""
    return Batch.objects.filter(sku_id=sku.pk).exists()


def _record(
    batch: Batch,
    kind: str,
    quantity: int,
    *,
    reference: str = "",
    note: str = "",
    user: Any = None,
    counterpart: Batch | None = None,
) -> BatchMovement:
    return BatchMovement.objects.create(
        batch=batch,
        kind=kind,
        quantity=quantity,
        on_hand_after=batch.on_hand,
        counterpart=counterpart,
        reference=reference[:64],
        note=note[:255],
        created_by=user if getattr(user, "pk", None) else None,
    )


def _check_lot(lot: str) -> str:
    lot = (lot or "").strip()
    if not lot:
        raise DomainError(_("Enter the lot number."), code="REQUIRED", field="lot")
    if len(lot) > 64:
        raise DomainError(
            _("A lot number has at most 64 characters."), code="TOO_LONG", field="lot"
        )
    return lot


def _batch_for_update(
    *,
    sku_id: int,
    warehouse: Any,
    lot: str,
    manufactured_on: datetime.date,
    expires_on: datetime.date,
) -> Batch:
    """The lot's batch in ``warehouse`` (created empty when new), locked; its dates must match."""
    batch = (
        Batch.objects.select_for_update()
        .filter(sku_id=sku_id, warehouse=warehouse, lot=lot)
        .first()
    )
    if batch is None:
        try:
            with transaction.atomic():
                batch = Batch.objects.create(
                    sku_id=sku_id,
                    warehouse=warehouse,
                    lot=lot,
                    manufactured_on=manufactured_on,
                    expires_on=expires_on,
                    on_hand=0,
                )
        except IntegrityError:  # the same lot arrived concurrently
            batch = Batch.objects.select_for_update().get(
                sku_id=sku_id, warehouse=warehouse, lot=lot
            )
    if batch.manufactured_on != manufactured_on or batch.expires_on != expires_on:
        raise DomainError(
            _("Lot %(lot)s is already in this warehouse with other dates (expiry %(expiry)s).")
            % {"lot": lot, "expiry": batch.expires_on.isoformat()},
            code=LOT_DATES_DIFFER,
            field="lot",
            lot=lot,
            expiry=batch.expires_on.isoformat(),
        )
    return batch


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

    Raises the core stock (``receive_stock``) and the batch (created, or added
    to when the lot is already there with the same dates) by the same quantity,
    so the SKU's ``Stock`` row stays the sum of its batches, and records the
    receipt. Raises :class:`DomainError` on bad input; nothing changes then.
    """
    from core.inventory.services import receive_stock

    lot = _check_lot(lot)
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
    # The movement's reference column is as long as a lot: "LOT " + a long lot is cut
    # there (the batch keeps the whole lot).
    reference = reference or f"LOT {lot}"[: BatchMovement._meta.get_field("reference").max_length]
    with _own_change("receipt", sku, warehouse):
        receive_stock(
            sku=sku, warehouse=warehouse, quantity=quantity, reference=reference, user=user
        )
    batch = _batch_for_update(
        sku_id=sku.pk,
        warehouse=warehouse,
        lot=lot,
        manufactured_on=manufactured_on,
        expires_on=expires_on,
    )
    Batch.objects.filter(pk=batch.pk).update(on_hand=batch.on_hand + quantity)
    batch.refresh_from_db()
    _record(batch, MovementKind.RECEIPT, quantity, reference=reference, user=user)
    return batch


def _positive(quantity: Any, field: str = "quantity") -> int:
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
        raise DomainError(
            _("The quantity must be a whole number above zero."),
            code="INVALID_QUANTITY",
            field=field,
        )
    return quantity


@transaction.atomic
def transfer_batch(
    *, batch: Batch, destination: Any, quantity: int, user: Any = None
) -> list[BatchMovement]:
    """Move ``quantity`` unreserved units of ``batch`` to ``destination``.

    Through the core's ``transfer_stock`` (the warehouses' stock moves, a
    ``Transfer`` is recorded) and, in the same transaction, onto the same lot in
    the destination (created with the lot's dates). Returns the two movements
    (out, in). Raises ``INSUFFICIENT_STOCK`` (with ``available``) beyond the
    batch's unreserved units, ``LOT_DATES_DIFFER`` when the destination holds the
    lot with other dates; nothing changes then.
    """
    from core.inventory.services import transfer_stock

    _positive(quantity)
    if destination is None or destination.pk == batch.warehouse_id:
        raise DomainError(
            _("Choose two different warehouses."), code="INVALID", field="destination"
        )
    with _own_change("transfer", batch.sku, batch.warehouse):
        transfer = transfer_stock(
            sku=batch.sku,
            source=batch.warehouse,
            destination=destination,
            quantity=quantity,
            user=user,
        )
    return _move_batches(
        [(batch.pk, quantity)], destination, reference=f"TR-{transfer.pk}", user=user
    )


def _move_batches(
    pairs: Sequence[tuple[int, int]], destination: Any, *, reference: str, user: Any
) -> list[BatchMovement]:
    """``(batch id, quantity)`` from their warehouse to the same lots in ``destination``."""
    ids = sorted({batch_id for batch_id, _q in pairs})
    sources = {b.pk: b for b in Batch.objects.select_for_update().filter(pk__in=ids).order_by("pk")}
    movements = []
    for batch_id, quantity in pairs:
        source = sources[batch_id]
        if source.available < quantity:
            raise DomainError(
                _("Lot %(lot)s has only %(available)d unreserved units in this warehouse.")
                % {"lot": source.lot, "available": source.available},
                code=INSUFFICIENT_STOCK,
                field="quantity",
                available=source.available,
                lot=source.lot,
            )
        target = _batch_for_update(
            sku_id=source.sku_id,
            warehouse=destination,
            lot=source.lot,
            manufactured_on=source.manufactured_on,
            expires_on=source.expires_on,
        )
        source.on_hand -= quantity
        target.on_hand += quantity
        Batch.objects.filter(pk=source.pk).update(on_hand=source.on_hand)
        Batch.objects.filter(pk=target.pk).update(on_hand=target.on_hand)
        movements.append(
            _record(
                source,
                MovementKind.TRANSFER_OUT,
                -quantity,
                reference=reference,
                user=user,
                counterpart=target,
            )
        )
        movements.append(
            _record(
                target,
                MovementKind.TRANSFER_IN,
                quantity,
                reference=reference,
                user=user,
                counterpart=source,
            )
        )
    return movements


@transaction.atomic
def count_batch(*, batch: Batch, counted: int, note: str = "", user: Any = None) -> Batch:
    """A stock-take of one batch: its on hand becomes ``counted``.

    The difference is applied to the warehouse's stock through the core's
    ``adjust_stock`` (one movement there) and recorded on the batch. A count
    below what orders hold reserved on the batch is refused
    (``INSUFFICIENT_STOCK`` with ``reserved``); nothing changes then.
    """
    from core.inventory.models import Stock
    from core.inventory.services import MAX_ON_HAND, adjust_stock

    if not isinstance(counted, int) or isinstance(counted, bool) or counted < 0:
        raise DomainError(
            _("A count cannot be negative."), code="INVALID_QUANTITY", field="counted"
        )
    check_lengths(BatchMovement, note=note)
    # The core's row first, then the batch: the lock order of order placement.
    stock = Stock.objects.select_for_update().get(
        sku_id=batch.sku_id, warehouse_id=batch.warehouse_id
    )
    batch = Batch.objects.select_for_update().select_related("sku", "warehouse").get(pk=batch.pk)
    if counted < batch.reserved:
        raise DomainError(
            _(
                "%(reserved)d units of lot %(lot)s are reserved for orders; the count cannot be lower."
            )
            % {"reserved": batch.reserved, "lot": batch.lot},
            code=INSUFFICIENT_STOCK,
            field="counted",
            reserved=batch.reserved,
            lot=batch.lot,
        )
    delta = counted - batch.on_hand
    if delta == 0:
        return batch
    if stock.on_hand + delta > MAX_ON_HAND:  # the warehouse's 32-bit total, other lots included
        raise DomainError(
            _("A warehouse holds at most %(max)d units of a SKU.") % {"max": MAX_ON_HAND},
            code="INVALID_QUANTITY",
            field="counted",
        )
    with _own_change("adjustment", batch.sku, batch.warehouse):
        adjust_stock(
            sku=batch.sku,
            warehouse=batch.warehouse,
            counted=stock.on_hand + delta,
            note=note or f"LOT {batch.lot}",
            user=user,
        )
    Batch.objects.filter(pk=batch.pk).update(on_hand=counted)
    batch.on_hand = counted
    _record(batch, MovementKind.ADJUSTMENT, delta, note=note, user=user)
    return batch


def fefo_transfer_plan(*, sku: Any, warehouse: Any, quantity: int) -> list[tuple[int, int]]:
    """Which batches a transfer that names none carries: unreserved units, in-date
    lots first, earliest expiry first (expired lots last: they are not for sale, so a
    transfer takes them only when nothing else is left). Batches locked (id order)."""
    day = today()
    batches = list(
        Batch.objects.select_for_update()
        .filter(sku_id=sku.pk, warehouse_id=warehouse.pk, on_hand__gt=0)
        .order_by("pk")
    )
    batches.sort(key=lambda b: (b.is_expired(day), b.expires_on, b.pk))
    plan, want = [], quantity
    for b in batches:
        take = min(want, b.available)
        if take > 0:
            plan.append((b.pk, take))
            want -= take
        if want == 0:
            break
    if want:
        have = quantity - want
        raise DomainError(
            _("The batches of %(sku)s in this warehouse hold only %(available)d unreserved units.")
            % {"sku": sku.code, "available": have},
            code=INSUFFICIENT_STOCK,
            field="quantity",
            available=have,
        )
    return plan


def on_stock_changed(
    *,
    reason: str,
    sku: Any,
    warehouse: Any,
    quantity: int,
    destination: Any,
    reference: str,
    user: Any,
) -> None:
    """The plugin's ``stock_changed``: keep a batch-tracked SKU's batches equal to its stock.

    Changes this module made itself are already on their batches. Otherwise, for
    a SKU with batches: a transfer carries batches FEFO (:func:`fefo_transfer_plan`);
    a receipt or a stock-take without a batch is refused (``BATCH_REQUIRED``), as
    the batches could no longer add up to the stock. SKUs without batches are not
    the plugin's concern.
    """
    if _own.get() == (reason, sku.pk, warehouse.pk):
        return
    if not is_batch_tracked(sku):
        return
    if reason == "transfer":
        plan = fefo_transfer_plan(sku=sku, warehouse=warehouse, quantity=quantity)
        _move_batches(plan, destination, reference=reference, user=user)
        return
    if reason == "receipt":
        message = _("%(sku)s is batch-tracked: receive it with its lot number and dates.")
    else:
        message = _("%(sku)s is batch-tracked: count it per batch (lot).")
    raise DomainError(message % {"sku": sku.code}, code=BATCH_REQUIRED, field="lot", sku=sku.code)


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


# --- the order's facts -----------------------------------------------------------------
@dataclass(frozen=True)
class SkuFacts:
    """What the order hooks need to know about one SKU of an order.

    Read for every SKU of the order in the one statement that also brings the
    other plugins' facts (:mod:`plugins.orderfacts`), so an order of SKUs
    without batches or controls costs pharma nothing more.
    """

    tracked: bool  # a lot of it was received once: FEFO allocates it from batches
    controlled: bool  # its category, or one above it, is controlled: licence check
    stock: dict[int, str]  # each stock row's version (xmin) when read (see _stock_moved)


def order_facts_source() -> tuple[str, Any]:
    """The facts source registered with :mod:`plugins.orderfacts`: one row per SKU."""
    from core.catalog.models import Category, Product, Sku
    from core.inventory.models import Stock

    sql = (
        "SELECT s.id AS sku_id, "
        f'EXISTS (SELECT 1 FROM "{Batch._meta.db_table}" b WHERE b.sku_id = s.id) AS tracked, '
        f'EXISTS (SELECT 1 FROM "{ControlledCategory._meta.db_table}" cc '
        "WHERE cc.category_id = p.category_id "
        "OR cc.category_id::text = ANY(string_to_array(c.path, '/'))) AS controlled, "
        f'(SELECT jsonb_object_agg(st.id, st.xmin::text) FROM "{Stock._meta.db_table}" st '
        "WHERE st.sku_id = s.id) AS stock "
        f'FROM "{Sku._meta.db_table}" s '
        f'JOIN "{Product._meta.db_table}" p ON p.id = s.product_id '
        f'LEFT JOIN "{Category._meta.db_table}" c ON c.id = p.category_id '
        "WHERE s.id = ANY(%s)"
    )
    return sql, _decode_facts


def _decode_facts(row: dict[str, Any]) -> SkuFacts:
    stock = {int(pk): version for pk, version in (row["stock"] or {}).items()}
    return SkuFacts(bool(row["tracked"]), bool(row["controlled"]), stock)


def order_facts(context: OrderContext, sku_ids: Iterable[int] = ()) -> dict[int, SkuFacts]:
    """:class:`SkuFacts` of the order's SKUs (and ``sku_ids``), by SKU id."""
    from plugins.orderfacts import facts_for

    return facts_for(context, NAME, sku_ids)


def _stock_moved(context: OrderContext, facts: dict[int, SkuFacts], sku_ids: list[int]) -> bool:
    """Whether the order's stock changed between the facts and the core's lock.

    The facts are read before the stock rows are locked; a SKU's first lot
    received in between (its receipt commits while the order waits for the
    lock) would leave it untracked in the facts. A receipt updates a stock row
    (or adds one), which gives the row a new version (``xmin``): when every
    locked row of the order's SKUs is the version the facts saw, nothing was
    received in between (on-hand totals could match after a receipt and an
    equal decrease; versions cannot). Another order's reservation also makes a
    new version: the batches are then simply checked again. Without locked rows
    (a plugin test calling the hook), the database is asked.
    """
    locked = context.locked_stock
    if locked is None:
        return True
    wanted = set(sku_ids)
    for stock in locked:
        if stock.sku_id not in wanted:
            continue
        seen = facts.get(stock.sku_id)
        if seen is None or seen.stock.get(stock.pk) != getattr(stock, "row_version", None):
            return True
    return False


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
    Free goods (``line.data["free"]``, after the bought lines in ``context.lines``)
    are planned by the same rules after the bought lines, and a controlled free
    product needs the dealer's licence (``LICENCE_REQUIRED`` with ``free``).
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
    # Free goods (a promotion's, flagged by the core) were never validated as lines:
    # a controlled product needs the licence whether it is bought or given.
    free = [pl for pl in lines if pl.data.get("free")]
    refused = validate_licences(context, free) if free else []
    if refused:
        raise ValidationFailed(
            [
                DomainError(
                    e.message,
                    code=e.code,
                    field=f"lines.{e.index}.{e.field or 'sku'}",
                    plugin=NAME,
                    free=True,
                    **e.params,
                )
                for e in refused
            ],
            message=_("Some free goods cannot be given to this dealer."),
        )
    facts = order_facts(context, sku_ids)
    if not any(facts[s].tracked for s in sku_ids if s in facts) and not _stock_moved(
        context, facts, sku_ids
    ):
        return _Plan(picks={})  # no SKU of the order has batches: the core allocates
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


def preview_stock_in_date(context: OrderContext, lines: list[OrderLine]) -> list[LineError]:
    """Before submitting (``context.preview``): lines of batch-tracked SKUs that FEFO could
    not serve because the stock is expired (``EXPIRED_BATCH``) or too close to expiry for
    the dealer (``SHELF_LIFE_TOO_SHORT``), with ``available`` in date. Reads unlocked rows
    and reserves nothing; placing the order checks again under lock. A plain shortage is
    left to the core. Two queries (batches, shelf-life rule) for the whole list, none
    when no SKU of the list has batches (:func:`order_facts`)."""
    from core.inventory.models import Warehouse

    sku_ids = sorted({line.sku.pk for line in lines})
    if not sku_ids:
        return []
    facts = order_facts(context, sku_ids)
    if not any(facts[s].tracked for s in sku_ids if s in facts):
        return []
    batches = list(
        Batch.objects.filter(
            sku_id__in=sku_ids,
            on_hand__gt=0,
            warehouse_id__in=Warehouse.objects.filter(is_active=True).values("pk"),
        ).only("sku_id", "on_hand", "reserved", "expires_on")
    )
    if not batches:
        return []
    day = today()
    minimum = min_shelf_life_days(tenant=context.tenant, dealer=context.dealer)
    good: dict[int, int] = defaultdict(int)
    short: dict[int, int] = defaultdict(int)
    expired: dict[int, int] = defaultdict(int)
    for b in batches:
        room = b.available
        if room <= 0:
            continue
        if b.is_expired(day):
            expired[b.sku_id] += room
        elif b.days_to_expiry(day) < minimum:
            short[b.sku_id] += room
        else:
            good[b.sku_id] += room
    errors = []
    for line in lines:
        sku_id = line.sku.pk
        got = min(line.quantity, good[sku_id])
        good[sku_id] -= got
        if got == line.quantity or not (short[sku_id] or expired[sku_id]):
            continue
        error = _shortage(
            line, got=got, expired=expired[sku_id], short=short[sku_id], minimum=minimum
        )
        if error.code == INSUFFICIENT_STOCK:
            continue
        errors.append(
            LineError(
                index=line.index,
                code=error.code,
                field="quantity",
                message=error.message,
                params=dict(error.params),
            )
        )
    return errors


# --- licences at ordering --------------------------------------------------------------
def validate_licences(context: OrderContext, lines: list[OrderLine]) -> list[LineError]:
    """Lines in prescription or controlled categories need a valid licence of the
    category's type: ``LICENCE_REQUIRED`` (none held) or ``LICENCE_EXPIRED``
    (held, but not valid today), per line. Three queries per order with a line in a
    controlled category, none otherwise (:func:`order_facts`)."""
    if not lines:
        return []
    facts = order_facts(context, (line.sku.pk for line in lines))
    if not any(facts[line.sku.pk].controlled for line in lines if line.sku.pk in facts):
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


def sync_reservations(order: Any) -> bool:
    """Create the missing :class:`BatchReservation` rows of ``order`` from its
    allocations' data (idempotent: ``INSERT … ON CONFLICT DO NOTHING``).

    Returns whether the order took batches at all: reservations are only ever
    made from those allocations, so an order without has none to release, ship
    or restock, and its events cost this one query.
    """
    from core.orders.models import Allocation

    rows = [
        BatchReservation(allocation=a, order_id=order.pk, batch_id=batch_id, quantity=qty)
        for a in Allocation.objects.filter(line__order_id=order.pk).order_by("pk")
        for batch_id, qty in _allocation_batches(a)
    ]
    if rows:
        BatchReservation.objects.bulk_create(rows, ignore_conflicts=True)
    return bool(rows)


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
    if not sync_reservations(order):
        return []
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

    if not sync_reservations(order):
        return []
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
    from core.orders.models import Allocation, ReturnLine

    if not return_id:
        return []
    returned = (
        ReturnLine.objects.filter(order_return_id=return_id, order_return__order_id=order.pk)
        .select_related("order_return", "line")
        .prefetch_related(Prefetch("line__allocations", queryset=Allocation.objects.order_by("id")))
        .order_by("pk")
    )
    done = []
    for rl in returned:
        allocations = list(rl.line.allocations.all())
        pairs = _allocation_batches(allocations[0]) if allocations else []
        if not pairs:
            continue
        batch_id = pairs[0][0]
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {BatchReturn._meta.db_table} "
                "(return_line_id, batch_id, quantity, created_by_id, created_at) "
                "VALUES (%s, %s, %s, %s, now()) ON CONFLICT (return_line_id) DO NOTHING RETURNING id",
                [rl.pk, batch_id, rl.base_quantity, rl.order_return.created_by_id],
            )
            row = cursor.fetchone()
        if row is None:
            continue  # applied before
        Batch.objects.filter(pk=batch_id).update(on_hand=F("on_hand") + rl.base_quantity)
        done.append(BatchReturn.objects.get(pk=row[0]))
    return done


def handle_order_event(
    event: str, order: Any, payload: dict[str, Any], context: OrderContext | None = None
) -> None:
    """The plugin's ``order_event``: keep batch reservations in step with the order.

    ``order.placed`` with the placement's ``context``: nothing to do (no query) when
    FEFO took no batch for the order (its plan, kept in ``context.cache``, is empty).
    """
    if event == "order.placed":
        if context is not None and not _took_batches(context):
            return
        sync_reservations(order)
    elif event in ("order.cancelled", "order.rejected"):
        release_order(order)
    elif event == "order.shipped":
        ship_order(order, shipment_id=payload.get("shipment_id"))
    elif event == "order.returned":
        restock_return(order, return_id=payload.get("return_id"))


def _took_batches(context: OrderContext) -> bool:
    """Whether FEFO reserved batches for the order placed with ``context``."""
    plan = context.cache.get(NAME, {}).get("plan")
    return plan is not None and bool(plan.picks)
