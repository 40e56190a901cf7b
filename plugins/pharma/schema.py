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

    def resolve_expiry(root, info):
        import datetime

        return datetime.date.fromisoformat(root.expiry)


class PharmaRecallTraceType(graphene.ObjectType):
    class Meta:
        name = "PharmaRecallTrace"
        description = "Every order, dealer and shipment that received a lot (pharma plugin)."

    lot = graphene.String(required=True)
    batches = graphene.List(graphene.NonNull(PharmaBatchType), required=True)
    rows = graphene.List(graphene.NonNull(PharmaTraceRowType), required=True)
    order_count = graphene.Int(required=True)
    dealer_count = graphene.Int(required=True)
    shipped_quantity = graphene.Int(required=True)
    open_quantity = graphene.Int(required=True, description="Still reserved, not shipped.")

    def resolve_order_count(root, info):
        return root.orders

    def resolve_dealer_count(root, info):
        return root.dealers


PharmaBatchError = error_type(
    "PharmaBatch", ["INVALID", "INVALID_QUANTITY", "NOT_FOUND", "REQUIRED", "LOT_DATES_DIFFER"]
)


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
        from core.inventory.models import Warehouse

        user = require_staff(info)
        sku = Sku.objects.filter(code=sku_code.strip()).first()
        if sku is None:
            raise DomainError(_("No SKU has this code."), code="NOT_FOUND", field="skuCode")
        warehouse = Warehouse.objects.filter(code=warehouse_code.strip()).first()
        if warehouse is None:
            raise DomainError(
                _("No warehouse has this code."), code="NOT_FOUND", field="warehouseCode"
            )
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
