"""Read queries for the catalogue: listing, authorised catalogues, SKU look-up.

Authorised catalogues (see :class:`core.catalog.models.Catalogue`): a dealer
sees the products granted by its own catalogues, or, when it has none, by
those of its nearest ancestor that has some; a dealer with no catalogue on its
path sees every active product. :func:`catalogue_q` expresses this as one SQL
condition, so scoping adds no statement to a listing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import orjson
from django.contrib.postgres.search import TrigramSimilarity
from django.db.models import (
    BooleanField,
    Exists,
    Expression,
    F,
    JSONField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    sql,
)
from django.db.models.base import DEFERRED, ModelState
from django.db.models.lookups import StartsWith
from django.db.models.manager import BaseManager
from django.db.models.query import ModelIterable
from django.db.models.signals import post_init, pre_init
from django.utils.translation import gettext as _

from core.exceptions import DomainError
from core.sql import execute_prepared, int_array

from .attributes import merge_schemas
from .models import Catalogue, Category, Product, ProductImage, ProductStatus, Sku, SkuUnit

# --- authorised catalogues ------------------------------------------------------------


def _assignments_on_path(dealer) -> QuerySet:
    return Catalogue.dealers.through.objects.filter(dealer_id__in=dealer.lineage_ids)


def _effective_catalogue_ids(dealer) -> QuerySet:
    """The catalogues of the nearest dealer on ``dealer``'s path that has any (a subquery)."""
    on_path = _assignments_on_path(dealer)
    nearest_depth = on_path.order_by("-dealer__depth").values("dealer__depth")[:1]
    return on_path.filter(dealer__depth=Subquery(nearest_depth)).values("catalogue_id")


def catalogue_q(dealer, *, prefix: str = "") -> Q:
    """The condition on a product (``prefix`` leads to it, e.g. ``"product__"``) that
    ``dealer``'s authorised catalogue grants; no query runs until it is used."""
    if dealer is None or dealer.pk is None:
        return Q(pk__in=[])
    effective = _effective_catalogue_ids(dealer)
    category_grants = Catalogue.categories.through.objects.filter(catalogue_id__in=effective)
    granted_categories = Category.objects.filter(
        Exists(category_grants.filter(StartsWith(OuterRef("path"), F("category__path"))))
    ).values("pk")
    brand_grants = Catalogue.brands.through.objects.filter(catalogue_id__in=effective).values(
        "brand_id"
    )
    product_grants = Catalogue.products.through.objects.filter(catalogue_id__in=effective).values(
        "product_id"
    )
    return (
        ~Q(Exists(_assignments_on_path(dealer)))
        | Q(**{f"{prefix}category_id__in": granted_categories})
        | Q(**{f"{prefix}brand_id__in": brand_grants})
        | Q(**{f"{prefix}pk__in": product_grants})
    )


class _SqlCondition(Expression):
    """SQL text around columns of the outer query (``{0}``, ``{1}`` …, compiled with
    the query's own aliases, so relabelling in a subquery keeps it right) and
    parameters (``%s``). Building it costs a few attribute reads, where the same
    condition from nested querysets cost milliseconds per page to resolve."""

    def __init__(self, template: str, columns: Sequence[Any], params: Sequence[Any], output_field):
        super().__init__(output_field=output_field)
        self.template, self.columns, self.params = template, list(columns), list(params)

    def get_source_expressions(self):
        return self.columns

    def set_source_expressions(self, exprs):
        self.columns = list(exprs)

    def resolve_expression(
        self, query=None, allow_joins=True, reuse=None, summarize=False, for_save=False
    ):
        clone = self.copy()
        clone.columns = [
            c.resolve_expression(query, allow_joins, reuse, summarize, for_save)
            for c in self.columns
        ]
        return clone

    def as_sql(self, compiler, connection):
        compiled = []
        for column in self.columns:
            sql, params = compiler.compile(column)
            if params:  # pragma: no cover - columns carry no parameters
                raise ValueError("_SqlCondition columns must not carry parameters")
            compiled.append(sql)
        return self.template.format(*compiled), list(self.params)


def catalogue_condition(dealer):
    """:func:`catalogue_q` for a products query, as one cheap SQL expression (``filter()``
    it on ``Product`` querysets; a test checks both grant the same products)."""
    if dealer is None or dealer.pk is None:
        return Q(pk__in=[])
    template, params = _catalogue_sql(dealer)
    return _SqlCondition(
        template,
        [F("category_id"), F("brand_id"), F("pk")],
        params,
        output_field=BooleanField(),
    )


def _catalogue_sql(dealer) -> tuple[str, list[str]]:
    """The SQL of :func:`catalogue_condition` for a dealer with a primary key: a
    template around the product's category id, brand id and id (``{0}``, ``{1}``,
    ``{2}``) and its parameters."""
    assign_t = Catalogue.dealers.through._meta.db_table
    cats_t = Catalogue.categories.through._meta.db_table
    brands_t = Catalogue.brands.through._meta.db_table
    products_t = Catalogue.products.through._meta.db_table
    category_t = Category._meta.db_table
    # The nearest dealer on the path with catalogues: the lineage is root first (a
    # dealer's depth is its position in it), so the assigned one placed last; read
    # without joining dealers, which made the statement slower to plan.
    effective = (
        f"SELECT a.catalogue_id FROM {assign_t} a WHERE a.dealer_id = ("
        f"SELECT a2.dealer_id FROM {assign_t} a2 WHERE a2.dealer_id = ANY(%s::bigint[]) "
        "ORDER BY array_position(%s::bigint[], a2.dealer_id) DESC LIMIT 1)"
    )
    template = (
        f"(NOT EXISTS (SELECT 1 FROM {assign_t} a0 WHERE a0.dealer_id = ANY(%s::bigint[]))"
        f" OR {{0}} IN (SELECT c.id FROM {category_t} c WHERE EXISTS ("
        f"SELECT 1 FROM {cats_t} cc JOIN {category_t} g ON g.id = cc.category_id"
        f" WHERE cc.catalogue_id IN ({effective}) AND starts_with(c.path, g.path)))"
        f" OR {{1}} IN (SELECT cb.brand_id FROM {brands_t} cb WHERE cb.catalogue_id IN ({effective}))"
        f" OR {{2}} IN (SELECT cp.product_id FROM {products_t} cp WHERE cp.catalogue_id IN ({effective})))"
    )
    lineage = int_array(dealer.lineage_ids)
    return template, [lineage] * 7


