"""Parts found by a look-up are ordinary SKUs: ordered through the core's order service
from every channel for a tenant with the plugin; the plugin adds no order hook."""

import io

from openpyxl import Workbook

from core.orders import channels, services
from core.orders.lines import LineInput
from core.orders.models import Order
from core.testing.pytest_plugin import gql, token_for
from plugins.autoparts import selectors
from plugins.manager import get_manager

from .conftest import LAVIDA_VIN

PLACE = """mutation($lines: [OrderLineInput!]!, $key: String!) {
  placeOrder(lines: $lines, idempotencyKey: $key) {
    order { status lines { skuCode quantity } } errors { code field } } }"""


def _sheet(rows) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["sku", "quantity"])
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_order_from_look_up_results_through_every_channel(garage, plugin_client, plugin_hooks):
    by_vin = selectors.lookup_by_vin(garage.dealer, LAVIDA_VIN)
    by_number = selectors.lookup_by_number(garage.dealer, "P83140")
    oil, pads = by_vin.parts[0].sku.code, by_number.parts[0].sku.code
    assert (oil, pads) == ("OIL-1", "PAD-F")

    # GraphQL placeOrder, as a front end does with the codes a look-up returned.
    _, body = plugin_client.graphql(
        PLACE,
        {"lines": [{"sku": oil, "quantity": 4}, {"sku": pads, "quantity": 1}], "key": "ap-gql"},
        user=garage.buyer,
    )
    placed = body["data"]["placeOrder"]
    assert placed["errors"] == [], placed
    assert placed["order"]["lines"] == [
        {"skuCode": "OIL-1", "quantity": 4},
        {"skuCode": "PAD-F", "quantity": 1},
    ]
    # Quick order and sheet upload go through the same service.
    quick = channels.place_quick_order(
        dealer=garage.dealer,
        user=garage.buyer,
        text=f"{oil} 2\n{pads} 1",
        idempotency_key="ap-quick",
    )
    sheet = channels.place_sheet_order(
        dealer=garage.dealer,
        user=garage.buyer,
        filename="parts.xlsx",
        content=_sheet([(oil, 3)]),
        idempotency_key="ap-sheet",
    )
    direct = services.place_order(
        dealer=garage.dealer,
        user=garage.buyer,
        lines=[LineInput(pads, 2)],
        channel="api",
        idempotency_key="ap-api",
    )
    channels_used = set(Order.objects.values_list("channel", flat=True))
    assert channels_used >= {"quick_order", "import", "api"}
    assert quick.order.lines.count() == 2 and sheet.order.lines.get().quantity == 3
    assert direct.order.total > 0
    # Stock was reserved from the look-up's availability: 200 − (4 + 2 + 3).
    again = selectors.lookup_by_vin(garage.dealer, LAVIDA_VIN)
    assert again.parts[0].available == 191
    # The plugin changes nothing on the order path.
    context_lines = []
    assert plugin_hooks.validate_order_lines(_context(garage), context_lines) == []
    assert "autoparts" in plugin_hooks.enabled


def _context(garage):
    from plugins.types import OrderContext

    return OrderContext(tenant=None, dealer=garage.dealer)


def test_part_outside_the_catalogue_is_refused_by_the_core(garage, tenant_client):
    hidden = garage.products["hidden"].code
    assert hidden not in [
        p.sku.code
        for p in selectors.lookup_by_vehicle(garage.dealer, vehicle_id=garage.camry.pk).parts
    ]
    _, body = gql(
        tenant_client,
        PLACE,
        {"lines": [{"sku": hidden, "quantity": 1}], "key": "ap-hidden"},
        token=token_for(garage.buyer),
    )
    assert body["data"]["placeOrder"]["errors"][0]["code"] == "NOT_IN_CATALOGUE"
    assert not Order.objects.exists()


def test_disabled_tenant_runs_no_auto_parts_hook(plugin_disabled_tenant):
    hooks = get_manager().hooks_for(plugin_disabled_tenant)
    assert "autoparts" not in hooks.enabled
