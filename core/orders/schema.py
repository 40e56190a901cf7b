"""GraphQL for ordering: place orders from every channel, follow them, run them."""

from __future__ import annotations

import base64
import binascii

import graphene
from django.utils.translation import gettext as _
from graphene import relay
from graphene_django import DjangoConnectionField, DjangoObjectType
from graphql_relay import from_global_id

from core.accounts.models import Dealer, Role
from core.api.types import (
    BaseMutation,
    CountableConnection,
    current_user,
    error_type,
    require_scope,
    require_user,
)
from core.api.view import mutation_rolls_back_whole
from core.exceptions import DomainError, NotFound, PermissionDenied
from plugins.manager import get_manager

from . import channels, selectors, services
from .lines import LineInput
from .models import Channel, Order, OrderLine, OrderStatus, OrderTransition, PaymentMethod, Shipment

ORDER_ERROR_CODES = [
    "INVALID",
    "REQUIRED",
    "TOO_LONG",
    "NOT_FOUND",
    "PERMISSION_DENIED",
    "UNKNOWN_SKU",
    "UNKNOWN_UNIT",
    "UNIT_NOT_SELLABLE",
    "INVALID_QUANTITY",
    "BELOW_MINIMUM",
    "NOT_MULTIPLE_OF_PACK",
    "NOT_IN_CATALOGUE",
    "NOT_ORDERABLE",
    "NO_PRICE",
    "INSUFFICIENT_STOCK",
    "CREDIT_LIMIT_EXCEEDED",
    "PRICE_CHANGED",
    "DEALER_ON_HOLD",
    "DEALER_CLOSED",
    "IDEMPOTENCY_KEY_REUSED",
    "INVALID_TRANSITION",
    "PLAN_LIMIT_EXCEEDED",
    "PROMOTION_LIMIT_REACHED",
    "INSUFFICIENT_REBATE",
    "INVALID_FILE",
    "INVALID_ROW",
    "MISSING_COLUMNS",
    "EMPTY",
    "INVALID_LINE",
    "UNKNOWN_DEALER",
    "RETRY",
    "PLUGIN_RULE",
    "SKU_INACTIVE",
    "REBATE_INSUFFICIENT",
    "PROMOTION_EXHAUSTED",
]
# Plugins declare their own codes (hook order_error_codes), e.g. EXPIRED_BATCH.
ORDER_ERROR_CODES += [c for c in get_manager().order_error_codes() if c not in ORDER_ERROR_CODES]


class OrderErrorParam(graphene.ObjectType):
    """One structured detail of an order error."""

    key = graphene.String(
        required=True,
        description="camelCase name: available, minimum, multiple, licenceType, lot, plugin …",
    )
    value = graphene.String(
        required=True,
        description="Text as is; numbers and booleans as JSON (12, true); "
        "lists and objects as JSON.",
    )


OrderError = error_type(
    "Order",
    ORDER_ERROR_CODES,
    "Why an order, or one of its lines, cannot be placed or changed.",
    extra={
        "available": graphene.Int(description="For INSUFFICIENT_STOCK: units available."),
        "suggestion": graphene.String(description="For UNKNOWN_SKU: the closest SKU code."),
        "total": graphene.String(description="For PRICE_CHANGED: the order total now."),
        "params": graphene.List(
            graphene.NonNull(OrderErrorParam),
            required=True,
            description="Every structured detail of the error, from the core and from plugins: units "
            "available (available), the minimum or the multiple allowed (minimum, multiple), "
            "the licence type missing (licenceType), the lot (lot), the plugin that refused "
            "(plugin), the batch's expiry (expiry), whether a free good was refused (free) …; empty when "
            "there are none.",
        ),
    },
)


def _camel(key: str) -> str:
    head, *rest = str(key).split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _param_value(value) -> str:
    if isinstance(value, str):
        return value
    import json

    return json.dumps(value, default=str, ensure_ascii=False, sort_keys=True)


def error_params(params: dict) -> list[OrderErrorParam]:
    """A domain error's params as ``OrderErrorParam`` rows, by key (``None`` values left out)."""
    return [
        OrderErrorParam(key=_camel(k), value=_param_value(v))
        for k, v in sorted(params.items())
        if v is not None
    ]