def authorised_products(dealer, *, include_inactive: bool = False) -> QuerySet[Product]:
    """The products ``dealer`` may see and order (active ones unless ``include_inactive``)."""
    qs = Product.objects.filter(catalogue_q(dealer))
    if not include_inactive:
        qs = qs.filter(status=ProductStatus.ACTIVE)
    return qs


def is_product_authorised(dealer, product: Product) -> bool:
    return authorised_products(dealer, include_inactive=True).filter(pk=product.pk).exists()


@dataclass(frozen=True)
class CatalogueScope:
    """A compact description of what a dealer may see, for a search engine's filter.

    ``unrestricted``: every product. Otherwise a product is granted when its
    category is in ``category_ids`` (granted categories and all their
    subcategories, already expanded), its brand is in ``brand_ids`` or its id
    is in ``product_ids``.
    """

    unrestricted: bool
    category_ids: frozenset[int] = field(default_factory=frozenset)
    brand_ids: frozenset[int] = field(default_factory=frozenset)
    product_ids: frozenset[int] = field(default_factory=frozenset)
    catalogue_ids: frozenset[int] = field(default_factory=frozenset)

    def allows(self, *, product_id: int, category_id: int | None, brand_id: int | None) -> bool:
        return (
            self.unrestricted
            or product_id in self.product_ids
            or (category_id is not None and category_id in self.category_ids)
            or (brand_id is not None and brand_id in self.brand_ids)
        )


def catalogue_scope_for(dealer) -> CatalogueScope:
    """The dealer's authorised catalogue as ids (at most five small queries; one when
    the dealer is unrestricted). Cache it per request, not across requests."""
    rows = list(_assignments_on_path(dealer).values_list("catalogue_id", "dealer__depth"))
    if not rows:
        return CatalogueScope(unrestricted=True)
    nearest = max(depth for _, depth in rows)
    catalogue_ids = frozenset(c for c, depth in rows if depth == nearest)
    category_roots = set(
        Catalogue.categories.through.objects.filter(catalogue_id__in=catalogue_ids).values_list(
            "category_id", flat=True
        )
    )
    brand_ids = set(
        Catalogue.brands.through.objects.filter(catalogue_id__in=catalogue_ids).values_list(
            "brand_id", flat=True
        )
    )
    product_ids = set(
        Catalogue.products.through.objects.filter(catalogue_id__in=catalogue_ids).values_list(
            "product_id", flat=True
        )
    )
    category_ids: set[int] = set()
    if category_roots:
        paths = Category.objects.filter(pk__in=category_roots).values_list("path", flat=True)
        condition = Q()
        for path in paths:
            condition |= Q(path__startswith=path)
        category_ids = set(Category.objects.filter(condition).values_list("pk", flat=True))
    return CatalogueScope(
        unrestricted=False,
        category_ids=frozenset(category_ids),
        brand_ids=frozenset(brand_ids),
        product_ids=frozenset(product_ids),
        catalogue_ids=catalogue_ids,
    )


# --- categories ------------------------------------------------------------------------


def category_subtree(category: Category) -> QuerySet[Category]:
    return Category.objects.filter(path__startswith=category.path)


def effective_attribute_schema(category: Category | None) -> list[dict[str, Any]]:
    """The category's attributes with every ancestor's (one query)."""
    if category is None:
        return []
    ancestors = {
        c.pk: c.attribute_schema for c in Category.objects.filter(pk__in=category.lineage_ids)
    }
    ancestors.setdefault(category.pk, category.attribute_schema)
    order = category.lineage_ids or [category.pk]
    return merge_schemas(ancestors.get(pk, []) for pk in order)


# --- listing -----------------------------------------------------------------------------

SORTS = {
    "name": ("name", "id"),
    "-name": ("-name", "-id"),
    "newest": ("-created_at", "-id"),
    "oldest": ("created_at", "id"),
    "code": ("code", "id"),
}
_ATTR_CODE_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def skus_with_availability() -> QuerySet[Sku]:
    """SKUs annotated with ``on_hand_total`` and ``reserved_total`` over active
    warehouses: correlated sums that use the (sku, warehouse) index, so the cost
    follows the page, not the size of the stock table."""
    from django.db.models import IntegerField
    from django.db.models.functions import Coalesce

    from core.inventory.models import Stock

    def total(column: str) -> Subquery:
        return Subquery(
            Stock.objects.filter(sku_id=OuterRef("pk"), warehouse__is_active=True)
            .order_by()
            .values("sku_id")
            .annotate(total=Sum(column))
            .values("total"),
            output_field=IntegerField(),
        )

    return Sku.objects.annotate(
        on_hand_total=Coalesce(total("on_hand"), 0), reserved_total=Coalesce(total("reserved"), 0)
    ).order_by("code")


