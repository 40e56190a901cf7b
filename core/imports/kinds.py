"""The built-in import kinds: products (one row per SKU) and dealers (one row per dealer)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.db.models import Prefetch
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from core.exceptions import DomainError, ValidationFailed

from .registry import register
from .spec import (
    DECIMAL,
    INTEGER,
    JSON,
    LIST,
    ApplyResult,
    Column,
    ImportKind,
    Row,
    RowError,
    RowErrors,
)

_UNIT_RE = re.compile(
    r"^\s*([A-Za-z][A-Za-z0-9_]*)\s*=\s*(\d+)\s*(?::\s*(\d+))?\s*(\(not sold\))?\s*$"
)


def _errors_to_rows(exc: DomainError, locate) -> list[RowError]:
    """Service errors (fields like ``products.3.skus.0.gtin``) → row and column."""
    out = []
    for e in getattr(exc, "errors", None) or [exc]:
        row, column = locate(e.field or "")
        out.append(RowError(row, column, e.code, e.message))
    return out


# --- products --------------------------------------------------------------------------------
class ProductImport(ImportKind):
    """One row per SKU; rows with the same product code make one product.

    Product columns (name, category …) may be repeated on every row of the
    product or given on its first row only; different values are an error.
    Units: ``case=12:6901234567892; pallet=480`` (code=base units[:barcode]);
    add ``(not sold)`` after a unit that cannot be ordered.
    """

    key = "products"
    label = _l("Products")
    columns = (
        Column(
            "product_code",
            _l("Product code"),
            required=True,
            example="TEA-GREEN",
            help=_l("Rows with the same product code are the SKUs of one product."),
        ),
        Column(
            "product_name",
            _l("Product name"),
            example="Green tea drink",
            help=_l("Required on the product's first row."),
        ),
        Column("category", _l("Category"), example="drinks", help=_l("The category's slug.")),
        Column("brand", _l("Brand"), example="Acme", help=_l("An existing brand's name.")),
        Column("description", _l("Description")),
        Column("status", _l("Status"), example="active", help=_l("draft, active or discontinued")),
        Column("tax_rate", _l("Tax rate"), example="0.13", help=_l("0.13 or 13%")),
        Column(
            "attributes",
            _l("Attributes"),
            JSON,
            example="volume=500",
            help=_l("code=value; code=value, as the category's attribute schema declares."),
        ),
        Column("image_urls", _l("Image URLs"), LIST, help=_l("Separate several with |.")),
        Column("sku_code", _l("SKU code"), required=True, example="TEA-500"),
        Column("sku_name", _l("SKU name"), example="Green tea 500ml"),
        Column(
            "gtin",
            _l("Barcode (GTIN)"),
            example="6901234500080",
            help=_l("EAN-13/UPC/GTIN-14 of the base unit; the check digit is verified."),
        ),
        Column("base_unit", _l("Base unit"), example="each"),
        Column("min_order_qty", _l("Minimum order (base units)"), INTEGER, example=1),
        Column("order_multiple", _l("Order multiple (base units)"), INTEGER, example=1),
        Column(
            "units",
            _l("Pack units"),
            example="case=24",
            help=_l("case=24:barcode; pallet=960 — base units per unit, optional barcode."),
        ),
    )
    PRODUCT_FIELDS = {
        "product_name": "name",
        "category": "category",
        "brand": "brand",
        "description": "description",
        "status": "status",
        "tax_rate": "tax_rate",
        "attributes": "attributes",
        "image_urls": "images",
    }
    FIELD_COLUMNS = {v: k for k, v in PRODUCT_FIELDS.items()} | {"code": "product_code"}
    SKU_COLUMNS = {
        "code": "sku_code",
        "name": "sku_name",
        "gtin": "gtin",
        "base_unit": "base_unit",
        "min_order_qty": "min_order_qty",
        "order_multiple": "order_multiple",
        "units": "units",
        "attributes": "units",
    }

    def _units(self, text: str | None, number: int, errors: list[RowError]) -> list[dict] | None:
        if not text:
            return None
        units = []
        for part in str(text).replace("；", ";").split(";"):
            if not part.strip():
                continue
            match = _UNIT_RE.match(part)
            if not match:
                errors.append(
                    RowError(
                        number, "units", "INVALID", _("Write units as case=12:barcode; pallet=480.")
                    )
                )
                return None
            code, factor, gtin, not_sold = match.groups()
            units.append(
                {
                    "code": code.lower(),
                    "factor": int(factor),
                    "gtin": gtin or "",
                    "is_sellable": not not_sold,
                }
            )
        return units

    def validate(self, rows: list[Row], *, user) -> Any:
        from core.catalog.services import validate_products

        errors: list[RowError] = []
        items: list[dict[str, Any]] = []
        index: dict[str, int] = {}
        first_row: list[int] = []
        sku_rows: list[list[int]] = []
        for row in rows:
            v = row.values
            code = v.get("product_code")
            if code not in index:
                index[code] = len(items)
                items.append({"code": code, "skus": []})
                first_row.append(row.number)
                sku_rows.append([])
            i = index[code]
            item = items[i]
            for column, name in self.PRODUCT_FIELDS.items():
                value = v.get(column)
                if value is None:
                    continue
                if name in item and item[name] != value:
                    errors.append(
                        RowError(
                            row.number,
                            column,
                            "CONFLICT",
                            _("Differs from this product's earlier row %(row)d.")
                            % {"row": first_row[i]},
                        )
                    )
                item[name] = value
            sku = {
                "code": v.get("sku_code"),
                "name": v.get("sku_name"),
                "gtin": v.get("gtin") or "",
                "base_unit": v.get("base_unit"),
                "min_order_qty": v.get("min_order_qty"),
                "order_multiple": v.get("order_multiple"),
            }
            units = self._units(v.get("units"), row.number, errors)
            if units is not None:
                sku["units"] = units
            item["skus"].append(sku)
            sku_rows[i].append(row.number)
        for item in items:
            item.setdefault("name", None)

        def locate(field: str) -> tuple[int, str | None]:
            parts = field.split(".")
            if len(parts) < 2 or not parts[1].isdigit():
                return 1, None
            i = int(parts[1])
            rest = parts[2:]
            if rest[:1] == ["skus"] and len(rest) > 1 and rest[1].isdigit():
                j = int(rest[1])
                sub = rest[2:]
                return sku_rows[i][j], self.SKU_COLUMNS.get(
                    sub[0] if sub else "code", sub[0] if sub else None
                )
            name = rest[0] if rest else "code"
            return first_row[i], self.FIELD_COLUMNS.get(name, name)

        try:
            validate_products(items)
        except ValidationFailed as exc:
            errors.extend(_errors_to_rows(exc, locate))
        if errors:  # the sheet's own problems and the catalogue's, all at once
            raise RowErrors(errors)
        return items, locate

    def apply(self, payload, *, user, progress=None) -> ApplyResult:
        from core.catalog.services import upsert_products

        items, locate = payload
        try:
            result = upsert_products(items, progress=progress)
        except ValidationFailed as exc:
            raise RowErrors(_errors_to_rows(exc, locate)) from None
        except DomainError as exc:  # the plan's SKU limit, a race
            raise RowErrors([RowError(1, None, exc.code, exc.message)]) from None
        return ApplyResult(
            created=result.products_created,
            updated=result.products_updated,
            extra={"skus_created": result.skus_created, "skus_updated": result.skus_updated},
        )

    def export_rows(self, *, user) -> Iterable[dict[str, Any]]:
        from core.catalog.models import Product, ProductImage, Sku, SkuUnit

        products = (
            Product.objects.select_related("category", "brand")
            .order_by("code")
            .prefetch_related(
                Prefetch(
                    "skus",
                    queryset=Sku.objects.order_by("code").prefetch_related(
                        Prefetch("units", queryset=SkuUnit.objects.order_by("factor"))
                    ),
                ),
                Prefetch(
                    "images", queryset=ProductImage.objects.filter(image="").order_by("position")
                ),
            )
        )
        for product in products.iterator(chunk_size=500):
            common = {
                "product_code": product.code,
                "product_name": product.name,
                "category": product.category.slug if product.category else "",
                "brand": product.brand.name if product.brand else "",
                "description": product.description,
                "status": product.status,
                "tax_rate": product.tax_rate,
                "attributes": product.attributes,
                "image_urls": [i.url for i in product.images.all()],
            }
            for sku in product.skus.all():
                units = "; ".join(
                    f"{u.code}={u.factor}"
                    + (f":{u.gtin}" if u.gtin else "")
                    + ("" if u.is_sellable else " (not sold)")
                    for u in sku.units.all()
                    if u.factor != 1
                )
                yield {
                    **common,
                    "sku_code": sku.code,
                    "sku_name": sku.name,
                    "gtin": sku.gtin,
                    "base_unit": sku.base_unit,
                    "min_order_qty": sku.min_order_qty,
                    "order_multiple": sku.order_multiple,
                    "units": units,
                }


# --- dealers ------------------------------------------------------------------------------------
class DealerImport(ImportKind):
    """One row per dealer, created or updated by code. A parent may be another row
    of the same sheet (in any order) or an existing dealer."""

    key = "dealers"
    label = _l("Dealers")
    columns = (
        Column("code", _l("Dealer code"), required=True, example="EAST-SH-001", max_length=40),
        Column("name", _l("Name"), required=True, example="Shanghai Shop", max_length=200),
        Column("parent_code", _l("Parent dealer code"), example="EAST-01"),
        Column("tier", _l("Tier"), example="gold"),
        Column("region", _l("Region"), example="east"),
        Column("status", _l("Status"), example="active", help=_l("active, on_hold or closed")),
        Column("currency", _l("Currency"), example="CNY"),
        Column("credit_limit", _l("Credit limit"), DECIMAL, example="50000"),
        Column(
            "payment_terms",
            _l("Payment terms"),
            example="net_30",
            help=_l("prepaid, cod, net_15, net_30, net_45, net_60 or net_90"),
        ),
        Column("tax_id", _l("Tax id")),
        Column("email", _l("Email")),
        Column("phone", _l("Phone")),
        Column("sales_reps", _l("Sales reps"), LIST, help=_l("User names, separated by |.")),
        Column("billing_address", _l("Billing address")),
        Column("shipping_address", _l("Shipping address")),
        Column("contact_name", _l("Contact name")),
        Column("contact_phone", _l("Contact phone")),
        Column("contact_email", _l("Contact email")),
    )
    FIELDS = (
        "name",
        "tier",
        "region",
        "status",
        "currency",
        "credit_limit",
        "payment_terms",
        "tax_id",
        "email",
        "phone",
    )

    def validate(self, rows: list[Row], *, user) -> Any:
        from core.accounts.models import Dealer, Role, User
        from core.accounts.services import _clean_dealer_fields

        errors: list[RowError] = []
        by_code: dict[str, Row] = {}
        for row in rows:
            code = row.values["code"]
            if code in by_code:
                errors.append(
                    RowError(
                        row.number,
                        "code",
                        "DUPLICATE",
                        _("The dealer %(code)s is also on row %(row)d.")
                        % {"code": code, "row": by_code[code].number},
                    )
                )
                continue
            by_code[code] = row
        existing = {
            d.code: d
            for d in Dealer.objects.filter(
                code__in=set(by_code)
                | {r.values.get("parent_code") for r in rows if r.values.get("parent_code")}
            )
        }
        rep_names = {n for r in rows for n in (r.values.get("sales_reps") or [])}
        reps = {u.username: u for u in User.objects.filter(username__in=rep_names)}
        prepared = []
        for code, row in by_code.items():
            v = row.values
            current = existing.get(code)
            fields = {k: v[k] for k in self.FIELDS if v.get(k) is not None}
            fields["code"] = code
            try:
                fields = _clean_dealer_fields(fields, instance=current)
            except ValidationFailed as exc:
                errors.extend(RowError(row.number, e.field, e.code, e.message) for e in exc.errors)
            parent = v.get("parent_code")
            if parent and parent not in by_code and parent not in existing:
                errors.append(
                    RowError(
                        row.number,
                        "parent_code",
                        "UNKNOWN_PARENT",
                        _("No dealer %(code)s here or in the sheet.") % {"code": parent},
                    )
                )
            if parent == code:
                errors.append(
                    RowError(
                        row.number,
                        "parent_code",
                        "INVALID_PARENT",
                        _("A dealer cannot be its own parent."),
                    )
                )
            if not v.get("contact_name") and (v.get("contact_email") or v.get("contact_phone")):
                # the contact's email or phone would be dropped without a name to keep them on
                errors.append(
                    RowError(
                        row.number,
                        "contact_name",
                        "REQUIRED",
                        _("%(column)s is required.")
                        % {"column": self.column("contact_name").label},
                    )
                )
            rep_users = []
            for name in v.get("sales_reps") or []:
                rep = reps.get(name)
                if rep is None or rep.role != Role.SALES_REP:
                    errors.append(
                        RowError(
                            row.number,
                            "sales_reps",
                            "UNKNOWN_SALES_REP",
                            _("%(name)s is not a sales rep.") % {"name": name},
                        )
                    )
                rep_users.append(rep)
            prepared.append(
                {
                    "row": row,
                    "fields": fields,
                    "parent": parent,
                    "reps": rep_users,
                    "existing": current,
                }
            )
        # Parents before children; a cycle inside the sheet is an error.
        order, state = [], {}

        def visit(code: str, chain: tuple[str, ...]) -> None:
            if state.get(code) == "done" or code not in by_code:
                return
            if code in chain:
                errors.append(
                    RowError(
                        by_code[code].number,
                        "parent_code",
                        "INVALID_PARENT",
                        _("The parents form a loop: %(loop)s") % {"loop": " → ".join(chain)},
                    )
                )
                state[code] = "done"
                return
            parent = by_code[code].values.get("parent_code")
            if parent and parent != code:  # its own parent is reported once, above
                visit(parent, (*chain, code))
            if state.get(code) != "done":
                state[code] = "done"
                order.append(code)

        for code in by_code:
            visit(code, ())
        if errors:
            raise RowErrors(errors)
        positions = {code: i for i, code in enumerate(order)}
        prepared.sort(key=lambda p: positions[p["fields"]["code"]])
        return prepared

    def apply(self, payload, *, user, progress=None) -> ApplyResult:
        from core.accounts.models import Dealer, DealerStatus
        from core.accounts.services import create_dealer, enforce_plan_limit, update_dealer

        adding = sum(
            1
            for p in payload
            if p["existing"] is None
            and p["fields"].get("status", DealerStatus.ACTIVE) != DealerStatus.CLOSED
        )
        try:
            if adding:
                enforce_plan_limit("dealers", adding=adding)
        except DomainError as exc:
            raise RowErrors([RowError(1, None, exc.code, exc.message)]) from None
        saved: dict[str, Dealer] = {}
        result = ApplyResult()
        for n, p in enumerate(payload):
            row = p["row"]
            v = row.values
            parent = None
            if p["parent"]:
                parent = saved.get(p["parent"]) or Dealer.objects.get(code=p["parent"])
            address_columns = [col for col in ("billing_address", "shipping_address") if v.get(col)]
            addresses = [{"kind": col.split("_")[0], "line1": v[col]} for col in address_columns]
            contacts = (
                [
                    {
                        "name": v["contact_name"],
                        "phone": v.get("contact_phone") or "",
                        "email": v.get("contact_email") or "",
                        "is_primary": True,
                    }
                ]
                if v.get("contact_name")
                else None
            )
            try:
                if p["existing"] is None:
                    dealer = create_dealer(
                        **p["fields"],
                        parent=parent,
                        sales_reps=p["reps"],
                        addresses=addresses or None,
                        contacts=contacts,
                        check_plan_limit=False,
                    )
                    result.created += 1
                else:
                    fields = {k: val for k, val in p["fields"].items() if k != "code"}
                    dealer = update_dealer(
                        p["existing"],
                        parent=parent,
                        **fields,
                        sales_reps=p["reps"] if v.get("sales_reps") is not None else None,
                        addresses=addresses or None,
                        contacts=contacts,
                    )
                    result.updated += 1
            except DomainError as exc:
                errors = getattr(exc, "errors", None) or [exc]
                raise RowErrors(
                    [
                        RowError(
                            row.number,
                            self._sheet_column(e.field, address_columns),
                            e.code,
                            e.message,
                        )
                        for e in errors
                    ]
                ) from None
            saved[dealer.code] = dealer
            if progress and n % 100 == 0:
                progress(n, len(payload))
        return result

    @staticmethod
    def _sheet_column(field: str | None, address_columns: list[str]) -> str | None:
        """The sheet's column for a service's field: ``addresses.1.line1`` is the row's second
        address column, ``contacts.0.email`` is contact_email, ``parent`` is parent_code."""
        parts = (field or "").split(".")
        if (
            parts[0] == "addresses"
            and len(parts) > 1
            and parts[1].isdigit()
            and int(parts[1]) < len(address_columns)
        ):
            return address_columns[int(parts[1])]
        if parts[0] == "contacts" and len(parts) > 2:
            return {"name": "contact_name", "email": "contact_email", "phone": "contact_phone"}.get(
                parts[2], field
            )
        return {"parent": "parent_code"}.get(field or "", field)

    def export_rows(self, *, user) -> Iterable[dict[str, Any]]:
        from core.accounts.selectors import dealers_visible_to

        dealers = (
            dealers_visible_to(user)
            .select_related("parent")
            .prefetch_related("sales_reps", "addresses", "contacts")
            .order_by("path")
        )
        for d in dealers:
            billing = next(
                (a for a in d.addresses.all() if a.kind == "billing" and a.is_default), None
            )
            shipping = next(
                (a for a in d.addresses.all() if a.kind == "shipping" and a.is_default), None
            )
            contact = next(iter(d.contacts.all()), None)
            yield {
                "code": d.code,
                "name": d.name,
                "parent_code": d.parent.code if d.parent else "",
                "tier": d.tier,
                "region": d.region,
                "status": d.status,
                "currency": d.currency,
                "credit_limit": d.credit_limit,
                "payment_terms": d.payment_terms,
                "tax_id": d.tax_id,
                "email": d.email,
                "phone": d.phone,
                "sales_reps": [u.username for u in d.sales_reps.all()],
                "billing_address": str(billing) if billing else "",
                "shipping_address": str(shipping) if shipping else "",
                "contact_name": contact.name if contact else "",
                "contact_phone": contact.phone if contact else "",
                "contact_email": contact.email if contact else "",
            }


register(ProductImport())
register(DealerImport())
