"""GraphQL fields of the example plugin. The platform gates every field here:
a tenant without the plugin gets ``PLUGIN_DISABLED`` and no data."""

from __future__ import annotations

import graphene
from django.utils.translation import gettext as _
from graphene_django import DjangoObjectType

from core.api.types import BaseMutation, error_type, require_staff, require_user
from core.catalog.models import Sku
from core.exceptions import DomainError

from .models import MinimumQuantity


class ExampleMinimumType(DjangoObjectType):
    sku_code = graphene.String(required=True)

    class Meta:
        model = MinimumQuantity
        name = "ExampleMinimum"
        fields = ("minimum",)
        description = "The least a dealer may order of a SKU on one line (example vendor plugin)."

    def resolve_sku_code(root, info):
        return root.sku.code


ExampleMinimumError = error_type("ExampleMinimum", ["INVALID", "NOT_FOUND"])


class ExampleSetMinimum(BaseMutation, error_type=ExampleMinimumError):
    """Set (or, with 0, remove) a SKU's minimum order quantity. Staff only."""

    class Arguments:
        sku_code = graphene.String(required=True)
        minimum = graphene.Int(required=True)

    minimum = graphene.Field(ExampleMinimumType)

    @classmethod
    def perform(cls, root, info, sku_code, minimum):
        require_staff(info)
        sku = Sku.objects.filter(code=sku_code).first()
        if sku is None:
            raise DomainError(_("No SKU has this code."), code="NOT_FOUND", field="skuCode")
        if minimum < 0:
            raise DomainError(_("Enter 0 or more."), code="INVALID", field="minimum")
        if minimum == 0:
            MinimumQuantity.objects.filter(sku=sku).delete()
            return cls(minimum=None)
        row, _created = MinimumQuantity.objects.update_or_create(
            sku=sku, defaults={"minimum": minimum}
        )
        return cls(minimum=row)


class Query(graphene.ObjectType):
    example_minimums = graphene.List(
        graphene.NonNull(ExampleMinimumType),
        required=True,
        description="Minimum order quantities per SKU (example vendor plugin).",
    )

    def resolve_example_minimums(root, info):
        require_user(info)
        return MinimumQuantity.objects.select_related("sku").order_by("sku__code")


class Mutation(graphene.ObjectType):
    example_set_minimum = ExampleSetMinimum.Field()