def filter_by_attributes(
    qs: QuerySet, filters: Iterable[dict[str, Any]], *, field: str = "attributes"
):
    """``filters``: ``{"code": "voltage", "eq": 12}`` / ``{"code": ..., "in": [...]}`` /
    ``{"code": ..., "min": 5, "max": 20}``. Equality uses the GIN index (``@>``)."""
    for f in filters:
        code = str(f.get("code") or "")
        if not _ATTR_CODE_RE.match(code):
            raise DomainError(
                _("Unknown attribute %(code)s.") % {"code": code},
                field="attributes",
                code="UNKNOWN_ATTRIBUTE",
            )
        if f.get("eq") is not None:
            qs = qs.filter(**{f"{field}__contains": {code: f["eq"]}})
        if f.get("in"):
            condition = Q()
            for value in f["in"]:
                condition |= Q(**{f"{field}__contains": {code: value}})
            qs = qs.filter(condition)
        if f.get("min") is not None:
            qs = qs.filter(**{f"{field}__{code}__gte": f["min"]})
        if f.get("max") is not None:
            qs = qs.filter(**{f"{field}__{code}__lte": f["max"]})
    return qs


def products_for_listing(
    *,
    dealer=None,
    search: str | None = None,
    category_id: int | None = None,
    brand_ids: Sequence[int] | None = None,
    attributes: Sequence[dict[str, Any]] = (),
    sort: str = "oldest",
    include_inactive: bool = False,
    with_units: bool = False,
    with_images: bool = False,
    with_relations: bool = True,
    defer: Sequence[str] = (),
) -> QuerySet[Product]:
    """Products for a page, with their SKUs and each SKU's available quantity.

    With ``dealer``, only what its authorised catalogue grants. The scope, the
    category subtree and the filters are conditions of the one products
    statement, and the SKUs (with availability, and units when asked for) come
    inside it as JSON, materialised as prefetched SKU objects: a page is one
    statement, images one more when asked for. ``with_relations=False`` (a page
    that shows no category or brand) reads the category's path instead of the
    category and brand rows (``listing_category_path``); ``defer`` names product
    columns the page does not show (not read, not decoded).

    A listing without filters, relations, units or images (a dealer's usual page) is
    read through :func:`listing_slice` by a statement written out and prepared, rather
    than compiled by the ORM for every page; its ORM statement is not even built
    unless something reads it (:class:`_UnbuiltListing`).
    """
    plain = not (
        with_relations
        or with_units
        or with_images
        or (search and search.strip())
        or category_id
        or brand_ids
        or attributes
    )
    build = partial(
        _listing_queryset,
        dealer=dealer,
        search=search,
        category_id=category_id,
        brand_ids=brand_ids,
        attributes=attributes,
        sort=sort,
        include_inactive=include_inactive,
        with_units=with_units,
        with_images=with_images,
        with_relations=with_relations,
        defer=defer,
    )
    if not plain:
        return build()
    qs = _UnbuiltListing(Product, build=build)
    qs._iterable_class = _ProductsWithSkus
    # Only on this queryset object: a filtered, ordered or sliced clone is read by
    # the ORM (see listing_slice).
    qs._plain_listing = _PlainListing(
        dealer=dealer,
        include_inactive=include_inactive,
        sort=sort if sort in SORTS else "oldest",
        defer=frozenset(defer),
    )
    return qs


class _UnbuiltListing(QuerySet):
    """A plain listing's queryset (:func:`products_for_listing`) whose ORM statement is
    built the first time something reads its ``query`` (a filter, a slice, a count):
    :func:`listing_slice` reads the page by the statement it writes out, and building
    the ORM's (five clones, the catalogue condition, the SKUs' subquery) cost 0.5-0.7
    ms of every page. Once built (and in every clone) it is an ordinary queryset."""

    def __init__(self, model=None, query=None, using=None, hints=None, build=None):
        super().__init__(model, query, using, hints)
        self._build = build

    @property
    def query(self):
        build = self._build
        if build is not None:
            self._build = None
            self._query = build().query
        return QuerySet.query.fget(self)

    @query.setter
    def query(self, value):
        self._build = None
        QuerySet.query.fset(self, value)


def _listing_queryset(
    *,
    dealer,
    search,
    category_id,
    brand_ids,
    attributes,
    sort,
    include_inactive,
    with_units,
    with_images,
    with_relations,
    defer,
) -> QuerySet[Product]:
    """The ORM's queryset of :func:`products_for_listing` (which see)."""
    if with_relations:
        qs = Product.objects.select_related("category", "brand")
    else:  # the category's path is all pricing needs (its ancestors); no Category objects
        qs = Product.objects.annotate(listing_category_path=F("category__path"))
    if dealer is not None:
        qs = qs.filter(catalogue_condition(dealer))
    if not include_inactive:
        qs = qs.filter(status=ProductStatus.ACTIVE)
    if search and search.strip():
        term = search.strip()
        qs = qs.filter(
            Q(name__icontains=term)
            | Q(code__iexact=term)
            | Q(
                Exists(
                    Sku.objects.filter(product=OuterRef("pk")).filter(
                        Q(code__istartswith=term) | Q(gtin=term) | Q(units__gtin=term)
                    )
                )
            )
        )
    if category_id:
        qs = qs.filter(
            StartsWith(
                F("category__path"),
                Subquery(Category.objects.filter(pk=category_id).values("path")[:1]),
            )
        )
    if brand_ids:
        qs = qs.filter(brand_id__in=list(brand_ids))
    qs = filter_by_attributes(qs, attributes)
    qs = qs.annotate(
        skus_inline=_inline_skus(active_only=not include_inactive, with_units=with_units)
    )
    if defer:
        qs = qs.defer(*defer)
    qs._iterable_class = _ProductsWithSkus
    if with_images:
        qs = qs.prefetch_related(
            Prefetch("images", queryset=ProductImage.objects.order_by("position", "id"))
        )
    return qs.order_by(*SORTS.get(sort, SORTS["oldest"]))


