"""GraphQL for pricing: a dealer's prices, credit, rebates and quotes; staff
mutations for price lists, prices, promotions, rebate programmes and the credit
ledger. Thin: every rule is in :mod:`.services` and :mod:`.selectors`.

A dealer's user gets the prices of its own dealer (or, with ``dealerId``, of a
dealer it may act for: a parent's admin for its subtree, a rep for the dealers
it covers); another dealer's list never reaches it, since prices are resolved
only from the lists of the dealer asked for, after the permission check.
"""

from __future__ import annotations

import re

import graphene
from django.utils.translation import gettext as _
from graphene import relay
from graphene_django import DjangoConnectionField, DjangoObjectType
from graphql import GraphQLError
from graphql_relay import from_global_id

from core.accounts.models import Dealer
from core.api.types import (
    BaseMutation,
    CountableConnection,
    current_user,
    error_type,
    require_scope,
    require_staff,
    require_user,
)
from core.catalog.models import Sku
from core.exceptions import DomainError

from . import selectors, services
from .models import PriceList, Promotion, Quote, QuoteLine, QuoteStatus

PricingError = error_type(
    "Pricing",
    [
        "INVALID",
        "REQUIRED",
        "TOO_LONG",
        "TAKEN",
        "NOT_FOUND",
        "PERMISSION_DENIED",
        "INVALID_CURRENCY",
        "CURRENCY_MISMATCH",
        "NEGATIVE_PRICE",
        "OVERLAPPING_BREAKS",
        "INVALID_QUANTITY",
        "UNKNOWN_SKU",
        "UNKNOWN_UNIT",
        "NO_TARGET",
        "INVALID_RULE",
        "INVALID_DATES",
        "INVALID_AMOUNT",
        "DUPLICATE_REFERENCE",
        "OVERLAPPING_TIERS",
        "INVALID_STATE",
        "INVALID_EXPIRY",
        "QUOTE_EXPIRED",
        "CREDIT_LIMIT_EXCEEDED",
        "NO_PRICE",
        "OUT_OF_STOCK",
    ],
    "An error from a pricing, credit, rebate or quote mutation.",
)

QuoteStatusEnum = graphene.Enum.from_enum(QuoteStatus, description="Where a quote stands.")


def _camel(path: str | None) -> str | None:
    if not path:
        return path
    return re.sub(r"_([a-z])", lambda m: m.group(1).upper(), path)


class PricingMutation(BaseMutation):
    class Meta:
        abstract = True

    @classmethod
    def _as_error(cls, exc: DomainError):
        error = super()._as_error(exc)
        error.field = _camel(error.field)
        return error


def _denied(message: str = "You may not act for this dealer.") -> GraphQLError:
    return GraphQLError(message, extensions={"code": "PERMISSION_DENIED"})


def _dealer_for(info, dealer_id: str | None) -> Dealer:
    """The dealer asked for (a global ``Dealer`` id) or the caller's own, after the scope check."""
    from core.accounts.selectors import can_act_for_dealer

    api_key = getattr(info.context, "api_key", None)
    user = current_user(info) if api_key is None else None
    if api_key is None:
        require_user(info)
    if dealer_id:
        try:
            type_name, pk = from_global_id(dealer_id)
        except Exception:  # noqa: BLE001 - any malformed id is simply unknown
            type_name, pk = "", ""
        dealer = (
            Dealer.objects.filter(pk=pk).first() if type_name == "Dealer" and pk.isdigit() else None
        )
        if dealer is None or not can_act_for_dealer(user, dealer, api_key=api_key):
            raise _denied()
        return dealer
    if user is not None and user.dealer_id:
        return user.dealer
    raise GraphQLError("Say which dealer (dealerId).", extensions={"code": "REQUIRED"})


def _object(model, global_id: str, type_name: str):
    try:
        kind, pk = from_global_id(global_id)
    except Exception:  # noqa: BLE001
        kind, pk = "", ""
    obj = model.objects.filter(pk=pk).first() if kind == type_name and str(pk).isdigit() else None
    if obj is None:
        raise DomainError(_("Not found."), code="NOT_FOUND", field="id")
    return obj


