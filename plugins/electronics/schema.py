"""GraphQL fields of the electronics plugin. The platform gates every field here:
a tenant without the plugin gets ``PLUGIN_DISABLED`` and no data."""

from __future__ import annotations

from typing import Any

import graphene
from django.utils.translation import gettext as _
from graphql_relay import from_global_id

from core.api.types import BaseMutation, error_type, require_scope
from core.catalog import schema as catalog_schema
from core.catalog.models import Category, Sku
from core.exceptions import DomainError
from core.pricing.schema import SkuPriceType, _sku_price
from search.schema import AttributeFacetType, FacetBucketType, FacetValueType

from . import selectors, services
from .models import Match, PartParameter, ReelMode, ReelRule
from .units import BASE_UNITS, PARSE_ERROR_CODES, Quantity

ERROR_CODES = sorted(
    {
        "INVALID",
        "NOT_FOUND",
        "DUPLICATE",
        services.UNKNOWN_PARAMETER,
        services.PARAMETER_IN_USE,
        *PARSE_ERROR_CODES,
        "UNKNOWN_FILTER",
        "INVALID_RANGE",
        "QUERY_TOO_LONG",
        "TOO_LONG",
    }
)
ElectronicsError = error_type(
    "Electronics",
    ERROR_CODES,
    "Why electronics input was refused; ``field`` names the parameter or input.",
)
QuantityEnum = graphene.Enum(
    "ElectronicsQuantity",
    [(q.name, q.value) for q in Quantity],
    description="The kind of a parameter: how values are parsed, stored and compared.",
)
MatchEnum = graphene.Enum(
    "ElectronicsMatch",
    [(m.name, m.value) for m in Match],
    description="How alternates compare a parameter.",
)
ReelModeEnum = graphene.Enum(
    "ElectronicsReelMode",
    [(m.name, m.value) for m in ReelMode],
    description="ANY (cut tape), REEL_ONLY, or CUT_TAPE_FROM a quantity.",
)


def _value(enum_value: Any) -> Any:
    return getattr(enum_value, "value", enum_value)


# --- types ---------------------------------------------------------------------------------
class ParameterDefinitionType(graphene.ObjectType):
    class Meta:
        name = "ElectronicsParameterDefinition"
        description = "A parameter the parts of a category carry."

    code = graphene.String(required=True)
    label = graphene.String(required=True)
    quantity = graphene.Field(QuantityEnum, required=True)
    unit = graphene.String(required=True, description="The SI unit values are stored in.")
    display_unit = graphene.String(required=True)
    match = graphene.Field(MatchEnum, required=True)
    required = graphene.Boolean(required=True)
    search_fields = graphene.List(
        graphene.NonNull(graphene.String),
        required=True,
        description="The search attribute keys to filter on (two for a range).",
    )

    @staticmethod
    def of(definition) -> ParameterDefinitionType:
        quantity = Quantity(definition.quantity)
        return ParameterDefinitionType(
            code=definition.code,
            label=definition.label,
            quantity=quantity.value,
            unit=BASE_UNITS.get(quantity, ""),
            display_unit=definition.display_unit,
            match=definition.match_rule,
            required=definition.required,
            search_fields=selectors.field_names(definition.code, quantity),
        )


class ParameterValueType(graphene.ObjectType):
    class Meta:
        name = "ElectronicsParameterValue"
        description = "A part's normalised parameter value."

    code = graphene.String(required=True)
    label = graphene.String(required=True)
    quantity = graphene.Field(QuantityEnum, required=True)
    value = graphene.Float(description="In the SI unit (Ω, F, H, V, A, W, Hz), % or °C.")
    value_max = graphene.Float(description="The top of a range.")
    exact = graphene.String(description="The exact decimal of value.")
    text = graphene.String(required=True, description="Packages and choices.")
    unit = graphene.String(required=True)
    display = graphene.String(required=True, description="e.g. 10kΩ, 100nF, -40~85°C.")
    raw = graphene.String(required=True, description="As entered.")

    @staticmethod
    def of(row: PartParameter, definitions: dict) -> ParameterValueType:
        definition = definitions.get(row.code)
        return ParameterValueType(
            code=row.code,
            label=definition.label if definition else row.code,
            quantity=row.quantity,
            value=float(row.value) if row.value is not None else None,
            value_max=float(row.value_max) if row.value_max is not None else None,
            exact=format(row.value.normalize(), "f") if row.value is not None else None,
            text=row.text,
            unit=BASE_UNITS.get(Quantity(row.quantity), ""),
            display=selectors.display(row, definition),
            raw=row.raw,
        )