_SKU_FIELDS = (
    "id",
    "code",
    "name",
    "gtin",
    "base_unit",
    "attributes",
    "min_order_qty",
    "order_multiple",
    "is_active",
)
_UNIT_FIELDS = ("id", "code", "name", "factor", "gtin", "is_sellable")
_SKU_ATTNAMES = tuple(f.attname for f in Sku._meta.concrete_fields)
_new_instance = object.__new__
_SKU_PRODUCT_FIELD = Sku._meta.get_field("product")


def _inline_skus(*, active_only: bool, with_units: bool):
    """The product's SKUs (with availability and, when asked, units) as one ``json`` array
    inside the products statement: a page costs one statement, not one per relation.

    Availability sums stock over active warehouses (the (sku, warehouse) index), so
    the cost follows the page, not the size of the stock table."""
    return _SqlCondition(
        _inline_skus_template(active_only=active_only, with_units=with_units),
        [F("pk")],
        [],
        output_field=_DecodedJSON(),
    )


def _inline_skus_template(*, active_only: bool, with_units: bool, arrays: bool = False) -> str:
    """The SQL of :func:`_inline_skus` around the product's id (``{0}``); ``arrays``
    (without units): each SKU as an array of :data:`_SKU_ARRAY_KEYS`' values rather than
    an object (a sixth less of the statement's time; no key written per SKU)."""
    from core.inventory.models import Stock, Warehouse

    sku_t, unit_t = Sku._meta.db_table, SkuUnit._meta.db_table
    stock_t, warehouse_t = Stock._meta.db_table, Warehouse._meta.db_table
    if arrays:
        values = [f"v.{f}" for f in _SKU_FIELDS]
        values += ["COALESCE(st.on_hand, 0)", "COALESCE(st.reserved, 0)"]
        build = f"json_build_array({', '.join(values)})"
        return (
            f"(SELECT COALESCE(json_agg({build} ORDER BY v.code), '[]'::json)"
            f" FROM {sku_t} v LEFT JOIN LATERAL (SELECT SUM(s.on_hand) AS on_hand, SUM(s.reserved) AS reserved"
            f" FROM {stock_t} s JOIN {warehouse_t} w ON w.id = s.warehouse_id WHERE s.sku_id = v.id AND w.is_active)"
            f" st ON true WHERE v.product_id = {{0}}{' AND v.is_active' if active_only else ''})::text"
        )
    fields = [f"'{f}', v.{f}" for f in _SKU_FIELDS]
    fields += [
        "'on_hand_total', COALESCE(st.on_hand, 0)",
        "'reserved_total', COALESCE(st.reserved, 0)",
    ]
    if with_units:
        unit_fields = ", ".join(f"'{f}', u.{f}" for f in _UNIT_FIELDS)
        fields.append(
            f"'units', (SELECT COALESCE(json_agg(json_build_object({unit_fields}) ORDER BY u.factor), "
            f"'[]'::json) FROM {unit_t} u WHERE u.sku_id = v.id)"
        )
    template = (
        f"(SELECT COALESCE(json_agg(json_build_object({', '.join(fields)}) ORDER BY v.code), '[]'::json)"
        f" FROM {sku_t} v LEFT JOIN LATERAL (SELECT SUM(s.on_hand) AS on_hand, SUM(s.reserved) AS reserved"
        f" FROM {stock_t} s JOIN {warehouse_t} w ON w.id = s.warehouse_id WHERE s.sku_id = v.id AND w.is_active)"
        f" st ON true WHERE v.product_id = {{0}}{' AND v.is_active' if active_only else ''})::text"
    )
    return template


def _inline_skus_sql(*, active_only: bool, product_column: str) -> str:
    """:func:`_inline_skus` (without units) around ``product_column``, as SQL text, each
    SKU an array of :data:`_SKU_ARRAY_KEYS`' values (made the rows :func:`_materialise_skus`
    takes in :func:`_plain_listing_rows`)."""
    key = (active_only, product_column)
    sql = _INLINE_SKUS_SQL.get(key)
    if sql is None:
        sql = _INLINE_SKUS_SQL[key] = _inline_skus_template(
            active_only=active_only, with_units=False, arrays=True
        ).format(product_column)
    return sql


_SKU_ARRAY_KEYS = (*_SKU_FIELDS, "on_hand_total", "reserved_total")
_BASE_UNIT = _SKU_ARRAY_KEYS.index("base_unit")


_INLINE_SKUS_SQL: dict[tuple[bool, str], str] = {}


def _decode_json(value):
    """What :class:`_DecodedJSON` makes of the inline SKUs' text."""
    return _DECODED_JSON.from_db_value(value, None, None)


