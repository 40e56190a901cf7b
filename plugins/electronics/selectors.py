"""Read queries: parameters per category and product, search fields and filters,
reel rules for an order, alternates and parametric search."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, Q, Sum
from django.utils.translation import gettext as _

from core.catalog.models import Category, Product, ProductStatus, Sku
from core.exceptions import DomainError
from plugins.types import SearchFilter

from .models import CategoryParameter, Match, PartParameter, ReelRule
from .units import (
    BASE_UNITS,
    TEXT_QUANTITIES,
    ParameterError,
    Quantity,
    display_value,
    normalise_text,
    parse_value,
)

NAME = "electronics"
PREFIX = f"{NAME}_"
MAX_ALTERNATES = 50


# --- definitions ------------------------------------------------------------------------
def subtree_ids(category: Category) -> list[int]:
    """``category`` and every category below it."""
    return list(
        Category.objects.filter(path__startswith=category.path).values_list("id", flat=True)
    )


def category_parameters(category: Category | None) -> dict[str, CategoryParameter]:
    """The parameters parts of ``category`` carry: its own and its ancestors'
    (the nearest definition of a code wins), in display order. One query."""
    if category is None:
        return {}
    lineage = category.lineage_ids or [category.pk]
    depth = {cid: i for i, cid in enumerate(lineage)}
    rows = sorted(
        CategoryParameter.objects.filter(category_id__in=lineage),
        key=lambda p: -depth.get(p.category_id, 0),
    )
    chosen: dict[str, CategoryParameter] = {}
    for row in rows:
        chosen.setdefault(row.code, row)
    return dict(sorted(chosen.items(), key=lambda kv: (kv[1].position, kv[0])))


def all_parameters() -> dict[str, CategoryParameter]:
    """Every parameter code the tenant declares (the first definition of a code wins)."""
    chosen: dict[str, CategoryParameter] = {}
    for row in CategoryParameter.objects.order_by("position", "code", "id"):
        chosen.setdefault(row.code, row)
    return chosen


def parameters_by_product(product_ids: Iterable[int]) -> dict[int, dict[str, PartParameter]]:
    out: dict[int, dict[str, PartParameter]] = defaultdict(dict)
    for row in PartParameter.objects.filter(product_id__in=list(product_ids)):
        out[row.product_id][row.code] = row
    return out


def display(row: PartParameter, definition: CategoryParameter | None = None) -> str:
    return display_value(
        row.quantity,
        row.value,
        row.value_max,
        row.text,
        definition.display_unit if definition is not None else "",
    )


# --- search -----------------------------------------------------------------------------
def field_names(code: str, quantity: str) -> list[str]:
    """The search document fields of a parameter: one, or ``_min``/``_max`` for a range."""
    if quantity == Quantity.TEMPERATURE_RANGE:
        return [f"{PREFIX}{code}_min", f"{PREFIX}{code}_max"]
    return [f"{PREFIX}{code}"]


def document_fields(product: Product) -> dict[str, Any]:
    """``product``'s parameters as search document fields (numbers as floats in SI units)."""
    fields: dict[str, Any] = {}
    for row in PartParameter.objects.filter(product_id=product.pk):
        names = field_names(row.code, row.quantity)
        if row.quantity in TEXT_QUANTITIES:
            fields[names[0]] = row.text
        elif row.quantity == Quantity.TEMPERATURE_RANGE:
            fields[names[0]], fields[names[1]] = float(row.value), float(row.value_max)
        elif row.value is not None:
            fields[names[0]] = float(row.value)
    return fields


def search_filters() -> list[SearchFilter]:
    """One filter per declared parameter (two for a range: its low and high ends)."""
    filters = []
    for code, definition in all_parameters().items():
        quantity = Quantity(definition.quantity)
        unit = BASE_UNITS.get(quantity, "")
        label = definition.label
        if quantity in TEXT_QUANTITIES:
            filters.append(
                SearchFilter(
                    name=code,
                    field=f"{PREFIX}{code}",
                    kind="terms",
                    label=label,
                    facet=True,
                    value_type="str",
                )
            )
        elif quantity == Quantity.TEMPERATURE_RANGE:
            low, high = field_names(code, quantity)
            filters += [
                SearchFilter(
                    name=f"{code}_min",
                    field=low,
                    kind="range",
                    label=_("%(label)s, lowest (%(unit)s)") % {"label": label, "unit": unit},
                    facet=True,
                    value_type="number",
                ),
                SearchFilter(
                    name=f"{code}_max",
                    field=high,
                    kind="range",
                    label=_("%(label)s, highest (%(unit)s)") % {"label": label, "unit": unit},
                    facet=True,
                    value_type="number",
                ),
            ]
        else:
            filters.append(
                SearchFilter(
                    name=code,
                    field=f"{PREFIX}{code}",
                    kind="range",
                    label=f"{label} ({unit})",
                    facet=True,
                    value_type="number",
                )
            )
    return filters


