"""The order service: one ``place_order`` for every channel, and the order's life after.

Channels differ only in how lines arrive (see :mod:`core.orders.channels`);
all of them call :func:`place_order`, so every order meets the same rules:
the dealer's prices and promotions, credit, approval rules, stock reserved
atomically across warehouses, and an idempotency key that makes retries and
offline replays return the first order instead of making a second.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import asdict, dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.accounts.models import Dealer, DealerStatus, Role
from core.events.services import PendingEvent, record_many
from core.exceptions import DomainError, PermissionDenied, ValidationFailed, check_lengths
from core.inventory import services as inventory

from .lines import LineInput, ResolvedLine, resolve_lines
from .models import (
    Allocation,
    ApprovalRule,
    ApprovalRuleKind,
    ApprovalStatus,
    Channel,
    Order,
    OrderApproval,
    OrderLine,
    OrderReturn,
    OrderSettings,
    OrderStatus,
    OrderTransition,
    PaymentMethod,
    ReturnLine,
    Shipment,
    ShipmentStatus,
)
from .plugins import OrderPlugins, notify_after_commit
from .state import CANCELLABLE, RETURNABLE, SHIPPABLE, can_transition

MAX_LINES = 20_000
ZERO = Decimal("0")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class PlacedOrder:
    order: Order
    replayed: bool  # True when the idempotency key named an order placed before


# --- who may order for whom --------------------------------------------------------
def check_can_order_for(user, dealer: Dealer) -> None:
    """Staff may order for any dealer; a sales rep for dealers it covers; a dealer's
    user for its own dealer (a dealer admin also for its subtree)."""
    try:
        from core.accounts.selectors import can_act_for_dealer
    except ImportError:  # pragma: no cover - during the catalogue rework
        can_act_for_dealer = None
    if user is None:
        return  # integrations (API keys) are authorised by scope before they get here
    if can_act_for_dealer is not None:
        if can_act_for_dealer(user, dealer):
            return
    elif user.role in (Role.TENANT_ADMIN, Role.STAFF) or user.dealer_id == dealer.pk:
        return
    raise PermissionDenied(_("You cannot order for this dealer."), field="dealer")


def _request_hash(dealer: Dealer, lines: list[LineInput], payment_method: str, use_rebate) -> str:
    canonical = json.dumps(
        {
            "dealer": dealer.pk,
            "lines": [
                [li.sku.strip(), li.quantity, (li.unit or "").strip().lower()] for li in lines
            ],
            "payment": payment_method,
            "rebate": str(use_rebate or ""),
        },
        sort_keys=True,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _existing(dealer: Dealer, key: str, request_hash: str) -> PlacedOrder | None:
    order = Order.objects.filter(dealer=dealer, idempotency_key=key).first()
    if order is None:
        return None
    if order.request_hash != request_hash:
        raise DomainError(
            _("This idempotency key was already used for a different order."),
            code="IDEMPOTENCY_KEY_REUSED",
            field="idempotencyKey",
            order_number=order.number,
        )
    return PlacedOrder(order=order, replayed=True)


# --- pricing, taxes, approvals ---------------------------------------------------
@dataclass
class PricedLine:
    resolved: ResolvedLine
    unit_price: Decimal
    list_price: Decimal
    discount: Decimal
    net: Decimal
    tax_rate: Decimal
    tax: Decimal
    source: dict
    is_free: bool = False


def _price(
    dealer: Dealer, resolved: list[ResolvedLine], overrides: dict[int, Decimal] | None, plugins=None
):
    """Prices, promotions and taxes for the lines, through the pricing services
    (a fixed number of queries whatever the line count)."""
    from core.pricing.engine import CartLine
    from core.pricing.selectors import price_cart

    cart = price_cart(
        dealer=dealer,
        lines=[
            CartLine(
                sku_id=r.sku.pk,
                unit_code=r.unit_code,
                quantity=r.quantity,
                base_quantity=r.base_quantity,
            )
            for r in resolved
        ],
        # Quoted SKUs need no list price; an enabled adjust_line_price hook may price a
        # line no list prices (food: single units from the case price), else NO_PRICE below.
        require_prices=not overrides
        and not (plugins is not None and plugins.active and plugins.hooks.has("adjust_line_price")),
    )
    priced: list[PricedLine] = []
    for r, p in zip(resolved, cart.lines, strict=True):
        source = {k: str(v) if isinstance(v, Decimal) else v for k, v in _fields(p.source).items()}
        list_price = p.list_price
        if overrides and r.position in overrides:
            unit_price, discount = overrides[r.position], ZERO
            source = {"quote": True, "list": source}
        else:
            unit_price, discount = p.unit_price, p.discount
            if p.discounts:
                source["promotions"] = [d.promotion_code for d in p.discounts]
            if plugins is not None:
                unit_price, adjustments = plugins.adjust_price(r, unit_price)
                if adjustments:
                    source["plugins"] = adjustments
                if p.source.kind == "none":  # no list prices it: a plugin must have
                    if not adjustments:
                        raise DomainError(
                            _("No price for this SKU and unit in your price lists."),
                            code="NO_PRICE",
                            field=f"lines.{p.index}",
                            sku_id=r.sku.pk,
                            unit_code=r.unit_code,
                        )
                    list_price = unit_price
        gross = (unit_price * r.quantity).quantize(CENT)
        net = gross - discount
        rate = getattr(r.sku.product, "tax_rate", None) or ZERO
        priced.append(
            PricedLine(
                r, unit_price, list_price, discount, net, rate, (net * rate).quantize(CENT), source
            )
        )
    if overrides:
        return cart.currency, priced, [], ZERO, [], cart
    return (
        cart.currency,
        priced,
        list(cart.free_lines),
        cart.order_discount,
        list(cart.promotion_ids),
        cart,
    )


def _same_amount(expected, total: Decimal) -> bool:
    """Whether the total the client expects is ``total`` to the cent; Infinity or 1e400
    never is (they cannot even be rounded to the cent)."""
    try:
        return Decimal(expected).quantize(CENT) == total.quantize(CENT)
    except InvalidOperation:
        return False


def _fields(source) -> dict:
    """A flat dataclass's fields as a dict (``asdict`` without its deep copy)."""
    return dict(vars(source)) if hasattr(source, "__dict__") else asdict(source)


