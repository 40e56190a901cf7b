"""GraphQL fields of the pharma plugin. The platform gates every field here: a tenant
without the plugin gets ``PLUGIN_DISABLED`` and no data."""

from __future__ import annotations

import graphene
from django.utils.translation import gettext as _
from graphene_django import DjangoObjectType

from core.api.types import BaseMutation, error_type, require_staff, require_user
from core.catalog.models import Sku
from core.exceptions import DomainError

from . import selectors, services
from .models import Batch, DealerLicence


class PharmaBatchType(DjangoObjectType):
    sku_code = graphene.String(required=True)
    warehouse_code = graphene.String(required=True)
    available = graphene.Int(required=True)
    days_to_expiry = graphene.Int(required=True, description="Negative once expired.")
    is_expired = graphene.Boolean(required=True)

    class Meta:
        model = Batch
        name = "PharmaBatch"
        fields = ("id", "lot", "manufactured_on", "expires_on", "on_hand", "reserved")
        description = "A lot of a SKU in one warehouse, with its expiry (pharma plugin)."

    def resolve_sku_code(root, info):
        return root.sku.code

    def resolve_warehouse_code(root, info):
        return root.warehouse.code

    def resolve_available(root, info):
        return root.available

    def resolve_days_to_expiry(root, info):
        return root.days_to_expiry(services.today())

    def resolve_is_expired(root, info):
        return root.is_expired(services.today())


class PharmaLicenceType(DjangoObjectType):
    licence_type = graphene.String(required=True, description="The licence type's code.")
    licence_type_name = graphene.String(required=True)
    is_valid = graphene.Boolean(required=True, description="Valid today.")

    class Meta:
        model = DealerLicence
        name = "PharmaLicence"
        fields = ("id", "number", "valid_from", "expires_on")
        description = "A licence a dealer holds (pharma plugin)."

    def resolve_licence_type(root, info):
        return root.licence_type.code

    def resolve_licence_type_name(root, info):
        return root.licence_type.name

    def resolve_is_valid(root, info):
        return root.is_valid_on(services.today())


class PharmaTraceRowType(graphene.ObjectType):
    class Meta:
        name = "PharmaTraceRow"
        description = "One order's take of a recalled lot, with its shipment."

    order_number = graphene.String(required=True)
    order_status = graphene.String(required=True)
    ordered_at = graphene.DateTime(required=True)
    dealer_code = graphene.String(required=True)
    dealer_name = graphene.String(required=True)
    sku_code = graphene.String(required=True)
    lot = graphene.String(required=True)
    expiry = graphene.Date(required=True)
    warehouse_code = graphene.String(required=True)
    quantity = graphene.Int(required=True)
    state = graphene.String(required=True, description="reserved, shipped or released.")
    shipment_status = graphene.String(required=True)
    carrier = graphene.String(required=True)
    tracking_number = graphene.String(required=True)
    shipped_at = graphene.DateTime()
    delivered_at = graphene.DateTime()
    shipped_expired = graphene.Boolean(required=True)
    free = graphene.Boolean(
        required=True, description="Free goods a promotion added to the order (buy X get Y)."
    )

    def resolve_expiry(root, info):
        import datetime

        return datetime.date.fromisoformat(root.expiry)


class PharmaTransferType(graphene.ObjectType):
    class Meta:
        name = "PharmaTransfer"
        description = "Units of a lot moved from one warehouse to another (pharma plugin)."

    reference = graphene.String(required=True, description="The core transfer (TR-<id>).")
    sku_code = graphene.String(required=True)
    lot = graphene.String(required=True)
    from_warehouse = graphene.String(required=True)
    to_warehouse = graphene.String(required=True)
    quantity = graphene.Int(required=True)
    moved_at = graphene.DateTime(required=True)


class PharmaRecallTraceType(graphene.ObjectType):
    class Meta:
        name = "PharmaRecallTrace"
        description = "Every order, dealer and shipment that received a lot (pharma plugin)."

    lot = graphene.String(required=True)
    batches = graphene.List(graphene.NonNull(PharmaBatchType), required=True)
    rows = graphene.List(graphene.NonNull(PharmaTraceRowType), required=True)
    transfers = graphene.List(
        graphene.NonNull(PharmaTransferType),
        required=True,
        description="Transfers of the lot between warehouses, oldest first.",
    )
    order_count = graphene.Int(required=True)
    dealer_count = graphene.Int(required=True)
    shipped_quantity = graphene.Int(required=True)
    open_quantity = graphene.Int(required=True, description="Still reserved, not shipped.")

    def resolve_order_count(root, info):
        return root.orders

    def resolve_dealer_count(root, info):
        return root.dealers


PharmaBatchError = error_type(
    "PharmaBatch",
    [
        "INVALID",
        "INVALID_QUANTITY",
        "NOT_FOUND",
        "REQUIRED",
        "LOT_DATES_DIFFER",
        "INSUFFICIENT_STOCK",
        "BATCH_REQUIRED",
        "TOO_LONG",
    ],
    extra={
        "available": graphene.Int(description="For INSUFFICIENT_STOCK: unreserved units."),
        "reserved": graphene.Int(description="For a count below what orders hold reserved."),
    },
)