class ReelRuleType(graphene.ObjectType):
    class Meta:
        name = "ElectronicsReelRule"
        description = "How a SKU may be ordered, in base units."

    reel_quantity = graphene.Int()
    mode = graphene.Field(ReelModeEnum, required=True)
    cut_tape_from = graphene.Int()
    minimum_quantity = graphene.Int(required=True)

    @staticmethod
    def of(rule: ReelRule | None) -> ReelRuleType | None:
        if rule is None:
            return None
        return ReelRuleType(
            reel_quantity=rule.reel_quantity,
            mode=rule.mode,
            cut_tape_from=rule.cut_tape_from,
            minimum_quantity=rule.minimum_quantity,
        )


class PartType(graphene.ObjectType):
    class Meta:
        name = "ElectronicsPart"
        description = "A SKU with its product's parameters and its reel rule."

    sku_code = graphene.String(required=True)
    product_name = graphene.String(required=True)
    category = graphene.String()
    parameters = graphene.List(graphene.NonNull(ParameterValueType), required=True)
    reel_rule = graphene.Field(ReelRuleType)

    @staticmethod
    def of(sku: Sku, rows: dict, definitions: dict, rule: ReelRule | None) -> PartType:
        order = list(definitions)
        ordered = sorted(
            rows.values(),
            key=lambda r: (order.index(r.code) if r.code in order else len(order), r.code),
        )
        product = sku.product
        return PartType(
            sku_code=sku.code,
            product_name=product.name,
            category=product.category.name if product.category_id else None,
            parameters=[ParameterValueType.of(r, definitions) for r in ordered],
            reel_rule=ReelRuleType.of(rule),
        )


class AlternateType(graphene.ObjectType):
    class Meta:
        name = "ElectronicsAlternate"
        description = "An orderable part whose parameters match."

    part = graphene.Field(PartType, required=True)
    price = graphene.Field(SkuPriceType, description="The dealer's price; null without a dealer.")
    available = graphene.Int(required=True, description="Base units available to order now.")


class AlternatesResultType(graphene.ObjectType):
    class Meta:
        name = "ElectronicsAlternatesResult"

    part = graphene.Field(PartType)
    alternates = graphene.List(graphene.NonNull(AlternateType), required=True)
    errors = graphene.List(graphene.NonNull(ElectronicsError), required=True)


class FilterInput(graphene.InputObjectType):
    class Meta:
        name = "ElectronicsFilterInput"
        description = (
            "A parametric filter as typed: a range (min/max such as 9.9k, 100nF, -40°C) "
            "or a set of values (packages, choices)."
        )

    parameter = graphene.String(required=True, description="e.g. resistance, package.")
    min = graphene.String()
    max = graphene.String()
    values = graphene.List(graphene.NonNull(graphene.String))


class SearchHitType(graphene.ObjectType):
    class Meta:
        name = "ElectronicsSearchHit"

    product_id = graphene.ID(required=True, description="The product's global id.")
    name = graphene.String(required=True)
    in_stock = graphene.Boolean(required=True)
    sku_codes = graphene.List(graphene.NonNull(graphene.String), required=True)
    parameters = graphene.List(graphene.NonNull(ParameterValueType), required=True)
    price = graphene.Field(SkuPriceType, description="The dealer's lowest price of its SKUs.")


class SearchPayload(graphene.ObjectType):
    class Meta:
        name = "ElectronicsSearchResult"

    total = graphene.Int(required=True)
    hits = graphene.List(graphene.NonNull(SearchHitType), required=True)
    facets = graphene.List(
        graphene.NonNull(AttributeFacetType),
        required=True,
        description="Per parameter: value counts (sets), min/max and histogram buckets "
        "(ranges, in SI units).",
    )
    errors = graphene.List(graphene.NonNull(ElectronicsError), required=True)


