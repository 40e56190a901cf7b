"""Everything that changes pricing state: price lists and prices, promotions and
their usage, the credit ledger, rebate programmes and ledger, quotes.

Services take keyword-only arguments, run in one transaction and raise
:class:`~core.exceptions.DomainError` (several problems at once:
:class:`~core.exceptions.ValidationFailed`); on an error nothing is saved.
``field`` in an error names the input, with list positions as ``prices.3.unit_price``.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.accounts.models import Dealer, User
from core.catalog.models import Brand, Category, Product, Sku, SkuUnit
from core.exceptions import (
    DomainError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
    check_lengths,
)

from .engine import CartLine
from .models import (
    CreditAccount,
    CreditEntry,
    CreditEntryKind,
    PriceList,
    PriceListAssignment,
    PriceListItem,
    PriceListKind,
    Promotion,
    PromotionDealerUsage,
    PromotionKind,
    PromotionRedemption,
    Quote,
    QuoteLine,
    QuoteStatus,
    RebateAccount,
    RebateEntry,
    RebateEntryKind,
    RebatePeriod,
    RebateProgramme,
)
from .money import ZERO, is_currency_code, minor_units, quantize, to_decimal
from .purchases import purchases_by_dealer

MAX_UNIT_PRICE = Decimal("99999999999999")
MAX_MIN_QUANTITY = 2**31 - 1  # a PostgreSQL integer
# Credit, payment and rebate amounts: room in the ledger's 16 digits for balances.
MAX_AMOUNT = Decimal("1000000000000")


def _check_currency(value: str, field: str, *, required: bool = True) -> str:
    value = (value or "").strip().upper()
    if not value and not required:
        return ""
    if not is_currency_code(value):
        raise DomainError(
            _("Use a three-letter ISO 4217 currency code."), code="INVALID_CURRENCY", field=field
        )
    return value


def _money(value: Any, field: str, currency: str, *, positive: bool = True) -> Decimal:
    amount = to_decimal(value)
    if amount is None:
        raise DomainError(_("Enter an amount."), code="INVALID", field=field)
    if positive and amount <= 0:
        raise DomainError(
            _("The amount must be more than zero."), code="INVALID_AMOUNT", field=field
        )
    if abs(amount) >= MAX_AMOUNT:
        raise DomainError(
            _("The amount must be less than %(max)s.") % {"max": f"{MAX_AMOUNT:,}"},
            code="INVALID_AMOUNT",
            field=field,
        )
    if amount != quantize(amount, currency):
        raise DomainError(
            _("%(currency)s amounts have at most %(places)s decimals.")
            % {"currency": currency, "places": minor_units(currency)},
            code="INVALID_AMOUNT",
            field=field,
        )
    return amount


def _check_range(start, end, field: str) -> None:
    if start is not None and end is not None and end <= start:
        raise DomainError(_("The end must be after the start."), code="INVALID_DATES", field=field)


# ======================================================================================
# Price lists
# ======================================================================================
_LIST_FIELDS = (
    "name",
    "kind",
    "currency",
    "tier",
    "region",
    "valid_from",
    "valid_to",
    "is_active",
    "priority",
)


@transaction.atomic
def save_price_list(
    *,
    price_list: PriceList | None = None,
    code: str | None = None,
    dealer_ids: Iterable[int] | None = None,
    **changes: Any,
) -> PriceList:
    """Create a price list (``price_list=None``) or change one.

    Kinds: ``base``; ``tier`` (needs ``tier``); ``region`` (needs ``region``);
    ``dealer`` (assigned to ``dealer_ids``). Changing the currency of a list that
    has prices is refused: its prices are in the old currency.
    """
    unknown = set(changes) - set(_LIST_FIELDS)
    if unknown:
        raise DomainError(_("Unknown field."), field=sorted(unknown)[0])
    creating = price_list is None
    pl = price_list or PriceList()
    if code is not None or creating:
        code = (code or "").strip()
        if not code:
            raise DomainError(_("Give the list a code."), code="REQUIRED", field="code")
        if PriceList.objects.filter(code__iexact=code).exclude(pk=pl.pk).exists():
            raise DomainError(_("Another price list has this code."), code="TAKEN", field="code")
        pl.code = code
    for name, value in changes.items():
        setattr(pl, name, value)
    pl.name = (pl.name or "").strip()
    if not pl.name:
        raise DomainError(_("Give the list a name."), code="REQUIRED", field="name")
    if pl.kind not in PriceListKind.values:
        raise DomainError(_("Unknown kind of price list."), code="INVALID", field="kind")
    new_currency = _check_currency(pl.currency, "currency")
    if (
        not creating
        and new_currency != PriceList.objects.get(pk=pl.pk).currency
        and pl.items.exists()
    ):
        raise DomainError(
            _("The list has prices in another currency; make a new list instead."),
            code="CURRENCY_MISMATCH",
            field="currency",
        )
    pl.currency = new_currency
    pl.tier, pl.region = (pl.tier or "").strip(), (pl.region or "").strip()
    if pl.kind == PriceListKind.TIER and not pl.tier:
        raise DomainError(_("A tier list needs the tier it is for."), code="REQUIRED", field="tier")
    if pl.kind == PriceListKind.REGION and not pl.region:
        raise DomainError(
            _("A region list needs the region it is for."), code="REQUIRED", field="region"
        )
    if pl.kind != PriceListKind.TIER:
        pl.tier = ""
    if pl.kind != PriceListKind.REGION:
        pl.region = ""
    _check_range(pl.valid_from, pl.valid_to, "valid_to")
    check_lengths(PriceList, code=pl.code, name=pl.name, tier=pl.tier, region=pl.region)
    pl.save()
    if dealer_ids is not None:
        set_price_list_dealers(price_list=pl, dealer_ids=dealer_ids)
    elif pl.kind != PriceListKind.DEALER:
        pl.assignments.all().delete()
    return pl


@transaction.atomic
def set_price_list_dealers(*, price_list: PriceList, dealer_ids: Iterable[int]) -> PriceList:
    """The dealers a dealer-specific list is for (replaces the previous set)."""
    ids = {int(i) for i in dealer_ids}
    if ids and price_list.kind != PriceListKind.DEALER:
        raise DomainError(
            _("Only dealer-specific lists are assigned to dealers."),
            code="INVALID",
            field="dealer_ids",
        )
    found = set(Dealer.objects.filter(pk__in=ids).values_list("pk", flat=True))
    if ids - found:
        raise DomainError(_("Unknown dealer."), code="NOT_FOUND", field="dealer_ids")
    price_list.assignments.exclude(dealer_id__in=ids).delete()
    existing = set(price_list.assignments.values_list("dealer_id", flat=True))
    PriceListAssignment.objects.bulk_create(
        [PriceListAssignment(price_list=price_list, dealer_id=i) for i in sorted(ids - existing)]
    )
    return price_list


@dataclass(frozen=True)
class PriceInput:
    """One quantity break to save: a row of a bulk upsert or of an imported sheet."""

    unit_price: Any
    sku_id: int | None = None
    sku_code: str | None = None
    unit_code: str | None = None  # the SKU's base unit when empty
    min_quantity: Any = 1
    currency: str | None = None  # when given, must be the list's currency


@dataclass(frozen=True)
class UpsertResult:
    created: int
    replaced: int  # breaks of the same SKU and unit that were replaced


def validate_prices(
    *, price_list: PriceList, prices: Sequence[PriceInput], field: str = "prices"
) -> list[PriceListItem]:
    """Check every row; return the items to save or raise ``ValidationFailed`` with
    one error per bad row (``prices.<i>.<field>``). Reads two queries."""
    errors: list[DomainError] = []
    codes = {p.sku_code.strip() for p in prices if p.sku_code and p.sku_id is None}
    ids = {int(p.sku_id) for p in prices if p.sku_id is not None}
    skus = Sku.objects.filter(Q(code__in=codes) | Q(pk__in=ids)).values_list(
        "pk", "code", "base_unit"
    )
    by_code = {code: (pk, base) for pk, code, base in skus}
    by_id = {pk: (pk, base) for pk, _code, base in skus}
    units: dict[int, set[str]] = defaultdict(set)
    for sku_id, unit in SkuUnit.objects.filter(sku_id__in=list(by_id)).values_list(
        "sku_id", "code"
    ):
        units[sku_id].add(unit)
    items: list[PriceListItem] = []
    seen: dict[tuple[int, str, int], int] = {}
    for i, row in enumerate(prices):
        where = f"{field}.{i}"
        if row.sku_id is not None:
            sku = by_id.get(int(row.sku_id))
            sku_field = f"{where}.sku_id"
        else:
            sku = by_code.get((row.sku_code or "").strip())
            sku_field = f"{where}.sku_code"
        if sku is None:
            errors.append(DomainError(_("Unknown SKU."), code="UNKNOWN_SKU", field=sku_field))
            continue
        sku_id, base_unit = sku
        unit = (row.unit_code or "").strip() or base_unit
        if unit != base_unit and unit not in units[sku_id]:
            errors.append(
                DomainError(
                    _("The SKU has no such unit."), code="UNKNOWN_UNIT", field=f"{where}.unit_code"
                )
            )
            continue
        if row.currency and row.currency.strip().upper() != price_list.currency:
            errors.append(
                DomainError(
                    _("This list is in %(currency)s.") % {"currency": price_list.currency},
                    code="CURRENCY_MISMATCH",
                    field=f"{where}.currency",
                )
            )
            continue
        try:
            min_quantity = int(str(row.min_quantity if row.min_quantity not in (None, "") else 1))
        except ValueError:
            min_quantity = 0
        if not 1 <= min_quantity <= MAX_MIN_QUANTITY:
            errors.append(
                DomainError(
                    _("A break starts at a whole quantity of 1 or more."),
                    code="INVALID_QUANTITY",
                    field=f"{where}.min_quantity",
                )
            )
            continue
        price = to_decimal(row.unit_price)
        if price is None:
            errors.append(
                DomainError(_("Enter a price."), code="INVALID", field=f"{where}.unit_price")
            )
            continue
        if price < 0:
            errors.append(
                DomainError(
                    _("A price cannot be negative."),
                    code="NEGATIVE_PRICE",
                    field=f"{where}.unit_price",
                )
            )
            continue
        if price > MAX_UNIT_PRICE or price != price.quantize(Decimal("0.0001")):
            errors.append(
                DomainError(
                    _("A price has at most 4 decimals."),
                    code="INVALID",
                    field=f"{where}.unit_price",
                )
            )
            continue
        key = (sku_id, unit, min_quantity)
        if key in seen:
            errors.append(
                DomainError(
                    _("Row %(row)s already has a break from this quantity for this SKU and unit.")
                    % {"row": seen[key]},
                    code="OVERLAPPING_BREAKS",
                    field=f"{where}.min_quantity",
                )
            )
            continue
        seen[key] = i
        items.append(
            PriceListItem(
                price_list=price_list,
                sku_id=sku_id,
                unit_code=unit,
                min_quantity=min_quantity,
                unit_price=price,
            )
        )
    if errors:
        raise ValidationFailed(errors)
    return items


@transaction.atomic
def upsert_prices(*, price_list: PriceList, prices: Sequence[PriceInput]) -> UpsertResult:
    """Save quantity breaks: for every SKU and unit in ``prices`` the given breaks
    replace that SKU and unit's ladder in the list. All rows or none."""
    if not prices:
        raise DomainError(_("Give at least one price."), code="REQUIRED", field="prices")
    items = validate_prices(price_list=price_list, prices=prices)
    PriceList.objects.select_for_update().filter(pk=price_list.pk).first()
    pairs = {(it.sku_id, it.unit_code) for it in items}
    stale = [
        pk
        for pk, sku_id, unit in PriceListItem.objects.filter(
            price_list=price_list, sku_id__in={s for s, _u in pairs}
        ).values_list("pk", "sku_id", "unit_code")
        if (sku_id, unit) in pairs
    ]
    for start in range(0, len(stale), 5000):
        PriceListItem.objects.filter(pk__in=stale[start : start + 5000]).delete()
    PriceListItem.objects.bulk_create(items, batch_size=2000)
    PriceList.objects.filter(pk=price_list.pk).update(updated_at=timezone.now())
    return UpsertResult(created=len(items), replaced=len(stale))


