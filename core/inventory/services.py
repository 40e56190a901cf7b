"""Stock changes: receipts, adjustments, transfers, reservation, release, shipping, returns.

Every change of on-hand stock writes a :class:`StockMovement` and an outbox
event. Reservation is atomic and deadlock-free: the stock rows an order needs
are locked in primary-key order (``SELECT … ORDER BY id FOR UPDATE``), the
allocation is computed on the locked rows, and one conditional ``UPDATE``
reserves them all; the table's check constraints back it up, so available
stock can never go negative whatever the concurrency.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from core.events.services import PendingEvent, record_many
from core.exceptions import DomainError, ValidationFailed, check_lengths
from plugins.manager import current_tenant_hooks

from .models import MovementReason, Stock, StockMovement, Transfer, Warehouse

MAX_ON_HAND = 2**31 - 1  # stock quantities are PostgreSQL integers


class InsufficientStock(DomainError):
    code = "INSUFFICIENT_STOCK"


def _stock_event(
    stock: Stock, reason: str, delta_on_hand: int = 0, delta_reserved: int = 0
) -> PendingEvent:
    return PendingEvent(
        "stock.changed",
        "stock",
        stock.pk,
        {
            "sku_id": stock.sku_id,
            "warehouse_id": stock.warehouse_id,
            "reason": reason,
            "on_hand": stock.on_hand,
            "reserved": stock.reserved,
            "available": stock.on_hand - stock.reserved,
            "delta_on_hand": delta_on_hand,
            "delta_reserved": delta_reserved,
        },
    )


def _low_stock_events(stocks: Iterable[Stock]) -> list[PendingEvent]:
    """``stock.low`` once when available falls below safety stock (re-armed when it recovers)."""
    events, fell, recovered = [], [], []
    for s in stocks:
        below = s.safety_stock > 0 and s.on_hand - s.reserved < s.safety_stock
        if below and not s.low_stock_alerted:
            fell.append(s.pk)
            events.append(
                PendingEvent(
                    "stock.low",
                    "stock",
                    s.pk,
                    {
                        "sku_id": s.sku_id,
                        "warehouse_id": s.warehouse_id,
                        "available": s.on_hand - s.reserved,
                        "safety_stock": s.safety_stock,
                    },
                )
            )
        elif not below and s.low_stock_alerted:
            recovered.append(s.pk)
    if fell:
        Stock.objects.filter(pk__in=fell).update(low_stock_alerted=True)
    if recovered:
        Stock.objects.filter(pk__in=recovered).update(low_stock_alerted=False)
    return events


def _move(
    stock: Stock, quantity: int, reason: str, *, reference: str = "", note: str = "", user=None
) -> Stock:
    """Change on-hand by ``quantity`` (conditional on staying valid) and record it."""
    rows = Stock.objects.filter(pk=stock.pk)
    if quantity > 0:
        # The columns are 32-bit: more than MAX_ON_HAND is an error, not an overflow.
        updated = rows.filter(on_hand__lte=MAX_ON_HAND - quantity).update(
            on_hand=F("on_hand") + quantity
        )
    else:
        # on_hand − reserved cannot overflow, unlike reserved + the quantity taken.
        updated = (
            rows.alias(available=F("on_hand") - F("reserved"))
            .filter(available__gte=-quantity)
            .update(on_hand=F("on_hand") + quantity)
        )
    if not updated and quantity > 0:
        raise DomainError(
            _("A warehouse holds at most %(max)d units of a SKU.") % {"max": MAX_ON_HAND},
            field="quantity",
            code="INVALID_QUANTITY",
        )
    if not updated:
        stock.refresh_from_db()
        raise InsufficientStock(
            _("Only %(available)d units are available.") % {"available": stock.available},
            field="quantity",
            available=stock.available,
        )
    stock.refresh_from_db()
    StockMovement.objects.create(
        stock=stock,
        quantity=quantity,
        reason=reason,
        reference=reference,
        note=note,
        on_hand_after=stock.on_hand,
        created_by=user,
    )
    record_many([_stock_event(stock, reason, delta_on_hand=quantity), *_low_stock_events([stock])])
    return stock


def _stock_row(sku, warehouse: Warehouse) -> Stock:
    stock, _created = Stock.objects.get_or_create(sku=sku, warehouse=warehouse)
    return stock


@transaction.atomic
def receive_stock(
    *, sku, warehouse: Warehouse, quantity: int, reference: str = "", user=None
) -> Stock:
    """Goods received into a warehouse."""
    if quantity <= 0:
        raise DomainError(
            _("The quantity must be positive."), field="quantity", code="INVALID_QUANTITY"
        )
    check_lengths(StockMovement, reference=reference)
    stock = _move(
        _stock_row(sku, warehouse), quantity, MovementReason.RECEIPT, reference=reference, user=user
    )
    _plugins(
        reason="receipt",
        sku=sku,
        warehouse=warehouse,
        quantity=quantity,
        reference=reference,
        user=user,
    )
    return stock


@transaction.atomic
def adjust_stock(*, sku, warehouse: Warehouse, counted: int, note: str = "", user=None) -> Stock:
    """Set on-hand to a counted quantity (a stock-take); the difference is recorded."""
    if counted < 0:
        raise DomainError(
            _("A count cannot be negative."), field="counted", code="INVALID_QUANTITY"
        )
    check_lengths(StockMovement, note=note)
    stock = Stock.objects.select_for_update().get(pk=_stock_row(sku, warehouse).pk)
    delta = counted - stock.on_hand
    if delta == 0:
        return stock
    if counted < stock.reserved:
        raise InsufficientStock(
            _("%(reserved)d units are reserved for orders; the count cannot be lower.")
            % {"reserved": stock.reserved},
            field="counted",
            available=stock.available,
        )
    stock = _move(stock, delta, MovementReason.ADJUSTMENT, note=note, user=user)
    _plugins(reason="adjustment", sku=sku, warehouse=warehouse, quantity=delta, user=user)
    return stock


@transaction.atomic
def transfer_stock(
    *, sku, source: Warehouse, destination: Warehouse, quantity: int, user=None
) -> Transfer:
    """Move available stock from one warehouse to another."""
    if quantity <= 0:
        raise DomainError(
            _("The quantity must be positive."), field="quantity", code="INVALID_QUANTITY"
        )
    if source.pk == destination.pk:
        raise DomainError(
            _("Choose two different warehouses."), field="destination", code="INVALID"
        )
    transfer = Transfer.objects.create(
        sku=sku, source=source, destination=destination, quantity=quantity, created_by=user
    )
    ref = f"TR-{transfer.pk}"
    # Lock both rows in id order so two opposite transfers cannot deadlock.
    rows = sorted([_stock_row(sku, source), _stock_row(sku, destination)], key=lambda s: s.pk)
    list(Stock.objects.select_for_update().filter(pk__in=[r.pk for r in rows]).order_by("pk"))
    by_wh = {r.warehouse_id: r for r in rows}
    _move(by_wh[source.pk], -quantity, MovementReason.TRANSFER_OUT, reference=ref, user=user)
    _move(by_wh[destination.pk], quantity, MovementReason.TRANSFER_IN, reference=ref, user=user)
    _plugins(
        reason="transfer",
        sku=sku,
        warehouse=source,
        quantity=quantity,
        destination=destination,
        reference=ref,
        user=user,
    )
    return transfer


def _plugins(
    *, reason: str, sku, warehouse, quantity: int, destination=None, reference: str = "", user=None
) -> None:
    """Tell the enabled plugins that stock was received, counted or transferred (hook
    ``stock_changed``), inside this service's transaction: plugins that hold finer
    stock (batches) follow the change, and a plugin's :class:`DomainError` rolls
    it back. Free when no enabled plugin listens."""
    hooks = current_tenant_hooks()
    if not hooks.has("stock_changed"):
        return
    hooks.call(
        "stock_changed",
        tenant=getattr(connection, "tenant", None),
        reason=reason,
        sku=sku,
        warehouse=warehouse,
        quantity=quantity,
        destination=destination,
        reference=reference,
        user=user if getattr(user, "pk", None) else None,
    )


# --- reservation --------------------------------------------------------------------
@dataclass(frozen=True)
class Demand:
    """What one order line needs: ``quantity`` base units of ``sku_id``.

    ``line`` is the position of the line as submitted, for error fields
    (``lines.<line>.quantity``); by default the demand's own position.
    """

    key: object
    sku_id: int
    quantity: int
    line: int | None = None


@dataclass(frozen=True)
class Allocation:
    key: object
    stock_id: int
    warehouse_id: int
    sku_id: int
    quantity: int


def lock_stock(sku_ids: Sequence[int]) -> list[Stock]:
    """Lock the stock rows of these SKUs in active warehouses, in id order (warehouses
    loaded with them, one instance per warehouse).

    Each row carries ``row_version`` (PostgreSQL's ``xmin`` of the version locked, as
    text): it changes with every committed update of the row, so a caller that read
    the row before locking it can tell whether anything changed it in between."""
    stock_fields = [f.attname for f in Stock._meta.concrete_fields]
    warehouse_fields = [f.attname for f in Warehouse._meta.concrete_fields]
    columns = ", ".join(
        [f"s.{Stock._meta.get_field(a).column}" for a in stock_fields]
        + [f"w.{Warehouse._meta.get_field(a).column}" for a in warehouse_fields]
        + ["s.xmin::text"]
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns} FROM {Stock._meta.db_table} s "
            f"JOIN {Warehouse._meta.db_table} w ON w.id = s.warehouse_id "
            f"WHERE s.sku_id = ANY(%s::bigint[]) AND w.is_active ORDER BY s.id FOR UPDATE OF s",
            [sorted(set(sku_ids))],
        )
        rows = cursor.fetchall()
    split = len(stock_fields)
    warehouses: dict[int, Warehouse] = {}
    stocks = []
    for row in rows:
        stock = Stock.from_db(connection.alias, stock_fields, row[:split])
        warehouse = warehouses.get(stock.warehouse_id)
        if warehouse is None:
            warehouse = warehouses[stock.warehouse_id] = Warehouse.from_db(
                connection.alias, warehouse_fields, row[split:-1]
            )
        stock.row_version = row[-1]
        stock.warehouse = warehouse
        stocks.append(stock)
    return stocks


def _warehouse_rank(warehouse: Warehouse, region: str) -> tuple:
    return (0 if region and warehouse.region == region else 1, warehouse.priority, warehouse.code)


def stock_rank(region: str = ""):
    """Sort key for stock rows: the dealer's region first, then warehouse priority."""

    def rank(s: Stock):
        return _warehouse_rank(s.warehouse, region)

    return rank


