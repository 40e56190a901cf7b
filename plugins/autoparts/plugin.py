"""Auto parts: vehicles and fitment, OE numbers and cross-references, look-ups by
vehicle, part number or VIN returning the dealer's orderable parts with prices.

The hooks module named by the ``dinghuo.plugins`` entry point ``autoparts``;
imported while settings load, so models, services and GraphQL types are imported
inside the hooks. The order path needs nothing from this plugin: a part found by
a look-up is an ordinary SKU, ordered through the core's order service.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy

from plugins import hookimpl
from plugins.types import SettingSpec

NAME = "autoparts"


@hookimpl
def django_apps() -> list[str]:
    return ["plugins.autoparts"]  # its AppConfig (label "autoparts") is found in apps.py


@hookimpl
def plugin_settings() -> list[SettingSpec]:
    return [
        SettingSpec(
            "vin_check_digit",
            "choice",
            "auto",
            choices=("auto", "strict", "warn"),
            description=gettext_lazy(
                "VIN check digit (position 9): auto = required for North-American and Chinese "
                "VINs, a warning elsewhere; strict = required for every VIN; warn = never refuse."
            ),
        ),
        SettingSpec(
            "include_unpriced",
            "bool",
            False,
            description=gettext_lazy(
                "List fitting parts the dealer has no price for (they cannot be ordered)."
            ),
        ),
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
def admin_urls() -> list[Any]:
    from .views import admin_urlpatterns

    return admin_urlpatterns()


@hookimpl
def load_demo_data(tenant: Any) -> None:
    from .demo import load_demo

    load_demo()