@transaction.atomic
def delete_prices(*, price_list: PriceList, sku_id: int, unit_code: str | None = None) -> int:
    qs = PriceListItem.objects.filter(price_list=price_list, sku_id=sku_id)
    if unit_code:
        qs = qs.filter(unit_code=unit_code)
    return qs.delete()[0]


# ======================================================================================
# Promotions
# ======================================================================================
_PROMO_FIELDS = (
    "name",
    "description",
    "kind",
    "currency",
    "rule",
    "priority",
    "stackable",
    "is_active",
    "starts_at",
    "ends_at",
    "dealer_ids",
    "tiers",
    "regions",
    "sku_ids",
    "product_ids",
    "category_ids",
    "brand_ids",
    "usage_limit",
    "usage_limit_per_dealer",
)


def _positive_number(
    rule: dict, key: str, *, integer: bool = False, maximum: Decimal | None = None
) -> Decimal:
    value = to_decimal(rule.get(key))
    if value is None or value <= 0 or (integer and value != value.to_integral_value()):
        raise DomainError(
            _("Enter a number greater than zero."), code="INVALID_RULE", field=f"rule.{key}"
        )
    if maximum is not None and value > maximum:
        raise DomainError(
            _("At most %(max)s.") % {"max": maximum}, code="INVALID_RULE", field=f"rule.{key}"
        )
    return value


def _check_ids(model, ids: Iterable[int], field: str) -> list[int]:
    wanted = sorted({int(i) for i in ids})
    if wanted and model.objects.filter(pk__in=wanted).count() != len(wanted):
        raise DomainError(_("Some of these do not exist."), code="NOT_FOUND", field=field)
    return wanted


