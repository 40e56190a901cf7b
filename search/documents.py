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
def build_documents(product_ids: Iterable[int]) -> tuple[list[dict[str, Any]], list[int]]:
    """``(documents, missing)``: documents of the active products among ``product_ids``,
    and the ids that must leave the index (deleted or not active)."""
    ids = sorted({int(i) for i in product_ids})
    if not ids:
        return [], []
    products = list(
        Product.objects.filter(id__in=ids, status=ProductStatus.ACTIVE)
        .select_related("brand", "category")
        .prefetch_related("skus")
    )
    found = {p.id for p in products}
    missing = [i for i in ids if i not in found]
    if not products:
        return [], missing
    specs = attribute_specs()
    paths = category_paths()
    stock = _stock_by_product(found)
    prices = price_map(found)
    codes = _unit_codes(found)
    tenant, hooks = _tenant_hooks()
    with_plugins = hooks is not None and hooks.has("search_document_fields")
    docs = []
    for product in products:
        extra = hooks.search_document_fields(tenant, product) if with_plugins else {}
        docs.append(
            _document(
                product,
                specs,
                paths,
                stock.get(product.id, 0),
                prices.get(product.id, {}),
                codes.get(product.id, []),
                extra,
            )
        )
    return docs, missing


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
        Stock.objects.filter(sku__product_id__in=product_ids, warehouse__is_active=True)
        .values("sku__product_id")
        .annotate(available=Sum(F("on_hand") - F("reserved")))
    )
    return {r["sku__product_id"]: int(r["available"] or 0) for r in rows}


def _unit_codes(product_ids: set[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = defaultdict(list)
    for pid, gtin in (
        SkuUnit.objects.filter(sku__product_id__in=product_ids)
        .exclude(gtin="")
        .values_list("sku__product_id", "gtin")
    ):
        out[pid].append(gtin)
    return out


def price_map(product_ids: set[int]) -> dict[int, dict[str, float]]:
    """``{product_id: {price_list_id: lowest price per base unit}}`` from active price lists.

    The price of a quantity break from 1 unit, divided by the unit's pack factor,
    the lowest over the product's SKUs and units. Empty when the pricing app is
    not installed.
    """
    if not apps.is_installed("core.pricing") or not product_ids:
        return {}
    from core.pricing.models import PriceListItem

    factors = {
        (sku_id, code): factor
        for sku_id, code, factor in SkuUnit.objects.filter(
            sku__product_id__in=product_ids
        ).values_list("sku_id", "code", "factor")
    }
    out: dict[int, dict[str, float]] = defaultdict(dict)
    rows = PriceListItem.objects.filter(
        Q(sku__product_id__in=product_ids), min_quantity=1, price_list__is_active=True
    ).values_list("sku__product_id", "sku_id", "unit_code", "price_list_id", "unit_price")
    for pid, sku_id, unit_code, list_id, unit_price in rows:
        per_base = float(Decimal(unit_price) / factors.get((sku_id, unit_code), 1))
        key = str(list_id)
        current = out[pid].get(key)
        if current is None or per_base < current:
            out[pid][key] = round(per_base, 4)
    return out


def _document(
    product: Product,
    specs: dict[str, AttributeSpec],
    paths: dict[int, list[int]],
    available: int,
    prices: dict[str, float],
    unit_gtins: list[str],
    extra: dict[str, Any],
) -> dict[str, Any]:
    attrs: dict[str, list[str]] = {}
    nums: dict[str, float] = {}
    free_text: list[str] = []
    values = {**(product.attributes or {}), **(extra or {})}
    for key, value in values.items():
        spec = specs.get(key)
        if spec is None:
            free_text.extend(choice_values(value) if not isinstance(value, dict) else [])
        elif spec.kind == AttributeKind.NUMBER:
            number = number_value(value)
            if number is not None:
                nums[key] = number
        else:
            choices = list(dict.fromkeys(choice_values(value)))
            if choices:
                attrs[key] = choices
                free_text.extend(choices)
    skus: list[Sku] = list(product.skus.all())
    codes = [s.code for s in skus] + [s.gtin for s in skus if s.gtin] + unit_gtins
    other = [
        product.brand.name if product.brand else "",
        product.category.name if product.category else "",
        *(s.name for s in skus if s.name and s.name != product.name),
        *free_text,
        product.description,
    ]
    name_tokens = text.document_tokens(product.name)
    other_tokens = [t for part in other if part for t in text.document_tokens(part)]
    return {
        "product_id": product.id,
        "name": product.name,
        "name_sort": text.normalise(product.name),
        "category_id": product.category_id,
        "category_path": paths.get(product.category_id, []) if product.category_id else [],
        "brand_id": product.brand_id,
        "name_tokens": name_tokens[:MAX_TOKENS],
        "tokens": (name_tokens + other_tokens)[:MAX_TOKENS],
        "codes": sorted({text.normalise(c).strip() for c in codes if c}),
        "attrs": attrs,
        "nums": nums,
        "prices": prices,
        "in_stock": available > 0,
        "available": available,
        "created_at": product.created_at,
    }