@dataclass(frozen=True)
class ParameterFilter:
    """A parametric filter as people type it: ``resistance`` from ``9.9k`` to
    ``10.1k``, or ``package`` in ``{0603, 0402}``."""

    parameter: str
    min: str | None = None
    max: str | None = None
    values: tuple[str, ...] = ()


@dataclass
class ParametricQuery:
    terms: dict[str, tuple[str, ...]] = field(default_factory=dict)
    ranges: dict[str, Any] = field(default_factory=dict)


def parametric_query(filters: Iterable[ParameterFilter]) -> ParametricQuery:
    """Turn typed filters into search terms and ranges on the ``electronics_`` fields.

    Bounds are parsed with the parameter's quantity kind (``9.9k`` → 9900), set
    values normalised like stored ones (``sot23`` → ``SOT-23``). Raises
    :class:`DomainError` ``UNKNOWN_PARAMETER`` for a parameter the tenant does
    not declare and the parser's errors (``UNKNOWN_UNIT``, ``WRONG_QUANTITY`` …).
    """
    from search.query import Range

    definitions = all_parameters()
    by_name = {}
    for code, definition in definitions.items():
        by_name[code] = (definition, code)
        if definition.quantity == Quantity.TEMPERATURE_RANGE:
            by_name[f"{code}_min"] = (definition, code)
            by_name[f"{code}_max"] = (definition, code)
    query = ParametricQuery()
    for flt in filters:
        found = by_name.get(flt.parameter)
        if found is None:
            raise DomainError(
                _("%(code)s is not a parameter you can filter on.") % {"code": flt.parameter},
                code="UNKNOWN_PARAMETER",
                field=flt.parameter,
            )
        definition, code = found
        quantity = Quantity(definition.quantity)
        key = (
            f"{PREFIX}{flt.parameter}"
            if quantity == Quantity.TEMPERATURE_RANGE
            else f"{PREFIX}{code}"
        )
        if quantity in TEXT_QUANTITIES:
            if not flt.values:
                raise DomainError(
                    _("Choose one or more values."), code="INVALID", field=flt.parameter
                )
            query.terms[key] = tuple(normalise_text(quantity, v) for v in flt.values)
            continue
        bounds = []
        for raw in (flt.min, flt.max):
            if raw is None or str(raw).strip() == "":
                bounds.append(None)
            elif quantity == Quantity.TEMPERATURE_RANGE:
                bounds.append(float(_temperature_bound(raw, flt.parameter)))
            else:
                bounds.append(float(parse_value(quantity, raw, parameter=flt.parameter).value))
        if bounds == [None, None]:
            raise DomainError(
                _("Give a lower or an upper bound."), code="INVALID", field=flt.parameter
            )
        query.ranges[key] = Range(bounds[0], bounds[1])
    return query


def _temperature_bound(raw: str, parameter: str) -> Decimal:
    """One temperature (``-40``, ``-40°C``) read as the range ``raw~raw``."""
    text = str(raw).strip()
    try:
        value = parse_value(Quantity.TEMPERATURE_RANGE, f"{text}~{text}", parameter=parameter)
    except ParameterError as exc:
        exc.params["value"] = text
        raise
    return value.value


def parametric_search(
    filters: Iterable[ParameterFilter],
    *,
    dealer: Any = None,
    text: str = "",
    category_ids: tuple[int, ...] = (),
    in_stock_only: bool = False,
    limit: int = 20,
    offset: int = 0,
    using: Any = None,
) -> Any:
    """Search the dealer's catalogue with parametric filters; facets over every
    electronics parameter. Returns a :class:`search.query.SearchResult`."""
    from core.catalog.selectors import catalogue_scope_for
    from search import search
    from search.pricing import price_list_chain
    from search.query import Scope, SearchQuery

    query = parametric_query(filters)
    facets = tuple(f.field for f in search_filters())
    return search(
        SearchQuery(
            text=text,
            category_ids=category_ids,
            terms=query.terms,
            ranges=query.ranges,
            in_stock_only=in_stock_only,
            scope=Scope.of(catalogue_scope_for(dealer)) if dealer is not None else Scope(),
            price_lists=price_list_chain(dealer),
            limit=limit,
            offset=offset,
            facet_attributes=facets,
        ),
        using=using,
    )


# --- orders -------------------------------------------------------------------------------
def reel_rules(sku_ids: Iterable[int]) -> dict[int, ReelRule]:
    return {r.sku_id: r for r in ReelRule.objects.filter(sku_id__in=set(sku_ids))}


REEL_FIELDS = ("id", "sku_id", "reel_quantity", "mode", "cut_tape_from", "minimum_quantity")


def reel_rules_source() -> tuple[str, Any]:
    """The order's reel rules, asked with the other plugins' facts (``plugins.orderfacts``)."""
    table = ReelRule._meta.db_table
    sql = f'SELECT {", ".join(REEL_FIELDS)} FROM "{table}" WHERE sku_id = ANY(%s)'
    return sql, lambda row: ReelRule(**{f: row[f] for f in REEL_FIELDS})