def _normalise_rule(promo: Promotion) -> dict:
    if not isinstance(promo.rule or {}, dict):
        raise DomainError(_("The rule must be a JSON object."), code="INVALID_RULE", field="rule")
    rule = dict(promo.rule or {})
    kind = promo.kind
    if kind == PromotionKind.PERCENT_OFF:
        return {"percent": str(_positive_number(rule, "percent", maximum=Decimal(100)))}
    if kind == PromotionKind.AMOUNT_OFF:
        return {"amount": str(_money(rule.get("amount"), "rule.amount", promo.currency))}
    if kind == PromotionKind.SPEND_THRESHOLD:
        out = {"threshold": str(_money(rule.get("threshold"), "rule.threshold", promo.currency))}
        has_percent = rule.get("percent") not in (None, "")
        has_amount = rule.get("amount") not in (None, "")
        if has_percent == has_amount:
            raise DomainError(
                _("Give either a percentage or an amount off."),
                code="INVALID_RULE",
                field="rule.percent",
            )
        if has_percent:
            out["percent"] = str(_positive_number(rule, "percent", maximum=Decimal(100)))
        else:
            out["amount"] = str(_money(rule.get("amount"), "rule.amount", promo.currency))
        return out
    if kind == PromotionKind.BUY_X_GET_Y:
        out = {
            "buy_quantity": int(_positive_number(rule, "buy_quantity", integer=True)),
            "get_quantity": int(_positive_number(rule, "get_quantity", integer=True)),
            "get_sku_id": None,
            "max_applications": None,
        }
        if rule.get("get_sku_id") not in (None, ""):
            get_sku = int(rule["get_sku_id"])
            if not Sku.objects.filter(pk=get_sku).exists():
                raise DomainError(_("Unknown SKU."), code="NOT_FOUND", field="rule.get_sku_id")
            out["get_sku_id"] = get_sku
        if rule.get("max_applications") not in (None, ""):
            out["max_applications"] = int(_positive_number(rule, "max_applications", integer=True))
        return out
    if kind == PromotionKind.BUNDLE_PRICE:
        components = rule.get("components") or []
        if not isinstance(components, list):
            raise DomainError(
                _("Give a SKU and a quantity."), code="INVALID_RULE", field="rule.components"
            )
        if not components:
            raise DomainError(
                _("A bundle needs its SKUs."), code="NO_TARGET", field="rule.components"
            )
        seen: set[int] = set()
        out_components = []
        for i, comp in enumerate(components):
            try:
                sku_id, qty = int(comp["sku_id"]), int(comp.get("quantity", 1))
            except (KeyError, TypeError, ValueError):
                raise DomainError(
                    _("Give a SKU and a quantity."),
                    code="INVALID_RULE",
                    field=f"rule.components.{i}",
                ) from None
            if qty < 1:
                raise DomainError(
                    _("Enter a number greater than zero."),
                    code="INVALID_RULE",
                    field=f"rule.components.{i}.quantity",
                )
            if sku_id in seen:
                raise DomainError(
                    _("This SKU is already in the bundle."),
                    code="INVALID_RULE",
                    field=f"rule.components.{i}.sku_id",
                )
            seen.add(sku_id)
            out_components.append({"sku_id": sku_id, "quantity": qty})
        _check_ids(Sku, seen, "rule.components")
        out = {
            "components": out_components,
            "price": str(_money(rule.get("price"), "rule.price", promo.currency, positive=False)),
            "max_applications": None,
        }
        if rule.get("max_applications") not in (None, ""):
            out["max_applications"] = int(_positive_number(rule, "max_applications", integer=True))
        return out
    raise DomainError(_("Unknown kind of promotion."), code="INVALID", field="kind")


@transaction.atomic
def save_promotion(
    *, promotion: Promotion | None = None, code: str | None = None, **data: Any
) -> Promotion:
    """Create (``promotion=None``) or change a promotion, validating its rule.

    Percentage and amount off and buy X get Y need products to apply to (SKUs,
    products, categories or brands): without them the error is ``NO_TARGET``.
    Amount-based kinds need a currency. A bundle's SKUs are its targets.
    """
    unknown = set(data) - set(_PROMO_FIELDS)
    if unknown:
        raise DomainError(_("Unknown field."), field=sorted(unknown)[0])
    creating = promotion is None
    promo = promotion or Promotion()
    if code is not None or creating:
        code = (code or "").strip()
        if not code:
            raise DomainError(_("Give the promotion a code."), code="REQUIRED", field="code")
        if Promotion.objects.filter(code__iexact=code).exclude(pk=promo.pk).exists():
            raise DomainError(_("Another promotion has this code."), code="TAKEN", field="code")
        promo.code = code
    for name, value in data.items():
        setattr(promo, name, value)
    promo.name = (promo.name or "").strip()
    if not promo.name:
        raise DomainError(_("Give the promotion a name."), code="REQUIRED", field="name")
    check_lengths(Promotion, code=promo.code, name=promo.name, description=promo.description or "")
    if promo.kind not in PromotionKind.values:
        raise DomainError(_("Unknown kind of promotion."), code="INVALID", field="kind")
    needs_currency = promo.kind in (
        PromotionKind.AMOUNT_OFF,
        PromotionKind.SPEND_THRESHOLD,
        PromotionKind.BUNDLE_PRICE,
    )
    promo.currency = _check_currency(promo.currency or "", "currency", required=needs_currency)
    _check_range(promo.starts_at, promo.ends_at, "ends_at")
    promo.dealer_ids = _check_ids(Dealer, promo.dealer_ids or [], "dealer_ids")
    promo.tiers = sorted({t.strip() for t in promo.tiers or [] if t.strip()})
    promo.regions = sorted({r.strip() for r in promo.regions or [] if r.strip()})
    promo.sku_ids = _check_ids(Sku, promo.sku_ids or [], "sku_ids")
    promo.product_ids = _check_ids(Product, promo.product_ids or [], "product_ids")
    promo.category_ids = _check_ids(Category, promo.category_ids or [], "category_ids")
    promo.brand_ids = _check_ids(Brand, promo.brand_ids or [], "brand_ids")
    promo.rule = _normalise_rule(promo)
    if promo.kind == PromotionKind.BUNDLE_PRICE:
        promo.sku_ids = sorted(c["sku_id"] for c in promo.rule["components"])
        promo.product_ids, promo.category_ids, promo.brand_ids = [], [], []
    has_target = bool(promo.sku_ids or promo.product_ids or promo.category_ids or promo.brand_ids)
    if not has_target and promo.kind != PromotionKind.SPEND_THRESHOLD:
        raise DomainError(
            _("Say which SKUs, products, categories or brands the promotion applies to."),
            code="NO_TARGET",
            field="targets",
        )
    for name in ("usage_limit", "usage_limit_per_dealer"):
        value = getattr(promo, name)
        if value is not None and int(value) < 1:
            raise DomainError(_("A limit is at least 1."), code="INVALID", field=name)
    if promo.usage_limit is not None and promo.used_count > promo.usage_limit:
        raise DomainError(
            _("It has already been used %(n)s times.") % {"n": promo.used_count},
            code="INVALID",
            field="usage_limit",
        )
    promo.save()
    return promo


