"""Changing the food plugin's data: policies, mixed-case groups, production dates,
and base-unit prices derived from case prices. Each service runs in one transaction
and raises :class:`core.exceptions.DomainError` on bad input (nothing saved)."""

from __future__ import annotations

import datetime
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from core.exceptions import DomainError

from .models import CasePolicy, DerivedUnitPrice, MixedCaseGroup, Policy, ProductionDate

NAME = "food"
FOUR = Decimal("0.0001")
NO_CASE_UNIT = "NO_CASE_UNIT"


def _case_unit(sku: Any, code: str | None) -> Any:
    from core.catalog.models import SkuUnit

    units = list(SkuUnit.objects.filter(sku=sku, factor__gt=1).order_by("factor"))
    if code:
        unit = next((u for u in units if u.code.lower() == code.strip().lower()), None)
        if unit is None:
            raise DomainError(
                _("%(sku)s has no pack unit %(unit)s holding more than one unit.")
                % {"sku": sku.code, "unit": code},
                code="INVALID",
                field="caseUnit",
            )
        return unit
    unit = next((u for u in units if u.is_sellable), units[0] if units else None)
    if unit is None:
        raise DomainError(
            _("%(sku)s has no case unit: add a unit with more than one piece (e.g. a case of 24).")
            % {"sku": sku.code},
            code=NO_CASE_UNIT,
            field="caseUnit",
        )
    return unit


@transaction.atomic
def set_case_policy(
    *,
    sku: Any,
    policy: str,
    min_units: int = 0,
    case_unit: str | None = None,
    shelf_life_days: int | None = None,
    mixed_group: str | None = None,
) -> CasePolicy:
    """Set how ``sku`` may be ordered (its case unit defaults to its smallest pack).

    When the policy lets single units be ordered (or puts the SKU in a mixed
    group), base-unit prices are derived from case prices where a list has
    only a case price (:func:`derive_unit_prices`).
    """
    if policy not in Policy.values:
        raise DomainError(_("Unknown ordering policy."), code="INVALID", field="policy")
    unit = _case_unit(sku, case_unit)
    min_units = int(min_units or 0)
    if policy == Policy.UNITS_MIN:
        if min_units < 1 or min_units >= unit.factor:
            raise DomainError(
                _("The minimum must be from 1 to %(most)d units (less than a case).")
                % {"most": unit.factor - 1},
                code="INVALID",
                field="minUnits",
            )
    else:
        min_units = 0
    if shelf_life_days is not None and shelf_life_days < 1:
        raise DomainError(
            _("Enter a shelf life of 1 day or more."), code="INVALID", field="shelfLifeDays"
        )
    group = None
    if mixed_group:
        group = MixedCaseGroup.objects.filter(code=mixed_group.strip()).first()
        if group is None:
            raise DomainError(
                _("No mixed-case group has this code."), code="NOT_FOUND", field="mixedGroup"
            )
    row, _created = CasePolicy.objects.update_or_create(
        sku=sku,
        defaults={
            "policy": policy,
            "min_units": min_units,
            "case_unit": unit,
            "shelf_life_days": shelf_life_days,
            "mixed_group": group,
        },
    )
    derive_unit_prices(sku_ids=[sku.pk])
    return row


@transaction.atomic
def save_mixed_group(*, code: str, name: str, case_size: int) -> MixedCaseGroup:
    code = (code or "").strip()
    if not code:
        raise DomainError(_("Enter a code."), code="REQUIRED", field="code")
    if case_size < 2:
        raise DomainError(
            _("A mixed case holds 2 units or more."), code="INVALID", field="caseSize"
        )
    group, _created = MixedCaseGroup.objects.update_or_create(
        code=code, defaults={"name": name or code, "case_size": case_size}
    )
    return group


@transaction.atomic
def set_production_date(
    *, sku: Any, warehouse: Any, production_date: datetime.date, lot: str = ""
) -> ProductionDate:
    """Record the production date of the stock ``warehouse`` ships next for ``sku``."""
    from django.utils import timezone

    if production_date > timezone.localdate():
        raise DomainError(
            _("A production date cannot be in the future."), code="INVALID", field="productionDate"
        )
    row, _created = ProductionDate.objects.update_or_create(
        sku=sku,
        warehouse=warehouse,
        defaults={"production_date": production_date, "lot": (lot or "").strip()[:40]},
    )
    return row