def plan_allocation(
    demands: Sequence[Demand], stocks: Sequence[Stock], *, region: str = ""
) -> list[Allocation]:
    """Split demands across warehouses.

    Warehouses in the dealer's region come first, then by priority. One
    warehouse that can serve the whole order is preferred (one shipment);
    otherwise each line takes from the ranked warehouses in turn. Raises
    :class:`ValidationFailed` of :class:`InsufficientStock`, one per short line.
    """
    rank = stock_rank(region)

    by_sku: dict[int, list[Stock]] = defaultdict(list)
    for s in sorted(stocks, key=rank):
        by_sku[s.sku_id].append(s)
    needed: dict[int, int] = defaultdict(int)
    for d in demands:
        needed[d.sku_id] += d.quantity

    warehouses = sorted({s.warehouse for s in stocks}, key=lambda w: _warehouse_rank(w, region))
    for wh in warehouses:
        avail = {s.sku_id: s for s in stocks if s.warehouse_id == wh.pk}
        if all(sku in avail and avail[sku].available >= qty for sku, qty in needed.items()):
            return [
                Allocation(d.key, avail[d.sku_id].pk, wh.pk, d.sku_id, d.quantity) for d in demands
            ]

    remaining = {s.pk: s.available for s in stocks}
    allocations: list[Allocation] = []
    errors: list[DomainError] = []
    for index, d in enumerate(demands):
        want = d.quantity
        taken: list[Allocation] = []
        for s in by_sku.get(d.sku_id, []):
            if want == 0:
                break
            take = min(want, remaining[s.pk])
            if take > 0:
                taken.append(Allocation(d.key, s.pk, s.warehouse_id, d.sku_id, take))
                remaining[s.pk] -= take
                want -= take
        if want:
            available = d.quantity - want
            errors.append(
                InsufficientStock(
                    _("Only %(available)d units are available.") % {"available": available},
                    field=f"lines.{index if d.line is None else d.line}.quantity",
                    available=available,
                )
            )
        allocations.extend(taken)
    if errors:
        raise ValidationFailed(errors, message=_("Not enough stock."))
    return allocations