@transaction.atomic
def record_promotion_usage(
    *, dealer: Dealer, promotion_ids: Iterable[int], reference: str
) -> list[int]:
    """Count one use of each promotion by the order ``reference``; call it inside the
    order's transaction. Refuses with ``PROMOTION_EXHAUSTED`` (``promotion_id``)
    when a total or per-dealer limit is used up, whatever the concurrency: the
    counters move by conditional ``UPDATE``s (the row lock serialises racers, the
    condition is re-checked on the locked row). Idempotent per reference."""
    reference = (reference or "").strip()
    if not reference:
        raise DomainError(_("Give the order reference."), code="REQUIRED", field="reference")
    recorded = []
    for pid in sorted({int(i) for i in promotion_ids}):
        if PromotionRedemption.objects.filter(promotion_id=pid, reference=reference).exists():
            continue
        promo = Promotion.objects.filter(pk=pid).values("code", "usage_limit_per_dealer").first()
        if promo is None:
            raise NotFound(_("Unknown promotion."), field="promotion_ids", promotion_id=pid)
        updated = (
            Promotion.objects.filter(pk=pid)
            .filter(Q(usage_limit__isnull=True) | Q(used_count__lt=F("usage_limit")))
            .update(used_count=F("used_count") + 1)
        )
        if not updated:
            raise DomainError(
                _("Promotion %(code)s has been used up.") % {"code": promo["code"]},
                code="PROMOTION_EXHAUSTED",
                field="promotion_ids",
                promotion_id=pid,
            )
        PromotionDealerUsage.objects.bulk_create(
            [PromotionDealerUsage(promotion_id=pid, dealer_id=dealer.pk, used_count=0)],
            ignore_conflicts=True,
        )
        limit = promo["usage_limit_per_dealer"]
        counter = PromotionDealerUsage.objects.filter(promotion_id=pid, dealer_id=dealer.pk)
        if limit is not None:
            counter = counter.filter(used_count__lt=limit)
        if not counter.update(used_count=F("used_count") + 1):
            raise DomainError(
                _("You have used promotion %(code)s as often as allowed.")
                % {"code": promo["code"]},
                code="PROMOTION_EXHAUSTED",
                field="promotion_ids",
                promotion_id=pid,
            )
        PromotionRedemption.objects.create(
            promotion_id=pid, dealer_id=dealer.pk, reference=reference
        )
        recorded.append(pid)
    return recorded


@transaction.atomic
def release_promotion_usage(*, reference: str) -> int:
    """Give back the uses an order took (the order was cancelled). Idempotent."""
    released = 0
    redemptions = PromotionRedemption.objects.select_for_update().filter(
        reference=reference, released_at__isnull=True
    )
    for r in redemptions:
        Promotion.objects.filter(pk=r.promotion_id, used_count__gt=0).update(
            used_count=F("used_count") - 1
        )
        PromotionDealerUsage.objects.filter(
            promotion_id=r.promotion_id, dealer_id=r.dealer_id, used_count__gt=0
        ).update(used_count=F("used_count") - 1)
        r.released_at = timezone.now()
        r.save(update_fields=["released_at"])
        released += 1
    return released


# ======================================================================================
# Credit
# ======================================================================================
def _locked_credit_account(dealer: Dealer) -> CreditAccount:
    """The dealer's credit row, created if missing, locked until the transaction ends.

    Every change to a dealer's balance goes through this lock, so concurrent
    charges are serialised and each sees the balance the one before left.
    """
    CreditAccount.objects.bulk_create(
        [CreditAccount(dealer_id=dealer.pk, currency=dealer.currency)], ignore_conflicts=True
    )
    return (
        CreditAccount.objects.select_for_update(of=("self",))
        .select_related("dealer")
        .get(dealer_id=dealer.pk)
    )


def _credit_entry(
    account: CreditAccount,
    *,
    kind: str,
    amount: Decimal,
    reference: str,
    note: str = "",
    user: User | None = None,
    occurred_at: datetime | None = None,
) -> CreditEntry:
    account.balance = account.balance + amount
    account.save(update_fields=["balance", "updated_at"])
    return CreditEntry.objects.create(
        dealer_id=account.dealer_id,
        kind=kind,
        amount=amount,
        currency=account.currency,
        reference=reference,
        note=note,
        balance_after=account.balance,
        created_by=user,
        occurred_at=occurred_at or timezone.now(),
    )


def _check_reference(reference: str) -> str:
    reference = (reference or "").strip()
    if not reference:
        raise DomainError(_("Give a reference."), code="REQUIRED", field="reference")
    return reference


def _check_dealer_currency(dealer: Dealer, currency: str) -> None:
    if (currency or "").strip().upper() != dealer.currency:
        raise DomainError(
            _("This dealer's account is in %(currency)s.") % {"currency": dealer.currency},
            code="CURRENCY_MISMATCH",
            field="currency",
        )


@transaction.atomic
def charge_order(
    *,
    dealer: Dealer,
    amount: Decimal,
    currency: str,
    reference: str,
    user: User | None = None,
    occurred_at: datetime | None = None,
    allow_over_limit: bool = False,
) -> CreditEntry:
    """Put an order on the dealer's account; call it inside the order's transaction.

    Refuses with ``CREDIT_LIMIT_EXCEEDED`` (``available``: what is left) when the
    open balance would pass the credit limit; concurrent charges are serialised
    on the dealer's credit row, so two that together pass the limit cannot both
    succeed. Charging the same reference again returns the first charge.
    ``allow_over_limit`` is for an order an approver accepted over the limit.
    """
    reference = _check_reference(reference)
    _check_dealer_currency(dealer, currency)
    amount = _money(amount, "amount", dealer.currency)
    account = _locked_credit_account(dealer)
    existing = CreditEntry.objects.filter(
        dealer_id=dealer.pk, kind=CreditEntryKind.ORDER_CHARGE, reference=reference
    ).first()
    if existing is not None:
        if existing.amount != amount:
            raise DomainError(
                _("This order was charged already with another amount."),
                code="DUPLICATE_REFERENCE",
                field="reference",
            )
        return existing
    limit = account.dealer.credit_limit
    available = max(limit - account.balance, ZERO)
    if account.balance + amount > limit and not allow_over_limit:
        raise DomainError(
            _("Not enough credit: %(available)s %(currency)s available.")
            % {"available": available, "currency": dealer.currency},
            code="CREDIT_LIMIT_EXCEEDED",
            field="amount",
            available=str(available),
            currency=dealer.currency,
        )
    return _credit_entry(
        account,
        kind=CreditEntryKind.ORDER_CHARGE,
        amount=amount,
        reference=reference,
        user=user,
        occurred_at=occurred_at,
    )


