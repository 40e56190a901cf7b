"""GraphQL for stock: levels for staff and ERPs, availability for dealers, stock changes from ERP/WMS."""

from __future__ import annotations

import graphene
from django.utils.translation import gettext as _
from graphene_django import DjangoObjectType

from core.api.types import BaseMutation, current_user, error_type, require_scope, require_user
from core.catalog.models import Sku
from core.exceptions import DomainError, NotFound
from plugins.manager import get_manager

from . import selectors, services
from .models import Stock, Warehouse

STOCK_ERROR_CODES = [
    "INVALID",
    "REQUIRED",
    "TOO_LONG",
    "NOT_FOUND",
    "INVALID_QUANTITY",
    "INSUFFICIENT_STOCK",
]
# A plugin's stock_changed hook may refuse a change with a code of its own (pharma:
# BATCH_REQUIRED for a batch-tracked SKU received or counted without its batch).
# Plugins declare those codes once (hook stock_error_codes, read when the schema is
# built); they join this enum, so a client sees the plugin's code, not INVALID.
STOCK_ERROR_CODES += [c for c in get_manager().stock_error_codes() if c not in STOCK_ERROR_CODES]

StockError = error_type(
    "Stock",
    STOCK_ERROR_CODES,
    "Why a stock change was refused: the core's codes and those the installed plugins declare.",
    extra={"available": graphene.Int(description="For INSUFFICIENT_STOCK: units available.")},
)


class WarehouseType(DjangoObjectType):
    class Meta:
        model = Warehouse
        name = "Warehouse"
        fields = ("code", "name", "region", "priority", "is_active")


class StockLevelType(DjangoObjectType):
    sku_code = graphene.String(required=True)
    warehouse = graphene.Field(WarehouseType, required=True)
    available = graphene.Int(required=True)

    class Meta:
        model = Stock
        name = "StockLevel"
        fields = ("on_hand", "reserved", "safety_stock", "updated_at")

    def resolve_sku_code(root, info):
        return root.sku.code


class WarehouseAvailability(graphene.ObjectType):
    code = graphene.String(required=True)
    name = graphene.String(required=True)
    region = graphene.String()
    available = graphene.Int(required=True)
    in_region = graphene.Boolean(required=True)


class SkuAvailability(graphene.ObjectType):
    sku_code = graphene.String(required=True)
    available = graphene.Int(required=True)
    warehouses = graphene.List(graphene.NonNull(WarehouseAvailability), required=True)


def _staff_or_key(info, scope: str):
    """Staff users, or API keys holding ``scope``; dealers' users are refused."""
    return require_scope(info, scope)


class Query(graphene.ObjectType):
    stock_levels = graphene.List(
        graphene.NonNull(StockLevelType),
        required=True,
        warehouse_code=graphene.String(),
        sku_code=graphene.String(),
        low_only=graphene.Boolean(),
        first=graphene.Int(default_value=100),
        description="Stock per SKU per warehouse (staff and integrations with stock:read).",
    )
    availability = graphene.List(
        graphene.NonNull(SkuAvailability),
        required=True,
        sku_codes=graphene.List(graphene.NonNull(graphene.String), required=True),
        description="What the caller's dealer can get, and where (its region first).",
    )

    def resolve_stock_levels(
        root, info, warehouse_code=None, sku_code=None, low_only=False, first=100
    ):
        _staff_or_key(info, "stock:read")
        first = max(1, min(first or 100, 500))
        return selectors.stock_levels(
            warehouse_code=warehouse_code, sku_code=sku_code, low_only=bool(low_only)
        )[:first]

    def resolve_availability(root, info, sku_codes):
        user = require_user(info)
        if len(sku_codes) > 200:
            sku_codes = sku_codes[:200]
        dealer = user.dealer
        if dealer is None:
            from core.accounts.models import Dealer

            dealer = Dealer(region="")
        return [
            SkuAvailability(
                sku_code=e["sku_code"],
                available=e["available"],
                warehouses=[WarehouseAvailability(**w) for w in e["warehouses"]],
            )
            for e in selectors.dealer_availability(dealer, list(sku_codes))
        ]


def _sku_and_warehouse(sku_code: str, warehouse_code: str, *, field: str = "warehouseCode"):
    """The SKU and warehouse the codes name; NotFound on ``skuCode`` or on ``field`` (the
    warehouse argument: ``fromWarehouse``/``toWarehouse`` for a transfer)."""
    sku = Sku.objects.filter(code=sku_code).first()
    if sku is None:
        raise NotFound(_("Unknown SKU."), field="skuCode")
    warehouse = Warehouse.objects.filter(code=warehouse_code).first()
    if warehouse is None:
        raise NotFound(_("Unknown warehouse."), field=field)
    return sku, warehouse


class StockReceive(BaseMutation, error_type=StockError):
    """Goods received (from an ERP/WMS or the console)."""

    class Arguments:
        sku_code = graphene.String(required=True)
        warehouse_code = graphene.String(required=True)
        quantity = graphene.Int(required=True)
        reference = graphene.String()

    stock = graphene.Field(StockLevelType)

    @classmethod
    def perform(cls, root, info, sku_code, warehouse_code, quantity, reference=""):
        _staff_or_key(info, "stock:write")
        sku, wh = _sku_and_warehouse(sku_code, warehouse_code)
        return cls(
            stock=services.receive_stock(
                sku=sku,
                warehouse=wh,
                quantity=quantity,
                reference=reference or "",
                user=current_user(info),
            )
        )


class StockCount(BaseMutation, error_type=StockError):
    """Set on-hand to a counted quantity; the difference is recorded as an adjustment.
    Idempotent: sending the same count twice changes nothing the second time."""

    class Arguments:
        sku_code = graphene.String(required=True)
        warehouse_code = graphene.String(required=True)
        counted = graphene.Int(required=True)
        note = graphene.String()

    stock = graphene.Field(StockLevelType)

    @classmethod
    def perform(cls, root, info, sku_code, warehouse_code, counted, note=""):
        _staff_or_key(info, "stock:write")
        sku, wh = _sku_and_warehouse(sku_code, warehouse_code)
        return cls(
            stock=services.adjust_stock(
                sku=sku, warehouse=wh, counted=counted, note=note or "", user=current_user(info)
            )
        )


class StockTransfer(BaseMutation, error_type=StockError):
    class Arguments:
        sku_code = graphene.String(required=True)
        from_warehouse = graphene.String(required=True)
        to_warehouse = graphene.String(required=True)
        quantity = graphene.Int(required=True)

    ok = graphene.Boolean()

    @classmethod
    def perform(cls, root, info, sku_code, from_warehouse, to_warehouse, quantity):
        _staff_or_key(info, "stock:write")
        sku, source = _sku_and_warehouse(sku_code, from_warehouse, field="fromWarehouse")
        _sku, destination = _sku_and_warehouse(sku_code, to_warehouse, field="toWarehouse")
        try:
            services.transfer_stock(
                sku=sku,
                source=source,
                destination=destination,
                quantity=quantity,
                user=current_user(info),
            )
        except DomainError as exc:
            if exc.field == "destination":  # the service's name for this argument
                exc.field = "toWarehouse"
            raise
        return cls(ok=True)


class Mutation(graphene.ObjectType):
    stock_receive = StockReceive.Field()
    stock_count = StockCount.Field()
    stock_transfer = StockTransfer.Field()