def _approvals_needed(
    *,
    dealer: Dealer,
    total: Decimal,
    over_credit: bool,
    resolved: list[ResolvedLine],
    rules: list[ApprovalRule],
    order_id: int,
):
    needed: list[tuple[ApprovalRule | None, str, str]] = []
    previous_orders = None
    category_ids = {r.sku.product.category_id for r in resolved}
    for rule in rules:
        if rule.kind == ApprovalRuleKind.AMOUNT_OVER and total > rule.amount:
            needed.append(
                (rule, _("Total over %(amount)s") % {"amount": rule.amount}, rule.approver_role)
            )
        elif rule.kind == ApprovalRuleKind.OVER_CREDIT_LIMIT and over_credit:
            needed.append((rule, _("Over the available credit"), rule.approver_role))
        elif rule.kind == ApprovalRuleKind.NEW_DEALER:
            if previous_orders is None:
                previous_orders = (
                    Order.objects.filter(dealer=dealer)
                    .exclude(pk=order_id)
                    .exclude(status=OrderStatus.CANCELLED)
                    .count()
                )
            if previous_orders < rule.first_orders:
                needed.append((rule, _("New dealer"), rule.approver_role))
        elif rule.kind == ApprovalRuleKind.CATEGORY and rule.category_id in category_ids:
            needed.append(
                (
                    rule,
                    _("Contains %(category)s") % {"category": rule.category_id},
                    rule.approver_role,
                )
            )
    if over_credit and not any(
        r and r.kind == ApprovalRuleKind.OVER_CREDIT_LIMIT for r, _x, _y in needed
    ):
        needed.append((None, _("Over the available credit"), Role.TENANT_ADMIN))
    return needed


def _claim(
    *,
    dealer: Dealer,
    user,
    key: str,
    request_hash: str,
    channel: str,
    payment_method: str,
    note: str,
    external_ref: str,
):
    """Insert the order row for this idempotency key and read the tenant's order policy,
    in one statement; ``None`` when the key is taken.

    ``ON CONFLICT DO NOTHING`` waits for a concurrent holder of the key to commit
    or roll back, so exactly one submission wins, without an exception (and so
    without a savepoint). The number is the tenant's prefix, the date and the
    order id. Returned with the row: the order settings, the active approval
    rules, the plan's monthly order limit (``None``: unlimited) and whether an
    authorised catalogue is assigned on the dealer's path (when none is, the
    dealer may order every active product; see :mod:`core.catalog.selectors`).
    """
    from core.catalog.models import Catalogue
    from tenants.models import Plan, Subscription

    table = Order._meta.db_table
    s_table, r_table = OrderSettings._meta.db_table, ApprovalRule._meta.db_table
    assignments = Catalogue.dealers.through._meta.db_table
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH s AS (SELECT * FROM {s_table} ORDER BY id LIMIT 1), "
            f"n AS (SELECT nextval(pg_get_serial_sequence(%s, 'id')) AS id) "
            f"INSERT INTO {table} (id, number, dealer_id, placed_by_id, channel, status, payment_method, currency, "
            f"subtotal, discount_total, rebate_applied, tax_total, total, idempotency_key, request_hash, "
            f"external_ref, note, promotion_ids, created_at, updated_at) "
            f"SELECT n.id, coalesce((SELECT number_prefix FROM s), 'SO') || %s || lpad(n.id::text, 7, '0'), "
            f"%s, %s, %s, %s, %s, %s, 0, 0, 0, 0, 0, %s, %s, %s, %s, '[]'::jsonb, %s, %s FROM n "
            f"ON CONFLICT ON CONSTRAINT order_unique_idempotency_key DO NOTHING "
            f"RETURNING id, number, (SELECT row_to_json(s) FROM s), "
            f"(SELECT coalesce(json_agg(r ORDER BY r.id), '[]'::json) FROM {r_table} r WHERE r.is_active), "
            f"(SELECT p.max_orders_per_month FROM public.{Subscription._meta.db_table} sub "
            f"JOIN public.{Plan._meta.db_table} p ON p.id = sub.plan_id WHERE sub.tenant_id = %s), "
            f"EXISTS (SELECT 1 FROM {assignments} a WHERE a.dealer_id = ANY(%s::bigint[]))",
            [
                table,
                f"{timezone.localdate():%y%m%d}",
                dealer.pk,
                getattr(user, "pk", None),
                channel,
                OrderStatus.SUBMITTED,
                payment_method,
                dealer.currency,
                key,
                request_hash,
                external_ref,
                note,
                now,
                now,
                getattr(connection.tenant, "pk", None),
                list(dealer.lineage_ids),
            ],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    order_id, number, settings_row, rule_rows, order_limit, restricted = row
    settings_row = json.loads(settings_row) if isinstance(settings_row, str) else settings_row
    rule_rows = json.loads(rule_rows) if isinstance(rule_rows, str) else rule_rows
    settings = OrderSettings(**settings_row) if settings_row else OrderSettings()
    rules = [
        ApprovalRule(**{**r, "amount": None if r["amount"] is None else Decimal(str(r["amount"]))})
        for r in rule_rows
    ]
    return order_id, number, now, settings, rules, order_limit, restricted