def _batch(batch_id) -> Batch:
    try:
        pk = int(batch_id)
    except (TypeError, ValueError):
        pk = None
    batch = Batch.objects.select_related("sku", "warehouse").filter(pk=pk).first() if pk else None
    if batch is None:
        raise DomainError(_("No batch has this id."), code="NOT_FOUND", field="batchId")
    return batch


def _warehouse(code: str, field: str):
    from core.inventory.models import Warehouse

    warehouse = Warehouse.objects.filter(code=code.strip()).first()
    if warehouse is None:
        raise DomainError(_("No warehouse has this code."), code="NOT_FOUND", field=field)
    return warehouse


class PharmaTransferBatch(BaseMutation, error_type=PharmaBatchError):
    """Move unreserved units of one batch to another warehouse (the same lot there):
    the warehouses' stock moves with it (a core transfer). Staff only."""

    class Arguments:
        batch_id = graphene.ID(required=True, description="``PharmaBatch.id``.")
        destination_code = graphene.String(required=True, description="Warehouse code.")
        quantity = graphene.Int(required=True, description="Base units.")

    batch = graphene.Field(PharmaBatchType, description="The source batch after the move.")
    destination_batch = graphene.Field(PharmaBatchType)

    @classmethod
    def perform(cls, root, info, batch_id, destination_code, quantity):
        user = require_staff(info)
        batch = _batch(batch_id)
        destination = _warehouse(destination_code, "destinationCode")
        out, into = services.transfer_batch(
            batch=batch, destination=destination, quantity=quantity, user=user
        )
        return cls(batch=out.batch, destination_batch=into.batch)


class PharmaCountBatch(BaseMutation, error_type=PharmaBatchError):
    """A stock-take of one batch: its on hand becomes ``counted``, and the warehouse's
    stock changes by the difference (a core adjustment). Staff only."""

    class Arguments:
        batch_id = graphene.ID(required=True, description="``PharmaBatch.id``.")
        counted = graphene.Int(required=True, description="Base units counted.")
        note = graphene.String()

    batch = graphene.Field(PharmaBatchType)

    @classmethod
    def perform(cls, root, info, batch_id, counted, note=""):
        user = require_staff(info)
        batch = services.count_batch(
            batch=_batch(batch_id), counted=counted, note=note or "", user=user
        )
        return cls(batch=batch)


class PharmaReceiveBatch(BaseMutation, error_type=PharmaBatchError):
    """Receive a lot into a warehouse: the batch is created (or added to) and the
    SKU's stock there rises by the same quantity. Staff only."""

    class Arguments:
        sku_code = graphene.String(required=True)
        warehouse_code = graphene.String(required=True)
        lot = graphene.String(required=True)
        manufactured_on = graphene.Date(required=True)
        expires_on = graphene.Date(required=True)
        quantity = graphene.Int(required=True, description="Base units.")

    batch = graphene.Field(PharmaBatchType)

    @classmethod
    def perform(
        cls, root, info, sku_code, warehouse_code, lot, manufactured_on, expires_on, quantity
    ):
        user = require_staff(info)
        sku = Sku.objects.filter(code=sku_code.strip()).first()
        if sku is None:
            raise DomainError(_("No SKU has this code."), code="NOT_FOUND", field="skuCode")
        warehouse = _warehouse(warehouse_code, "warehouseCode")
        batch = services.receive_batch(
            sku=sku,
            warehouse=warehouse,
            lot=lot,
            manufactured_on=manufactured_on,
            expires_on=expires_on,
            quantity=quantity,
            user=user,
        )
        return cls(batch=batch)


class Query(graphene.ObjectType):
    pharma_batches = graphene.List(
        graphene.NonNull(PharmaBatchType),
        sku_code=graphene.String(required=True),
        include_empty=graphene.Boolean(default_value=False),
        description="A SKU's batches with their expiry, earliest first (staff; pharma plugin).",
    )
    pharma_my_licences = graphene.List(
        graphene.NonNull(PharmaLicenceType),
        dealer_code=graphene.String(description="Staff only: another dealer's licences."),
        description="The signed-in dealer's licences (pharma plugin).",
    )
    pharma_recall_trace = graphene.Field(
        PharmaRecallTraceType,
        lot=graphene.String(required=True),
        sku_code=graphene.String(),
        description="Every order, dealer and shipment that received a lot (staff; pharma plugin).",
    )

    def resolve_pharma_batches(root, info, sku_code, include_empty=False):
        require_staff(info)
        sku = Sku.objects.filter(code=sku_code.strip()).first()
        if sku is None:
            return []
        return selectors.batches_for_sku(sku=sku, include_empty=include_empty)

    def resolve_pharma_my_licences(root, info, dealer_code=None):
        from core.accounts.models import Dealer

        user = require_user(info)
        if dealer_code:
            require_staff(info)
            dealer = Dealer.objects.filter(code=dealer_code).first()
        else:
            dealer = user.dealer
        if dealer is None:
            return []
        return selectors.dealer_licences(dealer=dealer)

    def resolve_pharma_recall_trace(root, info, lot, sku_code=None):
        require_staff(info)
        return selectors.recall_trace(lot=lot, sku_code=sku_code)


class Mutation(graphene.ObjectType):
    pharma_receive_batch = PharmaReceiveBatch.Field()
    pharma_transfer_batch = PharmaTransferBatch.Field()
    pharma_count_batch = PharmaCountBatch.Field()
