"""GraphQL for accounts: who am I, dealers (the tree, addresses, contacts, reps), signing in.

Every dealer a response holds (lists, ``node(id)``, a parent, children) is one
the caller may see: the rules live in :mod:`core.accounts.selectors`.
"""

from __future__ import annotations

import graphene
from django.utils.translation import gettext as _
from graphene import relay
from graphene.utils.str_converters import to_camel_case
from graphene_django import DjangoConnectionField, DjangoObjectType
from graphql_relay import from_global_id

from core.api.types import (
    BaseMutation,
    CountableConnection,
    current_user,
    error_type,
    require_scope,
    require_user,
)
from core.exceptions import DomainError, NotFound

from . import selectors, services
from .models import AddressKind, Dealer, DealerAddress, DealerContact, PaymentTerms, Role, User

RoleEnum = graphene.Enum.from_enum(Role, description="What a user may do in the tenant.")
PaymentTermsEnum = graphene.Enum.from_enum(
    PaymentTerms, description="When a dealer pays its invoices."
)
AddressKindEnum = graphene.Enum.from_enum(AddressKind, description="What an address is used for.")
DealerStatusEnum = graphene.Enum(
    "DealerStatusInput",
    [("ACTIVE", "active"), ("ON_HOLD", "on_hold"), ("CLOSED", "closed")],
    description="A dealer's status, as input.",
)

AccountError = error_type(
    "Account",
    [
        "INVALID",
        "REQUIRED",
        "TOO_LONG",
        "INVALID_CREDENTIALS",
        "LOGIN_THROTTLED",
        "TAKEN",
        "PASSWORD_TOO_WEAK",
    ],
    "An error from signing in or managing users.",
)
DealerError = error_type(
    "Dealer",
    [
        "INVALID",
        "REQUIRED",
        "TOO_LONG",
        "TAKEN",
        "NOT_FOUND",
        "INVALID_PARENT",
        "PLAN_LIMIT_EXCEEDED",
        "PERMISSION_DENIED",
        "DEALER_CLOSED",
        "PASSWORD_TOO_WEAK",
    ],
    "An error from creating or changing dealers and their users.",
)


def camel_field(name: str | None) -> str | None:
    """``credit_limit`` → ``creditLimit``, ``addresses.0.line1`` → ``addresses.0.line1``."""
    if not name:
        return name
    return ".".join(to_camel_case(part) for part in name.split("."))


class CamelErrorsMutation(BaseMutation):
    """A mutation whose errors name the input fields as the schema spells them (camelCase)."""

    class Meta:
        abstract = True

    @classmethod
    def _as_error(cls, exc: DomainError):
        error = super()._as_error(exc)
        error.field = camel_field(error.field)
        return error


def api_key_of(info):
    return getattr(info.context, "api_key", None)


def decode_id(global_id: str | None, expected: str, *, field: str) -> int | None:
    """The database id in a global ID of type ``expected``; a typed error otherwise."""
    if not global_id:
        return None
    try:
        kind, pk = from_global_id(global_id)
        if kind != expected:
            raise ValueError(kind)
        return int(pk)
    except (ValueError, TypeError, UnicodeDecodeError):
        raise DomainError(
            _("Not a %(kind)s ID.") % {"kind": expected}, field=field, code="INVALID"
        ) from None


def visible_dealer(info, global_id: str | None, *, field: str) -> Dealer | None:
    pk = decode_id(global_id, "Dealer", field=field)
    if pk is None:
        return None
    dealer = (
        selectors.dealers_visible_to(current_user(info), api_key=api_key_of(info))
        .filter(pk=pk)
        .first()
    )
    if dealer is None:
        raise NotFound(_("No such dealer."), field=field)
    return dealer


class DealerAddressType(DjangoObjectType):
    kind = graphene.Field(AddressKindEnum, required=True)

    class Meta:
        model = DealerAddress
        name = "DealerAddress"
        fields = (
            "label",
            "recipient",
            "phone",
            "line1",
            "line2",
            "city",
            "province",
            "postal_code",
            "country",
            "is_default",
        )
        description = "A billing or shipping address of a dealer."


class DealerContactType(DjangoObjectType):
    class Meta:
        model = DealerContact
        name = "DealerContact"
        fields = ("name", "title", "email", "phone", "is_primary")
        description = "A person to talk to at a dealer."


class SalesRepType(graphene.ObjectType):
    class Meta:
        description = "A sales rep covering a dealer."

    username = graphene.String(required=True)
    first_name = graphene.String(required=True)
    last_name = graphene.String(required=True)
    email = graphene.String(required=True)
    phone = graphene.String(required=True)


