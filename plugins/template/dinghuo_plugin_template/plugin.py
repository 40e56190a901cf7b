"""My plugin: one line on what it does (shown in the tenant console).

The hooks (see plugins/hookspecs.py and plugins/README.md). This module is
imported while the platform's settings load: import models, GraphQL types and
services inside the hooks, never at the top.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from plugins import hookimpl
from plugins.types import LineError, OrderContext, OrderLine, SettingSpec

NAME = "my_plugin"


@hookimpl
def django_apps() -> list[str]:
    return ["dinghuo_plugin_template.apps.MyPluginConfig"]


@hookimpl
def plugin_settings() -> list[SettingSpec]:
    return [
        SettingSpec(
            "max_lines",
            "int",
            0,
            minimum=0,
            description=gettext_lazy("Most lines per order; 0 for any."),
        )
    ]


@hookimpl
def order_error_codes() -> list[str]:
    return ["TOO_MANY_LINES"]


@hookimpl
def validate_order_lines(context: OrderContext, lines: list[OrderLine]) -> list[LineError]:
    from plugins.services import plugin_settings

    most = plugin_settings(tenant=context.tenant, name=NAME)["max_lines"]
    if most and len(lines) > most:
        return [
            LineError(index=lines[most].index, code="TOO_MANY_LINES", message=_("Too many lines."))
        ]
    return []


@hookimpl
def graphql_query() -> Any:
    from .schema import Query

    return Query
