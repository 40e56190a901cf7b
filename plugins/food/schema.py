"""GraphQL fields of the food plugin. The platform gates every field here: a tenant
without the plugin gets ``PLUGIN_DISABLED`` and no data."""

from __future__ import annotations

import graphene
from django.db import connection
from django.utils.translation import gettext as _

from core.api.types import BaseMutation, error_type, require_staff, require_user
from core.catalog.models import Sku
from core.exceptions import DomainError
from core.inventory.models import Warehouse

from . import selectors, services
from .models import CasePolicy

FoodCasePolicy = graphene.Enum(
    "FoodCasePolicy",
    [("CASE_ONLY", "case_only"), ("UNITS", "units"), ("UNITS_MIN", "units_min")],
    description="How a SKU may be ordered: whole cases only, or also single units (拆箱).",
)
FoodBestBeforeSource = graphene.Enum(
    "FoodBestBeforeSource",
    [("LOT", "lot"), ("RECEIPT", "receipt")],
    description="LOT: from the recorded production date of the stock shipping next; RECEIPT: "
    "from its latest receipt (no production date recorded), so the latest it can be.",
)


class FoodProductInfoType(graphene.ObjectType):
    class Meta:
        name = "FoodProductInfo"
        description = "How a dealer may order a SKU by case or unit, its prices and best-before."

    sku_code = graphene.String(required=True)
    policy = graphene.Field(FoodCasePolicy, description="Null when the SKU has no case policy.")
    min_units = graphene.Int(description="For UNITS_MIN: the least single units per line.")
    case_unit = graphene.String(description="The unit that is a case, e.g. case.")
    case_size = graphene.Int(description="Single units in one case.")
    mixed_group = graphene.String(description="Mixed-case group, when mixed cases are allowed.")
    mixed_case_size = graphene.Int()
    units_orderable = graphene.Boolean(required=True)
    currency = graphene.String(required=True)
    unit_price = graphene.Decimal(description="What one single unit costs on a unit line.")
    case_price = graphene.Decimal(description="What one case costs.")
    unit_price_derived = graphene.Boolean(
        required=True, description="The unit price is the case price per unit plus a surcharge."
    )
    split_surcharge_percent = graphene.Decimal()
    shelf_life_days = graphene.Int()
    warehouse_code = graphene.String(description="The warehouse the dealer would be served from.")
    available = graphene.Int(required=True)
    production_date = graphene.Date()
    received_on = graphene.Date()
    best_before = graphene.Date()
    best_before_source = graphene.Field(FoodBestBeforeSource)
    days_left = graphene.Int()

    def resolve_sku_code(root, info):
        return root.sku.code

    def resolve_policy(root, info):
        return root.policy.policy if root.policy else None

    def resolve_min_units(root, info):
        return root.policy.min_units if root.policy and root.policy.min_units else None

    def resolve_case_unit(root, info):
        return root.policy.case_unit if root.policy else None

    def resolve_case_size(root, info):
        return root.policy.case_size if root.policy else None

    def resolve_mixed_group(root, info):
        return root.policy.group_code if root.policy else None

    def resolve_mixed_case_size(root, info):
        return root.policy.group_size if root.policy else None

    def resolve_shelf_life_days(root, info):
        return root.policy.shelf_life_days if root.policy else None


class FoodSkuPolicyType(graphene.ObjectType):
    class Meta:
        name = "FoodSkuPolicy"
        description = "A SKU's case policy (food & beverage plugin)."

    sku_code = graphene.String(required=True)
    policy = graphene.Field(FoodCasePolicy, required=True)
    min_units = graphene.Int(required=True)
    case_unit = graphene.String(required=True)
    case_size = graphene.Int(required=True)
    shelf_life_days = graphene.Int()
    mixed_group = graphene.String()

    @staticmethod
    def of(row: CasePolicy) -> FoodSkuPolicyType:
        return FoodSkuPolicyType(
            sku_code=row.sku.code,
            policy=str(row.policy),
            min_units=row.min_units,
            case_unit=row.case_unit.code,
            case_size=row.case_unit.factor,
            shelf_life_days=row.shelf_life_days,
            mixed_group=row.mixed_group.code if row.mixed_group else None,
        )