# --- placing an order ------------------------------------------------------------------
def place_order(
    *,
    dealer: Dealer,
    user,
    lines: list[LineInput],
    channel: str,
    idempotency_key: str,
    payment_method: str = PaymentMethod.ON_ACCOUNT,
    expected_total: Decimal | None = None,
    use_rebate: Decimal | None = None,
    note: str = "",
    external_ref: str = "",
    price_overrides: dict[int, Decimal] | None = None,
    savepoint: bool = True,
) -> PlacedOrder:
    """Place an order for ``dealer`` from any channel.

    Raises :class:`DomainError` (or :class:`ValidationFailed` with one error
    per bad line) and changes nothing when anything is wrong. A second call
    with the same ``idempotency_key`` — sequential or concurrent — returns the
    first order with ``replayed=True``.

    ``savepoint=False`` is for a caller whose whole transaction is rolled back
    whenever this raises (a GraphQL mutation alone in its request): called inside
    that transaction, the order then needs no ``SAVEPOINT``/``RELEASE`` (two
    round trips). Any other caller keeps the default, so a failed order leaves
    its transaction usable.
    """
    key = (idempotency_key or "").strip()
    if not key or len(key) > 128:
        raise DomainError(
            _("Send an idempotency key of 1 to 128 characters."),
            code="INVALID",
            field="idempotencyKey",
        )
    if channel not in Channel.values:
        raise DomainError(_("Unknown channel."), code="INVALID", field="channel")
    if payment_method not in PaymentMethod.values:
        raise DomainError(_("Unknown payment method."), code="INVALID", field="paymentMethod")
    if not lines:
        raise DomainError(_("Add at least one line."), code="REQUIRED", field="lines")
    if len(lines) > MAX_LINES:
        raise DomainError(
            _("An order can hold at most %(n)d lines.") % {"n": MAX_LINES},
            code="INVALID",
            field="lines",
        )
    request_hash = _request_hash(dealer, lines, payment_method, use_rebate)
    with transaction.atomic(savepoint=savepoint):
        return _place(
            dealer=dealer,
            user=user,
            lines=lines,
            channel=channel,
            key=key,
            request_hash=request_hash,
            payment_method=payment_method,
            expected_total=expected_total,
            use_rebate=use_rebate,
            note=note,
            external_ref=external_ref,
            overrides=price_overrides,
        )


