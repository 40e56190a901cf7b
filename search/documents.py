"""Search documents: one per active product, built from the catalogue, stock and prices.

A document is a plain dict, the same for every backend (each backend maps it to
its own storage). Building is batched: a batch of products costs a fixed number
of queries whatever its size.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.db import connection
from django.db.models import F, Q, Sum
from django.db.models.expressions import RawSQL

from core.catalog.models import Category, Product, ProductStatus, Sku, SkuUnit
from core.inventory.models import Stock

from . import text
from .query import AttributeKind, AttributeSpec

log = logging.getLogger(__name__)

NUMBER_TYPES = {"number", "numeric", "decimal", "float", "int", "integer", "range"}
CHOICE_TYPES = {
    "choice",
    "choices",
    "enum",
    "select",
    "multi_choice",
    "multichoice",
    "multiselect",
    "bool",
    "boolean",
    "term",
    "terms",
    "str",
    "string",
}
MAX_TOKENS = 16_000


# --- the attributes a tenant can filter on -----------------------------------------------
def attribute_specs() -> dict[str, AttributeSpec]:
    """Filterable attributes of the current tenant: from every category's
    ``attribute_schema`` and from enabled plugins' ``search_filters``."""
    specs: dict[str, AttributeSpec] = {}
    for schema in Category.objects.exclude(attribute_schema=[]).values_list(
        "attribute_schema", flat=True
    ):
        for entry in schema or ():
            spec = spec_from_schema_entry(entry)
            if spec is not None:
                specs.setdefault(spec.key, spec)
    for spec in _plugin_specs():
        specs.setdefault(spec.key, spec)
    return specs


def spec_from_schema_entry(entry: Any) -> AttributeSpec | None:
    """An :class:`AttributeSpec` from one ``attribute_schema`` entry, or ``None``
    when the attribute is not filterable (free text, or ``"filterable": false``)."""
    if not isinstance(entry, dict):
        return None
    key = entry.get("key") or entry.get("code") or entry.get("name")
    kind = str(entry.get("type") or entry.get("kind") or "choice").lower()
    if not key or not isinstance(key, str):
        return None
    if kind in NUMBER_TYPES:
        resolved = AttributeKind.NUMBER
    elif kind in CHOICE_TYPES:
        resolved = AttributeKind.CHOICE
    else:
        return None
    if entry.get("filterable") is False:
        return None
    label = entry.get("label") or entry.get("name") or key
    return AttributeSpec(
        key=key, kind=resolved, label=str(label), unit=str(entry.get("unit") or "")
    )


def _tenant_hooks():
    tenant = getattr(connection, "tenant", None)
    if tenant is None or not apps.is_installed("plugins"):
        return None, None
    try:
        from plugins.manager import hooks_for
    except ImportError:  # pragma: no cover - the plugin system is optional
        return None, None
    return tenant, hooks_for(tenant)


def _plugin_specs() -> list[AttributeSpec]:
    tenant, hooks = _tenant_hooks()
    if hooks is None or not hooks.has("search_filters"):
        return []
    specs = []
    for flt in hooks.search_filters(tenant):
        kind = AttributeKind.NUMBER if str(flt.kind) == "range" else AttributeKind.CHOICE
        specs.append(AttributeSpec(key=flt.field, kind=kind, label=str(flt.label or flt.name)))
    return specs


# --- values ---------------------------------------------------------------------------------
def number_value(value: Any) -> float | None:
    """A normalised number: numbers, numeric strings, ``{"value": …}``; else ``None``."""
    if isinstance(value, dict):
        value = value.get("value")
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | Decimal):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        return None


def choice_values(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, list | tuple | set):
        return [v for item in value for v in choice_values(item)]
    if isinstance(value, bool):
        return ["true" if value else "false"]
    if isinstance(value, dict):
        return choice_values(value.get("value"))
    return [str(value)]


# --- building documents ---------------------------------------------------------------------
def any_of(ids: Iterable[int]) -> RawSQL:
    """For ``field__in``: the ids as one array parameter (an ``IN`` list of 500
    placeholders costs more to build and parse than the query takes)."""
    return RawSQL("SELECT unnest(%s::bigint[])", [sorted(ids)])


