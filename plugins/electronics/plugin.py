"""Electronic components: parametric attributes, parametric search, reels and MOQ, alternates.

The hooks module, named by the ``electronics`` entry point and imported while
the platform's settings load: models, services and GraphQL types are imported
inside the hooks.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy

from plugins import hookimpl, orderfacts
from plugins.types import LineError, OrderContext, OrderLine, SearchFilter, SettingSpec

NAME = "electronics"
orderfacts.register(NAME, "plugins.electronics.selectors:reel_rules_source")


@hookimpl
def django_apps() -> list[str]:
    return ["plugins.electronics"]


@hookimpl
def plugin_settings() -> list[SettingSpec]:
    return [
        SettingSpec(
            "enforce_reel_rules",
            "bool",
            True,
            description=gettext_lazy(
                "Refuse order lines that break a SKU's reel or minimum order rule."
            ),
        ),
        SettingSpec(
            "alternates_limit",
            "int",
            20,
            minimum=1,
            maximum=50,
            description=gettext_lazy("Most alternates shown for a part."),
        ),
    ]


@hookimpl
def order_error_codes() -> list[str]:
    from .rules import ORDER_ERROR_CODES

    return list(ORDER_ERROR_CODES)


@hookimpl
def validate_order_lines(context: OrderContext, lines: list[OrderLine]) -> list[LineError]:
    """Reel and MOQ rules per line; the rules of every line in one query per order,
    shared with the other plugins' facts (``plugins.orderfacts``).

    The tenant's settings are read only when a line has a rule, so an order of
    parts without reel rules costs that one query and nothing else.
    """
    from plugins.orderfacts import facts_for
    from plugins.services import plugin_settings

    from .rules import check_quantity

    if not lines:
        return []
    rules = facts_for(context, NAME, (line.sku.pk for line in lines))
    if not rules or not plugin_settings(tenant=context.tenant, name=NAME)["enforce_reel_rules"]:
        return []
    errors = []
    for line in lines:
        rule = rules.get(line.sku.pk)
        if rule is None:
            continue
        for violation in check_quantity(rule, line.quantity, sku_code=line.sku.code):
            errors.append(
                LineError(
                    index=line.index,
                    code=violation.code,
                    message=violation.message,
                    field="quantity",
                    params=violation.params,
                )
            )
    return errors


@hookimpl
def search_document_fields(product: Any) -> dict[str, Any]:
    from .selectors import document_fields

    return document_fields(product)


@hookimpl
def search_filters() -> list[SearchFilter]:
    from .selectors import search_filters as filters

    return filters()


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
    from .demo import load_demo

    load_demo()
