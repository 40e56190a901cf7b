"""GraphQL for the catalogue: products for dealers (scoped to their authorised
catalogue, with their prices), categories, brands, SKU look-up, staff mutations.

A product a dealer may not see is in no response for that dealer: the
``products`` list, ``node(id)`` and ``skuLookup`` all filter through
:func:`core.catalog.selectors.catalogue_q`.

Prices come from :func:`core.pricing.selectors.price_products_for_dealer`,
called once per page through :class:`PriceLoader` (see ``dataloaders.py``).
"""

from __future__ import annotations

from functools import partial

import graphene
from django.utils.translation import gettext as _
from graphene import relay
from graphene.types.generic import GenericScalar
from graphene_django import DjangoConnectionField, DjangoObjectType
from graphql import GraphQLError

from core.accounts.schema import (
    CamelErrorsMutation,
    api_key_of,
    decode_id,
    visible_dealer,
)
from core.api.execution import NeedsInfo, reads_root_first, reads_root_only
from core.api.types import (
    CountableConnection,
    current_user,
    error_type,
    require_scope,
    require_user,
)
from core.api.view import after_operation, operation_cache
from core.exceptions import DomainError, NotFound
from core.pricing.schema import PriceBreakType, PromotionSummaryType, SkuPriceType

from . import selectors, services
from .dataloaders import price_for, prices_for_page, remember_page, send_page_prices
from .models import Brand, Catalogue, Category, Product, ProductImage, ProductStatus, Sku, SkuUnit

ProductStatusEnum = graphene.Enum(
    "ProductStatusInput",
    [("DRAFT", "draft"), ("ACTIVE", "active"), ("DISCONTINUED", "discontinued")],
    description="A product's lifecycle status, as input.",
)
ProductSortEnum = graphene.Enum(
    "ProductSort",
    [
        ("OLDEST", "oldest"),
        ("NEWEST", "newest"),
        ("NAME", "name"),
        ("NAME_DESC", "-name"),
        ("CODE", "code"),
    ],
    description="How to order products.",
)

CatalogError = error_type(
    "Catalog",
    [
        "INVALID",
        "REQUIRED",
        "TOO_LONG",
        "TAKEN",
        "NOT_FOUND",
        "DUPLICATE",
        "INVALID_GTIN",
        "GTIN_TAKEN",
        "UNKNOWN_CATEGORY",
        "UNKNOWN_BRAND",
        "UNKNOWN_ATTRIBUTE",
        "INVALID_CHOICE",
        "INVALID_FACTOR",
        "INVALID_QUANTITY",
        "INVALID_PARENT",
        "SKU_OF_OTHER_PRODUCT",
        "PLAN_LIMIT_EXCEEDED",
        "PERMISSION_DENIED",
        "TOO_MANY",
    ],
    "An error from changing the catalogue.",
)
SkuLookupErrorCode = graphene.Enum(
    "SkuLookupErrorCode",
    [(c, c) for c in ("UNKNOWN_SKU", "UNKNOWN_UNIT", "SKU_INACTIVE", "REQUIRED")],
)
BULK_LIMIT = 500


# --- the caller's view ----------------------------------------------------------------------
def _root_key(info):
    """The response key of the root field this resolver runs under."""
    path = info.path
    while path.prev is not None:
        path = path.prev
    return path.key


def remember_chosen_dealer(info, dealer) -> None:
    """Record the dealer a staff user or sales rep chose (``forDealerId``) for the
    root field being resolved: what :func:`viewing_dealer` answers below that field,
    and only there (not for other fields of the query, nor other operations)."""
    operation_cache(info.context).setdefault("catalog_dealers", {})[_root_key(info)] = dealer


def viewing_dealer(info):
    """The dealer whose catalogue and prices this field shows: the one a staff user
    or sales rep chose with ``forDealerId`` on the root field it runs under, else a
    dealer user's own; None for staff and integrations (everything, no prices)."""
    chosen = operation_cache(info.context).get("catalog_dealers")
    if chosen:
        dealer = chosen.get(_root_key(info))
        if dealer is not None:
            return dealer
    user = current_user(info)
    if user is not None and user.is_dealer_user:
        return user.dealer
    return None


def require_catalog_reader(info):
    if api_key_of(info) is not None:
        require_scope(info, "catalog:read")
    else:
        require_user(info)