class DealerNode(DjangoObjectType):
    payment_terms = graphene.Field(PaymentTermsEnum, required=True)
    payment_days = graphene.Int(required=True, description="Days until an invoice is due.")
    credit_limit = graphene.Decimal(required=True, description="In the dealer's currency.")
    depth = graphene.Int(required=True, description="0 for a root (HQ), 1 below it, and so on.")
    addresses = graphene.List(graphene.NonNull(DealerAddressType), required=True)
    contacts = graphene.List(graphene.NonNull(DealerContactType), required=True)
    sales_reps = graphene.List(graphene.NonNull(SalesRepType), required=True)
    children = graphene.List(
        graphene.NonNull(lambda: DealerNode),
        required=True,
        description="The dealers directly below this one that the caller may see.",
    )

    class Meta:
        model = Dealer
        name = "Dealer"
        interfaces = (relay.Node,)
        fields = (
            "code",
            "name",
            "tier",
            "region",
            "status",
            "currency",
            "created_at",
            "parent",
            "tax_id",
            "email",
            "phone",
        )
        connection_class = CountableConnection
        description = "A distributor, wholesaler or shop that orders from the tenant."

    @classmethod
    def get_queryset(cls, queryset, info):
        condition = selectors.dealer_scope_q(current_user(info), api_key=api_key_of(info))
        return queryset if condition is None else queryset.filter(condition)

    def resolve_parent(root, info):
        if root.parent_id is None:
            return None
        user = current_user(info)
        parent = root.parent
        return (
            parent if selectors.can_act_for_dealer(user, parent, api_key=api_key_of(info)) else None
        )

    def resolve_children(root, info):
        return DealerNode.get_queryset(root.children.all(), info)

    def resolve_addresses(root, info):
        return root.addresses.all()

    def resolve_contacts(root, info):
        return root.contacts.all()

    def resolve_sales_reps(root, info):
        return root.sales_reps.all()

    def resolve_payment_days(root, info):
        return PaymentTerms.days(root.payment_terms)


class UserNode(DjangoObjectType):
    role = graphene.Field(RoleEnum, required=True)

    class Meta:
        model = User
        name = "User"
        interfaces = (relay.Node,)
        fields = ("username", "email", "first_name", "last_name", "dealer", "is_active")
        description = "A person who signs in to the tenant."

    @classmethod
    def get_queryset(cls, queryset, info):
        visible = selectors.users_visible_to(current_user(info), api_key=api_key_of(info))
        return queryset.filter(pk__in=visible.values("pk"))


# --- inputs --------------------------------------------------------------------------------
class DealerAddressInput(graphene.InputObjectType):
    kind = AddressKindEnum(required=True)
    label = graphene.String()
    recipient = graphene.String()
    phone = graphene.String()
    line1 = graphene.String(required=True)
    line2 = graphene.String()
    city = graphene.String()
    province = graphene.String()
    postal_code = graphene.String()
    country = graphene.String(description="ISO 3166 two-letter code; CN when omitted.")
    is_default = graphene.Boolean()


class DealerContactInput(graphene.InputObjectType):
    name = graphene.String(required=True)
    title = graphene.String()
    email = graphene.String()
    phone = graphene.String()
    is_primary = graphene.Boolean()


class DealerFieldsInput:
    name = graphene.String()
    parent_id = graphene.ID(description="The dealer above this one.")
    tier = graphene.String()
    region = graphene.String()
    status = DealerStatusEnum()
    currency = graphene.String(description="ISO 4217 code, e.g. CNY.")
    credit_limit = graphene.Decimal()
    payment_terms = PaymentTermsEnum()
    tax_id = graphene.String()
    email = graphene.String()
    phone = graphene.String()
    sales_rep_ids = graphene.List(graphene.NonNull(graphene.ID), description="Replaces the reps.")
    addresses = graphene.List(
        graphene.NonNull(DealerAddressInput), description="Replaces the addresses."
    )
    contacts = graphene.List(
        graphene.NonNull(DealerContactInput), description="Replaces the contacts."
    )


class DealerCreateInput(DealerFieldsInput, graphene.InputObjectType):
    code = graphene.String(required=True)
    name = graphene.String(required=True)


class DealerUpdateInput(DealerFieldsInput, graphene.InputObjectType):
    code = graphene.String()
    make_root = graphene.Boolean(description="Move the dealer to the top of the tree.")


def _enum_value(value):
    return getattr(value, "value", value)


def _dealer_kwargs(info, data: dict) -> dict:
    out = {}
    for key in (
        "code",
        "name",
        "tier",
        "region",
        "currency",
        "credit_limit",
        "tax_id",
        "email",
        "phone",
    ):
        if data.get(key) is not None:
            out[key] = data[key]
    for key in ("status", "payment_terms"):
        if data.get(key) is not None:
            out[key] = _enum_value(data[key])
    if data.get("parent_id"):
        out["parent"] = visible_dealer(info, data["parent_id"], field="parent_id")
    if data.get("sales_rep_ids") is not None:
        ids = [decode_id(g, "User", field="sales_rep_ids") for g in data["sales_rep_ids"]]
        reps = list(User.objects.filter(pk__in=ids))
        if len(reps) != len(set(ids)):
            raise DomainError(_("Unknown sales rep."), field="sales_rep_ids", code="NOT_FOUND")
        out["sales_reps"] = reps
    for key in ("addresses", "contacts"):
        if data.get(key) is not None:
            out[key] = [{k: _enum_value(v) for k, v in dict(item).items()} for item in data[key]]
    return out