def order_error(exc: DomainError) -> OrderError:
    """The typed GraphQL error of a domain error, its params included."""
    params = exc.params or {}
    available = params.get("available")
    return OrderError(
        field=exc.field,
        message=exc.message,
        code=exc.code if exc.code in OrderError.codes else "INVALID",
        available=available
        if isinstance(available, int) and not isinstance(available, bool)
        else None,
        suggestion=params.get("suggestion"),
        total=params.get("total"),
        params=error_params(params),
    )


class OrderMutation(BaseMutation):
    """A mutation whose errors are ``OrderError`` with their params."""

    class Meta:
        abstract = True

    @classmethod
    def _as_error(cls, exc: DomainError):
        return order_error(exc)


OrderStatusEnum = graphene.Enum.from_enum(OrderStatus)
ChannelEnum = graphene.Enum.from_enum(Channel)
PaymentMethodEnum = graphene.Enum.from_enum(PaymentMethod)


class OrderLineType(DjangoObjectType):
    sku_code = graphene.String(required=True)

    class Meta:
        model = OrderLine
        name = "OrderLine"
        fields = (
            "position",
            "unit_code",
            "quantity",
            "base_quantity",
            "unit_price",
            "list_price",
            "discount",
            "tax_rate",
            "tax_amount",
            "line_total",
            "is_free",
            "returned_quantity",
        )

    def resolve_sku_code(root, info):
        return root.sku.code


class ShipmentNode(DjangoObjectType):
    warehouse_code = graphene.String(required=True)

    class Meta:
        model = Shipment
        name = "Shipment"
        interfaces = (relay.Node,)
        fields = ("status", "carrier", "tracking_number", "shipped_at", "delivered_at")

    def resolve_warehouse_code(root, info):
        return root.warehouse.code

    @classmethod
    def get_queryset(cls, queryset, info):
        user, key = current_user(info), getattr(info.context, "api_key", None)
        return queryset.filter(order__in=selectors.orders_visible_to(user, key).values("pk"))


class OrderTransitionType(DjangoObjectType):
    by = graphene.String()

    class Meta:
        model = OrderTransition
        name = "OrderTransition"
        fields = ("from_status", "to_status", "comment", "at")

    def resolve_by(root, info):
        return root.by.username if root.by_id else None


class OrderNode(DjangoObjectType):
    status = graphene.Field(OrderStatusEnum, required=True)
    channel = graphene.Field(ChannelEnum, required=True)
    lines = graphene.List(graphene.NonNull(OrderLineType), required=True)
    shipments = graphene.List(graphene.NonNull(ShipmentNode), required=True)
    history = graphene.List(graphene.NonNull(OrderTransitionType), required=True)
    dealer_code = graphene.String(required=True)
    confirmation_pdf_url = graphene.String(
        required=True, description="The printable confirmation (PDF)."
    )

    class Meta:
        model = Order
        name = "Order"
        interfaces = (relay.Node,)
        fields = (
            "number",
            "currency",
            "subtotal",
            "discount_total",
            "rebate_applied",
            "tax_total",
            "total",
            "external_ref",
            "note",
            "created_at",
            "payment_method",
        )
        connection_class = CountableConnection

    def resolve_lines(root, info):
        return root.lines.all()

    def resolve_shipments(root, info):
        return root.shipments.all()

    def resolve_history(root, info):
        return root.transitions.all()

    def resolve_dealer_code(root, info):
        return root.dealer.code

    def resolve_confirmation_pdf_url(root, info):
        return f"/orders/{root.number}/confirmation.pdf"

    @classmethod
    def get_queryset(cls, queryset, info):
        user, key = current_user(info), getattr(info.context, "api_key", None)
        if user is None and key is None:
            return queryset.none()
        return queryset.filter(pk__in=selectors.orders_visible_to(user, key).values("pk"))


