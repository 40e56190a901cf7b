"""GraphQL ``search``: products (with the viewing dealer's price and availability
through ``Product``), facets and the total, in the caller's authorised catalogue.

A dealer user (or a staff user or sales rep acting for one with ``forDealerId``)
searches the dealer's authorised catalogue and may sort by its price; staff and
integrations (``catalog:read``) search everything. Bad input is returned in
``errors`` with a code, never as a 500.
"""

from __future__ import annotations

import graphene
from django.utils.translation import gettext as _
from graphql_relay import from_global_id

from core.api.types import error_type
from core.catalog import schema as catalog_schema
from core.catalog.models import Product
from core.catalog.selectors import catalogue_scope_for

from . import search
from .pricing import price_list_chain
from .query import ERROR_CODES, Range, Scope, SearchError, SearchQuery, SortOrder

SearchErrorType = error_type("Search", ERROR_CODES, "Why a search could not run.")
SearchSortEnum = graphene.Enum(
    "SearchSort",
    [(s.name, s.value) for s in SortOrder],
    description="RELEVANCE, PRICE_ASC / PRICE_DESC (the viewing dealer's price), NAME, NEWEST.",
)


class AttributeFilterInput(graphene.InputObjectType):
    key = graphene.String(required=True, description="The attribute's code, e.g. resistance.")
    values = graphene.List(graphene.NonNull(graphene.String), description="Any of these (choices).")
    min = graphene.Float(description="At least (numbers).")
    max = graphene.Float(description="At most (numbers).")


class SearchHitType(graphene.ObjectType):
    product = graphene.Field(catalog_schema.ProductNode, required=True)
    highlight = graphene.String(
        description="The name with matched text in <em>…</em>, HTML-escaped."
    )
    score = graphene.Float(description="Relevance when searching by text.")
    in_stock = graphene.Boolean(required=True)

    class Meta:
        name = "SearchHit"


class FacetValueType(graphene.ObjectType):
    value = graphene.String(required=True)
    label = graphene.String(required=True)
    count = graphene.Int(required=True)

    class Meta:
        name = "FacetValue"


class FacetBucketType(graphene.ObjectType):
    lower = graphene.Float(required=True, description="From (inclusive).")
    upper = graphene.Float(required=True, description="To (exclusive).")
    count = graphene.Int(required=True)

    class Meta:
        name = "FacetBucket"


class AttributeFacetType(graphene.ObjectType):
    key = graphene.String(required=True)
    label = graphene.String(required=True)
    kind = graphene.String(required=True, description="choice or number.")
    unit = graphene.String(required=True)
    values = graphene.List(graphene.NonNull(FacetValueType), required=True, description="Choices.")
    min = graphene.Float()
    max = graphene.Float()
    buckets = graphene.List(
        graphene.NonNull(FacetBucketType), required=True, description="Numbers."
    )

    class Meta:
        name = "AttributeFacet"


class SearchFacetsType(graphene.ObjectType):
    categories = graphene.List(graphene.NonNull(FacetValueType), required=True)
    brands = graphene.List(graphene.NonNull(FacetValueType), required=True)
    attributes = graphene.List(graphene.NonNull(AttributeFacetType), required=True)

    class Meta:
        name = "SearchFacets"


class SearchResultType(graphene.ObjectType):
    total = graphene.Int(required=True, description="Matching products across all pages.")
    hits = graphene.List(graphene.NonNull(SearchHitType), required=True)
    facets = graphene.Field(SearchFacetsType, required=True)
    errors = graphene.List(graphene.NonNull(SearchErrorType), required=True)

    class Meta:
        name = "SearchResult"


#: Ids are PostgreSQL ``bigint``: a larger number names nothing.
MAX_ID = 2**63 - 1


def _ids(values, field: str) -> tuple[int, ...]:
    """Category or brand ids, plain or global; anything else (or out of range) is INVALID."""
    out = []
    for value in values or ():
        raw = str(value)
        try:
            pk = int(raw)
        except ValueError:
            try:
                _type, pk = from_global_id(raw)
                pk = int(pk)
            except Exception:  # noqa: BLE001 - any malformed id is the same input error
                pk = None
        if pk is None or not 0 < pk <= MAX_ID:
            raise SearchError(_("Unknown id %(id)s.") % {"id": raw}, field=field)
        out.append(pk)
    return tuple(out)