class _DecodedJSON(JSONField):
    """JSON built as ``json`` (not ``jsonb``) and read as text, decoded here by orjson
    (a third of the standard decoder's time, which psycopg uses for ``json``).
    ``json_build_object`` only writes text, where ``jsonb_build_object`` also builds
    the binary form and re-prints it (a fifth of the page statement's time)."""

    def from_db_value(self, value, expression, connection):
        if isinstance(value, str):
            try:
                return orjson.loads(value)
            except orjson.JSONDecodeError:  # what orjson refuses (an integer beyond 64 bits)
                return super().from_db_value(value, expression, connection)
        return value


_DECODED_JSON = _DecodedJSON()


def _materialise_skus(product: Product, plain: bool | None = None) -> None:
    """Turn the inline JSON into SKU (and unit) instances, as a prefetch would have.
    ``plain``: whether no init signal listens for ``Sku`` (asked here when not given)."""
    rows = getattr(product, "skus_inline", None)
    if rows is None:
        return
    skus = []
    product_id = product.id
    db = product._state.db
    cache_product = _SKU_PRODUCT_FIELD.set_cached_value
    if plain is None:
        plain = _plain_skus()
    for row in rows:
        units = row.pop("units", None)
        row["product_id"] = product_id
        if plain:
            sku = _plain_sku(row, product, product_id, db)
        else:  # signal receivers for Sku: Django's own construction, positional
            on_hand, reserved = row.pop("on_hand_total"), row.pop("reserved_total")
            sku = Sku.from_db(db, None, [row.get(f, DEFERRED) for f in _SKU_ATTNAMES])
            sku.on_hand_total, sku.reserved_total = on_hand, reserved
            cache_product(sku, product)
        if units is not None:
            objs = []
            for u in units:
                unit = SkuUnit(sku_id=sku.pk, **u)
                unit._state.adding, unit._state.db = False, product._state.db
                unit.sku = sku
                objs.append(unit)
            sku._prefetched_objects_cache = {"units": _prefetched(SkuUnit, objs, sku, "sku")}
        skus.append(sku)
    cache = getattr(product, "_prefetched_objects_cache", None)
    if cache is None:
        cache = product._prefetched_objects_cache = {}
    cache["skus"] = _prefetched(Sku, skus, product, "product")
    del product.skus_inline


def _plain_sku(columns, product: Product, product_id: int, db: str) -> Sku:
    """What ``Sku.from_db`` builds from ``columns`` (a mapping or pairs of attname and
    value; a column not among them stays deferred, ``on_hand_total`` and
    ``reserved_total`` are set too) as a SKU of ``product``, without
    ``Model.__init__``'s per-field ``setattr`` and signals: only while no init signal
    listens for ``Sku`` (:func:`_plain_skus`)."""
    sku = _new_instance(Sku)
    d = sku.__dict__
    d.update(columns)
    d["product_id"] = product_id
    state = d["_state"] = ModelState()
    state.adding = False
    state.db = db
    # what ``sku.product = product`` leaves, without its checks
    state.fields_cache = {_SKU_PRODUCT_CACHE: product}
    return sku


_SKU_PRODUCT_CACHE = _SKU_PRODUCT_FIELD.cache_name


def _prefetched(model, objs: list, instance, field: str) -> QuerySet:
    """A queryset whose result is ``objs`` (what ``prefetch_related`` leaves in its cache).

    The filter is deferred the way Django's related managers defer theirs: it is
    built only if something chains on the queryset (``.filter()``, ``.count()`` on a
    clone), not for every product of a page, where it cost more than the SQL; and the
    queryset is the manager's own (``all()`` and ``filter()`` would each clone it)."""
    manager = model._default_manager
    if (
        type(manager).get_queryset is not BaseManager.get_queryset
        or manager._queryset_class is not QuerySet
    ):
        qs = manager.get_queryset()  # a manager or queryset of the model's own
    else:  # QuerySet.__init__'s attributes, its Query made only if something chains on it
        qs = _new_instance(_KnownRows)
        qs.__dict__.update(
            model=model,
            _db=manager._db,
            _hints=dict(manager._hints),
            _query=None,
            _sticky_filter=False,
            _for_write=False,
            _prefetch_related_lookups=(),
            _known_related_objects={},
            _iterable_class=ModelIterable,
            _fields=None,
            _defer_next_filter=False,
        )
    qs._deferred_filter = (False, (), {field: instance})
    qs._result_cache = objs
    qs._prefetch_done = True
    return qs


class _KnownRows(QuerySet):
    """A related manager's queryset whose rows are known (:func:`_prefetched`): its
    ``Query`` is made the first time something reads it (a chained filter, a count),
    not for each product of a page (a fifth of building the queryset)."""

    @property
    def query(self):
        if self._query is None:
            self._query = sql.Query(self.model)
        return QuerySet.query.fget(self)

    @query.setter
    def query(self, value):
        QuerySet.query.fset(self, value)


class _ProductsWithSkus(ModelIterable):
    def __iter__(self):
        queryset = self.queryset
        if queryset.query.low_mark:  # a later page: the offset's rows need no SKUs
            queryset = _rows_of_page(queryset)
        if (
            queryset.query.select_related
            or queryset._known_related_objects
            or pre_init.has_listeners(Product)
            or post_init.has_listeners(Product)
        ):
            products = ModelIterable(queryset, self.chunked_fetch, self.chunk_size)
        else:
            products = _plain_products(queryset, self.chunked_fetch, self.chunk_size)
        plain = _plain_skus()  # asked once per page, not per product
        for product in products:
            _materialise_skus(product, plain)
            yield product


def _plain_skus() -> bool:
    return not (pre_init.has_listeners(Sku) or post_init.has_listeners(Sku))


