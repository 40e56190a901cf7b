"""Reel and MOQ rules through the order service, from several channels: typed
errors per line, nothing reserved; the disabled tenant is not affected."""

import io

import pytest
from django.db import connection
from openpyxl import Workbook

from core.exceptions import ValidationFailed
from core.inventory.models import Stock
from core.orders import channels
from core.orders.models import Order
from core.testing.factories import (
    DealerFactory,
    DealerUserFactory,
    PriceListItemFactory,
    SkuFactory,
    StockFactory,
    WarehouseFactory,
)
from core.testing.pytest_plugin import gql, token_for
from plugins.electronics import services
from plugins.electronics.models import ReelRule
from plugins.electronics.rules import check_quantity
from plugins.services import set_plugin_settings


def _shop():
    warehouse = WarehouseFactory(code="EAST", region="east")
    reel = SkuFactory(code="R0603-10K")
    cut = SkuFactory(code="C0603-100N")
    plain = SkuFactory(code="PLAIN")
    item = PriceListItemFactory(sku=reel, unit_price="0.01")
    for sku in (cut, plain):
        PriceListItemFactory(price_list=item.price_list, sku=sku, unit_price="0.02")
    for sku in (reel, cut, plain):
        StockFactory(sku=sku, warehouse=warehouse, on_hand=50_000)
    services.set_reel_rule(sku=reel, reel_quantity=5000, mode="reel_only")
    services.set_reel_rule(
        sku=cut,
        reel_quantity=4000,
        mode="cut_tape_from",
        cut_tape_from=10_000,
        minimum_quantity=100,
    )
    buyer = DealerUserFactory(dealer=DealerFactory(region="east"))
    return buyer


@pytest.mark.parametrize(
    ("mode", "reel", "cut_from", "moq", "quantity", "codes"),
    [
        ("reel_only", 5000, None, 1, 10000, []),
        ("reel_only", 5000, None, 1, 5001, ["NOT_MULTIPLE_OF_REEL"]),
        ("reel_only", 5000, None, 10000, 5000, ["BELOW_MINIMUM"]),
        ("cut_tape_from", 4000, 10000, 100, 8000, []),
        ("cut_tape_from", 4000, 10000, 100, 7000, ["NOT_MULTIPLE_OF_REEL"]),
        ("cut_tape_from", 4000, 10000, 100, 10001, []),
        ("cut_tape_from", 4000, 10000, 100, 50, ["BELOW_MINIMUM", "NOT_MULTIPLE_OF_REEL"]),
        ("any", None, None, 100, 99, ["BELOW_MINIMUM"]),
        ("any", 4000, None, 100, 123, []),
    ],
)
def test_rule_table(mode, reel, cut_from, moq, quantity, codes):
    rule = ReelRule(reel_quantity=reel, mode=mode, cut_tape_from=cut_from, minimum_quantity=moq)
    assert [v.code for v in check_quantity(rule, quantity, sku_code="X")] == codes


def test_reel_rule_params_name_the_nearest_reels():
    rule = ReelRule(reel_quantity=5000, mode="reel_only", minimum_quantity=1)
    (violation,) = check_quantity(rule, 7000, sku_code="R1")
    assert violation.params == {"reel_quantity": 5000, "lower": 5000, "upper": 10000}
    assert "R1" in violation.message


def _reserved() -> int:
    return sum(Stock.objects.values_list("reserved", flat=True))


def test_quick_order_refuses_per_line_and_reserves_nothing(plugin_tenant):
    buyer = _shop()
    with pytest.raises(ValidationFailed) as exc:
        channels.place_quick_order(
            dealer=buyer.dealer,
            user=buyer,
            idempotency_key="q1",
            text="PLAIN 3\nR0603-10K 6000\nC0603-100N 50",
        )
    assert [(e.field, e.code) for e in exc.value.errors] == [
        ("lines.1.quantity", "NOT_MULTIPLE_OF_REEL"),
        ("lines.2.quantity", "BELOW_MINIMUM"),
        ("lines.2.quantity", "NOT_MULTIPLE_OF_REEL"),
    ]
    assert exc.value.errors[0].params["reel_quantity"] == 5000
    assert exc.value.errors[1].params["minimum"] == 100
    assert not Order.objects.exists() and _reserved() == 0
    placed = channels.place_quick_order(
        dealer=buyer.dealer,
        user=buyer,
        idempotency_key="q2",
        text="PLAIN 3\nR0603-10K 10000\nC0603-100N 12000",
    )
    assert placed.order.lines.count() == 3 and _reserved() == 22_003