@transaction.atomic
def derive_unit_prices(*, sku_ids: list[int] | None = None) -> int:
    """Give SKUs that may be ordered in single units a base-unit price where a list
    prices them per case only: each case break ÷ the case size (the first from
    one unit, the others from as many units as their cases hold). Such rows are marked as derived; the order's
    pricing step then prices single units from the current case price plus the
    split surcharge. A list with its own unit prices is left alone; derived rows
    follow later case-price changes when this runs again, and go when the case
    price goes. Returns the number of (list, SKU) pairs changed."""
    from core.pricing.models import PriceList, PriceListItem
    from core.pricing.services import PriceInput, delete_prices, upsert_prices

    policies = CasePolicy.objects.select_related("sku", "case_unit")
    if sku_ids is not None:
        policies = policies.filter(sku_id__in=sku_ids)
    wanted = {
        p.sku_id: p
        for p in policies
        if p.policy != Policy.CASE_ONLY or p.mixed_group_id is not None
    }
    markers = DerivedUnitPrice.objects.all()
    if sku_ids is not None:
        markers = markers.filter(sku_id__in=sku_ids)
    marked = set(markers.values_list("price_list_id", "sku_id"))
    touched_skus = set(wanted) | {sku for _pl, sku in marked}
    rows: dict[tuple[int, int], list[tuple[str, int, Decimal]]] = defaultdict(list)
    for pl, sku, unit, min_q, price in PriceListItem.objects.filter(
        sku_id__in=touched_skus
    ).values_list("price_list_id", "sku_id", "unit_code", "min_quantity", "unit_price"):
        rows[(pl, sku)].append((unit, min_q, price))
    lists = {
        pl.pk: pl
        for pl in PriceList.objects.filter(pk__in={k[0] for k in rows} | {k[0] for k in marked})
    }
    changed = 0
    for key in sorted(set(rows) | marked):
        pl_id, sku_id = key
        policy = wanted.get(sku_id)
        existing = rows.get(key, [])
        is_marked = key in marked
        if policy is None:
            if is_marked:  # the SKU no longer takes single units: drop what we derived
                from core.catalog.models import Sku

                base = Sku.objects.filter(pk=sku_id).values_list("base_unit", flat=True).first()
                if base:
                    delete_prices(price_list=lists[pl_id], sku_id=sku_id, unit_code=base)
                DerivedUnitPrice.objects.filter(price_list_id=pl_id, sku_id=sku_id).delete()
                changed += 1
            continue
        base_unit, size = policy.sku.base_unit, policy.case_unit.factor
        case_rows = sorted((m, p) for u, m, p in existing if u == policy.case_unit.code)
        base_rows = sorted((m, p) for u, m, p in existing if u == base_unit)
        if base_rows and not is_marked:
            continue  # the tenant prices single units itself
        if not case_rows:
            if is_marked:
                delete_prices(price_list=lists[pl_id], sku_id=sku_id, unit_code=base_unit)
                DerivedUnitPrice.objects.filter(price_list_id=pl_id, sku_id=sku_id).delete()
                changed += 1
            continue
        derived = [  # the first break prices from one unit, later ones from as many cases
            (1 if i == 0 else m * size, (p / size).quantize(FOUR, rounding=ROUND_HALF_UP))
            for i, (m, p) in enumerate(case_rows)
        ]
        if derived == base_rows:
            continue
        upsert_prices(
            price_list=lists[pl_id],
            prices=[
                PriceInput(unit_price=price, sku_id=sku_id, unit_code=base_unit, min_quantity=m)
                for m, price in derived
            ],
        )
        DerivedUnitPrice.objects.get_or_create(price_list_id=pl_id, sku_id=sku_id)
        changed += 1
    return changed


# --- demo data ----------------------------------------------------------------------
DEMO = {
    # SKU: (case GTIN-14 without its check digit, case size, policy, minimum units,
    # shelf life days, case price)
    "TEA-500": ("1690123450008", 24, Policy.UNITS_MIN, 6, 270, Decimal("72.00")),
    "SPK-330": ("1690123450009", 24, Policy.CASE_ONLY, 0, 365, Decimal("48.00")),
}


@transaction.atomic
def load_demo_data() -> None:
    """Case units with barcodes, policies, a mixed-case group, production dates and
    case prices for the demo's drinks (TEA-500, SPK-330). Idempotent."""
    from django.utils import timezone

    from core.catalog.models import Sku, SkuUnit
    from core.catalog.rules import gtin_check_digit
    from core.inventory.models import Warehouse
    from core.pricing.models import PriceList, PriceListItem
    from core.pricing.services import PriceInput, upsert_prices

    skus = {s.code: s for s in Sku.objects.filter(code__in=DEMO)}
    if not skus:
        return
    group = save_mixed_group(
        code="DRINKS-330", name="Sparkling water, mixed flavours", case_size=24
    )
    base_list = PriceList.objects.filter(kind="base", is_active=True).order_by("pk").first()
    if base_list is None:
        base_list, _created = PriceList.objects.get_or_create(
            code="BASE", defaults={"name": "Base", "kind": "base", "currency": "CNY"}
        )
    warehouses = list(Warehouse.objects.filter(code__in=["SH", "CD"]))
    today = timezone.localdate()
    for code, (body, size, policy, minimum, shelf_life, price) in DEMO.items():
        gtin = body + str(gtin_check_digit(body))
        sku = skus.get(code)
        if sku is None:
            continue
        unit = SkuUnit.objects.filter(sku=sku, factor=size).first()
        if unit is None:
            taken = SkuUnit.objects.filter(gtin=gtin).exists()
            unit = SkuUnit.objects.create(
                sku=sku, code="case", name="Case", factor=size, gtin="" if taken else gtin
            )
        if not PriceListItem.objects.filter(
            price_list=base_list, sku=sku, unit_code=unit.code
        ).exists():
            upsert_prices(
                price_list=base_list,
                prices=[PriceInput(unit_price=price, sku_id=sku.pk, unit_code=unit.code)],
            )
        if not CasePolicy.objects.filter(sku=sku).exists():
            set_case_policy(
                sku=sku,
                policy=policy,
                min_units=minimum,
                case_unit=unit.code,
                shelf_life_days=shelf_life,
                mixed_group=group.code if code == "SPK-330" else None,
            )
        for offset, warehouse in enumerate(warehouses):
            if not ProductionDate.objects.filter(sku=sku, warehouse=warehouse).exists():
                set_production_date(
                    sku=sku,
                    warehouse=warehouse,
                    production_date=today - datetime.timedelta(days=30 + 15 * offset),
                    lot=f"{code}-{today:%y%m}-{offset + 1}",
                )