class DealerCreate(CamelErrorsMutation, error_type=DealerError):
    """Create a dealer (staff, or an API key with ``dealers:write``)."""

    class Arguments:
        input = DealerCreateInput(required=True)

    dealer = graphene.Field(DealerNode)

    @classmethod
    def perform(cls, root, info, input):
        require_scope(info, "dealers:write")
        return cls(dealer=services.create_dealer(**_dealer_kwargs(info, input)))


class DealerUpdate(CamelErrorsMutation, error_type=DealerError):
    """Change a dealer; ``parentId`` or ``makeRoot`` moves it with everything below it."""

    class Arguments:
        id = graphene.ID(required=True)
        input = DealerUpdateInput(required=True)

    dealer = graphene.Field(DealerNode)

    @classmethod
    def perform(cls, root, info, id, input):
        require_scope(info, "dealers:write")
        dealer = visible_dealer(info, id, field="id")
        kwargs = _dealer_kwargs(info, input)
        if input.get("make_root"):
            kwargs["parent"] = None
        return cls(dealer=services.update_dealer(dealer, **kwargs))


class DealerUserCreate(CamelErrorsMutation, error_type=DealerError):
    """Add a user to a dealer: staff for any dealer, a dealer admin for its own subtree."""

    class Arguments:
        dealer_id = graphene.ID(required=True)
        username = graphene.String(required=True)
        password = graphene.String(required=True)
        role = RoleEnum(description="DEALER_BUYER (default) or DEALER_ADMIN.")
        email = graphene.String()
        first_name = graphene.String()
        last_name = graphene.String()

    user = graphene.Field(UserNode)

    @classmethod
    def perform(
        cls,
        root,
        info,
        dealer_id,
        username,
        password,
        role=None,
        email="",
        first_name="",
        last_name="",
    ):
        actor = require_user(info)
        dealer = visible_dealer(info, dealer_id, field="dealer_id")
        user = services.create_dealer_user(
            dealer=dealer,
            username=username,
            password=password,
            role=_enum_value(role) or Role.DEALER_BUYER,
            email=email or "",
            first_name=first_name or "",
            last_name=last_name or "",
            actor=actor,
        )
        return cls(user=user)


class TokenCreate(BaseMutation, error_type=AccountError):
    """Sign in with a user name (or email) and password; returns a bearer token for this tenant only."""

    class Arguments:
        username = graphene.String(required=True, description="User name or email.")
        password = graphene.String(required=True)

    rollback_on_error = False  # keep the failed-attempt counters that throttle brute force

    token = graphene.String(description="Send as 'Authorization: Bearer <token>'.")
    expires_at = graphene.DateTime()
    user = graphene.Field(UserNode)

    @classmethod
    def perform(cls, root, info, username, password):
        request = info.context
        issued = services.login(
            username=username, password=password, client_ip=request.META.get("REMOTE_ADDR")
        )
        return cls(token=issued.token, expires_at=issued.expires_at, user=issued.user)


def require_dealer_reader(info):
    if api_key_of(info) is not None:
        require_scope(info, "dealers:read")
    else:
        require_user(info)


class Query(graphene.ObjectType):
    me = graphene.Field(UserNode, description="The signed-in user.")
    dealers = DjangoConnectionField(
        DealerNode,
        search=graphene.String(description="Words in the code or name."),
        status=DealerStatusEnum(),
        tier=graphene.String(),
        region=graphene.String(),
        under_id=graphene.ID(description="Only this dealer and the dealers below it."),
        description="Dealers the caller may see, in tree order.",
    )
    dealer = graphene.Field(
        DealerNode,
        code=graphene.String(required=True),
        description="A dealer the caller may see, by its code.",
    )

    def resolve_me(root, info):
        return require_user(info)

    def resolve_dealers(
        root, info, search=None, status=None, tier=None, region=None, under_id=None, **kwargs
    ):
        require_dealer_reader(info)
        under = visible_dealer(info, under_id, field="under_id") if under_id else None
        return selectors.dealers_for_listing(
            current_user(info),
            api_key=api_key_of(info),
            search=search,
            status=_enum_value(status),
            tier=tier,
            region=region,
            under=under,
        )

    def resolve_dealer(root, info, code):
        require_dealer_reader(info)
        return (
            selectors.dealers_visible_to(current_user(info), api_key=api_key_of(info))
            .filter(code=code)
            .first()
        )


class Mutation(graphene.ObjectType):
    token_create = TokenCreate.Field()
    dealer_create = DealerCreate.Field()
    dealer_update = DealerUpdate.Field()
    dealer_user_create = DealerUserCreate.Field()