def _xlsx(rows) -> bytes:
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_sheet_upload_refuses_per_line_and_reserves_nothing(plugin_tenant):
    buyer = _shop()
    bad = _xlsx([["sku", "quantity"], ["C0603-100N", 8000], ["R0603-10K", 2500]])
    with pytest.raises(ValidationFailed) as exc:
        channels.place_sheet_order(
            dealer=buyer.dealer, user=buyer, filename="o.xlsx", content=bad, idempotency_key="s1"
        )
    assert [(e.field, e.code) for e in exc.value.errors] == [
        ("lines.1.quantity", "NOT_MULTIPLE_OF_REEL")
    ]
    assert not Order.objects.exists() and _reserved() == 0
    good = _xlsx([["sku", "quantity"], ["C0603-100N", 8000], ["R0603-10K", 5000]])
    order = channels.place_sheet_order(
        dealer=buyer.dealer, user=buyer, filename="o.xlsx", content=good, idempotency_key="s2"
    ).order
    assert order.channel == "import" and _reserved() == 13_000


PLACE = """mutation($lines: [OrderLineInput!]!, $key: String!) {
  placeOrder(lines: $lines, idempotencyKey: $key) {
    order { number } errors { field code message } } }"""


def test_graphql_place_order_gets_typed_codes(plugin_tenant, plugin_client):
    buyer = _shop()
    status, body = plugin_client.graphql(
        PLACE, {"key": "g1", "lines": [{"sku": "R0603-10K", "quantity": 4999}]}, user=buyer
    )
    assert status == 200, body
    payload = body["data"]["placeOrder"]
    assert payload["order"] is None
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [
        ("lines.0.quantity", "NOT_MULTIPLE_OF_REEL")
    ]
    assert "5000" in payload["errors"][0]["message"]
    assert _reserved() == 0
    status, body = plugin_client.graphql(
        PLACE, {"key": "g2", "lines": [{"sku": "R0603-10K", "quantity": 5000}]}, user=buyer
    )
    assert body["data"]["placeOrder"]["errors"] == [] and _reserved() == 5000


def test_setting_turns_enforcement_off(plugin_tenant):
    buyer = _shop()
    set_plugin_settings(
        tenant=plugin_tenant, name="electronics", values={"enforce_reel_rules": False}
    )
    placed = channels.place_quick_order(
        dealer=buyer.dealer, user=buyer, idempotency_key="q", text="R0603-10K 7"
    )
    assert placed.order.lines.get().quantity == 7


def test_disabled_tenant_orders_ignore_the_rules(plugin_disabled_tenant, other_tenant_client):
    connection.set_tenant(plugin_disabled_tenant)
    buyer = _shop()
    placed = channels.place_quick_order(
        dealer=buyer.dealer, user=buyer, idempotency_key="q", text="R0603-10K 7\nC0603-100N 1"
    )
    assert placed.order.lines.count() == 2
    _, body = gql(
        other_tenant_client,
        PLACE,
        {"key": "g", "lines": [{"sku": "R0603-10K", "quantity": 3}]},
        token=token_for(buyer),
    )
    assert body["data"]["placeOrder"]["errors"] == []


def test_sql_per_order_does_not_grow_with_lines(plugin_tenant):
    from django.test.utils import CaptureQueriesContext

    buyer = _shop()
    skus = [SkuFactory(code=f"X{i}") for i in range(8)]
    item = PriceListItemFactory(sku=skus[0], unit_price="1.00")
    warehouse = WarehouseFactory(code="W2", region="east")
    for sku in skus:
        if sku != skus[0]:
            PriceListItemFactory(price_list=item.price_list, sku=sku, unit_price="1.00")
        StockFactory(sku=sku, warehouse=warehouse, on_hand=100)
        services.set_reel_rule(sku=sku, reel_quantity=10, mode="reel_only")

    def count(n: int, key: str) -> int:
        text = "\n".join(f"X{i} 10" for i in range(n))
        with CaptureQueriesContext(connection) as ctx:
            channels.place_quick_order(
                dealer=buyer.dealer, user=buyer, idempotency_key=key, text=text
            )
        return len([q for q in ctx.captured_queries if "electronics_reelrule" in q["sql"]])

    assert count(1, "a") == count(8, "b") == 1