class OrderLineInput(graphene.InputObjectType):
    sku = graphene.String(required=True, description="SKU code or barcode (GTIN).")
    quantity = graphene.Int(required=True)
    unit = graphene.String(
        description="Unit code (each, case …); default: the barcode's unit or the base unit."
    )


class QuickOrderLine(graphene.ObjectType):
    line_number = graphene.Int(required=True)
    text = graphene.String(required=True)
    sku_code = graphene.String()
    product_name = graphene.String()
    unit = graphene.String()
    quantity = graphene.Int()
    base_quantity = graphene.Int()
    unit_price = graphene.Decimal()
    currency = graphene.String()
    error = graphene.Field(OrderError)
    suggestion = graphene.String()


# --- helpers --------------------------------------------------------------------------------
def _caller(info, scope: str = "orders:write"):
    key = getattr(info.context, "api_key", None)
    if key is not None:
        require_scope(info, scope)
        return None, key
    return require_user(info), None


def _pk(global_id: str, type_name: str, field: str, message: str) -> str:
    """The primary key in a Relay ID of ``type_name``, or ``NOT_FOUND`` naming ``field``."""
    try:
        found_type, pk = from_global_id(global_id)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise NotFound(message, field=field) from exc
    if found_type != type_name or not (pk.isascii() and pk.isdigit()):
        raise NotFound(message, field=field)
    return pk


def _dealer(info, dealer_id: str | None) -> Dealer:
    user, key = _caller(info)
    if dealer_id:
        pk = _pk(dealer_id, "Dealer", "dealerId", _("Unknown dealer."))
        dealer = selectors.visible_dealers(user, key).filter(pk=pk).first()
        if dealer is None:
            raise NotFound(_("Unknown dealer."), field="dealerId")
        return dealer
    if user is not None and user.dealer_id:
        return user.dealer
    raise DomainError(_("Choose the dealer to order for."), code="REQUIRED", field="dealerId")


def _channel(info, requested, dealer: Dealer) -> str:
    if getattr(info.context, "api_key", None) is not None:
        return Channel.API
    user = current_user(info)
    if user is not None and user.role == Role.SALES_REP:
        return Channel.SALES_REP
    value = getattr(requested, "value", requested) or Channel.WEB
    if value not in (Channel.WEB, Channel.MOBILE):
        raise DomainError(
            _("Use WEB or MOBILE here; other channels have their own mutations."), field="channel"
        )
    return value


def _order(info, order_id: str, *, staff: bool = False) -> Order:
    user, key = _caller(info)
    if staff and key is None and not user.is_staff_role:
        raise PermissionDenied(_("Only staff can do this."))
    pk = _pk(order_id, "Order", "orderId", _("Unknown order."))
    order = selectors.orders_visible_to(user, key).filter(pk=pk).first()
    if order is None:
        raise NotFound(_("Unknown order."), field="orderId")
    return order


def _sole_mutation(info) -> bool:
    """Whether this field is the only one of a mutation request served by the GraphQL view.

    The view runs a mutation request in one transaction and rolls all of it back when
    a mutation reports an error (``BaseMutation`` marks the request failed), so an order
    placed there needs no savepoint of its own. With other fields beside it (or run
    outside the view, e.g. ``schema.execute`` in a caller's transaction) a failed order
    must leave the transaction usable: a savepoint then.
    """
    from graphql import FieldNode, OperationType

    operation = info.operation
    return (
        operation.operation == OperationType.MUTATION
        and len(operation.selection_set.selections) == 1
        and isinstance(operation.selection_set.selections[0], FieldNode)
        and mutation_rolls_back_whole(info.context)
    )


def _lines(items) -> list[LineInput]:
    return [LineInput(sku=i.sku, quantity=i.quantity, unit=i.unit) for i in items or []]


