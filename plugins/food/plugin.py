"""Food & beverage: ordering by case or by single unit (拆箱下单), case and unit prices,
mixed cases, shelf life and best-before.

The hooks module named by the ``food`` entry point; imported while settings load,
so models, GraphQL types and services are imported inside the hooks.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy

from plugins import hookimpl, orderfacts
from plugins.types import LineError, OrderContext, OrderLine, PriceAdjustment, SettingSpec

from .rules import ERROR_CODES, NAME

orderfacts.register(NAME, "plugins.food.rules:facts_source")


@hookimpl
def django_apps() -> list[str]:
    return ["plugins.food"]


@hookimpl
def plugin_settings() -> list[SettingSpec]:
    return [
        SettingSpec(
            "allow_mixed_cases",
            "bool",
            False,
            description=gettext_lazy(
                "Let single units of case-only SKUs in one mixed-case group (flavours of one "
                "drink) be combined into whole cases."
            ),
        ),
        SettingSpec(
            "split_surcharge_percent",
            "decimal",
            Decimal("5"),
            minimum=Decimal("0"),
            maximum=Decimal("100"),
            description=gettext_lazy(
                "Surcharge, in percent, on single units priced from a case price (when a "
                "price list has no unit price)."
            ),
        ),
    ]


@hookimpl
def order_error_codes() -> list[str]:
    return list(ERROR_CODES)


@hookimpl
def validate_order_lines(context: OrderContext, lines: list[OrderLine]) -> list[LineError]:
    from .rules import validate

    return validate(context, lines)


@hookimpl
def adjust_line_price(
    context: OrderContext, line: OrderLine, price: Decimal
) -> PriceAdjustment | None:
    from .pricing import adjust

    return adjust(context, line, price)


@hookimpl
def graphql_query() -> Any:
    from .schema import Query

    return Query


@hookimpl
def graphql_mutation() -> Any:
    from .schema import Mutation

    return Mutation


@hookimpl
def admin_urls() -> list[Any]:
    from .views import urlpatterns

    return urlpatterns


@hookimpl
def load_demo_data(tenant: Any) -> None:
    from .services import load_demo_data as load

    load()


__all__ = ["NAME"]
