"""Changing the food plugin's data: policies, mixed-case groups, production dates.
Each service runs in one transaction and raises :class:`core.exceptions.DomainError`
on bad input (nothing saved). Prices are the tenant's price lists: single units
without a unit price are priced from the case price when the order is placed
(:mod:`plugins.food.pricing`); nothing here writes prices but the demo's case prices."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from core.exceptions import DomainError, check_lengths

from .models import CasePolicy, MixedCaseGroup, Policy, ProductionDate

NAME = "food"
NO_CASE_UNIT = "NO_CASE_UNIT"
# A best-before is a production or receipt date plus the shelf life: a longer shelf life
# would put it past the last date Python and PostgreSQL can hold.
MAX_SHELF_LIFE_DAYS = 36_500


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

    Single units of a SKU whose lists price it per case only are priced from
    the case price when ordered (:mod:`plugins.food.pricing`).
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
    if shelf_life_days is not None and shelf_life_days > MAX_SHELF_LIFE_DAYS:
        raise DomainError(
            _("A shelf life is at most %(most)d days.") % {"most": MAX_SHELF_LIFE_DAYS},
            code="INVALID",
            field="shelfLifeDays",
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
    """Record the production date of the stock ``warehouse`` ships next for ``sku``.

    A lot longer than its column is ``TOO_LONG`` (not cut)."""
    from django.utils import timezone

    if production_date > timezone.localdate():
        raise DomainError(
            _("A production date cannot be in the future."), code="INVALID", field="productionDate"
        )
    lot = (lot or "").strip()
    check_lengths(ProductionDate, lot=lot)
    row, _created = ProductionDate.objects.update_or_create(
        sku=sku,
        warehouse=warehouse,
        defaults={"production_date": production_date, "lot": lot},
    )
    return row


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