# --- types ------------------------------------------------------------------------------
class PriceBreakType(graphene.ObjectType):
    class Meta:
        name = "PriceBreak"
        description = "From this quantity (of the price's unit) on, each unit costs this."

    min_quantity = graphene.Int(required=True)
    unit_price = graphene.Decimal(required=True)


class PriceSourceType(graphene.ObjectType):
    class Meta:
        name = "PriceSource"
        description = "Why this price: the list and the break that won."

    price_list_code = graphene.String(required=True)
    kind = graphene.String(required=True, description="dealer, region, tier or base.")
    unit_code = graphene.String(required=True)
    min_quantity = graphene.Int(required=True)
    explanation = graphene.String(required=True)


class PromotionSummaryType(graphene.ObjectType):
    class Meta:
        name = "PromotionSummary"

    code = graphene.String(required=True)
    name = graphene.String(required=True)
    kind = graphene.String(required=True)
    stackable = graphene.Boolean(required=True)
    priority = graphene.Int(required=True)


class SkuPriceType(graphene.ObjectType):
    class Meta:
        name = "SkuPrice"
        description = "A SKU's price for a dealer, per base unit."

    sku_code = graphene.String(required=True)
    unit_code = graphene.String(required=True)
    unit_price = graphene.Decimal(required=True)
    promoted_unit_price = graphene.Decimal(required=True, description="After the line promotions.")
    currency = graphene.String(required=True)
    breaks = graphene.List(graphene.NonNull(PriceBreakType), required=True)
    promotions = graphene.List(graphene.NonNull(PromotionSummaryType), required=True)
    source = graphene.Field(PriceSourceType, required=True)


class CreditSummaryType(graphene.ObjectType):
    class Meta:
        name = "CreditSummary"

    currency = graphene.String(required=True)
    limit = graphene.Decimal(required=True)
    balance = graphene.Decimal(required=True, description="Open balance: what the dealer owes.")
    available = graphene.Decimal(required=True)


class RebateEntryType(graphene.ObjectType):
    class Meta:
        name = "RebateEntry"

    kind = graphene.String(required=True)
    amount = graphene.Decimal(required=True)
    currency = graphene.String(required=True)
    period_start = graphene.Date()
    reference = graphene.String(required=True)
    created_at = graphene.DateTime(required=True)


class RebateSummaryType(graphene.ObjectType):
    class Meta:
        name = "RebateSummary"

    currency = graphene.String(required=True)
    balance = graphene.Decimal(required=True)
    entries = graphene.List(
        graphene.NonNull(RebateEntryType), required=True, description="The latest 20."
    )


class QuoteLineNode(DjangoObjectType):
    sku_code = graphene.String(required=True)

    class Meta:
        model = QuoteLine
        name = "QuoteLine"
        fields = (
            "id",
            "unit_code",
            "quantity",
            "base_quantity",
            "list_unit_price",
            "quoted_unit_price",
            "line_total",
        )

    def resolve_sku_code(root, info):
        return root.sku.code


class QuoteNode(DjangoObjectType):
    status = graphene.Field(QuoteStatusEnum, required=True)
    lines = graphene.List(graphene.NonNull(QuoteLineNode), required=True)
    dealer_code = graphene.String(required=True)
    total = graphene.Decimal()

    class Meta:
        model = Quote
        name = "Quote"
        interfaces = (relay.Node,)
        fields = (
            "number",
            "currency",
            "dealer_note",
            "staff_note",
            "expires_at",
            "created_at",
            "answered_at",
            "decided_at",
            "order_reference",
        )
        connection_class = CountableConnection
        description = "A dealer's request for prices on a cart and the tenant's answer."

    @classmethod
    def get_queryset(cls, queryset, info):
        visible = selectors.quotes_visible_to(
            current_user(info), api_key=getattr(info.context, "api_key", None)
        )
        return queryset.filter(pk__in=visible.values("pk"))

    def resolve_lines(root, info):
        return root.lines.select_related("sku").order_by("id")

    def resolve_dealer_code(root, info):
        return root.dealer.code


