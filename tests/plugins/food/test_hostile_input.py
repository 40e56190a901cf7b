"""Hostile input to the food plugin's GraphQL fields: typed errors on their field, nothing
saved, no internal error."""

import datetime

from django.utils import timezone

from plugins.food.models import CasePolicy, ProductionDate

from .test_graphql import DATE, INFO, SET

DATE_LOT = """mutation($sku: String!, $wh: String!, $date: Date!, $lot: String) {
  foodSetProductionDate(skuCode: $sku, warehouseCode: $wh, productionDate: $date, lot: $lot) {
    productionDate errors { field code }
  }
}"""


def _errors(body, field):
    assert "errors" not in body, body
    return [(e["field"], e["code"]) for e in body["data"][field]["errors"]]


def test_a_shelf_life_past_any_date_is_refused_and_the_product_info_still_answers(
    drinks, plugin_client
):
    from plugins.food.services import set_production_date

    set_production_date(
        sku=drinks.tea,
        warehouse=drinks.east,
        production_date=timezone.localdate() - datetime.timedelta(days=3),
    )
    status, body = plugin_client.graphql(
        SET,
        {"sku": "TEA", "policy": "UNITS_MIN", "min": 6, "days": 2**31 - 1},
        user=drinks.staff,
    )
    assert status == 200
    assert _errors(body, "foodSetSkuPolicy") == [("shelfLifeDays", "INVALID")]
    assert CasePolicy.objects.get(sku=drinks.tea).shelf_life_days == 270
    status, body = plugin_client.graphql(INFO, {"codes": ["TEA"]}, user=drinks.buyer)
    assert status == 200 and "errors" not in body, body


def test_a_lot_longer_than_its_column_is_too_long_not_cut(drinks, plugin_client):
    today = timezone.localdate().isoformat()
    status, body = plugin_client.graphql(
        DATE_LOT,
        {"sku": "TEA", "wh": "EAST", "date": today, "lot": "L" * 41},
        user=drinks.staff,
    )
    assert status == 200
    assert _errors(body, "foodSetProductionDate") == [("lot", "TOO_LONG")]
    assert not ProductionDate.objects.exists()


def test_unknown_codes_empty_strings_and_bad_enums_are_typed(drinks, plugin_client):
    today = timezone.localdate().isoformat()
    for variables, expected in [
        ({"sku": "", "wh": "EAST", "date": today}, [("skuCode", "NOT_FOUND")]),
        ({"sku": "TEA", "wh": "  ", "date": today}, [("warehouseCode", "NOT_FOUND")]),
        ({"sku": "TEA", "wh": "EAST", "date": "9999-12-31"}, [("productionDate", "INVALID")]),
    ]:
        status, body = plugin_client.graphql(DATE, variables, user=drinks.staff)
        assert status == 200
        assert _errors(body, "foodSetProductionDate") == expected, variables
    status, body = plugin_client.graphql(
        SET, {"sku": "TEA", "policy": "units_min"}, user=drinks.staff
    )
    assert body.get("errors") and not (body.get("data") or {}).get("foodSetSkuPolicy")
    status, body = plugin_client.graphql(
        SET, {"sku": "TEA", "policy": "UNITS_MIN", "min": -5}, user=drinks.staff
    )
    assert _errors(body, "foodSetSkuPolicy") == [("minUnits", "INVALID")]
    status, body = plugin_client.graphql(
        SET, {"sku": "TEA", "policy": "CASE_ONLY", "unit": "pallet"}, user=drinks.staff
    )
    assert _errors(body, "foodSetSkuPolicy") == [("caseUnit", "INVALID")]
    assert not ProductionDate.objects.exists()
    assert CasePolicy.objects.get(sku=drinks.tea).min_units == 6


def test_product_info_with_many_or_odd_codes(drinks, plugin_client):
    status, body = plugin_client.graphql(INFO, {"codes": ["X"] * 201}, user=drinks.buyer)
    assert status == 200 and body["data"] is None or body["data"]["foodProductInfo"] is None
    assert body["errors"]
    status, body = plugin_client.graphql(
        INFO, {"codes": ["TEA", "TEA", " ", "", "x" * 5000]}, user=drinks.buyer
    )
    assert status == 200 and "errors" not in body, body
    assert [row["skuCode"] for row in body["data"]["foodProductInfo"]] in (["TEA"], ["TEA", "TEA"])


def test_product_info_for_another_dealer_or_too_many_codes_is_a_typed_error(drinks, plugin_client):
    from graphql_relay import to_global_id

    from core.testing.factories import DealerFactory

    other = DealerFactory(code="OTHER")
    query = """query($codes: [String!]!, $dealer: ID) {
      foodProductInfo(skuCodes: $codes, dealerId: $dealer) { skuCode unitPrice } }"""
    for variables, code in [
        ({"codes": ["TEA"], "dealer": to_global_id("Dealer", other.pk)}, "NOT_FOUND"),
        ({"codes": ["TEA"], "dealer": to_global_id("Dealer", 2**64)}, "NOT_FOUND"),
        ({"codes": ["TEA"], "dealer": "garbage"}, "NOT_FOUND"),
        ({"codes": ["TEA"] * 201}, "INVALID"),
    ]:
        status, body = plugin_client.graphql(query, variables, user=drinks.buyer)
        assert status == 200
        assert (body.get("data") or {}).get("foodProductInfo") is None, body
        assert [e["extensions"]["code"] for e in body["errors"]] == [code], body
