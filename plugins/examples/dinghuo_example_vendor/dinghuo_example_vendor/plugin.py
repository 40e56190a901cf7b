"""Minimum order quantities per SKU, and a cap on any one line's quantity.

The hooks module: named by the ``dinghuo.plugins`` entry point and imported
while the platform's settings load, so models and GraphQL types are imported
inside the hooks, never at the top of this module.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from plugins import hookimpl
from plugins.types import LineError, OrderContext, OrderLine, SearchFilter, SettingSpec

NAME = "example_vendor"
BELOW_MINIMUM = "BELOW_VENDOR_MINIMUM"
OVER_LINE_LIMIT = "OVER_LINE_LIMIT"


@hookimpl
def django_apps() -> list[str]:
    return ["dinghuo_example_vendor.apps.ExampleVendorConfig"]


@hookimpl
def plugin_settings() -> list[SettingSpec]:
    return [
        SettingSpec(
            "max_line_quantity",
            "int",
            0,
            minimum=0,
            description=gettext_lazy(
                "Most base units a dealer may order on one line; 0 for no cap."
            ),
        ),
        SettingSpec(
            "enforce_minimums",
            "bool",
            True,
            description=gettext_lazy("Refuse lines below the SKU's minimum order quantity."),
        ),
    ]


@hookimpl
def order_error_codes() -> list[str]:
    return [BELOW_MINIMUM, OVER_LINE_LIMIT]


@hookimpl
def validate_order_lines(context: OrderContext, lines: list[OrderLine]) -> list[LineError]:
    from plugins.services import plugin_settings

    from .models import MinimumQuantity

    settings = plugin_settings(tenant=context.tenant, name=NAME)
    errors = []
    cap = settings["max_line_quantity"]
    if cap:
        errors += [
            LineError(
                index=line.index,
                code=OVER_LINE_LIMIT,
                field="quantity",
                message=_("At most %(cap)d per line.") % {"cap": cap},
                params={"maximum": cap},
            )
            for line in lines
            if line.quantity > cap
        ]
    if settings["enforce_minimums"] and lines:
        minimums = dict(
            MinimumQuantity.objects.filter(sku_id__in={line.sku.pk for line in lines}).values_list(
                "sku_id", "minimum"
            )
        )
        for line in lines:
            minimum = minimums.get(line.sku.pk)
            if minimum and line.quantity < minimum:
                errors.append(
                    LineError(
                        index=line.index,
                        code=BELOW_MINIMUM,
                        field="quantity",
                        message=_("Order at least %(minimum)d of %(sku)s.")
                        % {"minimum": minimum, "sku": line.sku.code},
                        params={"minimum": minimum},
                    )
                )
    return errors


@hookimpl
def search_document_fields(product: Any) -> dict[str, Any]:
    from .models import MinimumQuantity

    minimums = MinimumQuantity.objects.filter(sku__product=product).values_list(
        "minimum", flat=True
    )
    return {f"{NAME}_min_quantity": min(minimums, default=1)}


@hookimpl
def search_filters() -> list[SearchFilter]:
    return [
        SearchFilter(
            name="minQuantity",
            field=f"{NAME}_min_quantity",
            kind="range",
            label=gettext_lazy("Minimum order quantity"),
            facet=True,
            value_type="number",
        )
    ]


@hookimpl
def graphql_query() -> Any:
    from .schema import Query

    return Query


@hookimpl
def graphql_mutation() -> Any:
    from .schema import Mutation

    return Mutation


@hookimpl
def load_demo_data(tenant: Any) -> None:
    from core.catalog.models import Sku

    from .models import MinimumQuantity

    for sku in Sku.objects.order_by("code")[:2]:
        MinimumQuantity.objects.get_or_create(sku=sku, defaults={"minimum": 6})
