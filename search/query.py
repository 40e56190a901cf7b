"""What a search asks for and what it returns: the contract every backend implements.

A :class:`SearchQuery` is validated against the tenant's filterable attributes
(:func:`validate`) before any backend sees it, so bad input is a typed
:class:`SearchError` (unknown filter, ``min > max``, text over the length limit,
a page out of range) and never a 500.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.utils.translation import gettext as _

from core.exceptions import DomainError

MAX_TEXT_LENGTH = 200
MAX_PAGE_SIZE = 100
MAX_WINDOW = 10_000  # offset + limit, as Elasticsearch's max_result_window
MAX_FILTER_VALUES = 100
FACET_SIZE = 100
NUMERIC_FACET_VALUES = 2_000
HISTOGRAM_BUCKETS = 10


class SearchError(DomainError):
    """Bad search input. ``code`` is one of :data:`ERROR_CODES`."""


ERROR_CODES = ("UNKNOWN_FILTER", "INVALID_RANGE", "QUERY_TOO_LONG", "INVALID")


class SortOrder(StrEnum):
    RELEVANCE = "relevance"
    PRICE_ASC = "price_asc"
    PRICE_DESC = "price_desc"
    NAME = "name"
    NEWEST = "newest"


class AttributeKind(StrEnum):
    CHOICE = "choice"
    NUMBER = "number"


@dataclass(frozen=True)
class AttributeSpec:
    """A filterable attribute: choices are matched as terms, numbers by range."""

    key: str
    kind: AttributeKind
    label: str = ""
    unit: str = ""


@dataclass(frozen=True)
class Range:
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class Scope:
    """The part of the catalogue a caller may see.

    ``unrestricted`` or else a product is visible when it is listed in
    ``product_ids``, its category is in (or below) one of ``category_ids``, or
    its brand is in ``brand_ids``. Built from the catalogue's
    ``CatalogueScope`` with :meth:`of`.
    """

    unrestricted: bool = True
    category_ids: frozenset[int] = frozenset()
    brand_ids: frozenset[int] = frozenset()
    product_ids: frozenset[int] = frozenset()

    @classmethod
    def of(cls, scope: Any) -> Scope:
        if scope is None or isinstance(scope, Scope):
            return scope or cls()
        return cls(
            unrestricted=bool(getattr(scope, "unrestricted", False)),
            category_ids=frozenset(int(i) for i in getattr(scope, "category_ids", ()) or ()),
            brand_ids=frozenset(int(i) for i in getattr(scope, "brand_ids", ()) or ()),
            product_ids=frozenset(int(i) for i in getattr(scope, "product_ids", ()) or ()),
        )

    @property
    def is_empty(self) -> bool:
        return not self.unrestricted and not (
            self.category_ids or self.brand_ids or self.product_ids
        )


@dataclass(frozen=True)
class SearchQuery:
    text: str = ""
    category_ids: tuple[int, ...] = ()
    brand_ids: tuple[int, ...] = ()
    terms: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    ranges: Mapping[str, Range] = field(default_factory=dict)
    in_stock_only: bool = False
    scope: Scope = field(default_factory=Scope)
    # The dealer's price lists in resolution order (own → region → tier → base):
    # the price of a product is its price in the first of them that has one.
    price_lists: tuple[int, ...] = ()
    sort: SortOrder = SortOrder.RELEVANCE
    offset: int = 0
    limit: int = 20
    # Attributes to count values of; ``None``: every filterable attribute.
    facet_attributes: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Hit:
    product_id: int
    name: str
    score: float | None = None
    highlight: str | None = None
    # The product's lowest unit price in the first of ``price_lists`` that has one.
    price: float | None = None
    price_list_id: int | None = None
    in_stock: bool = False


@dataclass(frozen=True)
class FacetValue:
    value: str
    count: int


@dataclass(frozen=True)
class Bucket:
    lower: float
    upper: float
    count: int


@dataclass(frozen=True)
class AttributeFacet:
    key: str
    kind: AttributeKind
    label: str = ""
    unit: str = ""
    values: tuple[FacetValue, ...] = ()
    min: float | None = None
    max: float | None = None
    buckets: tuple[Bucket, ...] = ()


@dataclass(frozen=True)
class SearchResult:
    total: int
    hits: tuple[Hit, ...]
    categories: tuple[FacetValue, ...] = ()
    brands: tuple[FacetValue, ...] = ()
    attributes: tuple[AttributeFacet, ...] = ()


# --- validation -------------------------------------------------------------------------
def validate(query: SearchQuery, specs: Mapping[str, AttributeSpec]) -> SearchQuery:
    """Return ``query`` checked and normalised, or raise :class:`SearchError`."""
    text = (query.text or "").strip()
    if len(text) > MAX_TEXT_LENGTH:
        raise SearchError(
            _("Search text is limited to %(n)d characters.") % {"n": MAX_TEXT_LENGTH},
            code="QUERY_TOO_LONG",
            field="text",
        )
    if not 1 <= query.limit <= MAX_PAGE_SIZE:
        raise SearchError(
            _("Ask for 1 to %(n)d results at a time.") % {"n": MAX_PAGE_SIZE}, field="first"
        )
    if query.offset < 0 or query.offset + query.limit > MAX_WINDOW:
        raise SearchError(
            _("Results beyond the first %(n)d cannot be paged to; narrow the search.")
            % {"n": MAX_WINDOW},
            field="offset",
        )
    terms: dict[str, tuple[str, ...]] = {}
    for key, values in (query.terms or {}).items():
        spec = specs.get(key)
        if spec is None or spec.kind != AttributeKind.CHOICE:
            raise _unknown(key)
        cleaned = tuple(dict.fromkeys(str(v) for v in values if str(v) != ""))
        if not cleaned or len(cleaned) > MAX_FILTER_VALUES:
            raise SearchError(_("Give 1 to %(n)d values.") % {"n": MAX_FILTER_VALUES}, field=key)
        terms[key] = cleaned
    ranges: dict[str, Range] = {}
    for key, rng in (query.ranges or {}).items():
        spec = specs.get(key)
        if spec is None or spec.kind != AttributeKind.NUMBER:
            raise _unknown(key)
        for bound in (rng.min, rng.max):
            if bound is not None and not math.isfinite(bound):
                raise SearchError(_("Enter a number."), code="INVALID_RANGE", field=key)
        if rng.min is None and rng.max is None:
            continue
        if rng.min is not None and rng.max is not None and rng.min > rng.max:
            raise SearchError(
                _("The lower bound is above the upper bound."), code="INVALID_RANGE", field=key
            )
        ranges[key] = rng
    facets = query.facet_attributes
    if facets is not None:
        for key in facets:
            if key not in specs:
                raise _unknown(key)
        facets = tuple(dict.fromkeys(facets))
    for ids, name in ((query.category_ids, "categories"), (query.brand_ids, "brands")):
        if len(ids) > MAX_FILTER_VALUES:
            raise SearchError(_("Give 1 to %(n)d values.") % {"n": MAX_FILTER_VALUES}, field=name)
    return SearchQuery(
        text=text,
        category_ids=tuple(dict.fromkeys(int(i) for i in query.category_ids)),
        brand_ids=tuple(dict.fromkeys(int(i) for i in query.brand_ids)),
        terms=terms,
        ranges=ranges,
        in_stock_only=query.in_stock_only,
        scope=Scope.of(query.scope),
        price_lists=tuple(dict.fromkeys(int(i) for i in query.price_lists)),
        sort=SortOrder(query.sort),
        offset=query.offset,
        limit=query.limit,
        facet_attributes=facets,
    )


def _unknown(key: str) -> SearchError:
    return SearchError(
        _("“%(key)s” is not an attribute you can filter on.") % {"key": key},
        code="UNKNOWN_FILTER",
        field=key,
    )


def facet_keys(query: SearchQuery, specs: Mapping[str, AttributeSpec]) -> list[AttributeSpec]:
    keys = query.facet_attributes if query.facet_attributes is not None else sorted(specs)
    return [specs[k] for k in keys if k in specs]


# --- facets: the same post-processing for every backend ------------------------------------
def value_facets(counts: Mapping[Any, int]) -> tuple[FacetValue, ...]:
    """Counts as facet values: most frequent first, then by value; at most FACET_SIZE."""
    items = [(str(k), int(c)) for k, c in counts.items() if c > 0]
    items.sort(key=lambda kv: (-kv[1], _sort_key(kv[0])))
    return tuple(FacetValue(k, c) for k, c in items[:FACET_SIZE])


def _sort_key(value: str) -> tuple[int, Any]:
    try:
        return (0, int(value))
    except ValueError:
        return (1, value)


def nice_interval(low: float, high: float, buckets: int = HISTOGRAM_BUCKETS) -> float:
    """A round bucket width (1, 2 or 5 × 10ⁿ) giving about ``buckets`` buckets."""
    span = high - low
    if span <= 0:
        return 1.0
    raw = span / buckets
    exponent = math.floor(math.log10(raw))
    for step in (1, 2, 5, 10):
        width = step * 10**exponent
        if width >= raw:
            return float(width)
    return float(10 ** (exponent + 1))


def numeric_facet(
    spec: AttributeSpec,
    counts: Mapping[float, int],
    low: float | None = None,
    high: float | None = None,
) -> AttributeFacet:
    """Min, max and histogram buckets of a numeric attribute from its value counts."""
    values = {float(k): int(c) for k, c in counts.items() if c > 0}
    if not values:
        return AttributeFacet(spec.key, spec.kind, spec.label, spec.unit)
    low = min(values) if low is None else float(low)
    high = max(values) if high is None else float(high)
    width = nice_interval(low, high)
    start = math.floor(low / width) * width
    n = int(math.floor((high - start) / width + 1e-9)) + 1
    tallies = [0] * n
    for value, count in values.items():
        index = min(n - 1, max(0, int(math.floor((value - start) / width + 1e-9))))
        tallies[index] += count
    buckets = tuple(
        Bucket(_round(start + i * width), _round(start + (i + 1) * width), c)
        for i, c in enumerate(tallies)
    )
    return AttributeFacet(
        spec.key, spec.kind, spec.label, spec.unit, min=low, max=high, buckets=buckets
    )


def _round(x: float) -> float:
    return round(x, 9)


def choice_facet(spec: AttributeSpec, counts: Mapping[str, int]) -> AttributeFacet:
    return AttributeFacet(spec.key, spec.kind, spec.label, spec.unit, values=value_facets(counts))


def specs_by_key(specs: Iterable[AttributeSpec]) -> dict[str, AttributeSpec]:
    return {s.key: s for s in specs}