PRODUCT_FIELDS = (
    "id",
    "name",
    "description",
    "category_id",
    "brand_id",
    "attributes",
    "created_at",
    "brand__name",
    "category__name",
)


def build_documents(
    product_ids: Iterable[int],
    *,
    specs: dict[str, AttributeSpec] | None = None,
    paths: dict[int, list[int]] | None = None,
) -> tuple[list[dict[str, Any]], list[int]]:
    """``(documents, missing)``: documents of the active products among ``product_ids``,
    and the ids that must leave the index (deleted or not active).

    Reads rows, not model instances (a full reindex builds a million documents),
    in a fixed number of queries per batch: products, SKUs, units (barcodes
    and pack factors), stock, prices, categories and attribute specs; plus one
    query (with its SKUs prefetched) for plugins that add fields, which take
    products. A full reindex reads the attribute ``specs`` and category
    ``paths`` once and passes them to every batch.
    """
    ids = sorted({int(i) for i in product_ids})
    if not ids:
        return [], []
    products = list(
        Product.objects.filter(id__in=any_of(ids), status=ProductStatus.ACTIVE)
        .order_by("id")
        .values_list(*PRODUCT_FIELDS)
    )
    found = {p[0] for p in products}
    missing = [i for i in ids if i not in found]
    if not products:
        return [], missing
    specs = attribute_specs() if specs is None else specs
    paths = category_paths() if paths is None else paths
    skus: dict[int, list[tuple]] = defaultdict(list)
    for row in (
        Sku.objects.filter(product_id__in=any_of(found))
        .order_by("id")
        .values_list("product_id", "code", "name", "gtin", "attributes")
    ):
        skus[row[0]].append(row)
    stock = _stock_by_product(found)
    codes, factors = _units(found)
    prices = price_map(found, factors)
    extras = _plugin_fields(found)
    docs = [
        _document(
            row,
            skus.get(row[0], ()),
            specs,
            paths,
            stock.get(row[0], 0),
            prices.get(row[0], {}),
            codes.get(row[0], ()),
            extras.get(row[0]),
        )
        for row in products
    ]
    return docs, missing


def _plugin_fields(product_ids: set[int]) -> dict[int, dict[str, Any]]:
    """Fields enabled plugins add to each product's document (``search_document_fields``)."""
    tenant, hooks = _tenant_hooks()
    if hooks is None or not hooks.has("search_document_fields"):
        return {}
    products = Product.objects.filter(id__in=any_of(product_ids)).prefetch_related("skus")
    return {p.id: hooks.search_document_fields(tenant, p) for p in products}


def iter_product_batches(batch_size: int = 500) -> Iterator[list[int]]:
    """Every active product id, in batches (for a full reindex)."""
    last = 0
    while True:
        batch = list(
            Product.objects.filter(status=ProductStatus.ACTIVE, id__gt=last)
            .order_by("id")
            .values_list("id", flat=True)[:batch_size]
        )
        if not batch:
            return
        yield batch
        last = batch[-1]


def category_paths() -> dict[int, list[int]]:
    """Each category's id with the ids of all its ancestors (root last)."""
    parents = dict(Category.objects.values_list("id", "parent_id"))
    paths: dict[int, list[int]] = {}
    for cid in parents:
        path, node, seen = [], cid, set()
        while node is not None and node not in seen:
            seen.add(node)
            path.append(node)
            node = parents.get(node)
        paths[cid] = path
    return paths


def descendants(category_ids: Iterable[int]) -> set[int]:
    wanted = set(category_ids)
    return {cid for cid, path in category_paths().items() if wanted.intersection(path)}


def _stock_by_product(product_ids: set[int]) -> dict[int, int]:
    rows = (
        Stock.objects.filter(sku__product_id__in=any_of(product_ids), warehouse__is_active=True)
        .values("sku__product_id")
        .annotate(available=Sum(F("on_hand") - F("reserved")))
    )
    return {r["sku__product_id"]: int(r["available"] or 0) for r in rows}