@transaction.atomic
def release_charge(
    *, dealer: Dealer, reference: str, user: User | None = None, note: str = ""
) -> CreditEntry:
    """Take an order's charge off the account (the order was cancelled). Idempotent."""
    reference = _check_reference(reference)
    account = _locked_credit_account(dealer)
    charge = CreditEntry.objects.filter(
        dealer_id=dealer.pk, kind=CreditEntryKind.ORDER_CHARGE, reference=reference
    ).first()
    if charge is None:
        raise NotFound(_("No charge with this reference."), field="reference")
    released = CreditEntry.objects.filter(
        dealer_id=dealer.pk, kind=CreditEntryKind.CHARGE_RELEASE, reference=reference
    ).first()
    if released is not None:
        return released
    return _credit_entry(
        account,
        kind=CreditEntryKind.CHARGE_RELEASE,
        amount=-charge.amount,
        reference=reference,
        note=note,
        user=user,
    )


def _credit_movement(
    kind: str,
    *,
    dealer: Dealer,
    amount: Decimal,
    currency: str,
    reference: str,
    note: str,
    user: User | None,
    occurred_at: datetime | None,
) -> CreditEntry:
    reference = _check_reference(reference)
    check_lengths(CreditEntry, reference=reference, note=note)
    _check_dealer_currency(dealer, currency)
    amount = _money(amount, "amount", dealer.currency)
    account = _locked_credit_account(dealer)
    if CreditEntry.objects.filter(dealer_id=dealer.pk, kind=kind, reference=reference).exists():
        raise DomainError(
            _("This reference is already recorded."), code="DUPLICATE_REFERENCE", field="reference"
        )
    return _credit_entry(
        account,
        kind=kind,
        amount=-amount,
        reference=reference,
        note=note,
        user=user,
        occurred_at=occurred_at,
    )


@transaction.atomic
def record_payment(
    *,
    dealer: Dealer,
    amount: Decimal,
    currency: str,
    reference: str,
    note: str = "",
    user: User | None = None,
    occurred_at: datetime | None = None,
) -> CreditEntry:
    """A payment received from the dealer: lowers the open balance."""
    return _credit_movement(
        CreditEntryKind.PAYMENT,
        dealer=dealer,
        amount=amount,
        currency=currency,
        reference=reference,
        note=note,
        user=user,
        occurred_at=occurred_at,
    )


@transaction.atomic
def issue_credit_note(
    *,
    dealer: Dealer,
    amount: Decimal,
    currency: str,
    reference: str,
    note: str = "",
    user: User | None = None,
) -> CreditEntry:
    """A credit note (returns, price corrections): lowers the open balance."""
    return _credit_movement(
        CreditEntryKind.CREDIT_NOTE,
        dealer=dealer,
        amount=amount,
        currency=currency,
        reference=reference,
        note=note,
        user=user,
        occurred_at=None,
    )


@transaction.atomic
def adjust_credit(
    *, dealer: Dealer, amount: Decimal, currency: str, note: str, user: User | None = None
) -> CreditEntry:
    """A manual correction of the open balance (positive raises what the dealer owes)."""
    _check_dealer_currency(dealer, currency)
    amount = _money(amount, "amount", dealer.currency, positive=False)
    if amount == 0:
        raise DomainError(_("The amount must not be zero."), code="INVALID_AMOUNT", field="amount")
    if not (note or "").strip():
        raise DomainError(_("Say why."), code="REQUIRED", field="note")
    check_lengths(CreditEntry, note=note.strip())
    account = _locked_credit_account(dealer)
    return _credit_entry(
        account,
        kind=CreditEntryKind.ADJUSTMENT,
        amount=amount,
        reference=f"ADJ-{uuid.uuid4().hex[:12]}",
        note=note.strip(),
        user=user,
    )