# --- mutations ----------------------------------------------------------------------------
class PlaceOrder(OrderMutation, error_type=OrderError):
    """Place an order (web, mobile, API, or a sales rep for a covered dealer). Send the same
    ``idempotencyKey`` when retrying or replaying offline: the first order comes back."""

    class Arguments:
        lines = graphene.List(graphene.NonNull(OrderLineInput), required=True)
        idempotency_key = graphene.String(required=True)
        dealer_id = graphene.ID(description="Whom to order for; a dealer's user may leave it out.")
        channel = ChannelEnum(description="WEB (default) or MOBILE.")
        payment_method = PaymentMethodEnum()
        expected_total = graphene.Decimal(
            description="Refuse with PRICE_CHANGED if the total differs."
        )
        use_rebate = graphene.Decimal(description="Rebate balance to spend on this order.")
        note = graphene.String()

    order = graphene.Field(OrderNode)
    replayed = graphene.Boolean()

    @classmethod
    def perform(
        cls,
        root,
        info,
        lines,
        idempotency_key,
        dealer_id=None,
        channel=None,
        payment_method=None,
        expected_total=None,
        use_rebate=None,
        note="",
    ):
        dealer = _dealer(info, dealer_id)
        placed = services.place_order(
            dealer=dealer,
            user=current_user(info),
            lines=_lines(lines),
            channel=_channel(info, channel, dealer),
            idempotency_key=idempotency_key,
            payment_method=getattr(payment_method, "value", payment_method)
            or PaymentMethod.ON_ACCOUNT,
            expected_total=expected_total,
            use_rebate=use_rebate,
            note=note or "",
            savepoint=not _sole_mutation(info),
        )
        return cls(order=selectors.with_details(placed.order), replayed=placed.replayed)


class QuickOrderPlace(OrderMutation, error_type=OrderError):
    """Place pasted ``SKU qty [unit]`` lines as one order."""

    class Arguments:
        text = graphene.String(required=True)
        idempotency_key = graphene.String(required=True)
        dealer_id = graphene.ID()

    order = graphene.Field(OrderNode)
    replayed = graphene.Boolean()

    @classmethod
    def perform(cls, root, info, text, idempotency_key, dealer_id=None):
        dealer = _dealer(info, dealer_id)
        placed = channels.place_quick_order(
            dealer=dealer, user=current_user(info), text=text, idempotency_key=idempotency_key
        )
        return cls(order=selectors.with_details(placed.order), replayed=placed.replayed)


