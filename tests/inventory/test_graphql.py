"""Stock mutations over GraphQL: typed errors, including codes a plugin's stock hook raises."""

import datetime

import pytest

from core.inventory.models import Stock, StockMovement
from core.inventory.schema import StockError
from core.testing.factories import SkuFactory, UserFactory, WarehouseFactory
from core.testing.pytest_plugin import gql, token_for

RECEIVE = """mutation($sku: String!, $wh: String!, $qty: Int!) {
  stockReceive(skuCode: $sku, warehouseCode: $wh, quantity: $qty) {
    stock { onHand } errors { field code message available } } }"""
COUNT = """mutation($sku: String!, $wh: String!, $counted: Int!) {
  stockCount(skuCode: $sku, warehouseCode: $wh, counted: $counted) {
    stock { onHand } errors { field code message } } }"""


@pytest.fixture
def plugin_name():
    return "pharma"


def test_stock_errors_list_the_codes_plugins_declare_for_stock():
    assert "BATCH_REQUIRED" in StockError.codes  # pharma's stock_error_codes
    # Codes plugins return only from order hooks are not stock errors.
    assert not {"EXPIRED_BATCH", "LICENCE_REQUIRED", "CASE_ONLY"} & StockError.codes
    assert {"INVALID", "INVALID_QUANTITY", "INSUFFICIENT_STOCK", "NOT_FOUND"} <= StockError.codes


def test_a_plugin_refusal_keeps_its_code_and_changes_nothing(plugin_tenant, tenant_client):
    from plugins.pharma.services import receive_batch, today

    staff = UserFactory(role="tenant_admin")
    sku, east = SkuFactory(code="AMOX-250"), WarehouseFactory(code="EAST")
    plain = SkuFactory(code="GAUZE")
    receive_batch(
        sku=sku,
        warehouse=east,
        lot="L-1",
        manufactured_on=today() - datetime.timedelta(days=30),
        expires_on=today() + datetime.timedelta(days=300),
        quantity=10,
    )  # AMOX-250 is batch-tracked from now on
    movements = StockMovement.objects.count()
    token = token_for(staff)

    _, body = gql(tenant_client, RECEIVE, {"sku": "AMOX-250", "wh": "EAST", "qty": 5}, token=token)
    payload = body["data"]["stockReceive"]
    assert payload["stock"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("BATCH_REQUIRED", "lot")]
    _, body = gql(
        tenant_client, COUNT, {"sku": "AMOX-250", "wh": "EAST", "counted": 7}, token=token
    )
    assert [e["code"] for e in body["data"]["stockCount"]["errors"]] == ["BATCH_REQUIRED"]
    assert Stock.objects.get(sku=sku, warehouse=east).on_hand == 10
    assert StockMovement.objects.count() == movements

    # The core's own codes are unchanged, and SKUs without batches are received.
    _, body = gql(tenant_client, RECEIVE, {"sku": "GAUZE", "wh": "EAST", "qty": 0}, token=token)
    assert [e["code"] for e in body["data"]["stockReceive"]["errors"]] == ["INVALID_QUANTITY"]
    _, body = gql(tenant_client, RECEIVE, {"sku": "GAUZE", "wh": "EAST", "qty": 4}, token=token)
    assert body["data"]["stockReceive"] == {"stock": {"onHand": 4}, "errors": []}
    assert Stock.objects.get(sku=plain, warehouse=east).on_hand == 4


def test_a_reference_or_note_longer_than_its_column_is_a_field_error(tenant_db, tenant_client):
    staff = UserFactory(role="tenant_admin")
    sku, east = SkuFactory(code="GAUZE"), WarehouseFactory(code="EAST")
    token = token_for(staff)
    receive = """mutation($ref: String) { stockReceive(skuCode: "GAUZE", warehouseCode: "EAST", quantity: 5,
      reference: $ref) { stock { onHand } errors { field code } } }"""
    _, body = gql(tenant_client, receive, {"ref": "R" * 65}, token=token)
    assert body["data"]["stockReceive"] == {
        "stock": None,
        "errors": [{"field": "reference", "code": "TOO_LONG"}],
    }
    count = """mutation($note: String) { stockCount(skuCode: "GAUZE", warehouseCode: "EAST", counted: 3,
      note: $note) { stock { onHand } errors { field code } } }"""
    _, body = gql(tenant_client, count, {"note": "n" * 256}, token=token)
    assert body["data"]["stockCount"] == {
        "stock": None,
        "errors": [{"field": "note", "code": "TOO_LONG"}],
    }
    assert not Stock.objects.filter(sku=sku, warehouse=east, on_hand__gt=0).exists()
    assert not StockMovement.objects.exists()