def _plain_products(queryset: QuerySet[Product], chunked_fetch: bool, chunk_size: int):
    """What :class:`ModelIterable` yields for a query without ``select_related`` or
    known related objects, when no init signal listens for ``Product``: each row's
    columns (the same converters applied) set by attname, a column not read left
    deferred, the annotations set as attributes. Without ``Model.__init__``'s
    per-field ``setattr`` (and its foreign-key descriptors), as for the SKUs."""
    db = queryset.db
    compiler = queryset.query.get_compiler(using=db)
    results = compiler.execute_sql(chunked_fetch=chunked_fetch, chunk_size=chunk_size)
    select_fields = compiler.klass_info["select_fields"]
    start, end = select_fields[0], select_fields[-1] + 1
    attnames = [column[0].target.attname for column in compiler.select[start:end]]
    annotations = list(compiler.annotation_col_map.items())
    for row in compiler.results_iter(results):
        product = _new_instance(Product)
        product.__dict__.update(zip(attnames, row[start:end], strict=True))
        for name, position in annotations:
            setattr(product, name, row[position])
        state = product._state = ModelState()
        state.adding = False
        state.db = db
        yield product


def _rows_of_page(queryset: QuerySet[Product]) -> QuerySet[Product]:
    """The same page as one statement that builds the SKUs' JSON for its rows only.

    PostgreSQL computes a selected subquery (``skus_inline``) for every row it reads
    before applying ``OFFSET``, not only for those it returns: the tenth page of 100
    built the SKUs of 1,000 products (some 20 ms). Here the page's ids are chosen by
    the filtered, ordered, sliced query (ids only), and the products, their columns
    and SKUs are read for those ids, in the same order: ``WHERE id IN (SELECT id …
    ORDER BY … LIMIT … OFFSET …) ORDER BY …``."""
    rows = queryset._chain()
    rows.query.clear_where()  # the conditions (and the slice) are the subquery's
    rows.query.clear_limits()
    return rows.filter(pk__in=queryset.values("pk"))


@dataclass(frozen=True)
class _PlainListing:
    """What a listing without filters, relations, units or images is made of: enough
    to write its statement out (:func:`listing_slice`)."""

    dealer: Any
    include_inactive: bool
    sort: str
    defer: frozenset[str]


def listing_slice(
    queryset: QuerySet[Product], start: int, stop: int, *, on_rows=None
) -> list[Product]:
    """``list(queryset[start:stop])``; for a plain listing as
    :func:`products_for_listing` returned it (no filter, relation, unit or image; not
    changed since), the same products and SKUs from a statement written out here:
    building and compiling it with the ORM cost more than running it (1-1.5 ms of a
    page). A test holds both to the same rows for every sort, scope and slice.

    ``on_rows``: for a plain listing, called with the page's facts as soon as its
    statement answered, before the objects are built: for each product in order,
    ``(product id, brand id, category path, [(SKU id, base unit), ...])`` (the page's
    SKUs, for sending their pricing statement ahead)."""
    plain = queryset.__dict__.get("_plain_listing")
    if (
        plain is None
        or queryset._result_cache is not None
        or pre_init.has_listeners(Product)
        or post_init.has_listeners(Product)
    ):
        return list(queryset[start:stop])
    return list(_plain_listing_rows(plain, queryset.db, start, stop, on_rows))


def _listing_columns(defer: frozenset[str]) -> tuple[list[str], list[str], list[tuple]]:
    """The product columns a plain listing reads (every concrete one but the deferred;
    the primary key always), their attnames, and each column's converters by position."""
    from django.db import connections

    key = defer
    known = _LISTING_COLUMNS.get(key)
    if known is None:
        fields = [f for f in Product._meta.concrete_fields if f.primary_key or f.name not in defer]
        converters = []
        for i, f in enumerate(fields):
            col = f.get_col(Product._meta.db_table)
            found = connections["default"].ops.get_db_converters(col) + col.get_db_converters(
                connections["default"]
            )
            if found:
                converters.append((i, col, found))
        known = _LISTING_COLUMNS[key] = (
            [f'p."{f.column}"' for f in fields],
            [f.attname for f in fields],
            converters,
        )
    return known


_LISTING_COLUMNS: dict[frozenset[str], tuple] = {}