# --- alternates -------------------------------------------------------------------------------
@dataclass
class Alternate:
    """An orderable part whose parameters match the part asked about."""

    sku: Sku
    product: Product
    parameters: dict[str, PartParameter]
    definitions: dict[str, CategoryParameter]
    price: Any | None  # core.pricing.selectors.ProductPrice, for the dealer
    available: int
    distance: Decimal = Decimal(0)


def _tolerance(parameters: Mapping[str, PartParameter]) -> Decimal:
    for row in parameters.values():
        if row.quantity == Quantity.TOLERANCE and row.value is not None:
            return row.value
    return Decimal(0)


def _condition(row: PartParameter, rule: str, tolerance: Decimal) -> Q | None:
    """The condition a candidate's row for the same code must meet, or None (not compared)."""
    if rule == Match.IGNORE:
        return None
    if row.quantity in TEXT_QUANTITIES:
        return Q(text=row.text)
    if rule == Match.EQUAL:
        return Q(value=row.value, value_max=row.value_max)
    if rule == Match.AT_LEAST:
        return Q(value__gte=row.value)
    if rule == Match.AT_MOST:
        return Q(value__lte=row.value)
    if rule == Match.COVERS:
        return Q(value__lte=row.value, value_max__gte=row.value_max)
    spread = abs(row.value) * tolerance / Decimal(100)
    return Q(value__gte=row.value - spread, value__lte=row.value + spread)


def alternates(
    sku: Sku,
    *,
    dealer: Any = None,
    limit: int = 20,
    in_stock_only: bool = False,
) -> list[Alternate]:
    """Parts that can replace ``sku``: active SKUs of other products of the same
    category (the kind) whose parameters match by each parameter's rule:

    * values (resistance, capacitance, inductance, frequency) within the part's
      tolerance (exactly equal when it has none);
    * ratings (voltage, current, power) at least the part's; tolerance at most
      the part's; the temperature range covering the part's;
    * package and choices (dielectric …) the same.

    A parameter the part has must be present on the alternate. With a
    ``dealer``: only products of its authorised catalogue that it has a price
    for, with that price (``price_products_for_dealer``). Closest value first,
    then the cheapest, then by code. A fixed number of queries whatever the
    number of candidates.
    """
    from core.pricing.selectors import price_products_for_dealer

    product = sku.product
    definitions = category_parameters(product.category)
    own = parameters_by_product([product.pk]).get(product.pk, {})
    compared = {c: d for c, d in definitions.items() if c in own and d.match_rule != Match.IGNORE}
    if product.category_id is None or not compared:
        return []
    tolerance = _tolerance(own)
    products = Product.objects.filter(
        category_id=product.category_id, status=ProductStatus.ACTIVE
    ).exclude(pk=product.pk)
    for code, definition in compared.items():
        condition = _condition(own[code], definition.match_rule, tolerance)
        if condition is not None:
            products = products.filter(
                Exists(
                    PartParameter.objects.filter(condition, product_id=OuterRef("pk"), code=code)
                )
            )
    if dealer is not None:
        from core.catalog.selectors import catalogue_q

        products = products.filter(catalogue_q(dealer))
    cap = max(1, min(limit, MAX_ALTERNATES))
    skus = list(
        Sku.objects.filter(product__in=products.values("pk"), is_active=True)
        .select_related("product", "product__category")
        .prefetch_related(Prefetch("product__electronics_parameters"))
        .annotate(
            on_hand_total=Sum("stocks__on_hand", filter=Q(stocks__warehouse__is_active=True)),
            reserved_total=Sum("stocks__reserved", filter=Q(stocks__warehouse__is_active=True)),
        )
        .order_by("code")[: MAX_ALTERNATES * 4]
    )
    prices = price_products_for_dealer(dealer, [s.pk for s in skus]) if dealer is not None else {}
    primary = next((c for c, d in compared.items() if d.match_rule == Match.WITHIN_TOLERANCE), None)
    found = []
    for candidate in skus:
        if dealer is not None and candidate.pk not in prices:
            continue  # not orderable: the dealer has no price for it
        available = (candidate.on_hand_total or 0) - (candidate.reserved_total or 0)
        if in_stock_only and available <= 0:
            continue
        parameters = {p.code: p for p in candidate.product.electronics_parameters.all()}
        distance = Decimal(0)
        if primary is not None and parameters[primary].value is not None:
            distance = abs(parameters[primary].value - own[primary].value)
        found.append(
            Alternate(
                sku=candidate,
                product=candidate.product,
                parameters=parameters,
                definitions=definitions,
                price=prices.get(candidate.pk),
                available=max(available, 0),
                distance=distance,
            )
        )
    found.sort(
        key=lambda a: (
            a.distance,
            a.price.unit_price if a.price is not None else Decimal("Infinity"),
            a.sku.code,
        )
    )
    return found[:cap]