@dataclass
class Reservation:
    """A planned reservation: its conditional ``UPDATE`` (``sql``/``params``, returning the
    ids of the rows it reserved on), run by :func:`reserve` or inside a caller's combined
    statement, which then calls :meth:`check` with the ids returned."""

    sql: str
    params: list
    totals: dict[int, int]
    locked: Sequence[Stock]

    def check(self, reserved_ids) -> None:
        """:class:`InsufficientStock` unless every row was reserved (the caller's
        transaction then rolls back whatever it wrote)."""
        if set(reserved_ids) != set(self.totals):
            raise InsufficientStock(
                _("Stock changed while the order was placed; try again."), field="lines"
            )

    def events(self) -> list[PendingEvent]:
        """The locked rows as reserved (updated in memory) and their outbox events,
        ``stock.low`` included, for the caller to record with its own."""
        by_id = {st.pk: st for st in self.locked}
        changed = []
        for stock_id in sorted(self.totals):
            st = by_id.get(stock_id)
            if st is not None:
                st.reserved += self.totals[stock_id]
                changed.append(st)
        return [
            *[_stock_event(st, "reservation", delta_reserved=self.totals[st.pk]) for st in changed],
            *_low_stock_events(changed),
        ]


def reservation(
    allocations: Sequence[Allocation], locked: Sequence[Stock] = ()
) -> Reservation | None:
    """The one conditional ``UPDATE`` that reserves planned allocations (rows already
    locked by :func:`lock_stock`); ``None`` when there is nothing to reserve."""
    totals: dict[int, int] = defaultdict(int)
    for a in allocations:
        totals[a.stock_id] += a.quantity
    if not totals:
        return None
    ids = sorted(totals)
    sql = (
        f"UPDATE {Stock._meta.db_table} AS s SET reserved = s.reserved + v.qty, updated_at = now() "
        f"FROM unnest(%s::bigint[], %s::int[]) AS v(id, qty) "
        f"WHERE s.id = v.id AND s.on_hand - s.reserved >= v.qty RETURNING s.id"
    )
    return Reservation(sql, [ids, [totals[i] for i in ids]], dict(totals), locked)