def _selected_names(info) -> set[str]:
    """The names of the fields the query selects anywhere below this field: one walk
    answers each "does the query show X?" of a resolver (``"units" in names``)."""
    names: set[str] = set()
    fragments = info.fragments
    for node in info.field_nodes:
        _collect_names(node.selection_set, fragments, names)
    return names


def _collect_names(selection_set, fragments, names: set[str]) -> None:
    # A module function rather than a closure calling itself: such a closure is a
    # reference cycle, left for the cyclic collector after every call.
    if selection_set is None:
        return
    for sel in selection_set.selections:
        kind = sel.kind
        if kind == "field":
            names.add(sel.name.value)
            _collect_names(sel.selection_set, fragments, names)
        elif kind == "inline_fragment":
            _collect_names(sel.selection_set, fragments, names)
        elif kind == "fragment_spread":
            fragment = fragments.get(sel.name.value)
            if fragment is not None:
                _collect_names(fragment.selection_set, fragments, names)


# --- types ---------------------------------------------------------------------------------------
class AttributeDefinitionType(graphene.ObjectType):
    class Meta:
        name = "AttributeDefinition"
        description = "A typed attribute a category's products carry."

    code = graphene.String(required=True)
    label = graphene.String(required=True)
    type = graphene.String(required=True, description="text, number, choice or boolean.")
    unit = graphene.String(description="The unit of a number, e.g. V or mm.")
    choices = graphene.List(graphene.NonNull(graphene.String))
    required = graphene.Boolean(required=True)

    @staticmethod
    def resolve_label(root, info):
        return root.get("label") or root["code"]

    @staticmethod
    def resolve_required(root, info):
        return bool(root.get("required"))


class CategoryNode(DjangoObjectType):
    attribute_schema = graphene.List(
        graphene.NonNull(AttributeDefinitionType),
        required=True,
        description="The attributes of this category with those inherited from its parents.",
    )
    depth = graphene.Int(required=True)

    class Meta:
        model = Category
        name = "Category"
        interfaces = (relay.Node,)
        fields = ("name", "slug", "parent")
        description = "A node of the category tree."

    def resolve_attribute_schema(root, info):
        return selectors.effective_attribute_schema(root)


class BrandNode(DjangoObjectType):
    class Meta:
        model = Brand
        name = "Brand"
        interfaces = (relay.Node,)
        fields = ("name",)
        description = "A brand of products."


class ProductImageType(DjangoObjectType):
    src = graphene.String(required=True, description="The image's address.")

    class Meta:
        model = ProductImage
        name = "ProductImage"
        fields = ("alt", "position")
        description = "A picture of a product."

    def resolve_src(root, info):
        return root.src


class SkuUnitType(DjangoObjectType):
    class Meta:
        model = SkuUnit
        name = "SkuUnit"
        fields = ("code", "name", "factor", "gtin", "is_sellable")
        description = "A unit a SKU is counted or sold in; factor = base units per unit."


class SkuType(DjangoObjectType):
    available = graphene.Int(
        required=True, description="Units available to order, in the base unit."
    )
    is_available = graphene.Boolean(
        required=True, description="Whether any unit can be ordered now."
    )
    units = graphene.List(graphene.NonNull(SkuUnitType), required=True)
    attributes = GenericScalar(required=True)
    price = graphene.Field(
        SkuPriceType, description="The viewing dealer's price; null without one."
    )
    quantity_breaks = graphene.List(graphene.NonNull(PriceBreakType), required=True)
    promotions = graphene.List(graphene.NonNull(PromotionSummaryType), required=True)

    class Meta:
        model = Sku
        name = "Sku"
        fields = (
            "code",
            "name",
            "gtin",
            "base_unit",
            "min_order_qty",
            "order_multiple",
            "is_active",
        )
        description = "A sellable variant of a product."

    @reads_root_only
    def resolve_available(root, info):
        return selectors.available_quantity(root)

    @reads_root_only
    def resolve_is_available(root, info):
        return selectors.available_quantity(root) > 0

    def resolve_units(root, info):
        return root.units.all()

    @reads_root_first
    def resolve_price(root, info):
        return _sku_price(root, info)

    @reads_root_first
    def resolve_quantity_breaks(root, info):
        price = _sku_price(root, info)
        return list(price.breaks) if price is not None else []

    @reads_root_first
    def resolve_promotions(root, info):
        price = _sku_price(root, info)
        return list(price.promotions) if price is not None else []


_NOT_ON_A_PAGE = object()


