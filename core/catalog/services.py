"""Changes to the catalogue: categories, brands, products, SKUs, units, images, catalogues.

Every channel (GraphQL, the console, imports) goes through these functions.
Bad input raises :class:`ValidationFailed` with one typed error per problem,
each naming its field (``skus.2.gtin``), and nothing is saved.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

from core.exceptions import DomainError, ValidationFailed, check_lengths

from .attributes import clean_attributes, clean_schema, merge_schemas
from .models import (
    Brand,
    Catalogue,
    Category,
    Product,
    ProductImage,
    ProductStatus,
    Sku,
    SkuUnit,
)
from .rules import MAX_LINE_QUANTITY, clean_gtin
from .selectors import effective_attribute_schema

_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-/]{0,63}$")
_UNIT_RE = re.compile(r"^[a-z][a-z0-9_]{0,15}$")


def enforce_plan_limit(resource: str, *, adding: int = 1) -> None:
    try:
        from tenants.limits import enforce_plan_limit as enforce
    except ImportError:  # pragma: no cover - ships with the platform
        return
    enforce(resource, adding=adding)


class Errors:
    """Collects typed errors under a field prefix; raise them all at once."""

    def __init__(self) -> None:
        self.items: list[DomainError] = []

    def add(self, message: str, *, field: str, code: str = "INVALID", **params: Any) -> None:
        self.items.append(DomainError(message, field=field, code=code, **params))

    def extend(self, exc: DomainError, *, prefix: str = "") -> None:
        for e in getattr(exc, "errors", None) or [exc]:
            name = (
                f"{prefix}{e.field}"
                if prefix and e.field
                else (e.field or prefix.rstrip(".") or None)
            )
            self.items.append(DomainError(e.message, field=name, code=e.code, **e.params))

    def raise_if_any(self) -> None:
        if self.items:
            raise ValidationFailed(self.items)

    def __bool__(self) -> bool:
        return bool(self.items)


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, float):
        value = repr(value)
    try:
        d = Decimal(str(value).strip().rstrip("%"))
    except InvalidOperation:
        return None
    if not d.is_finite():
        return None
    if isinstance(value, str) and value.strip().endswith("%"):
        d = d / 100
    return d


def _positive_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    try:
        n = int(str(value).strip()) if not isinstance(value, int) else value
    except (TypeError, ValueError):
        return None
    return n if 1 <= n <= MAX_LINE_QUANTITY else None  # base units are PostgreSQL integers


# --- categories and brands ---------------------------------------------------------------


@transaction.atomic
def create_category(
    *, name: str, slug: str = "", parent: Category | None = None, attribute_schema: Any = None
) -> Category:
    errors = Errors()
    name = (name or "").strip()
    slug = (slug or "").strip() or slugify(name, allow_unicode=False)
    if not name:
        errors.add(_("A category needs a name."), field="name", code="REQUIRED")
    if not slug:
        errors.add(
            _("Give the category a slug (letters, digits, '-')."), field="slug", code="REQUIRED"
        )
    elif Category.objects.filter(slug=slug).exists():
        errors.add(
            _("The slug %(slug)s is already in use.") % {"slug": slug}, field="slug", code="TAKEN"
        )
    schema: list = []
    try:
        schema = clean_schema(attribute_schema)
    except DomainError as exc:
        errors.extend(exc)
    errors.raise_if_any()
    check_lengths(Category, name=name, slug=slug)
    category = Category(name=name, slug=slug, parent=parent, attribute_schema=schema)
    category.save()
    return category


_UNSET: Any = object()


@transaction.atomic
def update_category(
    category: Category,
    *,
    name: str | None = None,
    slug: str | None = None,
    parent: Category | None = _UNSET,
    attribute_schema: Any = _UNSET,
) -> Category:
    errors = Errors()
    if name is not None:
        if not name.strip():
            errors.add(_("A category needs a name."), field="name", code="REQUIRED")
        category.name = name.strip()
    if slug is not None:
        if Category.objects.filter(slug=slug).exclude(pk=category.pk).exists():
            errors.add(
                _("The slug %(slug)s is already in use.") % {"slug": slug},
                field="slug",
                code="TAKEN",
            )
        category.slug = slug
    if parent is not _UNSET:
        if parent is not None and (
            parent.pk == category.pk or parent.path.startswith(category.path)
        ):
            errors.add(
                _("A category cannot be placed under itself or its own subcategory."),
                field="parent",
                code="INVALID_PARENT",
            )
        category.parent = parent
    if attribute_schema is not _UNSET:
        try:
            category.attribute_schema = clean_schema(attribute_schema)
        except DomainError as exc:
            errors.extend(exc)
    errors.raise_if_any()
    check_lengths(Category, name=category.name, slug=category.slug)
    category.save()
    return category


@transaction.atomic
def create_brand(*, name: str) -> Brand:
    name = (name or "").strip()
    if not name:
        raise DomainError(_("A brand needs a name."), field="name", code="REQUIRED")
    check_lengths(Brand, name=name)
    if Brand.objects.filter(name__iexact=name).exists():
        raise DomainError(
            _("The brand %(name)s exists already.") % {"name": name}, field="name", code="TAKEN"
        )
    return Brand.objects.create(name=name)


@transaction.atomic
def update_brand(brand: Brand, *, name: str) -> Brand:
    name = (name or "").strip()
    if not name:
        raise DomainError(_("A brand needs a name."), field="name", code="REQUIRED")
    check_lengths(Brand, name=name)
    if Brand.objects.filter(name__iexact=name).exclude(pk=brand.pk).exists():
        raise DomainError(
            _("The brand %(name)s exists already.") % {"name": name}, field="name", code="TAKEN"
        )
    brand.name = name
    brand.save(update_fields=["name"])
    return brand


# --- products, SKUs and units: one validated upsert for every channel -----------------------


@dataclass
class CatalogSnapshot:
    """What validation needs from the database, loaded in a few queries for a whole batch."""

    categories: dict[str, Category]
    categories_by_id: dict[int, Category]
    brands: dict[str, Brand]
    products: dict[str, Product]
    skus: dict[str, Sku]
    units: dict[int, dict[str, SkuUnit]]
    gtin_owner: dict[str, tuple[str, str]]  # gtin → (sku code, unit code)

    def schema_for(self, category: Category | None) -> list[dict[str, Any]]:
        if category is None:
            return []
        return merge_schemas(
            self.categories_by_id[pk].attribute_schema
            for pk in category.lineage_ids
            if pk in self.categories_by_id
        )


def load_snapshot(*, product_codes: Iterable[str], sku_codes: Iterable[str], gtins: Iterable[str]):
    categories = list(Category.objects.all())
    skus = {
        s.code: s for s in Sku.objects.select_related("product").filter(code__in=set(sku_codes))
    }
    units: dict[int, dict[str, SkuUnit]] = {}
    for unit in SkuUnit.objects.filter(sku_id__in=[s.pk for s in skus.values()]):
        units.setdefault(unit.sku_id, {})[unit.code] = unit
    gtins = set(gtins)
    owner: dict[str, tuple[str, str]] = {}
    if gtins:
        for gtin, sku_code, unit_code in SkuUnit.objects.filter(gtin__in=gtins).values_list(
            "gtin", "sku__code", "code"
        ):
            owner[gtin] = (sku_code, unit_code)
        for gtin, sku_code, base_unit in Sku.objects.filter(gtin__in=gtins).values_list(
            "gtin", "code", "base_unit"
        ):
            owner.setdefault(gtin, (sku_code, base_unit))
    return CatalogSnapshot(
        categories={c.slug: c for c in categories},
        categories_by_id={c.pk: c for c in categories},
        brands={b.name.lower(): b for b in Brand.objects.all()},
        products={p.code: p for p in Product.objects.filter(code__in=set(product_codes))},
        skus=skus,
        units=units,
        gtin_owner=owner,
    )


@dataclass
class UpsertResult:
    products_created: int = 0
    products_updated: int = 0
    skus_created: int = 0
    skus_updated: int = 0
    products: list[Product] = field(default_factory=list)


PRODUCT_KEYS = (
    "code",
    "name",
    "category",
    "brand",
    "description",
    "status",
    "tax_rate",
    "attributes",
    "images",
    "skus",
)
SKU_KEYS = (
    "code",
    "name",
    "gtin",
    "base_unit",
    "min_order_qty",
    "order_multiple",
    "attributes",
    "is_active",
    "units",
)


def _clean_units(
    raw_units: Any,
    *,
    sku_code: str,
    base_unit: str,
    base_gtin: str,
    where: str,
    errors: Errors,
    seen_gtins: dict[str, str],
    snapshot: CatalogSnapshot,
) -> list[dict[str, Any]]:
    units: list[dict[str, Any]] = []
    codes: set[str] = set()
    factors: set[int] = set()
    for k, raw in enumerate(raw_units or []):
        uw = f"{where}.units.{k}"
        code = str(raw.get("code") or "").strip().lower()
        if not _UNIT_RE.match(code):
            errors.add(
                _("A unit code is lower-case letters and digits (each, inner, case, pallet)."),
                field=f"{uw}.code",
                code="INVALID",
            )
            continue
        factor = _positive_int(raw.get("factor", 1))
        if factor is None:
            errors.add(
                _("A pack size is a whole number of base units, 1 or more."),
                field=f"{uw}.factor",
                code="INVALID_FACTOR",
            )
            continue
        if code in codes or factor in factors:
            errors.add(
                _("The unit %(unit)s (or its pack size) is listed twice.") % {"unit": code},
                field=f"{uw}.code",
                code="DUPLICATE",
            )
            continue
        if factor == 1 and code != base_unit:
            errors.add(
                _("Only the base unit %(unit)s holds 1 base unit.") % {"unit": base_unit},
                field=f"{uw}.factor",
                code="INVALID_FACTOR",
            )
            continue
        try:
            gtin = clean_gtin(raw.get("gtin"), field=f"{uw}.gtin")
            check_lengths(
                SkuUnit, report_as={"name": f"{uw}.name"}, name=str(raw.get("name") or "").strip()
            )
        except DomainError as exc:
            errors.extend(exc)
            continue
        codes.add(code)
        factors.add(factor)
        units.append(
            {
                "code": code,
                "name": str(raw.get("name") or "").strip(),
                "factor": factor,
                "gtin": gtin,
                "is_sellable": bool(raw.get("is_sellable", True)),
            }
        )
    base = next((u for u in units if u["factor"] == 1), None)
    if base is None:
        units.insert(
            0, {"code": base_unit, "name": "", "factor": 1, "gtin": base_gtin, "is_sellable": True}
        )
    elif base_gtin and not base["gtin"]:
        base["gtin"] = base_gtin
    elif base_gtin and base["gtin"] != base_gtin:
        errors.add(
            _("The base unit's barcode differs from the SKU's barcode."),
            field=f"{where}.gtin",
            code="INVALID_GTIN",
        )
    for unit in units:
        gtin = unit["gtin"]
        if not gtin:
            continue
        if gtin in seen_gtins and seen_gtins[gtin] != f"{sku_code}/{unit['code']}":
            errors.add(
                _("The barcode %(gtin)s is given twice (also for %(other)s).")
                % {"gtin": gtin, "other": seen_gtins[gtin]},
                field=f"{where}.gtin",
                code="DUPLICATE",
            )
            continue
        seen_gtins[gtin] = f"{sku_code}/{unit['code']}"
        owner = snapshot.gtin_owner.get(gtin)
        if owner is not None and owner != (sku_code, unit["code"]):
            errors.add(
                _("The barcode %(gtin)s already belongs to %(sku)s/%(unit)s.")
                % {"gtin": gtin, "sku": owner[0], "unit": owner[1]},
                field=f"{where}.gtin",
                code="GTIN_TAKEN",
            )
    return units


def validate_products(
    items: Sequence[Mapping[str, Any]], *, prefix: str = "products", partial: bool = False
) -> tuple[list[dict[str, Any]], CatalogSnapshot]:
    """Check a batch of products with their SKUs and units; returns cleaned data.

    Each item: ``code``, ``name``, ``category`` (slug), ``brand`` (name),
    ``description``, ``status``, ``tax_rate``, ``attributes``, ``images``
    (URLs) and ``skus`` (each ``code``, ``name``, ``gtin``, ``base_unit``,
    ``min_order_qty``, ``order_multiple``, ``attributes``, ``units``: list of
    ``code``, ``factor``, ``gtin``, ``is_sellable``). Existing products and SKUs
    (by code) are updated. With ``partial``, fields an existing product omits
    are kept. Raises ValidationFailed with every problem, fields named
    ``products.3.skus.0.gtin``.
    """
    errors = Errors()
    product_codes, sku_codes, gtins = set(), set(), set()
    for item in items:
        product_codes.add(str(item.get("code") or "").strip())
        for sku in item.get("skus") or []:
            sku_codes.add(str(sku.get("code") or "").strip())
            gtins.add(str(sku.get("gtin") or "").strip())
            for unit in sku.get("units") or []:
                gtins.add(str(unit.get("gtin") or "").strip())
    gtins.discard("")
    snapshot = load_snapshot(product_codes=product_codes, sku_codes=sku_codes, gtins=gtins)
    cleaned: list[dict[str, Any]] = []
    seen_products: dict[str, int] = {}
    seen_skus: dict[str, str] = {}
    seen_gtins: dict[str, str] = {}
    for i, item in enumerate(items):
        where = f"{prefix}.{i}"
        code = str(item.get("code") or "").strip()
        existing = snapshot.products.get(code)
        keep = partial and existing is not None
        if not code:
            errors.add(_("A product needs a code."), field=f"{where}.code", code="REQUIRED")
            continue
        if not _CODE_RE.match(code):
            errors.add(
                _("Use up to 64 letters, digits, '.', '-', '_' or '/' for a code."),
                field=f"{where}.code",
                code="INVALID",
            )
            continue
        if code in seen_products:
            errors.add(
                _("The product %(code)s is given twice.") % {"code": code},
                field=f"{where}.code",
                code="DUPLICATE",
            )
            continue
        seen_products[code] = i
        out: dict[str, Any] = {"code": code, "existing": existing}
        name = item.get("name")
        if name is None and keep:
            out["name"] = existing.name
        elif not str(name or "").strip():
            errors.add(_("A product needs a name."), field=f"{where}.name", code="REQUIRED")
        else:
            out["name"] = str(name).strip()
            limit = Product._meta.get_field("name").max_length
            if len(out["name"]) > limit:
                errors.add(
                    _("At most %(n)d characters.") % {"n": limit},
                    field=f"{where}.name",
                    code="TOO_LONG",
                )
        category = existing.category if keep and existing else None
        if item.get("category") not in (None, ""):
            slug = str(item["category"]).strip()
            category = snapshot.categories.get(slug)
            if category is None:
                errors.add(
                    _("Unknown category %(slug)s.") % {"slug": slug},
                    field=f"{where}.category",
                    code="UNKNOWN_CATEGORY",
                )
        elif item.get("category") == "" or (item.get("category") is None and not keep):
            category = None
        out["category"] = category
        brand = existing.brand if keep and existing else None
        if item.get("brand") not in (None, ""):
            brand = snapshot.brands.get(str(item["brand"]).strip().lower())
            if brand is None:
                errors.add(
                    _("Unknown brand %(name)s.") % {"name": item["brand"]},
                    field=f"{where}.brand",
                    code="UNKNOWN_BRAND",
                )
        elif item.get("brand") == "" or (item.get("brand") is None and not keep):
            brand = None
        out["brand"] = brand
        out["description"] = (
            str(item.get("description") or "")
            if not (keep and item.get("description") is None)
            else existing.description
        )
        status = item.get("status") or (existing.status if keep else ProductStatus.ACTIVE)
        if status not in ProductStatus.values:
            errors.add(
                _("Unknown status %(status)s; use draft, active or discontinued.")
                % {"status": status},
                field=f"{where}.status",
                code="INVALID",
            )
        out["status"] = status
        if item.get("tax_rate") in (None, ""):
            out["tax_rate"] = existing.tax_rate if keep else Decimal("0.13")
        else:
            rate = _decimal(item["tax_rate"])
            if rate is None or rate < 0 or rate >= 1:
                errors.add(
                    _("The tax rate is a fraction between 0 and 1 (0.13 or 13%)."),
                    field=f"{where}.tax_rate",
                    code="INVALID",
                )
            else:
                out["tax_rate"] = rate.quantize(Decimal("0.0001"))
        attributes = item.get("attributes")
        if attributes is None and keep:
            attributes = existing.attributes
        if attributes is not None and not isinstance(attributes, Mapping):
            errors.add(_("Attributes are an object of code: value."), field=f"{where}.attributes")
        elif category is not None or attributes:
            try:
                out["attributes"] = clean_attributes(
                    snapshot.schema_for(category), attributes, field=f"{where}.attributes"
                )
            except DomainError as exc:
                errors.extend(exc)
        else:
            out["attributes"] = {}
        images = item.get("images")
        if images is not None:
            from django.core.exceptions import ValidationError
            from django.core.validators import URLValidator

            valid = []
            for k, url in enumerate(images):
                try:
                    URLValidator()(str(url))
                    valid.append(str(url))
                except ValidationError:
                    errors.add(
                        _("Enter a valid image URL."), field=f"{where}.images.{k}", code="INVALID"
                    )
            out["images"] = valid
        out["skus"] = []
        for j, raw_sku in enumerate(item.get("skus") or []):
            sw = f"{where}.skus.{j}"
            scode = str(raw_sku.get("code") or "").strip()
            if not scode:
                errors.add(_("A SKU needs a code."), field=f"{sw}.code", code="REQUIRED")
                continue
            if not _CODE_RE.match(scode):
                errors.add(
                    _("Use up to 64 letters, digits, '.', '-', '_' or '/' for a code."),
                    field=f"{sw}.code",
                    code="INVALID",
                )
                continue
            if scode in seen_skus:
                errors.add(
                    _("The SKU %(code)s is given twice.") % {"code": scode},
                    field=f"{sw}.code",
                    code="DUPLICATE",
                )
                continue
            seen_skus[scode] = code
            sku_existing = snapshot.skus.get(scode)
            if sku_existing is not None and sku_existing.product.code != code:
                errors.add(
                    _("The SKU %(sku)s belongs to the product %(product)s.")
                    % {"sku": scode, "product": sku_existing.product.code},
                    field=f"{sw}.code",
                    code="SKU_OF_OTHER_PRODUCT",
                )
                continue
            skeep = partial and sku_existing is not None
            sku_out: dict[str, Any] = {"code": scode, "existing": sku_existing}
            sku_name = str(raw_sku.get("name") or "").strip()
            limit = Sku._meta.get_field("name").max_length
            if len(sku_name) > limit:  # one inherited from the product was checked there
                errors.add(
                    _("At most %(n)d characters.") % {"n": limit},
                    field=f"{sw}.name",
                    code="TOO_LONG",
                )
                continue
            sku_out["name"] = sku_name or (sku_existing.name if skeep else out.get("name", ""))
            base_unit = str(
                raw_sku.get("base_unit") or (sku_existing.base_unit if sku_existing else "each")
            )
            base_unit = base_unit.strip().lower()
            if not _UNIT_RE.match(base_unit):
                errors.add(
                    _("A unit code is lower-case letters and digits (each, inner, case, pallet)."),
                    field=f"{sw}.base_unit",
                    code="INVALID",
                )
                continue
            if sku_existing is not None and base_unit != sku_existing.base_unit:
                errors.add(
                    _("The base unit of an existing SKU cannot change."),
                    field=f"{sw}.base_unit",
                    code="INVALID",
                )
                continue
            sku_out["base_unit"] = base_unit
            try:
                gtin_raw = raw_sku.get("gtin")
                sku_out["gtin"] = (
                    sku_existing.gtin
                    if skeep and gtin_raw is None
                    else clean_gtin(gtin_raw, field=f"{sw}.gtin")
                )
            except DomainError as exc:
                errors.extend(exc)
                continue
            for key, default in (("min_order_qty", 1), ("order_multiple", 1)):
                raw = raw_sku.get(key)
                if raw in (None, ""):
                    sku_out[key] = getattr(sku_existing, key) if skeep else default
                    continue
                n = _positive_int(raw)
                if n is None:
                    errors.add(
                        _("A whole number of base units, 1 or more."),
                        field=f"{sw}.{key}",
                        code="INVALID_QUANTITY",
                    )
                else:
                    sku_out[key] = n
            if (
                sku_out.get("order_multiple")
                and sku_out.get("min_order_qty")
                and (sku_out["min_order_qty"] % sku_out["order_multiple"])
            ):
                errors.add(
                    _("The minimum order quantity must be a multiple of the order multiple."),
                    field=f"{sw}.min_order_qty",
                    code="INVALID_QUANTITY",
                )
            sku_attrs = raw_sku.get("attributes")
            if sku_attrs is not None and not isinstance(sku_attrs, Mapping):
                errors.add(_("Attributes are an object of code: value."), field=f"{sw}.attributes")
            sku_out["attributes"] = (
                dict(sku_attrs)
                if isinstance(sku_attrs, Mapping)
                else (sku_existing.attributes if sku_existing else {})
            )
            sku_out["is_active"] = bool(
                raw_sku.get("is_active", True if not skeep else sku_existing.is_active)
            )
            raw_units = raw_sku.get("units")
            sku_out["units"] = _clean_units(
                raw_units,
                sku_code=scode,
                base_unit=base_unit,
                base_gtin=sku_out.get("gtin", ""),
                where=sw,
                errors=errors,
                seen_gtins=seen_gtins,
                snapshot=snapshot,
            )
            out["skus"].append(sku_out)
        cleaned.append(out)
    errors.raise_if_any()
    return cleaned, snapshot


@transaction.atomic
def upsert_products(
    items: Sequence[Mapping[str, Any]],
    *,
    prefix: str = "products",
    partial: bool = False,
    check_plan_limit: bool = True,
    progress=None,
) -> UpsertResult:
    """Create or update products with their SKUs and units, all or nothing.

    Validation (:func:`validate_products`) runs on the whole batch first; then
    rows are written in bulk (a handful of statements per thousand rows). The
    plan's SKU limit is checked once for the batch. ``progress(done, total)``
    is called as products are written.
    """
    cleaned, snapshot = validate_products(items, prefix=prefix, partial=partial)
    new_skus = sum(1 for p in cleaned for s in p["skus"] if s["existing"] is None)
    if check_plan_limit and new_skus:
        enforce_plan_limit("skus", adding=new_skus)
    result = UpsertResult()
    product_fields = (
        "name",
        "category",
        "brand",
        "description",
        "status",
        "tax_rate",
        "attributes",
    )
    to_create, to_update = [], []
    for p in cleaned:
        product = p["existing"] or Product(code=p["code"])
        for f in product_fields:
            if f in p:
                setattr(product, f, p[f])
        (to_update if p["existing"] else to_create).append(product)
        p["product"] = product
    Product.objects.bulk_create(to_create, batch_size=1000)
    if to_update:
        Product.objects.bulk_update(to_update, product_fields, batch_size=1000)
    result.products_created, result.products_updated = len(to_create), len(to_update)
    if progress:
        progress(len(cleaned) // 3, len(cleaned))
    sku_fields = ("name", "gtin", "min_order_qty", "order_multiple", "attributes", "is_active")
    skus_new, skus_old = [], []
    for p in cleaned:
        for s in p["skus"]:
            sku = s["existing"] or Sku(
                product=p["product"], code=s["code"], base_unit=s["base_unit"]
            )
            for f in sku_fields:
                setattr(sku, f, s[f])
            (skus_old if s["existing"] else skus_new).append(sku)
            s["sku"] = sku
    if skus_old:
        # Free barcodes moving between units of this batch before setting the new ones.
        Sku.objects.filter(pk__in=[s.pk for s in skus_old]).update(gtin="")
        Sku.objects.bulk_update(skus_old, sku_fields, batch_size=1000)
    Sku.objects.bulk_create(skus_new, batch_size=1000)
    result.skus_created, result.skus_updated = len(skus_new), len(skus_old)
    if progress:
        progress(2 * len(cleaned) // 3, len(cleaned))
    units_new, units_old = [], []
    replaced_skus = [s["sku"].pk for p in cleaned for s in p["skus"] if s["existing"]]
    if replaced_skus:
        SkuUnit.objects.filter(sku_id__in=replaced_skus).update(gtin="")
    for p in cleaned:
        for s in p["skus"]:
            current = snapshot.units.get(s["sku"].pk, {}) if s["existing"] else {}
            for u in s["units"]:
                unit = current.get(u["code"])
                if unit is None:
                    units_new.append(SkuUnit(sku=s["sku"], **u))
                else:
                    for k, v in u.items():
                        setattr(unit, k, v)
                    units_old.append(unit)
            if s["existing"]:
                # Units not named are kept as they were (their barcodes were cleared above).
                listed = {u["code"] for u in s["units"]}
                units_old.extend(u for code, u in current.items() if code not in listed)
    if units_old:
        SkuUnit.objects.bulk_update(
            units_old, ["name", "factor", "gtin", "is_sellable"], batch_size=1000
        )
    SkuUnit.objects.bulk_create(units_new, batch_size=1000)
    images = [p for p in cleaned if "images" in p]
    if images:
        ProductImage.objects.filter(product__in=[p["product"] for p in images], image="").delete()
        ProductImage.objects.bulk_create(
            [
                ProductImage(product=p["product"], url=url, position=k)
                for p in images
                for k, url in enumerate(p["images"])
            ]
        )
    result.products = [p["product"] for p in cleaned]
    if progress:
        progress(len(cleaned), len(cleaned))
    return result


def _single(exc: ValidationFailed, prefix: str) -> ValidationFailed:
    """Errors of a one-item batch, with ``products.0.`` stripped from their fields."""
    errors = []
    for e in exc.errors:
        name = e.field or ""
        name = name[len(prefix) :] if name.startswith(prefix) else name
        errors.append(DomainError(e.message, field=name or None, code=e.code, **e.params))
    return ValidationFailed(errors)


def _product_item(product: Product | None, data: Mapping[str, Any]) -> dict[str, Any]:
    item = {k: v for k, v in data.items() if k in PRODUCT_KEYS}
    if product is not None:
        item["code"] = product.code
    for key, attr in (("category", "slug"), ("brand", "name")):
        value = item.get(key)
        if value is not None and not isinstance(value, str):
            item[key] = getattr(value, attr)
    return item


def create_product(**data: Any) -> Product:
    """One product (with optional ``skus``); fields as :func:`validate_products` describes.
    ``category`` and ``brand`` may be objects or slug/name."""
    if not data.get("code"):
        from .models import new_product_code

        data["code"] = new_product_code()
    if Product.objects.filter(code=data["code"]).exists():
        raise DomainError(
            _("The product code %(code)s is already in use.") % {"code": data["code"]},
            field="code",
            code="TAKEN",
        )
    try:
        return upsert_products([_product_item(None, data)]).products[0]
    except ValidationFailed as exc:
        raise _single(exc, "products.0.") from None


def update_product(product: Product, **data: Any) -> Product:
    """Change the given fields of ``product`` (others kept); ``skus`` given are upserted."""
    try:
        return upsert_products([_product_item(product, data)], partial=True).products[0]
    except ValidationFailed as exc:
        raise _single(exc, "products.0.") from None


def _sku_item(sku_data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in sku_data.items() if k in SKU_KEYS}


def create_sku(*, product: Product, **data: Any) -> Sku:
    """A SKU of ``product`` with its units (the base unit is added when not listed)."""
    if Sku.objects.filter(code=(data.get("code") or "").strip()).exists():
        raise DomainError(
            _("The SKU code %(code)s is already in use.") % {"code": data.get("code")},
            field="code",
            code="TAKEN",
        )
    try:
        upsert_products([{"code": product.code, "skus": [_sku_item(data)]}], partial=True)
    except ValidationFailed as exc:
        raise _single(exc, "products.0.skus.0.") from None
    return Sku.objects.get(code=data["code"].strip())


def update_sku(sku: Sku, **data: Any) -> Sku:
    """Change fields of ``sku``; ``units`` given are upserted by code (others kept)."""
    data = {**_sku_item(data), "code": sku.code}
    try:
        upsert_products([{"code": sku.product.code, "skus": [data]}], partial=True)
    except ValidationFailed as exc:
        raise _single(exc, "products.0.skus.0.") from None
    sku.refresh_from_db()
    return sku


@transaction.atomic
def remove_sku_unit(unit: SkuUnit) -> None:
    if unit.factor == 1:
        raise DomainError(_("The base unit cannot be removed."), field="unit", code="INVALID")
    unit.delete()


@transaction.atomic
def add_product_image(
    *,
    product: Product,
    url: str = "",
    file=None,
    alt: str = "",
    position: int | None = None,
    sku: Sku | None = None,
) -> ProductImage:
    if not url and file is None:
        raise DomainError(_("Give an image file or URL."), field="url", code="REQUIRED")
    if sku is not None and sku.product_id != product.pk:
        raise DomainError(_("The SKU is not one of the product's."), field="sku", code="INVALID")
    if position is None:
        position = product.images.count()
    image = ProductImage(product=product, sku=sku, url=url or "", alt=alt, position=position)
    if file is not None:
        image.image = file
    image.save()
    return image


# --- authorised catalogues ----------------------------------------------------------------


@transaction.atomic
def save_catalogue(
    *,
    name: str,
    catalogue: Catalogue | None = None,
    description: str = "",
    categories: Iterable[Category] = (),
    brands: Iterable[Brand] = (),
    products: Iterable[Product] = (),
    dealers: Iterable[Any] | None = None,
) -> Catalogue:
    """Create or replace an authorised catalogue's grants (and its dealers when given)."""
    name = (name or "").strip()
    if not name:
        raise DomainError(_("A catalogue needs a name."), field="name", code="REQUIRED")
    check_lengths(Catalogue, name=name)
    taken = Catalogue.objects.filter(name__iexact=name)
    if catalogue is not None:
        taken = taken.exclude(pk=catalogue.pk)
    if taken.exists():
        raise DomainError(
            _("A catalogue named %(name)s exists.") % {"name": name}, field="name", code="TAKEN"
        )
    catalogue = catalogue or Catalogue()
    catalogue.name, catalogue.description = name, description
    catalogue.save()
    catalogue.categories.set(list(categories))
    catalogue.brands.set(list(brands))
    catalogue.products.set(list(products))
    if dealers is not None:
        catalogue.dealers.set(list(dealers))
    return catalogue


def attribute_schema_for(category: Category | None) -> list[dict[str, Any]]:
    return effective_attribute_schema(category)