def _place(
    *,
    dealer,
    user,
    lines,
    channel,
    key,
    request_hash,
    payment_method,
    expected_total,
    use_rebate,
    note,
    external_ref,
    overrides,
) -> PlacedOrder:
    check_can_order_for(user, dealer)
    claimed = _claim(
        dealer=dealer,
        user=user,
        key=key,
        request_hash=request_hash,
        channel=channel,
        payment_method=payment_method,
        note=note,
        external_ref=external_ref,
    )
    if claimed is None:
        found = _existing(dealer, key, request_hash)
        if (
            found is None
        ):  # pragma: no cover - the key's holder rolled back between the two statements
            raise DomainError(_("The order could not be placed; try again."), code="RETRY")
        return found
    order_id, number, created_at, settings, rules, order_limit, restricted = claimed
    if dealer.status == DealerStatus.ON_HOLD:
        raise DomainError(
            _("This dealer's account is on hold; orders cannot be placed."),
            code="DEALER_ON_HOLD",
            field="dealer",
        )
    if dealer.status != DealerStatus.ACTIVE:
        raise DomainError(
            _("This dealer's account is closed."), code="DEALER_CLOSED", field="dealer"
        )
    if order_limit is not None:  # only plans with a monthly order limit pay for the count
        _enforce_order_limit(order_limit, order_id)

    # A quote's answer may break pack rules; staff agreed to it.
    resolved, errors = resolve_lines(lines, pack_rules=not overrides)
    plugins = OrderPlugins(dealer=dealer, user=user, channel=channel)
    if not errors:
        resolved, plugin_errors = plugins.prepare(resolved)
        errors += plugin_errors
    errors += _catalogue_errors(dealer, resolved, restricted=restricted)
    if errors:
        raise ValidationFailed(errors, message=_("Some lines cannot be ordered."))

    currency, priced, free_lines, order_discount, promotion_ids, cart = _price(
        dealer, resolved, overrides, plugins
    )
    subtotal = sum((p.unit_price * p.resolved.quantity).quantize(CENT) for p in priced) or ZERO
    line_discounts = sum((p.discount for p in priced), ZERO)
    tax_total = sum((p.tax for p in priced), ZERO)
    discount_total = line_discounts + order_discount
    total = subtotal - discount_total + tax_total
    if expected_total is not None and not _same_amount(expected_total, total):
        raise DomainError(
            _("Prices changed: the total is now %(total)s %(currency)s.")
            % {"total": total, "currency": currency},
            code="PRICE_CHANGED",
            field="expectedTotal",
            total=str(total),
        )

    from core.pricing import services as pricing

    rebate = ZERO
    if use_rebate:
        rebate = min(Decimal(use_rebate), total)
    total_due = total - rebate

    # Credit: the charge locks the dealer's credit account, so concurrent orders
    # cannot together pass the limit. Over the limit, the tenant's policy says
    # whether the order is refused or waits for approval (charged when approved).
    over_credit = False
    if payment_method == PaymentMethod.ON_ACCOUNT and total_due > 0:
        if not pricing.charge_new_order(
            dealer=dealer, amount=total_due, currency=currency, reference=number
        ):
            if settings.credit_policy == OrderSettings.CreditPolicy.REFUSE:
                from core.pricing.selectors import available_credit

                available = available_credit(dealer)
                raise DomainError(
                    _(
                        "The order total %(total)s exceeds the available credit %(available)s %(currency)s."
                    )
                    % {"total": total_due, "available": available, "currency": currency},
                    code="CREDIT_LIMIT_EXCEEDED",
                    field="lines",
                    available=str(available.quantize(CENT)),
                )
            over_credit = True
    approvals = _approvals_needed(
        dealer=dealer,
        total=total_due,
        over_credit=over_credit,
        resolved=resolved,
        rules=rules,
        order_id=order_id,
    )

    # Stock: lock the candidate rows in id order, plan the split, reserve.
    demands = [
        inventory.Demand(i, p.resolved.sku.pk, p.resolved.base_quantity, line=p.resolved.position)
        for i, p in enumerate(priced)
    ]
    for index, f in enumerate(free_lines):
        demands.append(inventory.Demand(len(priced) + index, f.sku_id, f.base_quantity))
    locked = inventory.lock_stock([d.sku_id for d in demands])
    picked, rest, pick_data = plugins.allocate(
        demands, locked, rank=inventory.stock_rank(dealer.region)
    )
    planned = picked + inventory.plan_allocation(rest, locked, region=dealer.region)
    plugins.release_taken(locked, picked)
    reservation = inventory.reservation(planned, locked)

    status = OrderStatus.PENDING_APPROVAL if approvals else OrderStatus.ALLOCATED
    by = user if getattr(user, "pk", None) else None
    order = Order(
        id=order_id,
        number=number,
        dealer=dealer,
        placed_by=by,
        channel=channel,
        status=status,
        payment_method=payment_method,
        currency=currency,
        subtotal=subtotal,
        discount_total=discount_total,
        rebate_applied=rebate,
        tax_total=tax_total,
        total=total_due,
        idempotency_key=key,
        request_hash=request_hash,
        external_ref=external_ref,
        note=note,
        promotion_ids=promotion_ids,
        created_at=created_at,
        updated_at=created_at,
    )
    order._state.adding, order._state.db = False, "default"
    line_rows = [
        _line(
            order,
            i,
            p.resolved.sku,
            p.resolved.sku.pk,
            p.resolved.unit_code,
            p.resolved.unit_factor,
            p.resolved.quantity,
            p.resolved.base_quantity,
            unit_price=p.unit_price,
            list_price=p.list_price,
            discount=p.discount,
            tax_rate=p.tax_rate,
            tax_amount=p.tax,
            line_total=p.net + p.tax,
            is_free=False,
            price_source=p.source,
        )
        for i, p in enumerate(priced)
    ]
    for index, f in enumerate(free_lines):
        line_rows.append(
            _line(
                order,
                len(priced) + index,
                None,
                f.sku_id,
                f.unit_code,
                1,
                f.base_quantity,
                f.base_quantity,
                unit_price=ZERO,
                list_price=f.unit_price,
                discount=ZERO,
                tax_rate=ZERO,
                tax_amount=ZERO,
                line_total=ZERO,
                is_free=True,
                price_source={"promotion": f.promotion_code, "value": str(f.value)},
            )
        )
    steps = [("", OrderStatus.SUBMITTED)]
    steps += (
        [(OrderStatus.SUBMITTED, OrderStatus.PENDING_APPROVAL)]
        if approvals
        else [
            (OrderStatus.SUBMITTED, OrderStatus.APPROVED),
            (OrderStatus.APPROVED, OrderStatus.ALLOCATED),
        ]
    )
    payload = _order_payload(order, line_rows)
    warehouses = {s.warehouse_id: s.warehouse for s in locked}
    stock_events = reservation.events() if reservation is not None else []
    _write_placed(
        order,
        line_rows,
        planned,
        pick_data,
        steps,
        by,
        warehouses,
        reservation,
        events=[PendingEvent("order.placed", "order", order.pk, payload), *stock_events],
    )
    if approvals:
        OrderApproval.objects.bulk_create(
            [
                OrderApproval(order=order, rule=rule, reason=reason, approver_role=role)
                for rule, reason, role in approvals
            ]
        )
    if promotion_ids:
        pricing.record_new_order_promotions(
            dealer=dealer, promotion_ids=promotion_ids, reference=number
        )
    if rebate:
        pricing.spend_rebate(dealer=dealer, amount=rebate, reference=number)
    notify_after_commit(order, "order.placed", payload, context=plugins.context)
    return PlacedOrder(order=order, replayed=False)


_LINE_FIELDS = None