def _units(product_ids: set[int]) -> tuple[dict[int, list[str]], dict[tuple[int, str], int]]:
    """Each product's unit barcodes and each ``(sku_id, unit code)``'s pack factor, in one query."""
    gtins: dict[int, list[str]] = defaultdict(list)
    factors: dict[tuple[int, str], int] = {}
    for pid, sku_id, code, factor, gtin in SkuUnit.objects.filter(
        sku__product_id__in=any_of(product_ids)
    ).values_list("sku__product_id", "sku_id", "code", "factor", "gtin"):
        factors[(sku_id, code)] = factor
        if gtin:
            gtins[pid].append(gtin)
    return gtins, factors


def price_map(
    product_ids: set[int], factors: dict[tuple[int, str], int]
) -> dict[int, dict[str, float]]:
    """``{product_id: {price_list_id: lowest price per base unit}}`` from active price lists.

    The price of a quantity break from 1 unit, divided by the unit's pack factor
    (``factors``, from :func:`_units`), the lowest over the product's SKUs and
    units. Empty when the pricing app is not installed.
    """
    if not apps.is_installed("core.pricing") or not product_ids:
        return {}
    from core.pricing.models import PriceListItem

    out: dict[int, dict[str, float]] = defaultdict(dict)
    rows = PriceListItem.objects.filter(
        Q(sku__product_id__in=any_of(product_ids)), min_quantity=1, price_list__is_active=True
    ).values_list("sku__product_id", "sku_id", "unit_code", "price_list_id", "unit_price")
    for pid, sku_id, unit_code, list_id, unit_price in rows:
        per_base = float(Decimal(unit_price) / factors.get((sku_id, unit_code), 1))
        key = str(list_id)
        current = out[pid].get(key)
        if current is None or per_base < current:
            out[pid][key] = round(per_base, 4)
    return out


def _document(
    row: tuple,
    skus: Iterable[tuple],
    specs: dict[str, AttributeSpec],
    paths: dict[int, list[int]],
    available: int,
    prices: dict[str, float],
    unit_gtins: Iterable[str],
    extra: dict[str, Any] | None,
) -> dict[str, Any]:
    pid, name, description, category_id, brand_id, attributes, created_at, brand, category = row
    # The product's attributes, plugin fields and every SKU's attributes: a product
    # matches a filter when it or any of its SKUs has the value.
    attrs: dict[str, list[str]] = {}
    numbers: dict[str, list[float]] = {}
    free_text: list[str] = []
    sources = [{**(attributes or {}), **(extra or {})}, *(s[4] for s in skus if s[4])]
    for values in sources:
        for key, value in values.items():
            spec = specs.get(key)
            if spec is None:
                free_text.extend(choice_values(value) if not isinstance(value, dict) else [])
            elif spec.kind == AttributeKind.NUMBER:
                number = number_value(value)
                if number is not None:
                    numbers.setdefault(key, []).append(number)
            else:
                choices = choice_values(value)
                if choices:
                    attrs.setdefault(key, []).extend(choices)
                    free_text.extend(choices)
    attrs = {key: list(dict.fromkeys(values)) for key, values in attrs.items()}
    # One number, or the sorted distinct numbers when SKUs differ (10 kΩ and 22 kΩ).
    nums: dict[str, float | list[float]] = {
        key: values[0] if len(set(values)) == 1 else sorted(set(values))
        for key, values in numbers.items()
    }
    codes = [s[1] for s in skus] + [s[3] for s in skus if s[3]] + list(unit_gtins)
    other = [
        brand or "",
        category or "",
        *(s[2] for s in skus if s[2] and s[2] != name),
        *free_text,
        description,
    ]
    name_words = text.document_words(name)
    other_words = [t for part in other if part for t in text.document_words(part)]
    return {
        "product_id": pid,
        "name": name,
        "name_sort": text.normalise(name),
        "category_id": category_id,
        "category_path": paths.get(category_id, []) if category_id else [],
        "brand_id": brand_id,
        "name_words": name_words[:MAX_TOKENS],
        "words": (name_words + other_words)[:MAX_TOKENS],
        "codes": sorted({text.normalise(c).strip()[: text.MAX_CODE_LENGTH] for c in codes if c}),
        "attrs": attrs,
        "nums": nums,
        "prices": prices,
        "in_stock": available > 0,
        "available": available,
        "created_at": created_at,
    }