FoodError = error_type(
    "Food",
    ["INVALID", "NOT_FOUND", "REQUIRED", "TOO_LONG", services.NO_CASE_UNIT],
    "Why a food & beverage setting cannot be saved.",
)


def _sku(code: str) -> Sku:
    sku = Sku.objects.filter(code=(code or "").strip()).first()
    if sku is None:
        raise DomainError(_("No SKU has this code."), code="NOT_FOUND", field="skuCode")
    return sku


class FoodSetSkuPolicy(BaseMutation, error_type=FoodError):
    """Set how a SKU may be ordered: whole cases only, or single units (with a minimum).
    Staff only. Single units of a SKU priced per case only are priced from the case price
    (plus the split surcharge) when ordered."""

    class Arguments:
        sku_code = graphene.String(required=True)
        policy = FoodCasePolicy(required=True)
        min_units = graphene.Int(description="Required for UNITS_MIN.")
        case_unit = graphene.String(description="Default: the SKU's smallest pack unit.")
        shelf_life_days = graphene.Int()
        mixed_group = graphene.String(description="A mixed-case group code.")

    policy = graphene.Field(FoodSkuPolicyType)

    @classmethod
    def perform(
        cls,
        root,
        info,
        sku_code,
        policy,
        min_units=None,
        case_unit=None,
        shelf_life_days=None,
        mixed_group=None,
    ):
        require_staff(info)
        row = services.set_case_policy(
            sku=_sku(sku_code),
            policy=getattr(policy, "value", policy),
            min_units=min_units or 0,
            case_unit=case_unit,
            shelf_life_days=shelf_life_days,
            mixed_group=mixed_group,
        )
        return cls(policy=FoodSkuPolicyType.of(row))


class FoodSetProductionDate(BaseMutation, error_type=FoodError):
    """Record the production date of the stock a warehouse ships next for a SKU. Staff only."""

    class Arguments:
        sku_code = graphene.String(required=True)
        warehouse_code = graphene.String(required=True)
        production_date = graphene.Date(required=True)
        lot = graphene.String()

    production_date = graphene.Date()

    @classmethod
    def perform(cls, root, info, sku_code, warehouse_code, production_date, lot=""):
        require_staff(info)
        warehouse = Warehouse.objects.filter(code=warehouse_code.strip()).first()
        if warehouse is None:
            raise DomainError(
                _("No warehouse has this code."), code="NOT_FOUND", field="warehouseCode"
            )
        row = services.set_production_date(
            sku=_sku(sku_code), warehouse=warehouse, production_date=production_date, lot=lot or ""
        )
        return cls(production_date=row.production_date)


def _dealer(info, dealer_id):
    from core.orders.schema import _dealer as order_dealer

    return order_dealer(info, dealer_id)


class Query(graphene.ObjectType):
    food_product_info = graphene.List(
        graphene.NonNull(FoodProductInfoType),
        required=True,
        sku_codes=graphene.List(graphene.NonNull(graphene.String), required=True),
        dealer_id=graphene.ID(description="Staff and sales reps: the dealer to price for."),
        description="Case/unit policy, case and unit prices for the dealer, shelf life and "
        "best-before of the stock it would get, per SKU (food & beverage plugin). SKUs the "
        "dealer may not order are left out.",
    )

    def resolve_food_product_info(root, info, sku_codes, dealer_id=None):
        require_user(info)
        if len(sku_codes) > 200:
            raise DomainError(
                _("Ask for at most 200 SKUs at once."), code="INVALID", field="skuCodes"
            )
        dealer = _dealer(info, dealer_id)
        tenant = getattr(info.context, "tenant", None) or connection.tenant
        return selectors.product_info(tenant=tenant, dealer=dealer, sku_codes=sku_codes)


class Mutation(graphene.ObjectType):
    food_set_sku_policy = FoodSetSkuPolicy.Field()
    food_set_production_date = FoodSetProductionDate.Field()