def reserve(allocations: Sequence[Allocation], locked: Sequence[Stock] = ()) -> list[PendingEvent]:
    """Reserve planned allocations in one conditional UPDATE (rows already locked by
    :func:`lock_stock`). Returns the outbox events for the caller to record with
    its own (one insert for the whole order)."""
    planned = reservation(allocations, locked)
    if planned is None:
        return []
    with connection.cursor() as cursor:
        cursor.execute(planned.sql, planned.params)
        planned.check([row[0] for row in cursor.fetchall()])
    return planned.events()


def release(allocations: Iterable[tuple[int, int]]) -> None:
    """Give back reserved units: ``(stock_id, quantity)`` pairs (cancellations)."""
    _bulk_change(allocations, on_hand=False, reason="release")


def consume(allocations: Iterable[tuple[int, int]], *, reference: str = "", user=None) -> None:
    """Shipped: reserved units leave the warehouse (on hand and reserved both drop)."""
    _bulk_change(
        allocations, on_hand=True, reason=MovementReason.SALE, reference=reference, user=user
    )


def _bulk_change(pairs, *, on_hand: bool, reason: str, reference: str = "", user=None) -> None:
    totals: dict[int, int] = defaultdict(int)
    for stock_id, qty in pairs:
        if qty:
            totals[stock_id] += qty
    if not totals:
        return
    stocks = {
        s.pk: s
        for s in Stock.objects.select_for_update().filter(pk__in=sorted(totals)).order_by("pk")
    }
    movements, events = [], []
    for stock_id in sorted(totals):
        s, qty = stocks[stock_id], totals[stock_id]
        if s.reserved < qty:
            raise DomainError(_("Cannot release more than is reserved."), code="INVALID_QUANTITY")
        s.reserved -= qty
        if on_hand:
            s.on_hand -= qty
            movements.append(
                StockMovement(
                    stock=s,
                    quantity=-qty,
                    reason=reason,
                    reference=reference,
                    on_hand_after=s.on_hand,
                    created_by=user,
                )
            )
        events.append(
            _stock_event(s, reason, delta_on_hand=-qty if on_hand else 0, delta_reserved=-qty)
        )
    Stock.objects.bulk_update(stocks.values(), ["reserved", "on_hand"])
    if movements:
        StockMovement.objects.bulk_create(movements)
    record_many([*events, *_low_stock_events(stocks.values())])


def restock(*, stock_id: int, quantity: int, reference: str = "", user=None) -> Stock:
    """Returned goods back on hand."""
    stock = Stock.objects.select_for_update().get(pk=stock_id)
    return _move(stock, quantity, MovementReason.RETURN, reference=reference, user=user)
