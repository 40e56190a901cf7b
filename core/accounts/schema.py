"""GraphQL for accounts: who am I, dealers, signing in."""

from __future__ import annotations

import graphene
from graphene import relay
from graphene_django import DjangoConnectionField, DjangoObjectType

from core.api.types import (
    BaseMutation,
    CountableConnection,
    current_user,
    error_type,
    require_scope,
    require_user,
)

from . import selectors, services
from .models import Dealer, Role, User

RoleEnum = graphene.Enum.from_enum(Role, description="What a user may do in the tenant.")

AccountError = error_type(
    "Account",
    ["INVALID", "REQUIRED", "INVALID_CREDENTIALS", "LOGIN_THROTTLED", "TAKEN", "PASSWORD_TOO_WEAK"],
    "An error from signing in or managing users.",
)


class DealerNode(DjangoObjectType):
    class Meta:
        model = Dealer
        name = "Dealer"
        interfaces = (relay.Node,)
        fields = ("code", "name", "tier", "region", "status", "currency", "created_at", "parent")
        connection_class = CountableConnection
        description = "A distributor, wholesaler or shop that orders from the tenant."

    @classmethod
    def get_queryset(cls, queryset, info):
        user = current_user(info)
        visible = selectors.dealers_visible_to(user, api_key=getattr(info.context, "api_key", None))
        return queryset.filter(pk__in=visible.values("pk"))


class UserNode(DjangoObjectType):
    role = graphene.Field(RoleEnum, required=True)

    class Meta:
        model = User
        name = "User"
        interfaces = (relay.Node,)
        fields = ("username", "email", "first_name", "last_name", "dealer")
        description = "A person who signs in to the tenant."

    @classmethod
    def get_queryset(cls, queryset, info):
        user = current_user(info)
        if user is None:
            return queryset.none()
        if user.is_staff_role:
            return queryset
        return queryset.filter(pk=user.pk)


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


class Query(graphene.ObjectType):
    me = graphene.Field(UserNode, description="The signed-in user.")
    dealers = DjangoConnectionField(DealerNode, description="Dealers the caller may see.")

    def resolve_me(root, info):
        return require_user(info)

    def resolve_dealers(root, info, **kwargs):
        if getattr(info.context, "api_key", None) is not None:
            require_scope(info, "dealers:read")
        else:
            require_user(info)
        return selectors.dealers_visible_to(
            current_user(info), api_key=getattr(info.context, "api_key", None)
        ).select_related("parent")


class Mutation(graphene.ObjectType):
    token_create = TokenCreate.Field()