def _line(
    order: Order,
    position: int,
    sku,
    sku_id: int,
    unit_code: str,
    unit_factor: int,
    quantity: int,
    base_quantity: int,
    *,
    unit_price: Decimal,
    list_price: Decimal,
    discount: Decimal,
    tax_rate: Decimal,
    tax_amount: Decimal,
    line_total: Decimal,
    is_free: bool,
    price_source: dict,
) -> OrderLine:
    """An unsaved order line with amounts as the columns store them, built the fast way
    (positional, as Django builds rows it reads; a 10,000-line sheet makes 10,000)."""
    global _LINE_FIELDS
    if _LINE_FIELDS is None:
        _LINE_FIELDS = [f.attname for f in OrderLine._meta.concrete_fields]
    values = {
        "id": None,
        "order_id": order.pk,
        "position": position,
        "sku_id": sku_id,
        "unit_code": unit_code,
        "unit_factor": unit_factor,
        "quantity": quantity,
        "base_quantity": base_quantity,
        "unit_price": _stored(unit_price, 4),
        "list_price": _stored(list_price, 4),
        "discount": _stored(discount),
        "tax_rate": _stored(tax_rate, 4),
        "tax_amount": _stored(tax_amount),
        "line_total": _stored(line_total),
        "is_free": is_free,
        "price_source": price_source,
        "returned_quantity": 0,
    }
    line = OrderLine(*[values[name] for name in _LINE_FIELDS])
    OrderLine.order.field.set_cached_value(line, order)
    if sku is not None:
        OrderLine.sku.field.set_cached_value(line, sku)
    return line


def _stored(value: Decimal, places: int = 2) -> Decimal:
    """``value`` as a ``numeric(…, places)`` column stores it (PostgreSQL rounds half away from zero)."""
    return value.quantize(_EXPONENTS[places], rounding=ROUND_HALF_UP)


_EXPONENTS = {2: CENT, 4: Decimal("0.0001")}