class PriceListNode(DjangoObjectType):
    class Meta:
        model = PriceList
        name = "PriceList"
        interfaces = (relay.Node,)
        fields = (
            "code",
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
        connection_class = CountableConnection

    @classmethod
    def get_queryset(cls, queryset, info):
        require_scope(info, "prices:write")
        return queryset


class PromotionNode(DjangoObjectType):
    rule = graphene.JSONString(required=True)

    class Meta:
        model = Promotion
        name = "Promotion"
        interfaces = (relay.Node,)
        fields = (
            "code",
            "name",
            "description",
            "kind",
            "currency",
            "priority",
            "stackable",
            "is_active",
            "starts_at",
            "ends_at",
            "usage_limit",
            "usage_limit_per_dealer",
            "used_count",
        )
        connection_class = CountableConnection

    @classmethod
    def get_queryset(cls, queryset, info):
        require_scope(info, "prices:write")
        return queryset


# --- queries ---------------------------------------------------------------------------------
def _sku_price(code: str, p) -> SkuPriceType:
    return SkuPriceType(
        sku_code=code,
        unit_code=p.unit_code,
        unit_price=p.unit_price,
        promoted_unit_price=p.promoted_unit_price,
        currency=p.currency,
        breaks=[
            PriceBreakType(min_quantity=b.min_quantity, unit_price=b.unit_price) for b in p.breaks
        ],
        promotions=[
            PromotionSummaryType(
                code=x.code, name=x.name, kind=x.kind, stackable=x.stackable, priority=x.priority
            )
            for x in p.promotions
        ],
        source=PriceSourceType(
            price_list_code=p.source.price_list_code,
            kind=p.source.kind,
            unit_code=p.source.unit_code,
            min_quantity=p.source.min_quantity,
            explanation=p.source.explanation,
        ),
    )


class Query(graphene.ObjectType):
    dealer_prices = graphene.List(
        graphene.NonNull(SkuPriceType),
        required=True,
        sku_codes=graphene.List(graphene.NonNull(graphene.String), required=True),
        dealer_id=graphene.ID(
            description="A dealer the caller may act for; the caller's own by default."
        ),
        description="The dealer's resolved prices, breaks and promotions (at most 200 SKUs); "
        "SKUs without a price for it are left out.",
    )
    dealer_credit = graphene.Field(CreditSummaryType, required=True, dealer_id=graphene.ID())
    dealer_rebates = graphene.Field(RebateSummaryType, required=True, dealer_id=graphene.ID())
    quotes = DjangoConnectionField(
        QuoteNode, status=QuoteStatusEnum(), description="Quotes the caller may see."
    )
    price_lists = DjangoConnectionField(PriceListNode, description="Staff: every price list.")
    promotions = DjangoConnectionField(PromotionNode, description="Staff: every promotion.")

    def resolve_dealer_prices(root, info, sku_codes, dealer_id=None):
        dealer = _dealer_for(info, dealer_id)
        if len(sku_codes) > 200:
            raise GraphQLError("Ask for at most 200 SKUs.", extensions={"code": "INVALID"})
        codes = dict(Sku.objects.filter(code__in=sku_codes).values_list("pk", "code"))
        prices = selectors.price_products_for_dealer(dealer, codes)
        return [
            _sku_price(codes[sku_id], prices[sku_id])
            for sku_id in sorted(prices, key=lambda i: codes[i])
        ]

    def resolve_dealer_credit(root, info, dealer_id=None):
        s = selectors.credit_summary(_dealer_for(info, dealer_id))
        return CreditSummaryType(
            currency=s.currency, limit=s.limit, balance=s.balance, available=s.available
        )

    def resolve_dealer_rebates(root, info, dealer_id=None):
        dealer = _dealer_for(info, dealer_id)
        entries = selectors.rebate_entries(dealer)[:20]
        return RebateSummaryType(
            currency=dealer.currency,
            balance=selectors.rebate_balance(dealer),
            entries=[
                RebateEntryType(
                    kind=e.kind,
                    amount=e.amount,
                    currency=e.currency,
                    period_start=e.period_start,
                    reference=e.reference,
                    created_at=e.created_at,
                )
                for e in entries
            ],
        )

    def resolve_quotes(root, info, status=None, **kwargs):
        require_user(info)
        qs = selectors.quotes_visible_to(current_user(info))
        return (
            qs.filter(status=status.value if hasattr(status, "value") else status) if status else qs
        )

    def resolve_price_lists(root, info, **kwargs):
        require_scope(info, "prices:write")
        return PriceList.objects.order_by("kind", "code")

    def resolve_promotions(root, info, **kwargs):
        require_scope(info, "prices:write")
        return Promotion.objects.order_by("-priority", "id")


# --- quote mutations ---------------------------------------------------------------------------
class QuoteLineInputType(graphene.InputObjectType):
    class Meta:
        name = "QuoteLineInput"

    sku_code = graphene.String(required=True)
    unit_code = graphene.String(description="The SKU's base unit when left out.")
    quantity = graphene.Int(required=True)


class QuotePriceInput(graphene.InputObjectType):
    line_id = graphene.ID(required=True, description="QuoteLine.id")
    unit_price = graphene.Decimal(required=True)


class QuoteRequest(PricingMutation, error_type=PricingError):
    """A dealer asks for a quote on a cart."""

    class Arguments:
        lines = graphene.List(graphene.NonNull(QuoteLineInputType), required=True)
        note = graphene.String()
        dealer_id = graphene.ID()

    quote = graphene.Field(QuoteNode)

    @classmethod
    def perform(cls, root, info, lines, note="", dealer_id=None):
        dealer = _dealer_for(info, dealer_id)
        quote = services.request_quote(
            dealer=dealer,
            user=current_user(info),
            note=note or "",
            lines=[
                services.QuoteLineInput(
                    sku_code=ln.sku_code, unit_code=ln.get("unit_code"), quantity=ln.quantity
                )
                for ln in lines
            ],
        )
        return cls(quote=quote)


class QuoteAnswer(PricingMutation, error_type=PricingError):
    """Staff price a quote's lines, with an expiry and a note."""

    class Arguments:
        id = graphene.ID(required=True)
        prices = graphene.List(graphene.NonNull(QuotePriceInput), required=True)
        expires_at = graphene.DateTime(required=True)
        note = graphene.String()

    quote = graphene.Field(QuoteNode)

    @classmethod
    def perform(cls, root, info, id, prices, expires_at, note=""):
        user = require_staff(info)
        quote = _object(Quote, id, "Quote")
        answered = services.answer_quote(
            quote=quote,
            user=user,
            prices={int(p.line_id): p.unit_price for p in prices},
            expires_at=expires_at,
            note=note or "",
        )
        return cls(quote=answered)


def _visible_quote(info, id: str) -> Quote:
    quote = _object(Quote, id, "Quote")
    if not selectors.quotes_visible_to(current_user(info)).filter(pk=quote.pk).exists():
        raise DomainError(_("Not found."), code="NOT_FOUND", field="id")
    return quote


class QuoteAccept(PricingMutation, error_type=PricingError):
    """The dealer accepts an answered quote before it expires; it becomes an order."""

    class Arguments:
        id = graphene.ID(required=True)

    quote = graphene.Field(QuoteNode)
    order_number = graphene.String()

    @classmethod
    def perform(cls, root, info, id):
        user = require_user(info)
        accepted = services.accept_quote(quote=_visible_quote(info, id), user=user)
        return cls(quote=accepted, order_number=accepted.order_reference)


class QuoteDecline(PricingMutation, error_type=PricingError):
    class Arguments:
        id = graphene.ID(required=True)
        reason = graphene.String()

    quote = graphene.Field(QuoteNode)

    @classmethod
    def perform(cls, root, info, id, reason=""):
        user = require_user(info)
        return cls(
            quote=services.decline_quote(
                quote=_visible_quote(info, id), user=user, reason=reason or ""
            )
        )


# --- staff mutations ------------------------------------------------------------------------------
class PriceListKindEnum(graphene.Enum):
    BASE = "base"
    TIER = "tier"
    REGION = "region"
    DEALER = "dealer"


class PriceListInput(graphene.InputObjectType):
    code = graphene.String(required=True)
    name = graphene.String(required=True)
    kind = PriceListKindEnum(required=True)
    currency = graphene.String(required=True)
    tier = graphene.String()
    region = graphene.String()
    valid_from = graphene.DateTime()
    valid_to = graphene.DateTime()
    is_active = graphene.Boolean()
    priority = graphene.Int()
    dealer_codes = graphene.List(
        graphene.NonNull(graphene.String), description="For dealer-specific lists."
    )


class PriceListCreate(PricingMutation, error_type=PricingError):
    class Arguments:
        input = PriceListInput(required=True)

    price_list = graphene.Field(PriceListNode)

    @classmethod
    def perform(cls, root, info, input):
        require_scope(info, "prices:write")
        data = dict(input)
        codes = data.pop("dealer_codes", None)
        dealer_ids = None
        if codes is not None:
            found = dict(Dealer.objects.filter(code__in=codes).values_list("code", "pk"))
            missing = [c for c in codes if c not in found]
            if missing:
                raise DomainError(
                    _("Unknown dealer: %(codes)s") % {"codes": ", ".join(missing)},
                    code="NOT_FOUND",
                    field="dealer_codes",
                )
            dealer_ids = list(found.values())
        kind = data.pop("kind")
        data["kind"] = kind.value if hasattr(kind, "value") else kind
        data = {k: v for k, v in data.items() if v is not None}
        pl = services.save_price_list(code=data.pop("code"), dealer_ids=dealer_ids, **data)
        return cls(price_list=pl)


class PriceRowInput(graphene.InputObjectType):
    sku_code = graphene.String(required=True)
    unit_code = graphene.String(description="The SKU's base unit when left out.")
    min_quantity = graphene.Int(description="The break's first quantity; 1 when left out.")
    unit_price = graphene.Decimal(required=True)
    currency = graphene.String(description="When given, must be the list's currency.")


class PricesBulkUpsert(PricingMutation, error_type=PricingError):
    """Save quantity breaks: for each SKU and unit sent, the breaks sent replace
    that SKU and unit's breaks in the list. All rows or none."""

    class Arguments:
        price_list_code = graphene.String(required=True)
        prices = graphene.List(graphene.NonNull(PriceRowInput), required=True)

    created = graphene.Int()
    replaced = graphene.Int()

    @classmethod
    def perform(cls, root, info, price_list_code, prices):
        require_scope(info, "prices:write")
        if len(prices) > 5000:
            raise DomainError(
                _("Send at most 5000 rows at a time."), code="INVALID", field="prices"
            )
        pl = PriceList.objects.filter(code=price_list_code).first()
        if pl is None:
            raise DomainError(_("Unknown price list."), code="NOT_FOUND", field="price_list_code")
        result = services.upsert_prices(
            price_list=pl,
            prices=[
                services.PriceInput(
                    sku_code=p.sku_code,
                    unit_code=p.get("unit_code"),
                    min_quantity=p.get("min_quantity") or 1,
                    unit_price=p.unit_price,
                    currency=p.get("currency"),
                )
                for p in prices
            ],
        )
        return cls(created=result.created, replaced=result.replaced)


class PromotionInput(graphene.InputObjectType):
    code = graphene.String(required=True)
    name = graphene.String(required=True)
    kind = graphene.String(
        required=True,
        description="percent_off, amount_off, spend_threshold, buy_x_get_y, bundle_price.",
    )
    rule = graphene.JSONString(
        required=True, description="The kind's numbers; see the pricing engine."
    )
    description = graphene.String()
    currency = graphene.String()
    priority = graphene.Int()
    stackable = graphene.Boolean()
    is_active = graphene.Boolean()
    starts_at = graphene.DateTime()
    ends_at = graphene.DateTime()
    dealer_codes = graphene.List(graphene.NonNull(graphene.String))
    tiers = graphene.List(graphene.NonNull(graphene.String))
    regions = graphene.List(graphene.NonNull(graphene.String))
    sku_codes = graphene.List(graphene.NonNull(graphene.String))
    product_ids = graphene.List(graphene.NonNull(graphene.Int))
    category_ids = graphene.List(graphene.NonNull(graphene.Int))
    brand_ids = graphene.List(graphene.NonNull(graphene.Int))
    usage_limit = graphene.Int()
    usage_limit_per_dealer = graphene.Int()


def _ids_for_codes(model, codes, field):
    found = dict(model.objects.filter(code__in=codes).values_list("code", "pk"))
    missing = [c for c in codes if c not in found]
    if missing:
        raise DomainError(
            _("Unknown: %(codes)s") % {"codes": ", ".join(missing)}, code="NOT_FOUND", field=field
        )
    return list(found.values())


class PromotionCreate(PricingMutation, error_type=PricingError):
    class Arguments:
        input = PromotionInput(required=True)

    promotion = graphene.Field(PromotionNode)

    @classmethod
    def perform(cls, root, info, input):
        require_scope(info, "prices:write")
        data = {k: v for k, v in dict(input).items() if v is not None}
        if "dealer_codes" in data:
            data["dealer_ids"] = _ids_for_codes(Dealer, data.pop("dealer_codes"), "dealer_codes")
        if "sku_codes" in data:
            data["sku_ids"] = _ids_for_codes(Sku, data.pop("sku_codes"), "sku_codes")
        rule = data.get("rule")
        if isinstance(rule, dict) and rule.get("get_sku_code"):
            rule["get_sku_id"] = _ids_for_codes(
                Sku, [rule.pop("get_sku_code")], "rule.get_sku_code"
            )[0]
        if isinstance(rule, dict) and isinstance(rule.get("components"), list):
            for comp in rule["components"]:
                if isinstance(comp, dict) and "sku_code" in comp:
                    comp["sku_id"] = _ids_for_codes(Sku, [comp.pop("sku_code")], "rule.components")[
                        0
                    ]
        return cls(promotion=services.save_promotion(code=data.pop("code"), **data))


class RebateTierInput(graphene.InputObjectType):
    threshold = graphene.Decimal(required=True)
    percent = graphene.Decimal(required=True)


class RebateProgrammeCreate(PricingMutation, error_type=PricingError):
    class Arguments:
        code = graphene.String(required=True)
        name = graphene.String(required=True)
        period = graphene.String(required=True, description="month, quarter or year.")
        currency = graphene.String(required=True)
        tiers = graphene.List(graphene.NonNull(RebateTierInput), required=True)
        starts_on = graphene.Date(required=True)
        ends_on = graphene.Date()
        dealer_tiers = graphene.List(graphene.NonNull(graphene.String))
        regions = graphene.List(graphene.NonNull(graphene.String))

    code = graphene.String()

    @classmethod
    def perform(cls, root, info, code, tiers, **data):
        require_staff(info)
        prog = services.save_rebate_programme(
            code=code,
            tiers=[{"threshold": str(t.threshold), "percent": str(t.percent)} for t in tiers],
            **{k: v for k, v in data.items() if v is not None},
        )
        return cls(code=prog.code)


class _CreditMovement(PricingMutation):
    class Meta:
        abstract = True

    class Arguments:
        dealer_id = graphene.ID(required=True)
        amount = graphene.Decimal(required=True)
        currency = graphene.String(required=True)
        reference = graphene.String(required=True)
        note = graphene.String()

    credit = graphene.Field(CreditSummaryType)
    service = None

    @classmethod
    def perform(cls, root, info, dealer_id, amount, currency, reference, note=""):
        user = require_staff(info)
        dealer = _dealer_for(info, dealer_id)
        cls.service(
            dealer=dealer,
            amount=amount,
            currency=currency,
            reference=reference,
            note=note or "",
            user=user,
        )
        s = selectors.credit_summary(dealer)
        return cls(
            credit=CreditSummaryType(
                currency=s.currency, limit=s.limit, balance=s.balance, available=s.available
            )
        )


class PaymentRecord(_CreditMovement, error_type=PricingError):
    """Staff record a payment from a dealer."""

    service = staticmethod(services.record_payment)


class CreditNoteIssue(_CreditMovement, error_type=PricingError):
    """Staff issue a credit note to a dealer."""

    service = staticmethod(services.issue_credit_note)


class Mutation(graphene.ObjectType):
    quote_request = QuoteRequest.Field()
    quote_answer = QuoteAnswer.Field()
    quote_accept = QuoteAccept.Field()
    quote_decline = QuoteDecline.Field()
    price_list_create = PriceListCreate.Field()
    prices_bulk_upsert = PricesBulkUpsert.Field()
    promotion_create = PromotionCreate.Field()
    rebate_programme_create = RebateProgrammeCreate.Field()
    payment_record = PaymentRecord.Field()
    credit_note_issue = CreditNoteIssue.Field()