def _sku_price(sku, info):
    """The viewing dealer's price of ``sku``: the one the products page put on it
    (:func:`_put_page_prices`, for the dealer of that page), else from the loader,
    which needs ``info`` (:class:`NeedsInfo` without it)."""
    price = sku.__dict__.get("_page_price", _NOT_ON_A_PAGE)
    if price is not _NOT_ON_A_PAGE:
        return price
    if info is None:
        raise NeedsInfo
    return price_for(info, viewing_dealer(info), sku)


def _put_page_prices(info, products) -> None:
    """Price the page's SKUs for the viewing dealer now (the loader's few statements)
    and put each price on its SKU, so completing a SKU reads it from there (an object
    of this operation, for this dealer: the page's dealer is the one its fields see)."""
    skus = [sku for product in products for sku in _skus_of(product)]
    for sku, price in zip(skus, prices_for_page(info, viewing_dealer(info), skus), strict=True):
        sku._page_price = price


# Product columns a page that does not show them need not read: (GraphQL field, column).
_DEFERRABLE = (
    ("description", "description"),
    ("attributes", "attributes"),
    ("createdAt", "created_at"),
    ("updatedAt", "updated_at"),
    ("taxRate", "tax_rate"),
)


def _skus_of(product):
    """The product's SKUs: the page's prefetched list when there is one (no related
    manager built per product and field), else ``product.skus.all()``."""
    prefetched = getattr(product, "_prefetched_objects_cache", None)
    if prefetched is not None:
        skus = prefetched.get("skus")
        if skus is not None and skus._result_cache is not None:
            return skus._result_cache
    return product.skus.all()


class ProductNode(DjangoObjectType):
    skus = graphene.List(graphene.NonNull(SkuType), required=True)
    images = graphene.List(graphene.NonNull(ProductImageType), required=True)
    attributes = GenericScalar(required=True)
    tax_rate = graphene.Decimal(required=True, description="VAT rate orders apply, e.g. 0.13.")
    is_available = graphene.Boolean(
        required=True, description="Whether any SKU can be ordered now."
    )
    price = graphene.Field(SkuPriceType, description="The lowest price among the product's SKUs.")
    quantity_breaks = graphene.List(
        graphene.NonNull(PriceBreakType),
        required=True,
        description="Breaks of the lowest-priced SKU.",
    )
    promotions = graphene.List(
        graphene.NonNull(PromotionSummaryType),
        required=True,
        description="Promotions touching any of the product's SKUs.",
    )

    class Meta:
        model = Product
        name = "Product"
        interfaces = (relay.Node,)
        fields = (
            "code",
            "name",
            "description",
            "status",
            "created_at",
            "updated_at",
            "category",
            "brand",
        )
        connection_class = CountableConnection
        description = "A product in the tenant's catalogue."

    @classmethod
    def get_queryset(cls, queryset, info):
        """What the caller may see: a dealer (or one acted for) its authorised, active
        catalogue; staff and integrations everything."""
        require_catalog_reader(info)
        if getattr(queryset, "_scoped_for_caller", False):  # products() scoped it already
            return queryset
        dealer = viewing_dealer(info)
        user = current_user(info)
        if dealer is not None:
            return queryset.filter(selectors.catalogue_q(dealer), status=ProductStatus.ACTIVE)
        if api_key_of(info) is None and user is not None and not user.is_staff_role:
            return queryset.filter(status=ProductStatus.ACTIVE)
        return queryset

    @reads_root_only
    def resolve_skus(root, info):
        return _skus_of(root)

    def resolve_images(root, info):
        return root.images.all()

    @reads_root_only
    def resolve_is_available(root, info):
        available = selectors.available_quantity
        for sku in _skus_of(root):
            if available(sku) > 0:
                return True
        return False

    @staticmethod
    def _prices(root, info):
        dealer = viewing_dealer(info)
        prices = [price_for(info, dealer, s) for s in _skus_of(root)]
        return [p for p in prices if p is not None]

    def resolve_price(root, info):
        prices = ProductNode._prices(root, info)
        return min(prices, key=lambda p: p.unit_price) if prices else None

    def resolve_quantity_breaks(root, info):
        best = ProductNode.resolve_price(root, info)
        return list(best.breaks) if best is not None else []

    def resolve_promotions(root, info):
        seen, out = set(), []
        for price in ProductNode._prices(root, info):
            for promo in price.promotions:
                if promo.code not in seen:
                    seen.add(promo.code)
                    out.append(promo)
        return out