def _error(exc: DomainError) -> Any:
    errors = getattr(exc, "errors", None) or [exc]
    return [
        ElectronicsError(
            field=e.field,
            message=e.message,
            code=e.code if e.code in ElectronicsError.codes else "INVALID",
        )
        for e in errors
    ]


def _part(sku: Sku) -> PartType:
    rows = selectors.parameters_by_product([sku.product_id]).get(sku.product_id, {})
    definitions = selectors.category_parameters(sku.product.category)
    return PartType.of(sku, rows, definitions, selectors.reel_rules([sku.pk]).get(sku.pk))


def _visible_sku(info, code: str) -> Sku | None:
    """The SKU, when the viewing dealer (if any) may see its product."""
    sku = Sku.objects.select_related("product", "product__category").filter(code=code).first()
    if sku is None:
        return None
    dealer = catalog_schema.viewing_dealer(info)
    if dealer is not None:
        from core.catalog.selectors import authorised_products

        if not authorised_products(dealer).filter(pk=sku.product_id).exists():
            return None
    return sku


class Query(graphene.ObjectType):
    electronics_parameters = graphene.List(
        graphene.NonNull(ParameterDefinitionType),
        required=True,
        category_id=graphene.ID(description="A category (with its ancestors'); all when omitted."),
        description="Parameters parts carry (electronics plugin).",
    )
    electronics_part = graphene.Field(
        PartType,
        sku_code=graphene.String(required=True),
        description="A part's parameters and reel rule (electronics plugin).",
    )
    electronics_alternates = graphene.Field(
        AlternatesResultType,
        required=True,
        sku_code=graphene.String(required=True),
        first=graphene.Int(description="At most this many (the tenant's setting by default)."),
        in_stock_only=graphene.Boolean(default_value=False),
        for_dealer_id=graphene.ID(description="Staff and sales reps: as this dealer."),
        description="Orderable parts with matching parameters, with the dealer's price and "
        "availability (electronics plugin).",
    )
    electronics_search = graphene.Field(
        SearchPayload,
        required=True,
        filters=graphene.List(graphene.NonNull(FilterInput), required=True),
        text=graphene.String(),
        category_ids=graphene.List(graphene.NonNull(graphene.ID)),
        in_stock_only=graphene.Boolean(default_value=False),
        first=graphene.Int(default_value=20),
        offset=graphene.Int(default_value=0),
        for_dealer_id=graphene.ID(),
        description="Parametric search: ranges and sets as typed (9.9k to 10.1k; 0603, 0402), "
        "with facet counts of every parameter (electronics plugin).",
    )

    def resolve_electronics_parameters(root, info, category_id=None):
        catalog_schema.require_catalog_reader(info)
        if category_id:
            category = Category.objects.filter(pk=_pk(category_id)).first()
            if category is None:
                return []
            definitions = selectors.category_parameters(category)
        else:
            definitions = selectors.all_parameters()
        return [ParameterDefinitionType.of(d) for d in definitions.values()]

    def resolve_electronics_part(root, info, sku_code):
        catalog_schema.require_catalog_reader(info)
        sku = _visible_sku(info, sku_code)
        return _part(sku) if sku is not None else None

    def resolve_electronics_alternates(
        root, info, sku_code, first=None, in_stock_only=False, for_dealer_id=None
    ):
        from plugins.schema import current_tenant
        from plugins.services import plugin_settings

        catalog_schema.require_catalog_reader(info)
        catalog_schema._choose_dealer(info, for_dealer_id)
        dealer = catalog_schema.viewing_dealer(info)
        sku = _visible_sku(info, sku_code)
        if sku is None:
            return AlternatesResultType(
                part=None,
                alternates=[],
                errors=[
                    ElectronicsError(
                        field="skuCode", message=_("No part has this code."), code="NOT_FOUND"
                    )
                ],
            )
        limit = (
            first
            or plugin_settings(tenant=current_tenant(info), name="electronics")["alternates_limit"]
        )
        found = selectors.alternates(
            sku, dealer=dealer, limit=limit, in_stock_only=bool(in_stock_only)
        )
        rules = selectors.reel_rules([a.sku.pk for a in found])
        return AlternatesResultType(
            part=_part(sku),
            alternates=[
                AlternateType(
                    part=PartType.of(a.sku, a.parameters, a.definitions, rules.get(a.sku.pk)),
                    price=_sku_price(a.sku.code, a.price) if a.price is not None else None,
                    available=a.available,
                )
                for a in found
            ],
            errors=[],
        )

    def resolve_electronics_search(
        root,
        info,
        filters,
        text=None,
        category_ids=None,
        in_stock_only=False,
        first=20,
        offset=0,
        for_dealer_id=None,
    ):
        catalog_schema.require_catalog_reader(info)
        catalog_schema._choose_dealer(info, for_dealer_id)
        dealer = catalog_schema.viewing_dealer(info)
        try:
            result = selectors.parametric_search(
                [
                    selectors.ParameterFilter(
                        parameter=f.parameter, min=f.min, max=f.max, values=tuple(f.values or ())
                    )
                    for f in filters
                ],
                dealer=dealer,
                text=text or "",
                category_ids=tuple(p for p in (_pk(c) for c in category_ids or ()) if p),
                in_stock_only=bool(in_stock_only),
                limit=first,
                offset=offset,
            )
        except DomainError as exc:
            return SearchPayload(total=0, hits=[], facets=[], errors=_error(exc))
        return SearchPayload(
            total=result.total,
            hits=_hits(result, dealer),
            facets=[_facet(f) for f in result.attributes],
            errors=[],
        )


