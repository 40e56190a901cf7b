"""Hostile input to the pharma plugin's GraphQL mutations: a typed error on its field,
nothing changed, no internal error."""

from __future__ import annotations

import pytest

from core.inventory.models import Stock, StockMovement
from plugins.pharma.models import Batch, BatchMovement

from .conftest import days
from .test_batches_recall_graphql import RECEIVE

COUNT = """mutation($id: ID!, $counted: Int!, $note: String) {
  pharmaCountBatch(batchId: $id, counted: $counted, note: $note) {
    batch { onHand } errors { field code }
  }
}"""
TRANSFER = """mutation($id: ID!, $to: String!, $qty: Int!) {
  pharmaTransferBatch(batchId: $id, destinationCode: $to, quantity: $qty) {
    batch { onHand } destinationBatch { onHand warehouseCode } errors { field code }
  }
}"""


def _errors(body, field):
    assert "errors" not in body, body
    return [(e["field"], e["code"]) for e in body["data"][field]["errors"]]


def _receive(lot):
    return {
        "sku": "AMOX-250",
        "wh": "EAST",
        "lot": lot,
        "made": days(-10).isoformat(),
        "exp": days(300).isoformat(),
        "qty": 5,
    }


def test_a_lot_of_64_characters_is_received(pharmacy, plugin_client):
    status, body = plugin_client.graphql(RECEIVE, _receive("L" * 64), user=pharmacy.staff)
    assert status == 200
    assert _errors(body, "pharmaReceiveBatch") == []
    assert Batch.objects.get().lot == "L" * 64
    assert Stock.objects.get(sku=pharmacy.sku, warehouse=pharmacy.east).on_hand == 5


def test_a_lot_longer_than_its_column_is_too_long(pharmacy, plugin_client):
    status, body = plugin_client.graphql(RECEIVE, _receive("L" * 65), user=pharmacy.staff)
    assert status == 200
    assert _errors(body, "pharmaReceiveBatch") == [("lot", "TOO_LONG")]
    assert not Batch.objects.exists() and not StockMovement.objects.exists()


def test_a_count_note_longer_than_its_column_is_too_long(pharmacy, plugin_client):
    batch = pharmacy.receive("A", 10, 300)
    status, body = plugin_client.graphql(
        COUNT, {"id": str(batch.pk), "counted": 7, "note": "n" * 256}, user=pharmacy.staff
    )
    assert status == 200
    assert _errors(body, "pharmaCountBatch") == [("note", "TOO_LONG")]
    batch.refresh_from_db()
    assert batch.on_hand == 10
    assert Stock.objects.get(sku=pharmacy.sku, warehouse=pharmacy.east).on_hand == 10
    assert BatchMovement.objects.count() == 1


@pytest.mark.parametrize(
    "batch_id", ["", "  ", "abc", "-1", "0", "1.5", "99999999999999999999", "UGhhcm1hQmF0Y2g6MQ=="]
)
def test_malformed_batch_ids_are_not_found(pharmacy, plugin_client, batch_id):
    pharmacy.receive("A", 10, 300)
    for query, variables, field in [
        (COUNT, {"id": batch_id, "counted": 1}, "pharmaCountBatch"),
        (TRANSFER, {"id": batch_id, "to": "WEST", "qty": 1}, "pharmaTransferBatch"),
    ]:
        status, body = plugin_client.graphql(query, variables, user=pharmacy.staff)
        assert status == 200
        assert _errors(body, field) == [("batchId", "NOT_FOUND")], batch_id
    assert Batch.objects.get().on_hand == 10


def test_counts_and_transfers_out_of_range(pharmacy, plugin_client):
    batch = pharmacy.receive("A", 10, 300)
    for query, variables, field, expected in [
        (
            COUNT,
            {"id": str(batch.pk), "counted": -1},
            "pharmaCountBatch",
            ("counted", "INVALID_QUANTITY"),
        ),
        (
            TRANSFER,
            {"id": str(batch.pk), "to": "WEST", "qty": 0},
            "pharmaTransferBatch",
            ("quantity", "INVALID_QUANTITY"),
        ),
        (
            TRANSFER,
            {"id": str(batch.pk), "to": "WEST", "qty": -3},
            "pharmaTransferBatch",
            ("quantity", "INVALID_QUANTITY"),
        ),
        (
            TRANSFER,
            {"id": str(batch.pk), "to": "WEST", "qty": 11},
            "pharmaTransferBatch",
            ("quantity", "INSUFFICIENT_STOCK"),
        ),
        (
            TRANSFER,
            {"id": str(batch.pk), "to": "EAST", "qty": 1},
            "pharmaTransferBatch",
            ("destination", "INVALID"),
        ),
        (
            TRANSFER,
            {"id": str(batch.pk), "to": "", "qty": 1},
            "pharmaTransferBatch",
            ("destinationCode", "NOT_FOUND"),
        ),
    ]:
        status, body = plugin_client.graphql(query, variables, user=pharmacy.staff)
        assert status == 200
        assert _errors(body, field) == [expected], variables
    status, body = plugin_client.graphql(
        COUNT, {"id": str(batch.pk), "counted": 2**31}, user=pharmacy.staff
    )
    assert body["errors"] and not (body.get("data") or {}).get("pharmaCountBatch")
    assert Batch.objects.get().on_hand == 10
    assert [s.on_hand for s in Stock.objects.order_by("warehouse__code")] == [10]