class ProductConnectionField(DjangoConnectionField):
    """Products with the page's SKUs handed to the price loader in one batch.

    Forward pages (``first``/``after``) that do not ask for ``totalCount`` skip
    the ``COUNT(*)``: one row more than the page tells whether there is a next.
    """

    @classmethod
    def connection_resolver(
        cls,
        resolver,
        connection,
        default_manager,
        queryset_resolver,
        max_limit,
        enforce_first_or_last,
        root,
        info,
        **args,
    ):
        from graphql_relay import cursor_to_offset

        if (
            args.get("last")
            or args.get("before")
            or args.get("offset") is not None
            # unusual input answered as graphene-django answers it: a non-positive
            # ``first``, a cursor that is not one of ours
            or (args.get("first") is not None and args["first"] <= 0)
            or (args.get("after") and cursor_to_offset(args["after"]) is None)
            or _selects_here(info, "totalCount")
        ):
            resolve_page = super().connection_resolver
        else:
            resolve_page = _forward_page
        priced = not _selected_names(info).isdisjoint(("price", "promotions", "quantityBreaks"))
        sent: list[bool] = []
        if priced and resolve_page is _forward_page:
            # The page's pricing statement is sent as soon as the listing's rows are in,
            # and runs in PostgreSQL while the page's objects are built.
            def send_prices(facts) -> None:
                sent.append(send_page_prices(info, viewing_dealer(info), facts))

            resolve_page = partial(_forward_page, on_rows=send_prices)
        result = resolve_page(
            resolver,
            connection,
            default_manager,
            queryset_resolver,
            max_limit,
            enforce_first_or_last,
            root,
            info,
            **args,
        )
        if hasattr(result, "edges"):
            products = [edge.node for edge in result.edges]
            if sent != [True]:  # otherwise noted from the listing's rows
                remember_page(info, products)
            if priced:
                _put_page_prices(info, products)
            # Once the response is built, nothing reads the page's products: break their
            # cycles with their SKUs, so refcounting frees them (see release_page).
            after_operation(info.context, partial(selectors.release_page, products))
        return result


def _selects_here(info, name: str) -> bool:
    """Is ``name`` selected directly on this field (not deeper)?"""
    for node in info.field_nodes:
        for sel in node.selection_set.selections if node.selection_set else ():
            if sel.kind == "field" and sel.name.value == name:
                return True
            if sel.kind in ("inline_fragment", "fragment_spread"):
                return True  # be safe: let the standard resolver handle fragments
    return False


def _forward_page(
    resolver,
    connection,
    default_manager,
    queryset_resolver,
    max_limit,
    enforce_first_or_last,  # False in settings; a forward page has ``first`` or the limit
    root,
    info,
    *,
    on_rows=None,
    **args,
):
    from graphql_relay import cursor_to_offset, offset_to_cursor

    first = args.get("first")
    if first is not None and max_limit and first > max_limit:
        raise GraphQLError(
            f"Requesting {first} records on the `{info.field_name}` connection exceeds the `first` "
            f"limit of {max_limit} records."
        )
    first = min(first or max_limit, max_limit) if max_limit else (first or 100)
    iterable = resolver(root, info, **args)
    if iterable is None:
        iterable = default_manager
    iterable = queryset_resolver(connection, iterable, info, args)
    after = args.get("after")
    start = (cursor_to_offset(after) + 1) if after else 0
    page_rows = None
    if on_rows is not None:  # the page's own rows, not the one telling there is a next

        def page_rows(facts):
            on_rows(facts[:first])

    rows = selectors.listing_slice(iterable, start, start + first + 1, on_rows=page_rows)
    has_next = len(rows) > first
    selectors.release_page(rows[first:])  # the row that only told there is a next page
    rows = rows[:first]
    edges = [
        connection.Edge(node=node, cursor=offset_to_cursor(start + i))
        for i, node in enumerate(rows)
    ]
    page_info = graphene.relay.PageInfo(
        start_cursor=edges[0].cursor if edges else None,
        end_cursor=edges[-1].cursor if edges else None,
        has_previous_page=start > 0,
        has_next_page=has_next,
    )
    result = connection(edges=edges, page_info=page_info)
    result.iterable = iterable
    result.length = None
    return result