def _plain_listing_rows(plain: _PlainListing, db: str, start: int, stop: int, on_rows=None):
    """The products of ``[start:stop]`` of a plain listing, with their SKUs, as
    :class:`_ProductsWithSkus` yields them: one statement, whose page of products is
    chosen by a derived table (read from the covering ``product_name_page`` index when
    sorted by name) and only then given its SKUs."""
    from django.db import connections

    connection = connections[db]
    columns, attnames, converters = _listing_columns(plain.defer)
    product_t, category_t = Product._meta.db_table, Category._meta.db_table
    conditions, params = [], []
    dealer = plain.dealer
    if dealer is not None:
        if dealer.pk is None:
            return
        template, params = _catalogue_sql(dealer)
        conditions.append(template.format("p.category_id", "p.brand_id", "p.id"))
    if not plain.include_inactive:
        conditions.append("p.status = %s")
        params.append(ProductStatus.ACTIVE.value)
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    keys = [
        (f'p."{Product._meta.get_field(name.lstrip("-")).column}"', name.startswith("-"))
        for name in SORTS[plain.sort]
    ]
    # The page's rows are chosen (filtered, ordered, sliced) by a derived table, and
    # only its rows get their category path and SKUs: PostgreSQL computes a selected
    # subquery for every row it reads before applying OFFSET, so a later page must
    # not select its SKUs in the query that skips. The sort keys come out of it under
    # names of their own (a deferred column is not among the page's columns).
    inner_order = ", ".join(f"{key} {'DESC' if desc else 'ASC'}" for key, desc in keys)
    outer_order = ", ".join(
        f"p.sort_{i} {'DESC' if desc else 'ASC'}" for i, (_, desc) in enumerate(keys)
    )
    sort_keys = ", ".join(f"{key} AS sort_{i}" for i, (key, _) in enumerate(keys))
    skus = _inline_skus_sql(active_only=not plain.include_inactive, product_column="p.id")
    # The slice as parameters: one prepared statement (and one generic plan, see
    # execute_prepared) for every page of a listing, not one per offset.
    sql = (
        f"SELECT {', '.join(columns)}, c.path, {skus}"
        f" FROM (SELECT {', '.join(columns)}, {sort_keys} FROM {product_t} p {where}"
        f" ORDER BY {inner_order} LIMIT %s OFFSET %s) p"
        f" LEFT OUTER JOIN {category_t} c ON p.category_id = c.id ORDER BY {outer_order}"
    )
    rows = execute_prepared(connection, sql, [*params, max(stop - start, 0), start])
    n = len(attnames)
    skus = [_decode_json(row[n + 1]) for row in rows]  # each SKU an array (_SKU_ARRAY_KEYS)
    if on_rows is not None:
        ids, brands = attnames.index("id"), attnames.index("brand_id")
        on_rows(
            [
                (row[ids], row[brands], row[n], [(v[0], v[_BASE_UNIT]) for v in product_skus])
                for row, product_skus in zip(rows, skus, strict=True)
            ]
        )
    plain_skus = _plain_skus()
    new, update = _new_instance, dict.update
    keys = _SKU_ARRAY_KEYS
    for row, product_skus in zip(rows, skus, strict=True):
        if converters:
            row = list(row)
            for i, col, found in converters:
                value = row[i]
                for converter in found:
                    value = converter(value, col, connection)
                row[i] = value
        product = new(Product)
        d = product.__dict__
        update(d, zip(attnames, row[:n], strict=True))
        d["listing_category_path"] = row[n]
        state = product._state = ModelState()
        state.adding = False
        state.db = db
        if plain_skus:  # what _materialise_skus builds, straight from the arrays
            product_id = d["id"]
            sku_list = [
                _plain_sku(zip(keys, values, strict=True), product, product_id, db)
                for values in product_skus
            ]
            d["_prefetched_objects_cache"] = {
                "skus": _prefetched(Sku, sku_list, product, "product")
            }
        else:
            d["skus_inline"] = [dict(zip(keys, values, strict=True)) for values in product_skus]
            _materialise_skus(product, plain_skus)
        yield product


def release_page(products: Iterable[Product]) -> None:
    """Break the reference cycles of a page's products once nothing reads them: a
    product refers to its prefetched SKUs (and images), each SKU back to its product
    (and its units back to it). Cyclic garbage waits for the cyclic collector, which
    ran every few pages and cost a page 5 to 15 ms (80 for an older generation); freed
    by refcounting, it costs its deallocation only. A released product still works:
    its relations are read again from the database.

    Emptying the prefetch caches (the product's, and its SKUs' units) is enough: what
    still points back (a SKU to its product, a unit to its SKU) is then no cycle."""
    for product in products:
        cache = product.__dict__.get("_prefetched_objects_cache")
        if not cache:
            continue
        for related in cache.values():
            for obj in related._result_cache or ():
                inner = obj.__dict__.get("_prefetched_objects_cache")
                if inner:
                    inner.clear()
        cache.clear()


def available_quantity(sku: Sku) -> int:
    on_hand = getattr(sku, "on_hand_total", None)
    if on_hand is None and not hasattr(sku, "on_hand_total"):
        agg = sku.stocks.filter(warehouse__is_active=True).aggregate(
            on_hand=Sum("on_hand"), reserved=Sum("reserved")
        )
        return (agg["on_hand"] or 0) - (agg["reserved"] or 0)
    return (on_hand or 0) - (getattr(sku, "reserved_total", 0) or 0)


# --- SKU look-up for order channels (quick order, scanner, Excel, EDI) -----------------------


class UnknownSku(DomainError):
    code = "UNKNOWN_SKU"


@dataclass(frozen=True)
class ResolvedSku:
    sku: Sku
    unit: SkuUnit

    def __iter__(self):
        return iter((self.sku, self.unit))


def _split(token: str) -> tuple[str, str | None]:
    token = token.strip()
    if "/" in token and not token.isdigit():
        code, _sep, unit = token.rpartition("/")
        if code and unit and not unit.isdigit():
            return code, unit
    return token, None


def _default_unit(units: list[SkuUnit], sku: Sku) -> SkuUnit:
    """The smallest sellable unit; the base unit when none is sellable."""
    ordered = sorted(units, key=lambda u: u.factor)
    for unit in ordered:
        if unit.is_sellable:
            return unit
    if ordered:
        return ordered[0]
    # A SKU bulk-loaded without units: its base unit, not saved.
    return SkuUnit(sku=sku, code=sku.base_unit, factor=1, gtin=sku.gtin, is_sellable=True)


