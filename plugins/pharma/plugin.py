"""Pharma (GSP): batches with expiry, FEFO allocation, dealer licences and recall traces.

The hooks module named by the entry point ``pharma = "plugins.pharma.plugin"``.
It is imported while settings load, so models, services and GraphQL types are
imported inside the hooks.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy

from plugins import hookimpl, orderfacts
from plugins.types import AllocationPick, LineError, OrderContext, OrderLine, SettingSpec

NAME = "pharma"
orderfacts.register(NAME, "plugins.pharma.services:order_facts_source")


@hookimpl
def django_apps() -> list[str]:
    return ["plugins.pharma.apps.PharmaConfig"]


@hookimpl
def plugin_settings() -> list[SettingSpec]:
    return [
        SettingSpec(
            "min_remaining_shelf_life_days",
            "int",
            90,
            minimum=0,
            maximum=3650,
            description=gettext_lazy(
                "Least remaining shelf life (days) a batch must have to be allocated to a dealer, "
                "unless the dealer (or a dealer above it) has its own shelf-life rule."
            ),
        ),
        SettingSpec(
            "expiry_warning_days",
            "int",
            90,
            minimum=0,
            maximum=3650,
            description=gettext_lazy(
                "The console warns about batches expiring within this many days."
            ),
        ),
    ]


@hookimpl
def order_error_codes() -> list[str]:
    from .services import ERROR_CODES

    return list(ERROR_CODES)


@hookimpl
def stock_error_codes() -> list[str]:
    from .services import STOCK_ERROR_CODES

    return list(STOCK_ERROR_CODES)


@hookimpl
def plugin_enabled(tenant: Any) -> None:
    from .services import ensure_default_licence_types

    ensure_default_licence_types()


@hookimpl
def validate_order_lines(context: OrderContext, lines: list[OrderLine]) -> list[LineError]:
    from .services import preview_stock_in_date, validate_licences

    errors = validate_licences(context, lines)
    if context.preview:  # before submitting: what FEFO allocation would refuse, too
        errors += preview_stock_in_date(context, lines)
    return errors


@hookimpl(tryfirst=True)
def choose_allocation(
    context: OrderContext, line: OrderLine, candidates: list[Any]
) -> list[AllocationPick] | None:
    # tryfirst: batch-tracked stock must never be taken by another plugin's strategy
    # without its batch reservation.
    from .services import choose_allocation as fefo

    return fefo(context, line, candidates)


@hookimpl
def stock_changed(
    reason: str,
    sku: Any,
    warehouse: Any,
    quantity: int,
    destination: Any,
    reference: str,
    user: Any,
) -> None:
    from .services import on_stock_changed

    on_stock_changed(
        reason=reason,
        sku=sku,
        warehouse=warehouse,
        quantity=quantity,
        destination=destination,
        reference=reference,
        user=user,
    )


@hookimpl
def order_event(
    event: str, order: Any, payload: dict[str, Any], context: OrderContext | None
) -> None:
    from .services import handle_order_event

    handle_order_event(event, order, payload, context)


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
    from .demo import load_demo

    load_demo()