# --- queries ------------------------------------------------------------------------------------
class ProductAttributeFilterInput(graphene.InputObjectType):
    code = graphene.String(required=True)
    eq = GenericScalar(description="Equal to (text, number, choice, boolean).")
    any_of = GenericScalar(name="in", description="One of these values.")
    min = graphene.Float()
    max = graphene.Float()


class SkuLookupResult(graphene.ObjectType):
    class Meta:
        description = "What a typed or scanned code stands for."

    query = graphene.String(required=True)
    sku = graphene.Field(SkuType)
    unit = graphene.Field(SkuUnitType)
    error_code = graphene.Field(SkuLookupErrorCode)
    message = graphene.String()
    suggestions = graphene.List(graphene.NonNull(graphene.String), required=True)


class Query(graphene.ObjectType):
    products = ProductConnectionField(
        ProductNode,
        search=graphene.String(
            description="Words in the name, a product or SKU code prefix, a barcode."
        ),
        category_id=graphene.ID(description="This category and its subcategories."),
        brand_ids=graphene.List(graphene.NonNull(graphene.ID)),
        attributes=graphene.List(graphene.NonNull(ProductAttributeFilterInput)),
        sort_by=ProductSortEnum(),
        for_dealer_id=graphene.ID(
            description="Staff and sales reps: show this dealer's catalogue and prices."
        ),
        include_inactive=graphene.Boolean(
            description="Staff: drafts and discontinued products too."
        ),
        description="Products the caller may order, with availability and the dealer's prices.",
    )
    categories = graphene.List(
        graphene.NonNull(CategoryNode),
        required=True,
        description="The whole category tree, in tree order.",
    )
    brands = graphene.List(graphene.NonNull(BrandNode), required=True)
    sku_lookup = graphene.List(
        graphene.NonNull(SkuLookupResult),
        required=True,
        codes=graphene.List(graphene.NonNull(graphene.String), required=True),
        for_dealer_id=graphene.ID(),
        description="Resolve SKU codes, CODE/unit or barcodes (quick order, scanning), at most 200.",
    )

    def resolve_products(
        root,
        info,
        search=None,
        category_id=None,
        brand_ids=None,
        attributes=None,
        sort_by=None,
        for_dealer_id=None,
        include_inactive=False,
        **kwargs,
    ):
        require_catalog_reader(info)
        _choose_dealer(info, for_dealer_id)
        dealer = viewing_dealer(info)
        user = current_user(info)
        staff = api_key_of(info) is not None or (user is not None and user.is_staff_role)
        filters = [
            {"code": f.code, "eq": f.eq, "in": f.any_of, "min": f.min, "max": f.max}
            for f in (attributes or [])
        ]
        shown = _selected_names(info)
        try:
            qs = selectors.products_for_listing(
                dealer=dealer,
                search=search,
                category_id=decode_id(category_id, "Category", field="category_id"),
                brand_ids=[decode_id(b, "Brand", field="brand_ids") for b in brand_ids or []],
                attributes=filters,
                sort=getattr(sort_by, "value", sort_by) or "oldest",
                include_inactive=bool(include_inactive and staff and dealer is None),
                with_units="units" in shown,
                with_images="images" in shown,
                with_relations="category" in shown or "brand" in shown,
                defer=[column for field, column in _DEFERRABLE if field not in shown],
            )
        except DomainError as exc:
            raise GraphQLError(
                exc.message, extensions={"code": exc.code, "field": exc.field}
            ) from None
        qs._scoped_for_caller = True  # the same scope ProductNode.get_queryset applies
        return qs

    def resolve_categories(root, info):
        require_catalog_reader(info)
        return Category.objects.order_by("path")

    def resolve_brands(root, info):
        require_catalog_reader(info)
        return Brand.objects.all()

    def resolve_sku_lookup(root, info, codes, for_dealer_id=None):
        require_catalog_reader(info)
        if len(codes) > 200:
            raise GraphQLError(
                _("Look up at most 200 codes at once."), extensions={"code": "TOO_MANY"}
            )
        _choose_dealer(info, for_dealer_id)
        results = selectors.resolve_sku_units(codes, dealer=viewing_dealer(info))
        out = []
        for code in codes:
            found = results.get(code.strip())
            if found is None:
                out.append(
                    SkuLookupResult(
                        query=code, error_code="REQUIRED", message=_("Empty code."), suggestions=[]
                    )
                )
            elif isinstance(found, DomainError):
                out.append(
                    SkuLookupResult(
                        query=code,
                        error_code=found.code,
                        message=found.message,
                        suggestions=found.params.get("suggestions", []),
                    )
                )
            else:
                out.append(
                    SkuLookupResult(query=code, sku=found.sku, unit=found.unit, suggestions=[])
                )
        return out


