"""Price lists, promotions, rebates, credit and quotes of a tenant.

Rules that must never break are database constraints: non-negative prices,
unique quantity breaks, a rebate balance that never goes below zero, promotion
usage that never passes its limit, one accrual per dealer, programme and period.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

MONEY = {"max_digits": 16, "decimal_places": 2}
UNIT_PRICE = {"max_digits": 18, "decimal_places": 4}


# --- price lists -----------------------------------------------------------------
class PriceListKind(models.TextChoices):
    BASE = "base", _("Base")
    TIER = "tier", _("Tier")
    REGION = "region", _("Region")
    DEALER = "dealer", _("Dealer-specific")


# Resolution order for a dealer: its own lists first, then its region's, its tier's, the base.
KIND_RANK = {
    PriceListKind.DEALER: 0,
    PriceListKind.REGION: 1,
    PriceListKind.TIER: 2,
    PriceListKind.BASE: 3,
}


class PriceList(models.Model):
    """A list of prices in one currency, valid between two instants.

    ``tier`` (tier lists) and ``region`` (region lists) say whom the list is
    for; dealer-specific lists are assigned to dealers with
    :class:`PriceListAssignment`. When several lists of the same kind apply, the
    higher ``priority`` wins, then the later ``valid_from``.
    """

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=10, choices=PriceListKind.choices)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    tier = models.CharField(_("tier"), max_length=40, blank=True)
    region = models.CharField(_("region"), max_length=80, blank=True)
    valid_from = models.DateTimeField(_("valid from"), null=True, blank=True)
    valid_to = models.DateTimeField(_("valid to"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    priority = models.IntegerField(_("priority"), default=0)
    dealers = models.ManyToManyField(
        "accounts.Dealer",
        through="PriceListAssignment",
        related_name="price_lists",
        verbose_name=_("dealers"),
        blank=True,
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("price list")
        verbose_name_plural = _("price lists")
        ordering = ["kind", "code"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="tier") | ~Q(tier=""), name="price_list_tier_named"
            ),
            models.CheckConstraint(
                condition=~Q(kind="region") | ~Q(region=""), name="price_list_region_named"
            ),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True)
                | Q(valid_to__isnull=True)
                | Q(valid_to__gt=F("valid_from")),
                name="price_list_valid_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.get_kind_display()}, {self.currency})"


class PriceListAssignment(models.Model):
    """A dealer-specific price list given to a dealer."""

    price_list = models.ForeignKey(
        PriceList,
        on_delete=models.CASCADE,
        related_name="assignments",
        verbose_name=_("price list"),
    )
    dealer = models.ForeignKey(
        "accounts.Dealer",
        on_delete=models.CASCADE,
        related_name="price_list_assignments",
        verbose_name=_("dealer"),
    )

    class Meta:
        verbose_name = _("price list assignment")
        verbose_name_plural = _("price list assignments")
        constraints = [
            models.UniqueConstraint(
                fields=["price_list", "dealer"], name="price_list_assignment_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.price_list_id} → {self.dealer_id}"


class PriceListItem(models.Model):
    """One quantity break: from ``min_quantity`` units of ``unit_code``, each costs ``unit_price``.

    The breaks of a SKU and unit in a list form a ladder; the highest break not
    above the ordered quantity wins.
    """

    price_list = models.ForeignKey(
        PriceList, on_delete=models.CASCADE, related_name="items", verbose_name=_("price list")
    )
    sku = models.ForeignKey(
        "catalog.Sku", on_delete=models.CASCADE, related_name="price_items", verbose_name=_("SKU")
    )
    unit_code = models.CharField(_("unit"), max_length=16)
    min_quantity = models.PositiveIntegerField(_("from quantity"), default=1)
    unit_price = models.DecimalField(_("unit price"), **UNIT_PRICE)

    class Meta:
        verbose_name = _("price")
        verbose_name_plural = _("prices")
        ordering = ["price_list", "sku", "unit_code", "min_quantity"]
        constraints = [
            models.UniqueConstraint(
                fields=["price_list", "sku", "unit_code", "min_quantity"],
                name="price_item_unique_break",
            ),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0), name="price_item_price_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(min_quantity__gte=1), name="price_item_min_quantity_positive"
            ),
        ]
        indexes = [
            # A page's prices read a few hundred SKUs' breaks from this index alone (an
            # index-only scan once the table is vacuumed), not from rows spread over the heap.
            models.Index(
                fields=["sku", "price_list"],
                include=["unit_code", "min_quantity", "unit_price"],
                name="price_item_sku_cover",
            )
        ]

    def __str__(self) -> str:
        return f"{self.sku_id} {self.unit_code} ≥{self.min_quantity}: {self.unit_price}"


# --- promotions ----------------------------------------------------------------------
class PromotionKind(models.TextChoices):
    PERCENT_OFF = "percent_off", _("Percentage off")
    AMOUNT_OFF = "amount_off", _("Amount off per unit")
    SPEND_THRESHOLD = "spend_threshold", _("Spend X, get Y off")
    BUY_X_GET_Y = "buy_x_get_y", _("Buy X, get Y free")
    BUNDLE_PRICE = "bundle_price", _("Bundle price")


class Promotion(models.Model):
    """A promotion is data; :mod:`core.pricing.engine` evaluates every kind.

    Audience: ``dealer_ids``, ``tiers``, ``regions`` (all empty: every dealer;
    otherwise a dealer matching any of them). Products: ``sku_ids``,
    ``product_ids``, ``category_ids`` (with their subcategories) and
    ``brand_ids``. ``rule`` holds the kind's numbers (see the engine).
    """

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=PromotionKind.choices)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    rule = models.JSONField(_("rule"), default=dict)
    priority = models.IntegerField(_("priority"), default=0)
    stackable = models.BooleanField(_("stackable"), default=True)
    is_active = models.BooleanField(_("active"), default=True)
    starts_at = models.DateTimeField(_("starts at"), null=True, blank=True)
    ends_at = models.DateTimeField(_("ends at"), null=True, blank=True)
    dealer_ids = ArrayField(
        models.BigIntegerField(), default=list, blank=True, verbose_name=_("dealers")
    )
    tiers = ArrayField(
        models.CharField(max_length=40), default=list, blank=True, verbose_name=_("tiers")
    )
    regions = ArrayField(
        models.CharField(max_length=80), default=list, blank=True, verbose_name=_("regions")
    )
    sku_ids = ArrayField(models.BigIntegerField(), default=list, blank=True, verbose_name=_("SKUs"))
    product_ids = ArrayField(
        models.BigIntegerField(), default=list, blank=True, verbose_name=_("products")
    )
    category_ids = ArrayField(
        models.BigIntegerField(), default=list, blank=True, verbose_name=_("categories")
    )
    brand_ids = ArrayField(
        models.BigIntegerField(), default=list, blank=True, verbose_name=_("brands")
    )
    usage_limit = models.PositiveIntegerField(_("usage limit"), null=True, blank=True)
    usage_limit_per_dealer = models.PositiveIntegerField(
        _("usage limit per dealer"), null=True, blank=True
    )
    used_count = models.PositiveIntegerField(_("times used"), default=0, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("promotion")
        verbose_name_plural = _("promotions")
        ordering = ["-priority", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(usage_limit__isnull=True) | Q(used_count__lte=F("usage_limit")),
                name="promotion_usage_within_limit",
            ),
            models.CheckConstraint(
                condition=Q(starts_at__isnull=True)
                | Q(ends_at__isnull=True)
                | Q(ends_at__gt=F("starts_at")),
                name="promotion_valid_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class PromotionDealerUsage(models.Model):
    """How many times a dealer has used a promotion (checked against the per-dealer limit)."""

    promotion = models.ForeignKey(Promotion, on_delete=models.CASCADE, related_name="dealer_usage")
    dealer = models.ForeignKey("accounts.Dealer", on_delete=models.CASCADE, related_name="+")
    used_count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("promotion usage per dealer")
        verbose_name_plural = _("promotion usage per dealer")
        constraints = [
            models.UniqueConstraint(
                fields=["promotion", "dealer"], name="promotion_dealer_usage_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.promotion_id}/{self.dealer_id}: {self.used_count}"


class PromotionRedemption(models.Model):
    """One use of a promotion by an order (``reference``); released when the order is cancelled."""

    promotion = models.ForeignKey(Promotion, on_delete=models.PROTECT, related_name="redemptions")
    dealer = models.ForeignKey("accounts.Dealer", on_delete=models.PROTECT, related_name="+")
    reference = models.CharField(_("reference"), max_length=80)
    redeemed_at = models.DateTimeField(_("redeemed at"), default=timezone.now)
    released_at = models.DateTimeField(_("released at"), null=True, blank=True)

    class Meta:
        verbose_name = _("promotion redemption")
        verbose_name_plural = _("promotion redemptions")
        constraints = [
            models.UniqueConstraint(
                fields=["promotion", "reference"], name="promotion_redemption_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.promotion_id} {self.reference}"


# --- credit ------------------------------------------------------------------------------
class CreditAccount(models.Model):
    """A dealer's open balance (what it owes). Locked row by row to charge orders safely."""

    dealer = models.OneToOneField(
        "accounts.Dealer",
        on_delete=models.CASCADE,
        related_name="credit_account",
        verbose_name=_("dealer"),
    )
    currency = models.CharField(_("currency"), max_length=3)
    balance = models.DecimalField(_("open balance"), default=Decimal("0"), **MONEY)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("credit account")
        verbose_name_plural = _("credit accounts")

    def __str__(self) -> str:
        return f"{self.dealer_id}: {self.balance} {self.currency}"


