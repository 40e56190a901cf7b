"""The order service's side of the plugin contract (see ``plugins/hookspecs.py``).

One :class:`OrderPlugins` per order placement. With no enabled plugin
implementing an order hook, every step is a no-op that costs a dictionary
look-up, so the core pays nothing for plugins it does not run.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.db import connection, transaction

from core.exceptions import DomainError
from core.inventory.services import Allocation, Demand, InsufficientStock
from plugins.manager import current_tenant_hooks
from plugins.types import OrderContext, StockCandidate
from plugins.types import OrderLine as PluginLine

from .lines import ResolvedLine

ORDER_HOOKS = (
    "expand_order_lines",
    "validate_order_lines",
    "adjust_line_price",
    "choose_allocation",
)


class OrderPlugins:
    def __init__(self, *, dealer, user, channel: str, preview: bool = False):
        self.hooks = current_tenant_hooks()
        self.active = any(self.hooks.has(name) for name in ORDER_HOOKS)
        self.context = OrderContext(
            tenant=getattr(connection, "tenant", None),
            dealer=dealer,
            user=user if getattr(user, "pk", None) else None,
            channel=channel,
            currency=dealer.currency,
            preview=preview,
        )
        self.lines: dict[int, PluginLine] = {}

    def prepare(self, resolved: list[ResolvedLine]) -> tuple[list[ResolvedLine], list[DomainError]]:
        """Let plugins convert or expand the lines, then validate them."""
        if not self.active:
            return resolved, []
        plines = [
            PluginLine(
                index=r.position,
                sku=r.sku,
                quantity=r.base_quantity,
                unit=r.unit_code,
                unit_quantity=r.quantity,
                currency=self.context.currency,
            )
            for r in resolved
        ]
        self.context.lines = plines
        self.hooks.expand_order_lines(self.context, plines)
        by_index = {r.position: r for r in resolved}
        out: list[ResolvedLine] = []
        for pl in plines:
            original = by_index.get(pl.index)
            if (
                original is not None
                and pl.sku.pk == original.sku.pk
                and pl.quantity == original.base_quantity
            ):
                line = original
            else:  # converted (case ↔ unit) or expanded (a kit) by a plugin
                factor = (
                    original.unit_factor
                    if original is not None and pl.sku.pk == original.sku.pk
                    else 1
                )
                units = (
                    pl.unit_quantity
                    if pl.unit_quantity and pl.quantity == pl.unit_quantity * factor
                    else None
                )
                line = ResolvedLine(
                    position=pl.index,
                    sku=pl.sku,
                    unit_code=pl.unit or pl.sku.base_unit,
                    unit_factor=factor if units else 1,
                    quantity=units or pl.quantity,
                    base_quantity=pl.quantity,
                )
            line.extra["plugin_line"] = pl
            out.append(line)
        errors = [
            DomainError(
                e.message,
                code=e.code,
                field=f"lines.{e.index}.{e.field or 'sku'}",
                plugin=e.plugin,
                **e.params,
            )
            for e in self.hooks.validate_order_lines(self.context, plines)
        ]
        return out, errors

    def adjust_price(self, line: ResolvedLine, unit_price: Decimal) -> tuple[Decimal, list[dict]]:
        """The plugins' price chain for one line (prices per base unit inside the chain)."""
        pl = line.extra.get("plugin_line")
        if not self.active or pl is None or not self.hooks.has("adjust_line_price"):
            return unit_price, []
        per_base = unit_price / line.unit_factor
        pl.unit_price = per_base
        new = self.hooks.adjust_line_price(self.context, pl, per_base)
        if new == per_base:
            return unit_price, []
        adjusted = (new * line.unit_factor).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
        return adjusted, [
            {"plugin": a.plugin, "unit_price": str(a.unit_price), "reason": str(a.reason)}
            for a in pl.adjustments
        ]

    def allocate(
        self, demands: list[Demand], locked, *, rank
    ) -> tuple[list[Allocation], list[Demand], dict]:
        """Lines a plugin allocates itself (batches, FEFO …); the rest is the core's.

        Returns the plugins' allocations, the demands left for the core, and
        the plugins' data per allocation (stored on the allocation rows).
        """
        if not self.active or not self.hooks.has("choose_allocation"):
            return [], list(demands), {}
        by_sku: dict[int, list] = {}
        for stock in sorted(locked, key=rank):
            by_sku.setdefault(stock.sku_id, []).append(stock)
        remaining = {s.pk: s.available for s in locked}
        picked: list[Allocation] = []
        rest: list[Demand] = []
        data: dict[tuple, dict] = {}
        plines = {pl.index: pl for pl in self.context.lines}
        self.context.locked_stock = list(locked)
        free = self._free_lines([d for d in demands if d.line is None], plines)
        for d in demands:
            pl = plines.get(d.line) if d.line is not None else free.get(d.key)
            if pl is None or pl.sku.pk != d.sku_id:
                rest.append(d)
                continue
            candidates = [
                StockCandidate(
                    warehouse_id=s.warehouse_id,
                    available=remaining[s.pk],
                    stock=s,
                    warehouse=s.warehouse,
                )
                for s in by_sku.get(d.sku_id, [])
            ]
            picks = self.hooks.choose_allocation(self.context, pl, candidates)
            if picks is None:
                rest.append(d)
                continue
            stock_of = {s.warehouse_id: s for s in by_sku.get(d.sku_id, [])}
            for pick in picks:
                stock = stock_of.get(pick.warehouse_id)
                if stock is None or remaining[stock.pk] < pick.quantity:
                    raise InsufficientStock(
                        "Not enough stock in the chosen warehouse.",
                        field=f"lines.{pl.index}.quantity",
                        available=remaining.get(stock.pk, 0) if stock else 0,
                    )
                remaining[stock.pk] -= pick.quantity
                picked.append(
                    Allocation(d.key, stock.pk, stock.warehouse_id, d.sku_id, pick.quantity)
                )
                data[(d.key, stock.pk)] = (
                    {"batch": pick.batch, **pick.data} if pick.batch else dict(pick.data)
                )
        # The core plans the rest against what the plugins left.
        for stock in locked:
            stock.reserved += stock.available - remaining[stock.pk]
        return picked, rest, data

    def _free_lines(
        self, demands: list[Demand], plines: dict[int, PluginLine]
    ) -> dict[object, PluginLine]:
        """Plugin lines for the free goods promotions added (demands without a submitted
        line), appended to ``context.lines`` before the first ``choose_allocation`` call:
        index = the free line's position on the order, ``data["free"] = True``."""
        if not demands:
            return {}
        from core.catalog.models import Sku

        skus = {pl.sku.pk: pl.sku for pl in self.context.lines}
        missing = {d.sku_id for d in demands} - skus.keys()
        if missing:
            skus.update(Sku.objects.select_related("product").in_bulk(sorted(missing)))
        top = max(plines, default=-1)
        out: dict[object, PluginLine] = {}
        for offset, d in enumerate(demands, start=1):
            index = d.key if isinstance(d.key, int) and d.key not in plines else top + offset
            sku = skus[d.sku_id]
            pl = PluginLine(
                index=index,
                sku=sku,
                quantity=d.quantity,
                unit=sku.base_unit,
                unit_quantity=d.quantity,
                currency=self.context.currency,
                data={"free": True},
            )
            self.context.lines.append(pl)
            out[d.key] = pl
        return out

    def release_taken(self, locked, picked: list[Allocation]) -> None:
        """Undo the in-memory holds :meth:`allocate` put on the locked rows."""
        taken: dict[int, int] = {}
        for a in picked:
            taken[a.stock_id] = taken.get(a.stock_id, 0) + a.quantity
        for stock in locked:
            stock.reserved -= taken.get(stock.pk, 0)


def notify_after_commit(
    order, event: str, payload: dict, *, context: OrderContext | None = None
) -> None:
    """Run the enabled plugins' ``order_event`` once the transaction commits.

    ``context``: the placement's :class:`OrderContext` (``order.placed``), handed
    to the hook with ``context.order`` set, so a plugin whose order hooks found
    nothing of theirs on the order can return without a query.
    """
    hooks = current_tenant_hooks()
    if not hooks.has("order_event"):
        return
    tenant = getattr(connection, "tenant", None)
    if context is not None:
        context.order = order
        context.locked_stock = None  # rows of the committed transaction: not for later use
    transaction.on_commit(lambda: hooks.order_event(tenant, event, order, payload, context))