def _hits(result, dealer) -> list[SearchHitType]:
    """The page's products with parameters and the dealer's prices: four queries."""
    from graphql_relay import to_global_id

    from core.catalog.models import Product
    from core.pricing.selectors import price_products_for_dealer

    ids = [h.product_id for h in result.hits]
    products = Product.objects.select_related("category").prefetch_related("skus").in_bulk(ids)
    rows = selectors.parameters_by_product(ids)
    all_definitions = selectors.all_parameters()
    sku_ids = [s.pk for p in products.values() for s in p.skus.all() if s.is_active]
    prices = price_products_for_dealer(dealer, sku_ids) if dealer is not None and sku_ids else {}
    hits = []
    for hit in result.hits:
        product = products.get(hit.product_id)
        if product is None:
            continue
        skus = [s for s in product.skus.all() if s.is_active]
        priced = [(prices[s.pk], s.code) for s in skus if s.pk in prices]
        best = min(priced, key=lambda p: p[0].unit_price) if priced else None
        hits.append(
            SearchHitType(
                product_id=to_global_id("Product", product.pk),
                name=product.name,
                in_stock=hit.in_stock,
                sku_codes=[s.code for s in skus],
                parameters=[
                    ParameterValueType.of(r, all_definitions)
                    for _code, r in sorted(rows.get(product.pk, {}).items())
                ],
                price=_sku_price(best[1], best[0]) if best else None,
            )
        )
    return hits


def _facet(f) -> AttributeFacetType:
    return AttributeFacetType(
        key=f.key,
        label=f.label or f.key,
        kind=str(f.kind),
        unit=f.unit,
        values=[FacetValueType(value=v.value, label=v.value, count=v.count) for v in f.values],
        min=f.min,
        max=f.max,
        buckets=[FacetBucketType(lower=b.lower, upper=b.upper, count=b.count) for b in f.buckets],
    )


def _pk(value: str) -> int | None:
    """The database id in a plain or global id; ``None`` (finds nothing) when malformed
    or outside the ``bigint`` column (raw SQL would fail on it)."""
    raw = str(value).strip()
    if not (raw.isascii() and raw.isdigit()):
        try:
            raw = from_global_id(raw)[1]
        except Exception:  # noqa: BLE001 - a malformed id finds nothing
            return None
        if not (raw.isascii() and raw.isdigit()):
            return None
    pk = int(raw)
    return pk if 0 < pk < 2**63 else None


# --- mutations -------------------------------------------------------------------------------
class ParameterValueInput(graphene.InputObjectType):
    class Meta:
        name = "ElectronicsParameterInput"

    code = graphene.String(required=True)
    value = graphene.String(description="As typed (10k, 0.1µF, ±1%, -40~85°C); empty removes it.")