class CreditEntryKind(models.TextChoices):
    ORDER_CHARGE = "order_charge", _("Order on account")
    CHARGE_RELEASE = "charge_release", _("Order charge released")
    PAYMENT = "payment", _("Payment")
    CREDIT_NOTE = "credit_note", _("Credit note")
    ADJUSTMENT = "adjustment", _("Adjustment")


class CreditEntry(models.Model):
    """One movement of a dealer's open balance; ``amount`` > 0 raises what the dealer owes."""

    dealer = models.ForeignKey(
        "accounts.Dealer",
        on_delete=models.PROTECT,
        related_name="credit_entries",
        verbose_name=_("dealer"),
    )
    kind = models.CharField(_("kind"), max_length=20, choices=CreditEntryKind.choices)
    amount = models.DecimalField(_("amount"), **MONEY)
    currency = models.CharField(_("currency"), max_length=3)
    reference = models.CharField(_("reference"), max_length=80)
    note = models.CharField(_("note"), max_length=255, blank=True)
    balance_after = models.DecimalField(_("balance after"), **MONEY)
    occurred_at = models.DateTimeField(_("occurred at"), default=timezone.now, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("credit entry")
        verbose_name_plural = _("credit entries")
        ordering = ["-occurred_at", "-id"]
        constraints = [
            # One charge per order, one release per charge, one payment per remittance reference.
            models.UniqueConstraint(
                fields=["dealer", "kind", "reference"],
                condition=~Q(kind="adjustment"),
                name="credit_entry_unique_reference",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} {self.currency} {self.reference}"


# --- rebates -----------------------------------------------------------------------------------
class RebatePeriod(models.TextChoices):
    MONTH = "month", _("Month")
    QUARTER = "quarter", _("Quarter")
    YEAR = "year", _("Year")


class RebateProgramme(models.Model):
    """Tiered rebates on a period's purchases.

    ``tiers`` is a list of ``{"threshold": "500000", "percent": "1"}`` in
    ascending order of threshold: the highest tier whose threshold the period's
    purchases exceed gives the rate, applied to the whole period's purchases.
    """

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    period = models.CharField(
        _("period"), max_length=10, choices=RebatePeriod.choices, default=RebatePeriod.MONTH
    )
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    tiers = models.JSONField(_("tiers"), default=list)
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    dealer_ids = ArrayField(
        models.BigIntegerField(), default=list, blank=True, verbose_name=_("dealers")
    )
    dealer_tiers = ArrayField(
        models.CharField(max_length=40), default=list, blank=True, verbose_name=_("dealer tiers")
    )
    regions = ArrayField(
        models.CharField(max_length=80), default=list, blank=True, verbose_name=_("regions")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("rebate programme")
        verbose_name_plural = _("rebate programmes")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class RebateAccount(models.Model):
    """A dealer's spendable rebate balance; the constraint keeps it from going below zero."""

    dealer = models.OneToOneField(
        "accounts.Dealer",
        on_delete=models.CASCADE,
        related_name="rebate_account",
        verbose_name=_("dealer"),
    )
    currency = models.CharField(_("currency"), max_length=3)
    balance = models.DecimalField(_("balance"), default=Decimal("0"), **MONEY)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("rebate account")
        verbose_name_plural = _("rebate accounts")
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="rebate_balance_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.dealer_id}: {self.balance} {self.currency}"


class RebateEntryKind(models.TextChoices):
    ACCRUAL = "accrual", _("Accrual")
    SPEND = "spend", _("Spent on an order")
    REVERSAL = "reversal", _("Spend reversed")
    ADJUSTMENT = "adjustment", _("Adjustment")


class RebateEntry(models.Model):
    """One movement of a dealer's rebate balance (accruals positive, spending negative)."""

    dealer = models.ForeignKey(
        "accounts.Dealer",
        on_delete=models.PROTECT,
        related_name="rebate_entries",
        verbose_name=_("dealer"),
    )
    programme = models.ForeignKey(
        RebateProgramme, null=True, blank=True, on_delete=models.PROTECT, related_name="entries"
    )
    kind = models.CharField(_("kind"), max_length=12, choices=RebateEntryKind.choices)
    amount = models.DecimalField(_("amount"), **MONEY)
    currency = models.CharField(_("currency"), max_length=3)
    period_start = models.DateField(_("period start"), null=True, blank=True)
    period_end = models.DateField(_("period end"), null=True, blank=True)
    purchases = models.DecimalField(_("period purchases"), null=True, blank=True, **MONEY)
    percent = models.DecimalField(
        _("rate (%)"), max_digits=7, decimal_places=4, null=True, blank=True
    )
    reference = models.CharField(_("reference"), max_length=80, blank=True)
    note = models.CharField(_("note"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("rebate entry")
        verbose_name_plural = _("rebate entries")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["dealer", "programme", "period_start"],
                condition=Q(kind="accrual"),
                name="rebate_accrual_once_per_period",
            ),
            models.UniqueConstraint(
                fields=["dealer", "kind", "reference"],
                condition=Q(kind__in=["spend", "reversal"]),
                name="rebate_spend_unique_reference",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} {self.currency} {self.reference}"


# --- quotes ---------------------------------------------------------------------------------
class QuoteStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    ANSWERED = "answered", _("Answered")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    EXPIRED = "expired", _("Expired")


class Quote(models.Model):
    """A dealer's request for prices on a cart, answered by staff, accepted by the dealer.

    requested → answered → accepted | declined | expired; requested → declined.
    """

    number = models.CharField(_("number"), max_length=32, unique=True)
    dealer = models.ForeignKey(
        "accounts.Dealer", on_delete=models.PROTECT, related_name="quotes", verbose_name=_("dealer")
    )
    status = models.CharField(
        _("status"), max_length=12, choices=QuoteStatus.choices, default=QuoteStatus.REQUESTED
    )
    currency = models.CharField(_("currency"), max_length=3)
    dealer_note = models.TextField(_("dealer's note"), blank=True)
    staff_note = models.TextField(_("staff's note"), blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    decided_at = models.DateTimeField(_("accepted or declined at"), null=True, blank=True)
    decline_reason = models.CharField(_("reason declined"), max_length=255, blank=True)
    order_reference = models.CharField(_("order"), max_length=80, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("quote")
        verbose_name_plural = _("quotes")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status__in=["answered", "accepted"]) | Q(expires_at__isnull=False),
                name="quote_answered_has_expiry",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def total(self) -> Decimal | None:
        lines = list(self.lines.all())
        if any(line.quoted_unit_price is None for line in lines):
            return None
        return sum((line.line_total or Decimal("0") for line in lines), Decimal("0"))


class QuoteLine(models.Model):
    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="lines")
    sku = models.ForeignKey(
        "catalog.Sku", on_delete=models.PROTECT, related_name="+", verbose_name=_("SKU")
    )
    unit_code = models.CharField(_("unit"), max_length=16)
    quantity = models.PositiveIntegerField(_("quantity"))
    base_quantity = models.PositiveIntegerField(_("quantity in base units"))
    list_unit_price = models.DecimalField(_("list unit price"), null=True, blank=True, **UNIT_PRICE)
    quoted_unit_price = models.DecimalField(
        _("quoted unit price"), null=True, blank=True, **UNIT_PRICE
    )
    line_total = models.DecimalField(_("line total"), null=True, blank=True, **MONEY)

    class Meta:
        verbose_name = _("quote line")
        verbose_name_plural = _("quote lines")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gte=1), name="quote_line_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(quoted_unit_price__isnull=True) | Q(quoted_unit_price__gte=0),
                name="quote_line_price_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku_id} {self.quantity} {self.unit_code}"