def _choose_dealer(info, for_dealer_id):
    """Staff and sales reps may view the catalogue as a dealer they may act for.

    Each root field chooses for itself (:func:`remember_chosen_dealer`): a field
    without ``forDealerId`` shows the caller's own view, not a dealer another field
    of the same query chose."""
    if not for_dealer_id:
        return
    try:
        dealer = visible_dealer(info, for_dealer_id, field="for_dealer_id")
    except DomainError as exc:
        raise GraphQLError(
            exc.message, extensions={"code": exc.code, "field": "forDealerId"}
        ) from None
    remember_chosen_dealer(info, dealer)


# --- mutations -----------------------------------------------------------------------------------
class UnitInput(graphene.InputObjectType):
    code = graphene.String(required=True, description="each, inner, case, pallet …")
    name = graphene.String()
    factor = graphene.Int(required=True, description="Base units in one of this unit.")
    gtin = graphene.String()
    is_sellable = graphene.Boolean()


class SkuInput(graphene.InputObjectType):
    code = graphene.String(required=True)
    name = graphene.String()
    gtin = graphene.String(
        description="The base unit's barcode (EAN/UPC/GTIN, check digit verified)."
    )
    base_unit = graphene.String()
    min_order_qty = graphene.Int(description="In base units.")
    order_multiple = graphene.Int(description="In base units.")
    attributes = GenericScalar()
    is_active = graphene.Boolean()
    units = graphene.List(graphene.NonNull(UnitInput), description="Upserted by unit code.")


class ProductFieldsInput:
    name = graphene.String()
    category_id = graphene.ID()
    brand_id = graphene.ID()
    description = graphene.String()
    status = ProductStatusEnum()
    tax_rate = graphene.Decimal()
    attributes = GenericScalar(description="Values for the category's attributes: {code: value}.")
    image_urls = graphene.List(
        graphene.NonNull(graphene.String), description="Replaces the URL images."
    )
    skus = graphene.List(graphene.NonNull(SkuInput))


class ProductCreateInput(ProductFieldsInput, graphene.InputObjectType):
    code = graphene.String(description="Generated when omitted.")
    name = graphene.String(required=True)


class ProductUpdateInput(ProductFieldsInput, graphene.InputObjectType):
    pass


class ProductBulkInput(graphene.InputObjectType):
    code = graphene.String(required=True)
    name = graphene.String(required=True)
    category = graphene.String(description="Category slug.")
    brand = graphene.String(description="Brand name.")
    description = graphene.String()
    status = ProductStatusEnum()
    tax_rate = graphene.Decimal()
    attributes = GenericScalar()
    image_urls = graphene.List(graphene.NonNull(graphene.String))
    skus = graphene.List(graphene.NonNull(SkuInput))


def _value(v):
    return getattr(v, "value", v)


def _sku_data(raw) -> dict:
    data = {k: _value(v) for k, v in dict(raw).items() if v is not None and k != "units"}
    if raw.get("units") is not None:
        data["units"] = [{k: v for k, v in dict(u).items() if v is not None} for u in raw["units"]]
    return data


def _product_data(raw, *, by_id: bool) -> dict:
    data: dict = {}
    for key in ("code", "name", "description", "tax_rate", "attributes"):
        if raw.get(key) is not None:
            data[key] = raw[key]
    if raw.get("status") is not None:
        data["status"] = _value(raw["status"])
    if by_id:
        if raw.get("category_id") is not None:
            pk = decode_id(raw["category_id"], "Category", field="category_id")
            category = Category.objects.filter(pk=pk).first()
            if category is None:
                raise DomainError(
                    _("Unknown category."), field="category_id", code="UNKNOWN_CATEGORY"
                )
            data["category"] = category.slug
        if raw.get("brand_id") is not None:
            pk = decode_id(raw["brand_id"], "Brand", field="brand_id")
            brand = Brand.objects.filter(pk=pk).first()
            if brand is None:
                raise DomainError(_("Unknown brand."), field="brand_id", code="UNKNOWN_BRAND")
            data["brand"] = brand.name
    else:
        for key in ("category", "brand"):
            if raw.get(key) is not None:
                data[key] = raw[key]
    if raw.get("image_urls") is not None:
        data["images"] = list(raw["image_urls"])
    if raw.get("skus") is not None:
        data["skus"] = [_sku_data(s) for s in raw["skus"]]
    return data