class DefineParameter(BaseMutation, error_type=ElectronicsError):
    """Declare or change a parameter of a category's parts. Staff (``catalog:write``)."""

    class Meta:
        name = "ElectronicsDefineParameter"

    class Arguments:
        category_id = graphene.ID(required=True)
        code = graphene.String(required=True)
        label = graphene.String(required=True)
        quantity = QuantityEnum(required=True)
        display_unit = graphene.String(default_value="")
        match = MatchEnum()
        required = graphene.Boolean(default_value=False)
        position = graphene.Int(default_value=0)

    parameter = graphene.Field(ParameterDefinitionType)

    @classmethod
    def perform(
        cls,
        root,
        info,
        category_id,
        code,
        label,
        quantity,
        display_unit="",
        match=None,
        required=False,
        position=0,
    ):
        require_scope(info, "catalog:write")
        category = Category.objects.filter(pk=_pk(category_id)).first()
        if category is None:
            raise DomainError(_("No such category."), code="NOT_FOUND", field="categoryId")
        row = services.define_parameter(
            category=category,
            code=code,
            label=label,
            quantity=_value(quantity),
            display_unit=display_unit,
            match=_value(match) or "",
            required=required,
            position=position,
        )
        return cls(parameter=ParameterDefinitionType.of(row))


class SetPartParameters(BaseMutation, error_type=ElectronicsError):
    """Set a part's parameters from typed values, normalised; every bad value is
    reported (``UNKNOWN_UNIT``, ``WRONG_QUANTITY`` … with ``field`` = the parameter)
    and nothing is saved. Staff (``catalog:write``)."""

    class Meta:
        name = "ElectronicsSetPartParameters"

    class Arguments:
        sku_code = graphene.String(required=True)
        parameters = graphene.List(graphene.NonNull(ParameterValueInput), required=True)
        replace = graphene.Boolean(default_value=False, description="Remove parameters not given.")

    part = graphene.Field(PartType)

    @classmethod
    def perform(cls, root, info, sku_code, parameters, replace=False):
        require_scope(info, "catalog:write")
        sku = (
            Sku.objects.select_related("product", "product__category").filter(code=sku_code).first()
        )
        if sku is None:
            raise DomainError(_("No part has this code."), code="NOT_FOUND", field="skuCode")
        values: dict[str, Any] = {}
        for i, p in enumerate(parameters):
            if p.code in values:  # a dict would keep only the last value, silently
                raise DomainError(
                    _("The parameter %(code)s is given twice.") % {"code": p.code[:40]},
                    code="DUPLICATE",
                    field=f"parameters.{i}.code",
                )
            values[p.code] = p.value
        services.set_part_parameters(product=sku.product, values=values, replace=replace)
        return cls(part=_part(sku))


class SetReelRule(BaseMutation, error_type=ElectronicsError):
    """Set a SKU's reel quantity, cut-tape rule and minimum order. Staff (``catalog:write``)."""

    class Meta:
        name = "ElectronicsSetReelRule"

    class Arguments:
        sku_code = graphene.String(required=True)
        reel_quantity = graphene.Int()
        mode = ReelModeEnum(required=True)
        cut_tape_from = graphene.Int()
        minimum_quantity = graphene.Int(default_value=1)

    reel_rule = graphene.Field(ReelRuleType)

    @classmethod
    def perform(
        cls, root, info, sku_code, mode, reel_quantity=None, cut_tape_from=None, minimum_quantity=1
    ):
        require_scope(info, "catalog:write")
        sku = Sku.objects.filter(code=sku_code).first()
        if sku is None:
            raise DomainError(_("No part has this code."), code="NOT_FOUND", field="skuCode")
        rule = services.set_reel_rule(
            sku=sku,
            reel_quantity=reel_quantity,
            mode=_value(mode),
            cut_tape_from=cut_tape_from,
            minimum_quantity=minimum_quantity,
        )
        return cls(reel_rule=ReelRuleType.of(rule))


class Mutation(graphene.ObjectType):
    electronics_define_parameter = DefineParameter.Field()
    electronics_set_part_parameters = SetPartParameters.Field()
    electronics_set_reel_rule = SetReelRule.Field()
