"""Small plugins the tests register; each records the calls it receives."""

from __future__ import annotations

from decimal import Decimal

from plugins import hookimpl
from plugins.types import AllocationPick, LineError, PriceAdjustment, SearchFilter, SettingSpec


class Recorder:
    """A plugin that implements every per-tenant hook and records each call."""

    def __init__(self, name: str):
        self.name = name
        self.calls: list[str] = []

    @hookimpl
    def expand_order_lines(self, context, lines):
        self.calls.append("expand_order_lines")

    @hookimpl
    def validate_order_lines(self, lines):
        self.calls.append("validate_order_lines")
        return [LineError(index=line.index, code="RECORDED", message=self.name) for line in lines]

    @hookimpl
    def adjust_line_price(self, price):
        self.calls.append("adjust_line_price")
        return PriceAdjustment(unit_price=price - Decimal("1.00"), reason=self.name)

    @hookimpl
    def choose_allocation(self, line, candidates):
        self.calls.append("choose_allocation")
        return [AllocationPick(warehouse_id=candidates[-1].warehouse_id, quantity=line.quantity)]

    @hookimpl
    def order_event(self, event):
        self.calls.append(f"order_event:{event}")

    @hookimpl
    def search_document_fields(self, product):
        self.calls.append("search_document_fields")
        return {f"{self.name}_seen": True}

    @hookimpl
    def search_filters(self):
        self.calls.append("search_filters")
        return [SearchFilter(name=self.name, field=f"{self.name}_seen", kind="term")]

    @hookimpl
    def load_demo_data(self, tenant):
        self.calls.append(f"load_demo_data:{tenant.schema_name}")

    @hookimpl
    def plugin_enabled(self, tenant):
        self.calls.append(f"plugin_enabled:{tenant.schema_name}")

    @hookimpl
    def plugin_disabled(self, tenant):
        self.calls.append(f"plugin_disabled:{tenant.schema_name}")

    @hookimpl
    def plugin_settings(self):
        return [
            SettingSpec("limit", "int", 5, minimum=1, maximum=100),
            SettingSpec("strict", "bool", False),
            SettingSpec("fee", "decimal", Decimal("0.50")),
            SettingSpec("mode", "choice", "fefo", choices=("fefo", "fifo")),
            SettingSpec("label", "str", ""),
        ]


class Misspelled:
    """Implements ``validate_order_line`` (singular): not a hook of the contract."""

    @hookimpl
    def validate_order_line(self, context, lines):
        return []


class WrongArgument:
    @hookimpl
    def validate_order_lines(self, context, lines, warehouse):
        return []
