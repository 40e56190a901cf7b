"""GraphQL for the catalogue."""

from __future__ import annotations

import graphene
from graphene import relay
from graphene_django import DjangoConnectionField, DjangoObjectType

from core.api.types import CountableConnection, require_scope, require_user

from . import selectors
from .models import Product, Sku


class SkuType(DjangoObjectType):
    available = graphene.Int(required=True, description="Units available to order, in the base unit.")

    class Meta:
        model = Sku
        name = "Sku"
        fields = ("code", "name", "gtin", "base_unit")
        description = "A sellable variant of a product."

    def resolve_available(root, info):
        return selectors.available_quantity(root)


class ProductNode(DjangoObjectType):
    skus = graphene.List(graphene.NonNull(SkuType), required=True)

    class Meta:
        model = Product
        name = "Product"
        interfaces = (relay.Node,)
        fields = ("name", "description", "status", "created_at", "updated_at")
        connection_class = CountableConnection
        description = "A product in the tenant's catalogue."

    def resolve_skus(root, info):
        return root.skus.all()

    @classmethod
    def get_queryset(cls, queryset, info):
        if getattr(info.context, "api_key", None) is None:
            require_user(info)
        return queryset


class Query(graphene.ObjectType):
    products = DjangoConnectionField(
        ProductNode,
        search=graphene.String(description="Words in the product name."),
        description="Products the caller may order, newest last.",
    )

    def resolve_products(root, info, search=None, **kwargs):
        if getattr(info.context, "api_key", None) is not None:
            require_scope(info, "catalog:read")
        else:
            require_user(info)
        return selectors.products_for_listing(search=search)