# ======================================================================================
# Rebates
# ======================================================================================
def period_bounds(period: str, day: date) -> tuple[date, date]:
    """The period (month, quarter, year) holding ``day``: ``(start, end)``, end exclusive."""
    if period == RebatePeriod.MONTH:
        start = day.replace(day=1)
    elif period == RebatePeriod.QUARTER:
        start = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    else:
        start = date(day.year, 1, 1)
    months = {RebatePeriod.MONTH: 1, RebatePeriod.QUARTER: 3, RebatePeriod.YEAR: 12}[period]
    month_index = start.month - 1 + months
    end = date(start.year + month_index // 12, month_index % 12 + 1, 1)
    return start, end


def rebate_rate(tiers: Sequence[Mapping[str, Any]], purchases: Decimal) -> Decimal:
    """The percent of the highest tier whose threshold ``purchases`` exceed (0 if none)."""
    rate = ZERO
    for tier in sorted(tiers, key=lambda t: Decimal(str(t["threshold"]))):
        if purchases > Decimal(str(tier["threshold"])):
            rate = Decimal(str(tier["percent"]))
    return rate


_PROGRAMME_FIELDS = (
    "name",
    "period",
    "currency",
    "tiers",
    "starts_on",
    "ends_on",
    "is_active",
    "dealer_ids",
    "dealer_tiers",
    "regions",
)


@transaction.atomic
def save_rebate_programme(
    *, programme: RebateProgramme | None = None, code: str | None = None, **data: Any
) -> RebateProgramme:
    """Create or change a rebate programme. ``tiers``: ``[{"threshold", "percent"}]``,
    thresholds distinct and not negative, percent in (0, 100]."""
    unknown = set(data) - set(_PROGRAMME_FIELDS)
    if unknown:
        raise DomainError(_("Unknown field."), field=sorted(unknown)[0])
    creating = programme is None
    prog = programme or RebateProgramme()
    if code is not None or creating:
        code = (code or "").strip()
        if not code:
            raise DomainError(_("Give the programme a code."), code="REQUIRED", field="code")
        if RebateProgramme.objects.filter(code__iexact=code).exclude(pk=prog.pk).exists():
            raise DomainError(_("Another programme has this code."), code="TAKEN", field="code")
        prog.code = code
    for name, value in data.items():
        setattr(prog, name, value)
    prog.name = (prog.name or "").strip()
    if not prog.name:
        raise DomainError(_("Give the programme a name."), code="REQUIRED", field="name")
    check_lengths(RebateProgramme, code=prog.code, name=prog.name)
    if prog.period not in RebatePeriod.values:
        raise DomainError(_("Unknown period."), code="INVALID", field="period")
    prog.currency = _check_currency(prog.currency, "currency")
    if prog.starts_on is None:
        raise DomainError(_("Say when the programme starts."), code="REQUIRED", field="starts_on")
    _check_range(prog.starts_on, prog.ends_on, "ends_on")
    if not prog.tiers:
        raise DomainError(_("Give at least one tier."), code="REQUIRED", field="tiers")
    tiers, seen = [], set()
    for i, tier in enumerate(prog.tiers):
        threshold = to_decimal(tier.get("threshold"))
        percent = to_decimal(tier.get("percent"))
        if threshold is None or threshold < 0 or threshold >= MAX_AMOUNT:
            raise DomainError(
                _("A threshold is an amount of 0 or more."),
                code="INVALID",
                field=f"tiers.{i}.threshold",
            )
        if percent is None or percent <= 0 or percent > 100:
            raise DomainError(
                _("A rate is a percent above 0, at most 100."),
                code="INVALID",
                field=f"tiers.{i}.percent",
            )
        if threshold in seen:
            raise DomainError(
                _("Two tiers have this threshold."),
                code="OVERLAPPING_TIERS",
                field=f"tiers.{i}.threshold",
            )
        seen.add(threshold)
        tiers.append({"threshold": str(threshold), "percent": str(percent)})
    prog.tiers = sorted(tiers, key=lambda t: Decimal(t["threshold"]))
    prog.dealer_ids = _check_ids(Dealer, prog.dealer_ids or [], "dealer_ids")
    prog.dealer_tiers = sorted({t.strip() for t in prog.dealer_tiers or [] if t.strip()})
    prog.regions = sorted({r.strip() for r in prog.regions or [] if r.strip()})
    prog.save()
    return prog


def _programme_dealers(prog: RebateProgramme, dealer_ids: Iterable[int]) -> list[Dealer]:
    qs = Dealer.objects.filter(pk__in=list(dealer_ids), currency=prog.currency)
    audience = Q()
    if prog.dealer_ids or prog.dealer_tiers or prog.regions:
        audience = (
            Q(pk__in=prog.dealer_ids) | Q(tier__in=prog.dealer_tiers) | Q(region__in=prog.regions)
        )
    return list(qs.filter(audience))


def _credit_rebate(dealer: Dealer, amount: Decimal) -> None:
    RebateAccount.objects.bulk_create(
        [RebateAccount(dealer_id=dealer.pk, currency=dealer.currency)], ignore_conflicts=True
    )
    RebateAccount.objects.filter(dealer_id=dealer.pk).update(
        balance=F("balance") + amount, updated_at=timezone.now()
    )


def accrue_programme_period(*, programme: RebateProgramme, period_start: date) -> int:
    """Accrue one closed period of one programme for every dealer in it.

    Idempotent: a dealer's accrual for a programme and period is written once
    (a unique constraint backs it), so a re-run after success or a crash adds
    nothing twice. Returns the number of new accruals.
    """
    start, end = period_bounds(programme.period, period_start)
    from_day = max(start, programme.starts_on)
    to_day = min(end, programme.ends_on + timedelta(days=1)) if programme.ends_on else end
    if to_day <= from_day:
        return 0
    purchases = purchases_by_dealer(from_day, to_day)
    created = 0
    for dealer in _programme_dealers(programme, purchases):
        bought = purchases.get(dealer.pk) or ZERO
        percent = rebate_rate(programme.tiers, bought)
        amount = quantize(bought * percent / 100, programme.currency)
        if amount <= 0:
            continue
        try:
            with transaction.atomic():
                RebateEntry.objects.create(
                    dealer=dealer,
                    programme=programme,
                    kind=RebateEntryKind.ACCRUAL,
                    amount=amount,
                    currency=programme.currency,
                    period_start=start,
                    period_end=end,
                    purchases=bought,
                    percent=percent,
                    reference=f"{programme.code}:{start.isoformat()}",
                )
                _credit_rebate(dealer, amount)
        except IntegrityError:
            continue  # accrued already
        created += 1
    return created


def accrue_rebates(*, as_of: date | None = None, lookback_periods: int = 12) -> int:
    """Accrue every closed period (up to ``lookback_periods`` back) of every active
    programme: the periodic task's body, safe to run as often as wanted."""
    today = as_of or timezone.localdate()
    created = 0
    for prog in RebateProgramme.objects.filter(is_active=True, starts_on__lt=today):
        current_start, _end = period_bounds(prog.period, today)
        starts = []
        cursor = current_start
        for _i in range(lookback_periods):
            cursor = period_bounds(prog.period, cursor - timedelta(days=1))[0]
            if period_bounds(prog.period, cursor)[1] <= prog.starts_on:
                break
            if prog.ends_on and cursor > prog.ends_on:
                continue
            starts.append(cursor)
        for start in reversed(starts):
            created += accrue_programme_period(programme=prog, period_start=start)
    return created


@transaction.atomic
def spend_rebate(
    *, dealer: Dealer, amount: Decimal, reference: str, user: User | None = None
) -> RebateEntry:
    """Spend rebate on an order; call it inside the order's transaction.

    Refuses with ``REBATE_INSUFFICIENT`` (``available``) when the balance is
    smaller: a conditional ``UPDATE ... WHERE balance >= amount`` (and a check
    constraint) keep the balance from going below zero under any concurrency.
    The same reference spends once.
    """
    reference = _check_reference(reference)
    amount = _money(amount, "amount", dealer.currency)
    existing = RebateEntry.objects.filter(
        dealer_id=dealer.pk, kind=RebateEntryKind.SPEND, reference=reference
    ).first()
    if existing is not None:
        return existing
    updated = RebateAccount.objects.filter(dealer_id=dealer.pk, balance__gte=amount).update(
        balance=F("balance") - amount, updated_at=timezone.now()
    )
    if not updated:
        available = (
            RebateAccount.objects.filter(dealer_id=dealer.pk)
            .values_list("balance", flat=True)
            .first()
        )
        available = available or ZERO
        raise DomainError(
            _("Not enough rebate: %(available)s available.") % {"available": available},
            code="REBATE_INSUFFICIENT",
            field="amount",
            available=str(available),
        )
    return RebateEntry.objects.create(
        dealer_id=dealer.pk,
        kind=RebateEntryKind.SPEND,
        amount=-amount,
        currency=dealer.currency,
        reference=reference,
    )


@transaction.atomic
def reverse_rebate_spend(*, dealer: Dealer, reference: str) -> RebateEntry | None:
    """Give back rebate spent on an order that was cancelled. Idempotent."""
    spend = RebateEntry.objects.filter(
        dealer_id=dealer.pk, kind=RebateEntryKind.SPEND, reference=reference
    ).first()
    if spend is None:
        return None
    done = RebateEntry.objects.filter(
        dealer_id=dealer.pk, kind=RebateEntryKind.REVERSAL, reference=reference
    ).first()
    if done is not None:
        return done
    _credit_rebate(dealer, -spend.amount)
    return RebateEntry.objects.create(
        dealer_id=dealer.pk,
        kind=RebateEntryKind.REVERSAL,
        amount=-spend.amount,
        currency=spend.currency,
        reference=reference,
    )


# ======================================================================================
# Quotes
# ======================================================================================
@dataclass(frozen=True)
class QuoteLineInput:
    quantity: int
    sku_id: int | None = None
    sku_code: str | None = None
    unit_code: str | None = None  # the SKU's base unit when empty


def _require_can_act(user: User | None, dealer: Dealer) -> None:
    from core.accounts.selectors import can_act_for_dealer

    if user is not None and not can_act_for_dealer(user, dealer):
        raise PermissionDenied(_("You may not act for this dealer."), field="dealer")


def _resolve_quote_lines(lines: Sequence[QuoteLineInput]) -> list[tuple[int, str, int, int]]:
    if not lines:
        raise DomainError(_("Add at least one line."), code="REQUIRED", field="lines")
    codes = {ln.sku_code for ln in lines if ln.sku_code}
    ids = {int(ln.sku_id) for ln in lines if ln.sku_id is not None}
    skus = {s.pk: s for s in Sku.objects.filter(Q(code__in=codes) | Q(pk__in=ids))}
    by_code = {s.code: s for s in skus.values()}
    factors: dict[tuple[int, str], int] = {
        (sid, code): factor
        for sid, code, factor in SkuUnit.objects.filter(sku_id__in=list(skus)).values_list(
            "sku_id", "code", "factor"
        )
    }
    out, errors = [], []
    for i, ln in enumerate(lines):
        sku = skus.get(int(ln.sku_id)) if ln.sku_id is not None else by_code.get(ln.sku_code or "")
        if sku is None:
            errors.append(
                DomainError(_("Unknown SKU."), code="UNKNOWN_SKU", field=f"lines.{i}.sku")
            )
            continue
        unit = (ln.unit_code or "").strip() or sku.base_unit
        factor = factors.get((sku.pk, unit), 1 if unit == sku.base_unit else None)
        if factor is None:
            errors.append(
                DomainError(
                    _("The SKU has no such unit."),
                    code="UNKNOWN_UNIT",
                    field=f"lines.{i}.unit_code",
                )
            )
            continue
        if not isinstance(ln.quantity, int) or ln.quantity < 1:
            errors.append(
                DomainError(
                    _("The quantity must be at least 1."),
                    code="INVALID_QUANTITY",
                    field=f"lines.{i}.quantity",
                )
            )
            continue
        out.append((sku.pk, unit, ln.quantity, ln.quantity * factor))
    if errors:
        raise ValidationFailed(errors)
    return out


@transaction.atomic
def request_quote(
    *, dealer: Dealer, user: User | None, lines: Sequence[QuoteLineInput], note: str = ""
) -> Quote:
    """A dealer asks for prices on a cart. Each line records today's list price
    (when the dealer's lists have one) for staff to compare with."""
    from .engine import order_lists, resolve_line_price
    from .selectors import dealer_context, load_price_rows, load_skus

    _require_can_act(user, dealer)
    resolved = _resolve_quote_lines(lines)
    ctx = dealer_context(dealer)
    skus = load_skus(sku_id for sku_id, *_rest in resolved)
    lists = order_lists(load_price_rows(ctx, skus, timezone.now()))
    quote = Quote.objects.create(
        number=f"Q{timezone.localdate():%y%m%d}-{uuid.uuid4().hex[:6].upper()}",
        dealer=dealer,
        currency=dealer.currency,
        dealer_note=(note or "").strip(),
        requested_by=user,
    )
    QuoteLine.objects.bulk_create(
        [
            QuoteLine(
                quote=quote,
                sku_id=sku_id,
                unit_code=unit,
                quantity=qty,
                base_quantity=base_qty,
                list_unit_price=getattr(
                    resolve_line_price(
                        lists.get(sku_id, []),
                        unit_code=unit,
                        quantity=qty,
                        base_quantity=base_qty,
                        base_unit=skus[sku_id].base_unit,
                    ),
                    "unit_price",
                    None,
                ),
            )
            for sku_id, unit, qty, base_qty in resolved
        ]
    )
    return quote


def _locked_quote(quote: Quote) -> Quote:
    return Quote.objects.select_for_update().select_related("dealer").get(pk=quote.pk)


def _state_error(quote: Quote) -> DomainError:
    return DomainError(
        _("The quote is %(status)s.") % {"status": quote.get_status_display()},
        code="INVALID_STATE",
        field="status",
    )


@transaction.atomic
def answer_quote(
    *,
    quote: Quote,
    user: User | None,
    prices: Mapping[int, Any],
    expires_at: datetime,
    note: str = "",
) -> Quote:
    """Staff price every line (``prices``: line id → unit price; list prices and
    quantity rules do not bind), set an expiry and a note. A quote may be
    answered again until the dealer accepts or declines it."""
    quote = _locked_quote(quote)
    if quote.status not in (QuoteStatus.REQUESTED, QuoteStatus.ANSWERED):
        raise _state_error(quote)
    if expires_at is None or expires_at <= timezone.now():
        raise DomainError(
            _("The expiry must be in the future."), code="INVALID_EXPIRY", field="expires_at"
        )
    lines = list(quote.lines.order_by("id"))
    known = {line.pk for line in lines}
    errors = [
        DomainError(_("Not a line of this quote."), code="NOT_FOUND", field=f"prices.{line_id}")
        for line_id in prices
        if int(line_id) not in known
    ]
    for i, line in enumerate(lines):
        value = prices.get(line.pk, prices.get(str(line.pk)))
        price = to_decimal(value) if value is not None else None
        if price is None:
            errors.append(
                DomainError(_("Price every line."), code="REQUIRED", field=f"lines.{i}.unit_price")
            )
        elif price < 0:
            errors.append(
                DomainError(
                    _("A price cannot be negative."),
                    code="NEGATIVE_PRICE",
                    field=f"lines.{i}.unit_price",
                )
            )
        elif price > MAX_UNIT_PRICE or price != price.quantize(Decimal("0.0001")):
            errors.append(
                DomainError(
                    _("A price has at most 4 decimals."),
                    code="INVALID",
                    field=f"lines.{i}.unit_price",
                )
            )
        else:
            line.quoted_unit_price = price
            line.line_total = quantize(price * line.quantity, quote.currency)
    if errors:
        raise ValidationFailed(errors)
    QuoteLine.objects.bulk_update(lines, ["quoted_unit_price", "line_total"])
    quote.status = QuoteStatus.ANSWERED
    quote.expires_at = expires_at
    quote.staff_note = (note or "").strip()
    quote.answered_by = user
    quote.answered_at = timezone.now()
    quote.save()
    return quote


@transaction.atomic
def decline_quote(*, quote: Quote, user: User | None, reason: str = "") -> Quote:
    """The dealer turns down an answer, or staff turn down a request."""
    quote = _locked_quote(quote)
    if user is not None and not user.is_staff_role:
        _require_can_act(user, quote.dealer)
    if quote.status not in (QuoteStatus.REQUESTED, QuoteStatus.ANSWERED):
        raise _state_error(quote)
    quote.status = QuoteStatus.DECLINED
    quote.decided_by, quote.decided_at = user, timezone.now()
    quote.decline_reason = (reason or "").strip()[:255]
    quote.save()
    return quote


@transaction.atomic
def accept_quote(
    *, quote: Quote, user: User | None, now: datetime | None = None, channel: str = "quote"
) -> Quote:
    """The dealer accepts an answered quote before it expires, and it becomes an order.

    ``QUOTE_EXPIRED`` once ``expires_at`` has passed (whether or not the expiry
    task has marked it yet); ``INVALID_STATE`` unless it is answered. The order
    is placed through :func:`core.orders.services.place_order` at the quoted
    prices (``price_overrides``), with the idempotency key ``quote:<number>``,
    in this transaction: if the order is refused (credit, stock), the quote
    stays answered and the order service's error is raised. The order's number
    is kept in ``order_reference``.
    """
    now = now or timezone.now()
    quote = _locked_quote(quote)
    _require_can_act(user, quote.dealer)
    if quote.status == QuoteStatus.EXPIRED or (
        quote.status == QuoteStatus.ANSWERED
        and quote.expires_at is not None
        and quote.expires_at <= now
    ):
        raise DomainError(
            _("The quote has expired; ask for a new one."), code="QUOTE_EXPIRED", field="expires_at"
        )
    if quote.status != QuoteStatus.ANSWERED:
        raise _state_error(quote)
    placed = _place_quote_order(quote, user=user, channel=channel)
    quote.status = QuoteStatus.ACCEPTED
    quote.decided_by, quote.decided_at = user, now
    quote.order_reference = placed
    quote.save()
    return quote


def _place_quote_order(quote: Quote, *, user: User | None, channel: str) -> str:
    from core.orders.lines import LineInput
    from core.orders.services import place_order

    lines = list(quote.lines.select_related("sku").order_by("id"))
    placed = place_order(
        dealer=quote.dealer,
        user=user,
        lines=[LineInput(sku=ln.sku.code, quantity=ln.quantity, unit=ln.unit_code) for ln in lines],
        channel=channel,
        idempotency_key=f"quote:{quote.number}",
        price_overrides={i: ln.quoted_unit_price for i, ln in enumerate(lines)},
        note=_("Quote %(number)s") % {"number": quote.number},
    )
    return placed.order.number


def quote_order_lines(quote: Quote) -> list[dict[str, Any]]:
    """The lines of an accepted quote as the order service takes them: SKU, unit,
    quantity, base quantity and the quoted unit price and line total."""
    return [
        {
            "sku_id": line.sku_id,
            "unit_code": line.unit_code,
            "quantity": line.quantity,
            "base_quantity": line.base_quantity,
            "unit_price": line.quoted_unit_price,
            "line_total": line.line_total,
            "currency": quote.currency,
        }
        for line in quote.lines.order_by("id")
    ]


def expire_quotes(*, now: datetime | None = None) -> int:
    """Mark answered quotes past their expiry as expired; the periodic task's body."""
    return Quote.objects.filter(
        status=QuoteStatus.ANSWERED, expires_at__lte=now or timezone.now()
    ).update(status=QuoteStatus.EXPIRED)


def cart_lines_for_quote(quote: Quote) -> list[CartLine]:
    return [
        CartLine(
            sku_id=line.sku_id,
            unit_code=line.unit_code,
            quantity=line.quantity,
            base_quantity=line.base_quantity,
        )
        for line in quote.lines.order_by("id")
    ]


def charge_new_order(*, dealer: Dealer, amount: Decimal, currency: str, reference: str) -> bool:
    """The order service's hot path: charge a brand-new order's ``reference``.

    One conditional ``UPDATE … WHERE balance + amount <= limit`` (the row lock
    serialises concurrent charges and the condition is re-checked on the locked
    row) and one ``INSERT`` of the entry — no savepoint, no exception: returns
    ``False``, changing nothing, when the charge would pass the credit limit.
    Call it inside the order's transaction. The first charge of a dealer that
    has no credit account yet takes the general path (:func:`charge_order`).
    """
    _check_dealer_currency(dealer, currency)
    amount = _money(amount, "amount", dealer.currency)
    table = CreditAccount._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET balance = balance + %s, updated_at = now() "
            f"WHERE dealer_id = %s AND balance + %s <= %s RETURNING id, balance",
            [amount, dealer.pk, amount, dealer.credit_limit],
        )
        row = cursor.fetchone()
    if row is None:
        if CreditAccount.objects.filter(dealer_id=dealer.pk).exists():
            return False  # over the limit
        try:
            charge_order(dealer=dealer, amount=amount, currency=currency, reference=reference)
        except DomainError as exc:
            if exc.code == "CREDIT_LIMIT_EXCEEDED":
                return False
            raise
        return True
    CreditEntry.objects.create(
        dealer_id=dealer.pk,
        kind=CreditEntryKind.ORDER_CHARGE,
        amount=amount,
        currency=dealer.currency,
        reference=_check_reference(reference),
        balance_after=row[1],
    )
    return True