def test_a_count_past_the_warehouse_limit_is_refused_on_counted(pharmacy, plugin_client):
    batch = pharmacy.receive("A", 10, 300)
    pharmacy.receive("B", 100, 400)
    status, body = plugin_client.graphql(
        COUNT, {"id": str(batch.pk), "counted": 2**31 - 1}, user=pharmacy.staff
    )
    assert status == 200
    assert _errors(body, "pharmaCountBatch") == [("counted", "INVALID_QUANTITY")]
    assert dict(Batch.objects.values_list("lot", "on_hand")) == {"A": 10, "B": 100}
    assert Stock.objects.get(sku=pharmacy.sku, warehouse=pharmacy.east).on_hand == 110


def test_receiving_with_hostile_dates_and_quantities(pharmacy, plugin_client):
    for change, expected in [
        ({"qty": 0}, ("quantity", "INVALID_QUANTITY")),
        ({"qty": -1}, ("quantity", "INVALID_QUANTITY")),
        ({"made": days(1).isoformat()}, ("manufacturedOn", "INVALID")),
        ({"exp": days(-11).isoformat()}, ("expiresOn", "INVALID")),
        ({"lot": " \t "}, ("lot", "REQUIRED")),
        ({"sku": "nope"}, ("skuCode", "NOT_FOUND")),
        ({"wh": " "}, ("warehouseCode", "NOT_FOUND")),
    ]:
        status, body = plugin_client.graphql(
            RECEIVE, {**_receive("A"), **change}, user=pharmacy.staff
        )
        assert status == 200
        assert _errors(body, "pharmaReceiveBatch") == [expected], change
    for change in ({"exp": "10000-01-01"}, {"made": "2024-02-30"}, {"qty": 2**31}):
        status, body = plugin_client.graphql(
            RECEIVE, {**_receive("A"), **change}, user=pharmacy.staff
        )
        assert body["errors"] and not (body.get("data") or {}).get("pharmaReceiveBatch")
    assert not Batch.objects.exists() and not StockMovement.objects.exists()


def test_a_receipt_past_the_warehouse_limit_changes_nothing(pharmacy, plugin_client):
    pharmacy.receive("A", 2**31 - 10, 300)
    status, body = plugin_client.graphql(
        RECEIVE,
        {**_receive("A"), "exp": days(300).isoformat(), "made": days(-400).isoformat(), "qty": 20},
        user=pharmacy.staff,
    )
    assert status == 200
    assert _errors(body, "pharmaReceiveBatch") == [("quantity", "INVALID_QUANTITY")]
    assert Batch.objects.get().on_hand == 2**31 - 10


def test_queries_with_hostile_arguments(pharmacy, plugin_client):
    from .test_batches_recall_graphql import BATCHES, TRACE

    pharmacy.receive("A", 10, 300)
    for variables in ({"lot": ""}, {"lot": "%"}, {"lot": "_" * 5000}, {"lot": " A "}):
        status, body = plugin_client.graphql(TRACE, variables, user=pharmacy.staff)
        assert status == 200 and "errors" not in body, body
    for sku in ("", "%", "x" * 5000):
        status, body = plugin_client.graphql(BATCHES, {"sku": sku}, user=pharmacy.staff)
        assert status == 200 and body["data"]["pharmaBatches"] == [], body
    # A dealer's user cannot read another dealer's licences, nor the staff's trace.
    query = "query($d: String) { pharmaMyLicences(dealerCode: $d) { number } }"
    status, body = plugin_client.graphql(query, {"d": "OTHER"}, user=pharmacy.buyer)
    assert body["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
    assert (body.get("data") or {}).get("pharmaMyLicences") is None
    status, body = plugin_client.graphql(TRACE, {"lot": "A"}, user=pharmacy.buyer)
    assert body["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"


def test_a_recall_export_keeps_formula_like_text_as_text(pharmacy, plugin_client):
    import csv
    import io

    from openpyxl import load_workbook

    from plugins.pharma import selectors

    pharmacy.receive("=1+1", 10, 300)
    content = selectors.export_trace(selectors.recall_trace(lot="=1+1", sku_code=None), "xlsx")
    sheet = load_workbook(io.BytesIO(content)).active
    assert (sheet["B1"].value, sheet["B1"].data_type) == ("=1+1", "s")
    # CSV: text a spreadsheet would run as a formula is written after an apostrophe
    import datetime

    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    row = selectors.TraceRow(
        *(1, "=cmd|' /C calc'!A0", "placed", now, 1, "@D1", "+dealer", "S1", "=1+1", "2027-01-01"),
        *("W1", 5, "shipped", "", "", "-2+3", now, None, False),
    )
    trace = selectors.RecallTrace(lot="=1+1", batches=[], rows=[row])
    text = selectors.export_trace(trace, "csv").decode("utf-8-sig")
    cells = next(csv.reader(io.StringIO(text.splitlines()[1])))
    assert cells[0] == "'=cmd|' /C calc'!A0" and cells[3:7] == ["'@D1", "'+dealer", "S1", "'=1+1"]
    assert cells[7:10] == ["2027-01-01", "W1", "5"] and cells[13] == "'-2+3"