def _product_by_id(global_id: str) -> Product:
    pk = decode_id(global_id, "Product", field="id")
    product = Product.objects.filter(pk=pk).first()
    if product is None:
        raise NotFound(_("No such product."), field="id")
    return product


class ProductCreate(CamelErrorsMutation, error_type=CatalogError):
    """Create a product with its SKUs and units (staff, or ``catalog:write``)."""

    class Arguments:
        input = ProductCreateInput(required=True)

    product = graphene.Field(ProductNode)

    @classmethod
    def perform(cls, root, info, input):
        require_scope(info, "catalog:write")
        return cls(product=services.create_product(**_product_data(input, by_id=True)))


class ProductUpdate(CamelErrorsMutation, error_type=CatalogError):
    """Change a product; fields left out are kept; SKUs given are created or updated by code."""

    class Arguments:
        id = graphene.ID(required=True)
        input = ProductUpdateInput(required=True)

    product = graphene.Field(ProductNode)

    @classmethod
    def perform(cls, root, info, id, input):
        require_scope(info, "catalog:write")
        product = _product_by_id(id)
        return cls(product=services.update_product(product, **_product_data(input, by_id=True)))


class SkuCreate(CamelErrorsMutation, error_type=CatalogError):
    """Add a SKU (with its units) to a product."""

    class Arguments:
        product_id = graphene.ID(required=True)
        input = SkuInput(required=True)

    sku = graphene.Field(SkuType)

    @classmethod
    def perform(cls, root, info, product_id, input):
        require_scope(info, "catalog:write")
        product = _product_by_id(product_id)
        return cls(sku=services.create_sku(product=product, **_sku_data(input)))


class SkuUpdate(CamelErrorsMutation, error_type=CatalogError):
    """Change a SKU by its code; units given are created or updated by unit code."""

    class Arguments:
        code = graphene.String(required=True)
        input = SkuInput(required=True)

    sku = graphene.Field(SkuType)

    @classmethod
    def perform(cls, root, info, code, input):
        require_scope(info, "catalog:write")
        sku = Sku.objects.select_related("product").filter(code=code).first()
        if sku is None:
            raise NotFound(_("No SKU %(code)s.") % {"code": code}, field="code")
        data = _sku_data(input)
        data.pop("code", None)
        return cls(sku=services.update_sku(sku, **data))


class ProductBulkUpsert(CamelErrorsMutation, error_type=CatalogError):
    """Create or update up to 500 products (by code) with their SKUs, all or nothing.
    Errors name the item: ``products.3.skus.0.gtin``."""

    class Arguments:
        products = graphene.List(graphene.NonNull(ProductBulkInput), required=True)

    created = graphene.Int()
    updated = graphene.Int()
    skus_created = graphene.Int()
    skus_updated = graphene.Int()

    @classmethod
    def perform(cls, root, info, products):
        require_scope(info, "catalog:write")
        if len(products) > BULK_LIMIT:
            raise DomainError(
                _("At most %(n)d products per call.") % {"n": BULK_LIMIT},
                field="products",
                code="TOO_MANY",
            )
        result = services.upsert_products([_product_data(p, by_id=False) for p in products])
        return cls(
            created=result.products_created,
            updated=result.products_updated,
            skus_created=result.skus_created,
            skus_updated=result.skus_updated,
        )


class CategoryInput(graphene.InputObjectType):
    name = graphene.String()
    slug = graphene.String()
    parent_id = graphene.ID()
    make_root = graphene.Boolean()
    attribute_schema = GenericScalar(
        description="A list of {code, label, type, unit, choices, required}."
    )


class CategoryCreate(CamelErrorsMutation, error_type=CatalogError):
    class Arguments:
        input = CategoryInput(required=True)

    category = graphene.Field(CategoryNode)

    @classmethod
    def perform(cls, root, info, input):
        require_scope(info, "catalog:write")
        parent = _category(input.get("parent_id"), field="parent_id")
        return cls(
            category=services.create_category(
                name=input.get("name") or "",
                slug=input.get("slug") or "",
                parent=parent,
                attribute_schema=input.get("attribute_schema"),
            )
        )