def record_new_order_promotions(
    *, dealer: Dealer, promotion_ids: Iterable[int], reference: str
) -> None:
    """The order service's hot path for :func:`record_promotion_usage`: a brand-new
    order ``reference`` (so no idempotency look-up), inside the order's transaction.

    One conditional ``UPDATE`` moves every promotion's total counter (refusing
    any that is used up), a conditional upsert per promotion that limits uses
    per dealer, and one ``INSERT`` of the redemptions (which
    :func:`release_promotion_usage` gives back on cancellation). Refuses with
    ``PROMOTION_EXHAUSTED`` (``promotion_id``); the caller's transaction then
    rolls everything back.
    """
    ids = sorted({int(i) for i in promotion_ids})
    if not ids:
        return
    promotions, usages = Promotion._meta.db_table, PromotionDealerUsage._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {promotions} SET used_count = used_count + 1 WHERE id = ANY(%s) "
            f"AND (usage_limit IS NULL OR used_count < usage_limit) RETURNING id, code, usage_limit_per_dealer",
            [ids],
        )
        rows = cursor.fetchall()
        exhausted = sorted(set(ids) - {r[0] for r in rows})
        if exhausted:
            code = Promotion.objects.filter(pk=exhausted[0]).values_list("code", flat=True).first()
            raise DomainError(
                _("Promotion %(code)s has been used up.") % {"code": code},
                code="PROMOTION_EXHAUSTED",
                field="promotion_ids",
                promotion_id=exhausted[0],
            )
        for pid, code, limit in rows:
            if limit is None:
                continue
            cursor.execute(
                f"INSERT INTO {usages} (promotion_id, dealer_id, used_count) VALUES (%s, %s, 1) "
                f"ON CONFLICT (promotion_id, dealer_id) DO UPDATE SET used_count = {usages}.used_count + 1 "
                f"WHERE {usages}.used_count < %s RETURNING 1",
                [pid, dealer.pk, limit],
            )
            if cursor.fetchone() is None or limit < 1:
                raise DomainError(
                    _("You have used promotion %(code)s as often as allowed.") % {"code": code},
                    code="PROMOTION_EXHAUSTED",
                    field="promotion_ids",
                    promotion_id=pid,
                )
    PromotionRedemption.objects.bulk_create(
        [
            PromotionRedemption(promotion_id=pid, dealer_id=dealer.pk, reference=reference)
            for pid in ids
        ]
    )