class OrderSheetUpload(OrderMutation, error_type=OrderError):
    """Upload an order sheet (.xlsx or .csv, columns sku, quantity, unit; base64). All rows or none."""

    class Arguments:
        filename = graphene.String(required=True)
        content_base64 = graphene.String(required=True)
        idempotency_key = graphene.String(required=True)
        dealer_id = graphene.ID()

    order = graphene.Field(OrderNode)
    replayed = graphene.Boolean()

    @classmethod
    def perform(cls, root, info, filename, content_base64, idempotency_key, dealer_id=None):
        dealer = _dealer(info, dealer_id)
        try:
            content = base64.b64decode(content_base64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise DomainError(
                _("The file is not valid base64."), code="INVALID_FILE", field="contentBase64"
            ) from exc
        placed = channels.place_sheet_order(
            dealer=dealer,
            user=current_user(info),
            filename=filename,
            content=content,
            idempotency_key=idempotency_key,
        )
        return cls(order=selectors.with_details(placed.order), replayed=placed.replayed)


class CartLineType(graphene.ObjectType):
    sku_code = graphene.String(required=True)
    unit = graphene.String(required=True)
    quantity = graphene.Int(required=True)


class CartType(graphene.ObjectType):
    lines = graphene.List(graphene.NonNull(CartLineType), required=True)

    def resolve_lines(root, info):
        return [
            CartLineType(sku_code=li.sku.code, unit=li.unit_code, quantity=li.quantity)
            for li in root.lines.select_related("sku")
        ]


class CartAdd(OrderMutation, error_type=OrderError):
    """Add lines to the cart; ``sku`` may be a scanned barcode (a case barcode adds a case)."""

    class Arguments:
        lines = graphene.List(graphene.NonNull(OrderLineInput), required=True)
        dealer_id = graphene.ID()

    cart = graphene.Field(CartType)

    @classmethod
    def perform(cls, root, info, lines, dealer_id=None):
        dealer = _dealer(info, dealer_id)
        return cls(
            cart=channels.add_to_cart(dealer=dealer, user=require_user(info), lines=_lines(lines))
        )


class CartCheckout(OrderMutation, error_type=OrderError):
    """Place the cart as an order."""

    class Arguments:
        idempotency_key = graphene.String(required=True)
        dealer_id = graphene.ID()
        expected_total = graphene.Decimal()

    order = graphene.Field(OrderNode)
    replayed = graphene.Boolean()

    @classmethod
    def perform(cls, root, info, idempotency_key, dealer_id=None, expected_total=None):
        dealer = _dealer(info, dealer_id)
        user = require_user(info)
        channel = Channel.SALES_REP if user.role == Role.SALES_REP else Channel.WEB
        placed = channels.checkout_cart(
            dealer=dealer,
            user=user,
            idempotency_key=idempotency_key,
            channel=channel,
            expected_total=expected_total,
        )
        return cls(order=selectors.with_details(placed.order), replayed=placed.replayed)


class Reorder(OrderMutation, error_type=OrderError):
    """Put a past order's lines into the cart again."""

    class Arguments:
        order_id = graphene.ID(required=True)

    cart = graphene.Field(CartType)

    @classmethod
    def perform(cls, root, info, order_id):
        order = _order(info, order_id)
        return cls(cart=channels.reorder(order=order, user=require_user(info)))


class ApproveOrder(OrderMutation, error_type=OrderError):
    class Arguments:
        order_id = graphene.ID(required=True)
        comment = graphene.String()

    order = graphene.Field(OrderNode)

    @classmethod
    def perform(cls, root, info, order_id, comment=""):
        order = _order(info, order_id, staff=True)
        return cls(
            order=services.approve_order(
                order=order, user=require_user(info), comment=comment or ""
            )
        )


class RejectOrder(OrderMutation, error_type=OrderError):
    class Arguments:
        order_id = graphene.ID(required=True)
        comment = graphene.String(required=True)

    order = graphene.Field(OrderNode)

    @classmethod
    def perform(cls, root, info, order_id, comment):
        order = _order(info, order_id, staff=True)
        return cls(
            order=services.reject_order(order=order, user=require_user(info), comment=comment)
        )


class CancelOrder(OrderMutation, error_type=OrderError):
    class Arguments:
        order_id = graphene.ID(required=True)
        comment = graphene.String()

    order = graphene.Field(OrderNode)

    @classmethod
    def perform(cls, root, info, order_id, comment=""):
        order = _order(info, order_id)
        user = current_user(info)
        return cls(order=services.cancel_order(order=order, user=user, comment=comment or ""))


class ShipShipment(OrderMutation, error_type=OrderError):
    class Arguments:
        shipment_id = graphene.ID(required=True)
        carrier = graphene.String(required=True)
        tracking_number = graphene.String(required=True)

    shipment = graphene.Field(ShipmentNode)

    @classmethod
    def perform(cls, root, info, shipment_id, carrier, tracking_number):
        shipment = _shipment(info, shipment_id)
        return cls(
            shipment=services.ship(
                shipment=shipment,
                user=current_user(info),
                carrier=carrier,
                tracking_number=tracking_number,
            )
        )


class DeliverShipment(OrderMutation, error_type=OrderError):
    class Arguments:
        shipment_id = graphene.ID(required=True)

    shipment = graphene.Field(ShipmentNode)

    @classmethod
    def perform(cls, root, info, shipment_id):
        shipment = _shipment(info, shipment_id)
        return cls(shipment=services.mark_delivered(shipment=shipment, user=current_user(info)))


def _shipment(info, shipment_id: str) -> Shipment:
    user, key = _caller(info)
    if key is None and not user.is_staff_role:
        raise PermissionDenied(_("Only staff can do this."))
    pk = _pk(shipment_id, "Shipment", "shipmentId", _("Unknown shipment."))
    shipment = Shipment.objects.filter(pk=pk).first()
    if shipment is None:
        raise NotFound(_("Unknown shipment."), field="shipmentId")
    return shipment


class ReturnItemInput(graphene.InputObjectType):
    position = graphene.Int(required=True, description="The order line's position.")
    quantity = graphene.Int(required=True, description="Base units coming back.")


class ReturnGoods(OrderMutation, error_type=OrderError):
    """Record goods sent back: restocked and credited to the dealer."""

    class Arguments:
        order_id = graphene.ID(required=True)
        items = graphene.List(graphene.NonNull(ReturnItemInput), required=True)
        reason = graphene.String()

    order = graphene.Field(OrderNode)
    credit = graphene.Decimal()

    @classmethod
    def perform(cls, root, info, order_id, items, reason=""):
        order = _order(info, order_id, staff=True)
        by_position = dict(order.lines.values_list("position", "pk"))
        requests = [
            services.ReturnRequest(
                line_id=by_position.get(i.position, -1), base_quantity=i.quantity
            )
            for i in items
        ]
        ret = services.return_goods(
            order=order, user=current_user(info), items=requests, reason=reason or ""
        )
        order.refresh_from_db()
        return cls(order=order, credit=ret.credit_amount)


class MarketplaceOrderImport(OrderMutation, error_type=OrderError):
    """A marketplace feed order (JSON as the feed sends it), mapped by external SKU codes."""

    class Arguments:
        source = graphene.String(required=True)
        payload = graphene.JSONString(required=True)

    order = graphene.Field(OrderNode)
    replayed = graphene.Boolean()

    @classmethod
    def perform(cls, root, info, source, payload):
        _caller(info)
        if not isinstance(payload, dict):
            raise DomainError(_("The payload must be a JSON object."), field="payload")
        placed = channels.import_marketplace_order(
            source=source, payload=payload, user=current_user(info)
        )
        return cls(order=selectors.with_details(placed.order), replayed=placed.replayed)


class Query(graphene.ObjectType):
    orders = DjangoConnectionField(
        OrderNode, status=OrderStatusEnum(), description="Orders the caller may see, newest first."
    )
    order = graphene.Field(OrderNode, number=graphene.String(required=True))
    quick_order_preview = graphene.List(
        graphene.NonNull(QuickOrderLine),
        required=True,
        text=graphene.String(required=True),
        dealer_id=graphene.ID(),
        description="Resolve pasted 'SKU qty [unit]' lines: product, unit and price, or an error with a suggestion.",
    )
    cart = graphene.Field(CartType, dealer_id=graphene.ID())

    def resolve_orders(root, info, status=None, **kwargs):
        user, key = _caller(info, "orders:read")
        return selectors.orders_for_listing(user, key, status=getattr(status, "value", status))

    def resolve_order(root, info, number):
        user, key = _caller(info, "orders:read")
        return selectors.orders_for_listing(user, key).filter(number=number).first()

    def resolve_quick_order_preview(root, info, text, dealer_id=None):
        dealer = _dealer(info, dealer_id)
        results = channels.preview_quick_order(dealer=dealer, text=text, user=current_user(info))
        return [
            QuickOrderLine(
                line_number=r.line_number,
                text=r.text,
                sku_code=r.sku_code,
                product_name=r.product_name,
                unit=r.unit,
                quantity=r.quantity,
                base_quantity=r.base_quantity,
                unit_price=r.unit_price,
                currency=r.currency,
                suggestion=r.suggestion,
                error=order_error(r.error) if r.error else None,
            )
            for r in results
        ]

    def resolve_cart(root, info, dealer_id=None):
        dealer = _dealer(info, dealer_id)
        return channels._cart(dealer, require_user(info))


class Mutation(graphene.ObjectType):
    place_order = PlaceOrder.Field()
    quick_order_place = QuickOrderPlace.Field()
    order_sheet_upload = OrderSheetUpload.Field()
    cart_add = CartAdd.Field()
    cart_checkout = CartCheckout.Field()
    reorder = Reorder.Field()
    approve_order = ApproveOrder.Field()
    reject_order = RejectOrder.Field()
    cancel_order = CancelOrder.Field()
    ship_shipment = ShipShipment.Field()
    deliver_shipment = DeliverShipment.Field()
    return_goods = ReturnGoods.Field()
    marketplace_order_import = MarketplaceOrderImport.Field()