def _write_placed(
    order: Order,
    lines: list[OrderLine],
    planned,
    pick_data: dict,
    steps,
    by,
    warehouses: dict,
    reservation,
    *,
    events: list[PendingEvent],
) -> None:
    """Write a placed order in one statement: the stock reservation, the order's totals,
    lines, allocations, one shipment per warehouse, the status history and the outbox
    events (data-modifying ``WITH`` clauses).

    The reservation is conditional (``on_hand - reserved >= qty``) on rows the order
    locked; should a row not be reserved, :class:`InsufficientStock` is raised after
    the statement and the order's transaction rolls everything back (its events,
    computed from the locked rows beforehand, with it).

    The in-memory lines and shipments get their ids and become the order's prefetched
    ``lines`` and ``shipments``, so answering the request reads nothing back.
    """
    from core.events.services import insert_statement, schedule_relay

    events_sql, events_params = insert_statement(events)
    warehouse_ids = sorted({a.warehouse_id for a in planned})
    now = timezone.now()
    t_order, t_line, t_alloc = (
        Order._meta.db_table,
        OrderLine._meta.db_table,
        Allocation._meta.db_table,
    )
    t_ship, t_trans = Shipment._meta.db_table, OrderTransition._meta.db_table
    sql = (
        f"WITH r AS ({reservation.sql if reservation else 'SELECT NULL::bigint AS id WHERE false'}), "
        f"o AS (UPDATE {t_order} SET status = %s, currency = %s, subtotal = %s, discount_total = %s, "
        f"rebate_applied = %s, tax_total = %s, total = %s, promotion_ids = %s::jsonb WHERE id = %s), "
        f"l AS (INSERT INTO {t_line} (order_id, position, sku_id, unit_code, unit_factor, quantity, base_quantity, "
        f"unit_price, list_price, discount, tax_rate, tax_amount, line_total, is_free, price_source, "
        f"returned_quantity) "
        f"SELECT %s, x.position, x.sku_id, x.unit_code, x.unit_factor, x.quantity, x.base_quantity, x.unit_price, "
        f"x.list_price, x.discount, x.tax_rate, x.tax_amount, x.line_total, x.is_free, x.price_source, 0 "
        f"FROM jsonb_to_recordset(%s::jsonb) AS x(position int, sku_id bigint, unit_code text, unit_factor int, "
        f"quantity int, base_quantity int, unit_price numeric, list_price numeric, discount numeric, "
        f"tax_rate numeric, tax_amount numeric, line_total numeric, is_free boolean, price_source jsonb) "
        f"ORDER BY x.position RETURNING id, position), "
        f"a AS (INSERT INTO {t_alloc} (line_id, stock_id, warehouse_id, quantity, shipped_quantity, "
        f"released_quantity, data) "
        f"SELECT l.id, x.stock_id, x.warehouse_id, x.quantity, 0, 0, x.data "
        f"FROM jsonb_to_recordset(%s::jsonb) AS x(n int, position int, stock_id bigint, warehouse_id bigint, "
        f"quantity int, data jsonb) JOIN l ON l.position = x.position ORDER BY x.n), "
        f"s AS (INSERT INTO {t_ship} (order_id, warehouse_id, status, carrier, tracking_number) "
        f"SELECT %s, w.id, %s, '', '' FROM unnest(%s::bigint[]) AS w(id) ORDER BY w.id RETURNING id, warehouse_id), "
        f"t AS (INSERT INTO {t_trans} (order_id, from_status, to_status, by_id, comment, at) "
        f"SELECT %s, x.f, x.t, %s, '', %s FROM unnest(%s::text[], %s::text[]) WITH ORDINALITY AS x(f, t, n) "
        f"ORDER BY x.n), "
        f"e AS ({events_sql}) "
        f"SELECT 0, id, position FROM l UNION ALL SELECT 1, id, warehouse_id FROM s UNION ALL SELECT 2, id, 0 FROM r"
    )
    line_rows = json.dumps(
        [
            {
                "position": li.position,
                "sku_id": li.sku_id,
                "unit_code": li.unit_code,
                "unit_factor": li.unit_factor,
                "quantity": li.quantity,
                "base_quantity": li.base_quantity,
                "unit_price": str(li.unit_price),
                "list_price": str(li.list_price),
                "discount": str(li.discount),
                "tax_rate": str(li.tax_rate),
                "tax_amount": str(li.tax_amount),
                "line_total": str(li.line_total),
                "is_free": li.is_free,
                "price_source": li.price_source,
            }
            for li in lines
        ]
    )
    allocation_rows = json.dumps(
        [
            {
                "n": n,
                "position": a.key,
                "stock_id": a.stock_id,
                "warehouse_id": a.warehouse_id,
                "quantity": a.quantity,
                "data": pick_data.get((a.key, a.stock_id), {}),
            }
            for n, a in enumerate(planned)
        ]
    )
    params = [
        *(reservation.params if reservation else []),
        order.status,
        order.currency,
        order.subtotal,
        order.discount_total,
        order.rebate_applied,
        order.tax_total,
        order.total,
        json.dumps(order.promotion_ids),
        order.pk,
        order.pk,
        line_rows,
        allocation_rows,
        order.pk,
        ShipmentStatus.PENDING,
        warehouse_ids,
        order.pk,
        getattr(by, "pk", None),
        now,
        [a for a, _b in steps],
        [b for _a, b in steps],
        *events_params,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if reservation is not None:
        reservation.check([pk for kind, pk, _ref in rows if kind == 2])
    schedule_relay()
    by_position = {li.position: li for li in lines}
    shipments = []
    for kind, pk, ref in rows:
        if kind == 1:
            shipment = Shipment(
                id=pk, order=order, warehouse=warehouses[ref], status=ShipmentStatus.PENDING
            )
            shipment._state.adding, shipment._state.db = False, "default"
            shipments.append(shipment)
        elif kind == 0:
            line = by_position[ref]
            line.pk, line._state.adding, line._state.db = pk, False, "default"
    shipments.sort(key=lambda sh: sh.pk)
    order._prefetched_objects_cache = {}
    for name, objects in (("lines", lines), ("shipments", shipments)):
        qs = getattr(order, name).all()
        qs._result_cache, qs._prefetch_done = objects, True
        order._prefetched_objects_cache[name] = qs


def _order_payload(order: Order, lines: list[OrderLine] | None = None) -> dict:
    payload = {
        "order_id": order.pk,
        "number": order.number,
        "dealer_id": order.dealer_id,
        "status": order.status,
        "channel": order.channel,
        "currency": order.currency,
        "total": str(order.total),
    }
    if lines is not None:
        payload["lines"] = [
            {
                "sku_id": li.sku_id,
                "quantity": li.quantity,
                "unit": li.unit_code,
                "base_quantity": li.base_quantity,
                "unit_price": str(li.unit_price),
                "is_free": li.is_free,
            }
            for li in lines
        ]
    return payload


def orders_this_month(*, excluding: int | None = None) -> int:
    """Orders placed since the first of the month (local time), cancelled ones not counted."""
    from tenants.limits import month_start

    qs = Order.objects.filter(created_at__gte=month_start()).exclude(status=OrderStatus.CANCELLED)
    if excluding is not None:
        qs = qs.exclude(pk=excluding)
    return qs.count()


def _enforce_order_limit(limit: int, order_id: int) -> None:
    """The plan's monthly order limit (the order being placed is already inserted)."""
    used = orders_this_month(excluding=order_id)
    if used + 1 > limit:
        raise DomainError(
            _(
                "Your plan allows %(limit)d orders a month and %(used)d were placed. Upgrade your plan to order more."
            )
            % {"limit": limit, "used": used},
            code="PLAN_LIMIT_EXCEEDED",
            field="orders_per_month",
            limit=limit,
            used=used,
        )


def _catalogue_errors(
    dealer: Dealer, resolved: list[ResolvedLine], *, restricted: bool = True
) -> list[DomainError]:
    """``NOT_IN_CATALOGUE`` for lines outside the dealer's authorised catalogue.

    ``restricted`` is False when no catalogue is assigned on the dealer's path
    (read by :func:`_claim`): every active product is then allowed, which the
    loaded products answer without a query. Otherwise one query asks the catalogue.
    """
    from core.catalog.models import Product, ProductStatus, Sku
    from core.catalog.selectors import authorised_products

    if not restricted:
        products = [r.sku.product if Sku.product.is_cached(r.sku) else None for r in resolved]
        if all(p is not None for p in products):
            return [
                DomainError(
                    _("%(sku)s is not in your catalogue.") % {"sku": r.sku.code},
                    code="NOT_IN_CATALOGUE",
                    field=f"lines.{r.position}.sku",
                )
                for r, p in zip(resolved, products, strict=True)
                if p.status != ProductStatus.ACTIVE
            ]
        allowed = set(
            Product.objects.filter(
                pk__in={r.sku.product_id for r in resolved}, status=ProductStatus.ACTIVE
            ).values_list("pk", flat=True)
        )
    else:
        product_ids = {r.sku.product_id for r in resolved}
        allowed = set(
            authorised_products(dealer).filter(pk__in=product_ids).values_list("pk", flat=True)
        )
    return [
        DomainError(
            _("%(sku)s is not in your catalogue.") % {"sku": r.sku.code},
            code="NOT_IN_CATALOGUE",
            field=f"lines.{r.position}.sku",
        )
        for r in resolved
        if r.sku.product_id not in allowed
    ]


# --- life after placement --------------------------------------------------------------
def _lock(order: Order) -> Order:
    return Order.objects.select_for_update().get(pk=order.pk)


def _transition(order: Order, to: str, *, by=None, comment: str = "") -> None:
    if not can_transition(order.status, to):
        raise DomainError(
            _("An order that is %(status)s cannot become %(to)s.")
            % {"status": order.get_status_display(), "to": OrderStatus(to).label},
            code="INVALID_TRANSITION",
            field="status",
            status=order.status,
        )
    OrderTransition.objects.create(
        order=order,
        from_status=order.status,
        to_status=to,
        by=by if getattr(by, "pk", None) else None,
        comment=comment,
    )
    order.status = to
    order.save(update_fields=["status", "updated_at"])


def _event(order: Order, type: str, **extra) -> None:
    payload = {**_order_payload(order), **extra}
    record_many([PendingEvent(type, "order", order.pk, payload)])
    notify_after_commit(order, type, payload)


def _may_approve(user, approval: OrderApproval) -> bool:
    return user is not None and (
        user.role == Role.TENANT_ADMIN or user.role == approval.approver_role
    )


@transaction.atomic
def approve_order(*, order: Order, user, comment: str = "") -> Order:
    """Approve the pending approvals this user's role may decide; when none is left
    pending the order is approved and allocated (its stock was reserved at placement)."""
    order = _lock(order)
    if order.status != OrderStatus.PENDING_APPROVAL:
        raise DomainError(
            _("This order is not waiting for approval."), code="INVALID_TRANSITION", field="status"
        )
    pending = list(order.approvals.filter(status=ApprovalStatus.PENDING))
    mine = [a for a in pending if _may_approve(user, a)]
    if not mine:
        raise PermissionDenied(_("You cannot approve this order."))
    now = timezone.now()
    for a in mine:
        a.status, a.decided_by, a.decided_at, a.comment = (
            ApprovalStatus.APPROVED,
            user,
            now,
            comment,
        )
    OrderApproval.objects.bulk_update(mine, ["status", "decided_by", "decided_at", "comment"])
    if len(mine) < len(pending):
        return order
    _transition(order, OrderStatus.APPROVED, by=user, comment=comment)
    if order.payment_method == PaymentMethod.ON_ACCOUNT:
        from core.pricing import services as pricing

        # An order over the credit limit is charged when approved: the approval is the override.
        pricing.charge_order(
            dealer=order.dealer,
            amount=order.total,
            currency=order.currency,
            reference=order.number,
            allow_over_limit=True,
        )
    _transition(order, OrderStatus.ALLOCATED, by=user)
    _event(order, "order.approved")
    return order


@transaction.atomic
def reject_order(*, order: Order, user, comment: str) -> Order:
    order = _lock(order)
    if order.status != OrderStatus.PENDING_APPROVAL:
        raise DomainError(
            _("This order is not waiting for approval."), code="INVALID_TRANSITION", field="status"
        )
    if not comment.strip():
        raise DomainError(_("Say why the order is rejected."), code="REQUIRED", field="comment")
    pending = list(order.approvals.filter(status=ApprovalStatus.PENDING))
    if not any(_may_approve(user, a) for a in pending):
        raise PermissionDenied(_("You cannot reject this order."))
    order.approvals.filter(status=ApprovalStatus.PENDING).update(
        status=ApprovalStatus.REJECTED, decided_by=user, decided_at=timezone.now(), comment=comment
    )
    _cancel(order, by=user, comment=comment, event="order.rejected")
    return order


@transaction.atomic
def cancel_order(*, order: Order, user, comment: str = "") -> Order:
    order = _lock(order)
    if order.status not in CANCELLABLE:
        raise DomainError(
            _("A shipped order cannot be cancelled; return it instead."),
            code="INVALID_TRANSITION",
            field="status",
            status=order.status,
        )
    _cancel(order, by=user, comment=comment, event="order.cancelled")
    return order


def _cancel(order: Order, *, by, comment: str, event: str) -> None:
    allocations = list(Allocation.objects.filter(line__order=order).order_by("stock_id"))
    release = [(a.stock_id, a.open_quantity) for a in allocations if a.open_quantity]
    inventory.release(release)
    for a in allocations:
        a.released_quantity += a.open_quantity
    Allocation.objects.bulk_update(allocations, ["released_quantity"])
    order.shipments.filter(status=ShipmentStatus.PENDING).update(status=ShipmentStatus.CANCELLED)
    from core.pricing import services as pricing

    if order.payment_method == PaymentMethod.ON_ACCOUNT and order.total > 0:
        try:
            pricing.release_charge(dealer=order.dealer, reference=order.number)
        except DomainError as exc:  # an over-limit order rejected before it was ever charged
            if exc.code != "NOT_FOUND":
                raise
    if order.rebate_applied:
        pricing.reverse_rebate_spend(dealer=order.dealer, reference=order.number)
    if order.promotion_ids:
        pricing.release_promotion_usage(reference=order.number)
    _transition(order, OrderStatus.CANCELLED, by=by, comment=comment)
    _event(order, event)


@transaction.atomic
def ship(*, shipment: Shipment, user, carrier: str, tracking_number: str) -> Shipment:
    """A warehouse sends its part of the order: reserved stock leaves (on hand drops)."""
    shipment = Shipment.objects.select_for_update().select_related("order").get(pk=shipment.pk)
    order = _lock(shipment.order)
    if shipment.status != ShipmentStatus.PENDING or order.status not in SHIPPABLE:
        raise DomainError(
            _("This shipment cannot be shipped now."), code="INVALID_TRANSITION", field="status"
        )
    if not carrier.strip() or not tracking_number.strip():
        raise DomainError(
            _("Enter the carrier and the tracking number."), code="REQUIRED", field="trackingNumber"
        )
    check_lengths(
        Shipment,
        carrier=carrier.strip(),
        tracking_number=tracking_number.strip(),
        report_as={"tracking_number": "trackingNumber"},
    )
    allocations = list(
        Allocation.objects.filter(line__order=order, warehouse_id=shipment.warehouse_id)
    )
    inventory.consume(
        [(a.stock_id, a.open_quantity) for a in allocations], reference=order.number, user=user
    )
    for a in allocations:
        a.shipped_quantity += a.open_quantity
    Allocation.objects.bulk_update(allocations, ["shipped_quantity"])
    shipment.status, shipment.carrier, shipment.tracking_number = (
        ShipmentStatus.SHIPPED,
        carrier.strip(),
        tracking_number.strip(),
    )
    shipment.shipped_at = timezone.now()
    shipment.save()
    open_left = order.shipments.filter(status=ShipmentStatus.PENDING).exists()
    target = OrderStatus.PARTIALLY_SHIPPED if open_left else OrderStatus.SHIPPED
    if order.status != target:
        _transition(order, target, by=user)
    _event(
        order,
        "order.shipped",
        shipment_id=shipment.pk,
        carrier=shipment.carrier,
        tracking_number=shipment.tracking_number,
    )
    return shipment


@transaction.atomic
def mark_delivered(*, shipment: Shipment, user) -> Shipment:
    shipment = Shipment.objects.select_for_update().get(pk=shipment.pk)
    order = _lock(shipment.order)
    if shipment.status != ShipmentStatus.SHIPPED:
        raise DomainError(
            _("Only a shipped shipment can be delivered."),
            code="INVALID_TRANSITION",
            field="status",
        )
    shipment.status, shipment.delivered_at = ShipmentStatus.DELIVERED, timezone.now()
    shipment.save(update_fields=["status", "delivered_at"])
    if (
        order.status == OrderStatus.SHIPPED
        and not order.shipments.exclude(
            status__in=[ShipmentStatus.DELIVERED, ShipmentStatus.CANCELLED]
        ).exists()
    ):
        _transition(order, OrderStatus.DELIVERED, by=user)
        _event(order, "order.delivered")
    return shipment


@transaction.atomic
def complete_order(*, order: Order, user) -> Order:
    order = _lock(order)
    _transition(order, OrderStatus.COMPLETED, by=user)
    _event(order, "order.completed")
    return order


@dataclass(frozen=True)
class ReturnRequest:
    line_id: int
    base_quantity: int


@transaction.atomic
def return_goods(
    *, order: Order, user, items: list[ReturnRequest], reason: str = ""
) -> OrderReturn:
    """Goods come back: restocked where they were shipped from, and credited to the dealer."""
    check_lengths(OrderReturn, reason=reason)
    order = _lock(order)
    if order.status not in RETURNABLE:
        raise DomainError(
            _("Only shipped orders can be returned."), code="INVALID_TRANSITION", field="status"
        )
    lines = {li.pk: li for li in OrderLine.objects.select_for_update().filter(order=order)}
    errors: list[DomainError] = []
    asked: dict[int, int] = defaultdict(int)  # a line named twice counts both
    for index, item in enumerate(items):
        line = lines.get(item.line_id)
        if line is None:
            errors.append(
                DomainError(
                    _("Not a line of this order."), code="NOT_FOUND", field=f"items.{index}.lineId"
                )
            )
            continue
        left = line.base_quantity - line.returned_quantity - asked[line.pk]
        if item.base_quantity <= 0 or item.base_quantity > left:
            errors.append(
                DomainError(
                    _("Return between 1 and %(n)d units.") % {"n": max(left, 0)},
                    code="INVALID_QUANTITY",
                    field=f"items.{index}.quantity",
                )
            )
        else:
            asked[line.pk] += item.base_quantity
    if errors or not items:
        raise ValidationFailed(
            errors or [DomainError(_("Choose what comes back."), code="REQUIRED", field="items")]
        )
    credit = ZERO
    ret = OrderReturn.objects.create(
        order=order, reason=reason, credit_amount=ZERO, created_by=user
    )
    return_lines = []
    for item in items:
        line = lines[item.line_id]
        allocation = line.allocations.order_by("id").first()
        inventory.restock(
            stock_id=allocation.stock_id,
            quantity=item.base_quantity,
            reference=order.number,
            user=user,
        )
        line.returned_quantity += item.base_quantity
        if not line.is_free:
            share = Decimal(item.base_quantity) / Decimal(line.base_quantity)
            credit += (line.line_total * share).quantize(CENT)
        return_lines.append(
            ReturnLine(
                order_return=ret,
                line=line,
                base_quantity=item.base_quantity,
                warehouse_id=allocation.warehouse_id,
            )
        )
    ReturnLine.objects.bulk_create(return_lines)
    OrderLine.objects.bulk_update(list(lines.values()), ["returned_quantity"])
    ret.credit_amount = credit
    ret.save(update_fields=["credit_amount"])
    from core.pricing import services as pricing

    pricing.issue_credit_note(
        dealer=order.dealer, amount=credit, currency=order.currency, reference=f"RMA-{ret.pk}"
    )
    if all(li.returned_quantity == li.base_quantity for li in lines.values()):
        _transition(order, OrderStatus.RETURNED, by=user, comment=reason)
    _event(order, "order.returned", return_id=ret.pk, credit=str(credit))
    return ret