def _empty(errors) -> SearchResultType:
    return SearchResultType(total=0, hits=[], facets=SearchFacetsType([], [], []), errors=errors)


class Query(graphene.ObjectType):
    search = graphene.Field(
        SearchResultType,
        required=True,
        text=graphene.String(description="Words, Chinese text, a SKU code or barcode prefix."),
        category_ids=graphene.List(
            graphene.NonNull(graphene.ID), description="With subcategories."
        ),
        brand_ids=graphene.List(graphene.NonNull(graphene.ID)),
        attributes=graphene.List(graphene.NonNull(AttributeFilterInput)),
        in_stock_only=graphene.Boolean(default_value=False),
        sort=SearchSortEnum(default_value=SortOrder.RELEVANCE.value),
        first=graphene.Int(default_value=20, description="Page size, at most 100."),
        offset=graphene.Int(default_value=0),
        facets=graphene.List(
            graphene.NonNull(graphene.String),
            description="Attributes to count; all filterable ones when omitted.",
        ),
        for_dealer_id=graphene.ID(description="Staff and sales reps: search as this dealer."),
        description="Search the caller's catalogue: hits, facet counts and the total.",
    )

    def resolve_search(
        root,
        info,
        text=None,
        category_ids=None,
        brand_ids=None,
        attributes=None,
        in_stock_only=False,
        sort=SortOrder.RELEVANCE.value,
        first=20,
        offset=0,
        facets=None,
        for_dealer_id=None,
    ):
        catalog_schema.require_catalog_reader(info)
        catalog_schema._choose_dealer(info, for_dealer_id)
        dealer = catalog_schema.viewing_dealer(info)
        try:
            terms, ranges = {}, {}
            for f in attributes or ():
                if f.values is not None:
                    terms[f.key] = tuple(f.values)
                if f.min is not None or f.max is not None:
                    ranges[f.key] = Range(f.min, f.max)
                if f.values is None and f.min is None and f.max is None:
                    raise SearchError(_("Give values or a range."), field=f.key)
            query = SearchQuery(
                text=text or "",
                category_ids=_ids(category_ids, "categoryIds"),
                brand_ids=_ids(brand_ids, "brandIds"),
                terms=terms,
                ranges=ranges,
                in_stock_only=bool(in_stock_only),
                scope=Scope.of(catalogue_scope_for(dealer)) if dealer is not None else Scope(),
                price_lists=price_list_chain(dealer),
                sort=SortOrder(getattr(sort, "value", sort)),
                offset=offset or 0,
                limit=first if first is not None else 20,
                facet_attributes=tuple(facets) if facets is not None else None,
            )
            result = search(query)
        except SearchError as exc:
            return _empty([SearchErrorType(field=exc.field, message=exc.message, code=exc.code)])
        products = Product.objects.in_bulk([h.product_id for h in result.hits])
        hits = [
            SearchHitType(
                product=products[h.product_id],
                highlight=h.highlight,
                score=h.score,
                in_stock=h.in_stock,
            )
            for h in result.hits
            if h.product_id in products
        ]
        return SearchResultType(
            total=result.total,
            hits=hits,
            errors=[],
            facets=SearchFacetsType(
                categories=_labelled(result.categories, "category"),
                brands=_labelled(result.brands, "brand"),
                attributes=[
                    AttributeFacetType(
                        key=f.key,
                        label=f.label or f.key,
                        kind=str(f.kind),
                        unit=f.unit,
                        values=[
                            FacetValueType(value=v.value, label=v.value, count=v.count)
                            for v in f.values
                        ],
                        min=f.min,
                        max=f.max,
                        buckets=[
                            FacetBucketType(lower=b.lower, upper=b.upper, count=b.count)
                            for b in f.buckets
                        ],
                    )
                    for f in result.attributes
                ],
            ),
        )


def _labelled(values, kind: str) -> list[FacetValueType]:
    from core.catalog.models import Brand, Category

    model = Category if kind == "category" else Brand
    names = dict(
        model.objects.filter(pk__in=[int(v.value) for v in values]).values_list("pk", "name")
    )
    return [
        FacetValueType(value=v.value, label=names.get(int(v.value), v.value), count=v.count)
        for v in values
        if int(v.value) in names
    ]