class CategoryUpdate(CamelErrorsMutation, error_type=CatalogError):
    class Arguments:
        id = graphene.ID(required=True)
        input = CategoryInput(required=True)

    category = graphene.Field(CategoryNode)

    @classmethod
    def perform(cls, root, info, id, input):
        require_scope(info, "catalog:write")
        category = _category(id, field="id")
        if category is None:  # an empty id names no category
            raise NotFound(_("No such category."), field="id")
        kwargs = {
            k: input[k] for k in ("name", "slug", "attribute_schema") if input.get(k) is not None
        }
        if input.get("parent_id"):
            kwargs["parent"] = _category(input["parent_id"], field="parent_id")
        elif input.get("make_root"):
            kwargs["parent"] = None
        return cls(category=services.update_category(category, **kwargs))


def _category(global_id, *, field: str) -> Category | None:
    pk = decode_id(global_id, "Category", field=field)
    if pk is None:
        return None
    category = Category.objects.filter(pk=pk).first()
    if category is None:
        raise NotFound(_("No such category."), field=field)
    return category


class BrandCreate(CamelErrorsMutation, error_type=CatalogError):
    class Arguments:
        name = graphene.String(required=True)

    brand = graphene.Field(BrandNode)

    @classmethod
    def perform(cls, root, info, name):
        require_scope(info, "catalog:write")
        return cls(brand=services.create_brand(name=name))


class BrandUpdate(CamelErrorsMutation, error_type=CatalogError):
    class Arguments:
        id = graphene.ID(required=True)
        name = graphene.String(required=True)

    brand = graphene.Field(BrandNode)

    @classmethod
    def perform(cls, root, info, id, name):
        require_scope(info, "catalog:write")
        brand = Brand.objects.filter(pk=decode_id(id, "Brand", field="id")).first()
        if brand is None:
            raise NotFound(_("No such brand."), field="id")
        return cls(brand=services.update_brand(brand, name=name))


class CatalogueType(DjangoObjectType):
    class Meta:
        model = Catalogue
        name = "AuthorisedCatalogue"
        fields = ("name", "description")
        description = "What the dealers assigned to it may see and order."


class CatalogueSave(CamelErrorsMutation, error_type=CatalogError):
    """Create (without ``name`` of an existing one) or replace an authorised catalogue."""

    class Arguments:
        name = graphene.String(required=True)
        new_name = graphene.String()
        description = graphene.String()
        category_ids = graphene.List(graphene.NonNull(graphene.ID))
        brand_ids = graphene.List(graphene.NonNull(graphene.ID))
        product_ids = graphene.List(graphene.NonNull(graphene.ID))
        dealer_ids = graphene.List(graphene.NonNull(graphene.ID))

    catalogue = graphene.Field(CatalogueType)

    @classmethod
    def perform(
        cls,
        root,
        info,
        name,
        new_name=None,
        description="",
        category_ids=(),
        brand_ids=(),
        product_ids=(),
        dealer_ids=None,
    ):
        require_scope(info, "catalog:write")

        def objects(model, kind, ids, field):
            pks = [decode_id(g, kind, field=field) for g in ids or []]
            found = list(model.objects.filter(pk__in=pks))
            if len(found) != len(set(pks)):
                raise NotFound(_("Unknown %(kind)s.") % {"kind": kind}, field=field)
            return found

        dealers = None
        if dealer_ids is not None:
            dealers = [visible_dealer(info, g, field="dealer_ids") for g in dealer_ids]
            if None in dealers:  # an empty id names no dealer
                raise NotFound(_("No such dealer."), field="dealer_ids")
        existing = Catalogue.objects.filter(name__iexact=name).first()
        return cls(
            catalogue=services.save_catalogue(
                name=new_name or name,
                catalogue=existing,
                description=description or "",
                categories=objects(Category, "Category", category_ids, "category_ids"),
                brands=objects(Brand, "Brand", brand_ids, "brand_ids"),
                products=objects(Product, "Product", product_ids, "product_ids"),
                dealers=dealers,
            )
        )


class Mutation(graphene.ObjectType):
    product_create = ProductCreate.Field()
    product_update = ProductUpdate.Field()
    product_bulk_upsert = ProductBulkUpsert.Field()
    sku_create = SkuCreate.Field()
    sku_update = SkuUpdate.Field()
    category_create = CategoryCreate.Field()
    category_update = CategoryUpdate.Field()
    brand_create = BrandCreate.Field()
    brand_update = BrandUpdate.Field()
    catalogue_save = CatalogueSave.Field()
