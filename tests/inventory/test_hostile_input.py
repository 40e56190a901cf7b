"""Hostile input to the stock mutations over GraphQL: a typed error on the argument it is
about, nothing changed."""

import pytest

from core.inventory.models import Stock, StockMovement, Transfer
from core.testing.factories import SkuFactory, StockFactory, UserFactory, WarehouseFactory
from core.testing.pytest_plugin import gql, token_for

TRANSFER = """mutation($sku: String!, $from: String!, $to: String!, $qty: Int!) {
  stockTransfer(skuCode: $sku, fromWarehouse: $from, toWarehouse: $to, quantity: $qty) {
    ok errors { field code } } }"""
RECEIVE = """mutation($sku: String!, $wh: String!, $qty: Int!, $ref: String) {
  stockReceive(skuCode: $sku, warehouseCode: $wh, quantity: $qty, reference: $ref) {
    stock { onHand } errors { field code } } }"""
COUNT = """mutation($sku: String!, $wh: String!, $counted: Int!) {
  stockCount(skuCode: $sku, warehouseCode: $wh, counted: $counted) {
    stock { onHand } errors { field code } } }"""
LEVELS = """query($first: Int, $wh: String, $sku: String) {
  stockLevels(first: $first, warehouseCode: $wh, skuCode: $sku) { onHand } }"""


@pytest.fixture
def setup(tenant_db):
    sku = SkuFactory(code="S1")
    east, west = WarehouseFactory(code="EAST"), WarehouseFactory(code="WEST")
    StockFactory(sku=sku, warehouse=east, on_hand=10)
    StockFactory(sku=sku, warehouse=west, on_hand=2**31 - 5)
    return token_for(UserFactory(role="tenant_admin"))


def _errors(body, field):
    assert "errors" not in body, body
    return [(e["field"], e["code"]) for e in body["data"][field]["errors"]]


def _snapshot():
    return sorted(Stock.objects.values_list("warehouse__code", "on_hand", "reserved"))


def test_transfers_name_the_warehouse_argument_at_fault(setup, tenant_client):
    before = _snapshot()
    for variables, expected in [
        ({"from": "NOPE", "to": "WEST", "qty": 1}, ("fromWarehouse", "NOT_FOUND")),
        ({"from": "EAST", "to": "NOPE", "qty": 1}, ("toWarehouse", "NOT_FOUND")),
        ({"from": "EAST", "to": "", "qty": 1}, ("toWarehouse", "NOT_FOUND")),
        ({"from": "EAST", "to": "WEST", "qty": 0}, ("quantity", "INVALID_QUANTITY")),
        ({"from": "EAST", "to": "WEST", "qty": -(2**31)}, ("quantity", "INVALID_QUANTITY")),
        ({"from": "EAST", "to": "EAST", "qty": 1}, ("toWarehouse", "INVALID")),
        ({"from": "EAST", "to": "WEST", "qty": 11}, ("quantity", "INSUFFICIENT_STOCK")),
        (
            {"from": "EAST", "to": "WEST", "qty": 10},
            ("quantity", "INVALID_QUANTITY"),
        ),  # past 2^31-1
    ]:
        _, body = gql(tenant_client, TRANSFER, {"sku": "S1", **variables}, token=setup)
        assert _errors(body, "stockTransfer") == [expected], variables
    assert _snapshot() == before
    assert not Transfer.objects.exists() and not StockMovement.objects.exists()


def test_receipts_and_counts_out_of_range(setup, tenant_client):
    before = _snapshot()
    for query, variables, field, expected in [
        (RECEIVE, {"wh": "WEST", "qty": 5}, "stockReceive", ("quantity", "INVALID_QUANTITY")),
        (RECEIVE, {"wh": "EAST", "qty": -1}, "stockReceive", ("quantity", "INVALID_QUANTITY")),
        (
            RECEIVE,
            {"wh": "EAST", "qty": 1, "ref": "r" * 65},
            "stockReceive",
            ("reference", "TOO_LONG"),
        ),
        (RECEIVE, {"wh": " EAST", "qty": 1}, "stockReceive", ("warehouseCode", "NOT_FOUND")),
        (COUNT, {"wh": "EAST", "counted": -1}, "stockCount", ("counted", "INVALID_QUANTITY")),
    ]:
        _, body = gql(tenant_client, query, {"sku": "S1", **variables}, token=setup)
        assert _errors(body, field) == [expected], variables
    for variables in ({"qty": 2**31}, {"qty": 1.5}, {"qty": "1"}):
        _, body = gql(tenant_client, RECEIVE, {"sku": "S1", "wh": "EAST", **variables}, token=setup)
        assert body["errors"] and not (body.get("data") or {}).get("stockReceive")
    assert _snapshot() == before
    assert not StockMovement.objects.exists()


@pytest.mark.parametrize("first", [-1, 0, 2**31 - 1])
def test_stock_levels_page_sizes(setup, tenant_client, first):
    status, body = gql(tenant_client, LEVELS, {"first": first}, token=setup)
    assert status == 200 and "errors" not in body, body
    assert 1 <= len(body["data"]["stockLevels"]) <= 2