def suggest_sku_codes(term: str, *, dealer=None, limit: int = 3) -> list[str]:
    """Codes close to ``term``: by prefix first, then trigram similarity (pg_trgm)."""
    qs = Sku.objects.filter(is_active=True, product__status=ProductStatus.ACTIVE)
    if dealer is not None:
        qs = qs.filter(catalogue_q(dealer, prefix="product__"))
    prefix = list(
        qs.filter(code__istartswith=term[: max(3, len(term) - 2)])
        .order_by("code")
        .values_list("code", flat=True)[:limit]
    )
    if len(prefix) >= limit:
        return prefix
    similar = (
        qs.annotate(similarity=TrigramSimilarity("code", term))
        .filter(similarity__gt=0.25)
        .order_by("-similarity", "code")
        .values_list("code", flat=True)[:limit]
    )
    out = list(prefix)
    for code in similar:
        if code not in out:
            out.append(code)
    return out[:limit]


def _unknown(token: str, dealer) -> UnknownSku:
    suggestions = suggest_sku_codes(_split(token)[0], dealer=dealer)
    if suggestions:
        message = _("No SKU or barcode %(code)s. Did you mean %(suggestion)s?") % {
            "code": token,
            "suggestion": ", ".join(suggestions),
        }
    else:
        message = _("No SKU or barcode %(code)s.") % {"code": token}
    return UnknownSku(message, field="code", suggestions=suggestions, value=token)


def resolve_sku_units(
    codes: Iterable[str], *, dealer=None, suggest: bool = True
) -> dict[str, ResolvedSku | DomainError]:
    """Resolve many codes at once (one query, plus one per unknown code for suggestions).

    Each token is a SKU code (its smallest sellable unit), ``CODE/unit`` (that
    unit) or a GTIN of any unit. With ``dealer``, products outside its
    authorised catalogue are unknown (never revealed). Returns a dict from each
    token to a :class:`ResolvedSku` (unpacks as ``sku, unit``) or a DomainError
    (``UNKNOWN_SKU`` with ``suggestions``, ``UNKNOWN_UNIT``, ``SKU_INACTIVE``).
    """
    tokens = [t for t in dict.fromkeys(c.strip() for c in codes if c and c.strip())]
    if not tokens:
        return {}
    sku_codes = {_split(t)[0] for t in tokens} | set(tokens)
    gtins = {t for t in tokens if t.isdigit()}
    units_qs = SkuUnit.objects.select_related("sku", "sku__product").filter(
        Q(sku__code__in=sku_codes)
        | Q(sku__gtin__in=gtins)
        | Q(sku__in=SkuUnit.objects.filter(gtin__in=gtins).values("sku_id"))
    )
    if dealer is not None:
        units_qs = units_qs.filter(catalogue_q(dealer, prefix="sku__product__"))
    by_sku: dict[int, list[SkuUnit]] = {}
    skus: dict[int, Sku] = {}
    for unit in units_qs.order_by("sku_id", "factor"):
        skus[unit.sku_id] = unit.sku
        by_sku.setdefault(unit.sku_id, []).append(unit)
    by_code = {s.code: s for s in skus.values()}
    by_gtin: dict[str, tuple[Sku, SkuUnit]] = {}
    for sku_id, units in by_sku.items():
        sku = skus[sku_id]
        for unit in units:
            unit.sku = sku
            if unit.gtin:
                by_gtin[unit.gtin] = (sku, unit)
        if sku.gtin and sku.gtin not in by_gtin:
            base = next((u for u in units if u.factor == 1), _default_unit(units, sku))
            by_gtin[sku.gtin] = (sku, base)
    out: dict[str, ResolvedSku | DomainError] = {}
    for token in tokens:
        code, unit_code = (token, None) if token in by_code else _split(token)
        match: tuple[Sku, SkuUnit] | None = None
        if code in by_code:
            sku = by_code[code]
            units = by_sku.get(sku.pk, [])
            if unit_code is None:
                match = (sku, _default_unit(units, sku))
            else:
                unit = next((u for u in units if u.code.lower() == unit_code.lower()), None)
                if unit is None:
                    out[token] = DomainError(
                        _("%(sku)s has no unit %(unit)s; it comes in: %(units)s")
                        % {
                            "sku": sku.code,
                            "unit": unit_code,
                            "units": ", ".join(u.code for u in units),
                        },
                        field="unit",
                        code="UNKNOWN_UNIT",
                        value=token,
                    )
                    continue
                match = (sku, unit)
        elif token in by_gtin:
            match = by_gtin[token]
        if match is None:
            out[token] = (
                _unknown(token, dealer)
                if suggest
                else UnknownSku(
                    _("No SKU or barcode %(code)s.") % {"code": token}, field="code", value=token
                )
            )
            continue
        sku, unit = match
        if not sku.is_active or sku.product.status != ProductStatus.ACTIVE:
            out[token] = DomainError(
                _("%(sku)s can no longer be ordered.") % {"sku": sku.code},
                field="code",
                code="SKU_INACTIVE",
                value=token,
            )
            continue
        out[token] = ResolvedSku(sku=sku, unit=unit)
    return out


def resolve_sku_unit(code_or_gtin: str, *, dealer=None) -> tuple[Sku, SkuUnit]:
    """One code, GTIN or ``CODE/unit`` → ``(sku, unit)``, or the typed error
    (``UNKNOWN_SKU`` with a "did you mean" suggestion)."""
    token = (code_or_gtin or "").strip()
    if not token:
        raise UnknownSku(_("Enter a SKU code or barcode."), field="code", code="REQUIRED")
    result = resolve_sku_units([token], dealer=dealer)[token]
    if isinstance(result, DomainError):
        raise result
    return result.sku, result.unit
