"""Hostile input to the electronics plugin's GraphQL fields: a typed error on its field,
nothing saved, no internal error."""

from __future__ import annotations

import pytest
from graphql_relay import to_global_id

from plugins.electronics.models import CategoryParameter, PartParameter

DEFINE = """mutation($cat: ID!, $code: String!, $label: String!, $unit: String, $pos: Int) {
  electronicsDefineParameter(categoryId: $cat, code: $code, label: $label,
                             quantity: RESISTANCE, displayUnit: $unit, position: $pos) {
    parameter { code label } errors { code field }
  } }"""
SET = """mutation($sku: String!, $parameters: [ElectronicsParameterInput!]!) {
  electronicsSetPartParameters(skuCode: $sku, parameters: $parameters) {
    part { parameters { code raw text } } errors { code field } } }"""
REEL = """mutation($sku: String!, $reel: Int, $mode: ElectronicsReelMode!, $cut: Int, $min: Int) {
  electronicsSetReelRule(skuCode: $sku, reelQuantity: $reel, mode: $mode, cutTapeFrom: $cut,
                         minimumQuantity: $min) { reelRule { mode } errors { code field } } }"""
PARAMETERS = """query($cat: ID) { electronicsParameters(categoryId: $cat) { code } }"""
ALTERNATES = """query($sku: String!, $first: Int) {
  electronicsAlternates(skuCode: $sku, first: $first) {
    alternates { part { skuCode } } errors { code field } } }"""
SEARCH = """query($filters: [ElectronicsFilterInput!]!, $cats: [ID!], $first: Int, $offset: Int,
                  $text: String) {
  electronicsSearch(filters: $filters, categoryIds: $cats, first: $first, offset: $offset,
                    text: $text) { total errors { code field } } }"""


def _errors(body, field):
    assert "errors" not in body, body
    return [(e["field"], e["code"]) for e in body["data"][field]["errors"]]


@pytest.mark.parametrize("position", [-1, 32768, 2**31 - 1])
def test_a_position_outside_its_column_is_invalid(
    plugin_client, plugin_staff_user, passives, position
):
    cat = str(passives["resistors"].pk)
    status, body = plugin_client.graphql(
        DEFINE,
        {"cat": cat, "code": "ohms", "label": "Ohms", "pos": position},
        user=plugin_staff_user,
    )
    assert status == 200
    assert _errors(body, "electronicsDefineParameter") == [("position", "INVALID")]
    assert not CategoryParameter.objects.filter(code="ohms").exists()


def test_a_label_longer_than_its_column_is_too_long(plugin_client, plugin_staff_user, passives):
    cat = str(passives["resistors"].pk)
    status, body = plugin_client.graphql(
        DEFINE, {"cat": cat, "code": "ohms", "label": "L" * 81}, user=plugin_staff_user
    )
    assert _errors(body, "electronicsDefineParameter") == [("label", "TOO_LONG")]
    assert not CategoryParameter.objects.filter(code="ohms").exists()


@pytest.mark.parametrize(
    "category_id",
    [
        "",
        " ",
        "abc",
        "²",
        "-1",
        "99999999999999999999",
        to_global_id("Category", "x"),
        to_global_id("Category", "99999999999999999999"),
    ],
)
def test_malformed_category_ids_find_nothing(
    plugin_client, plugin_staff_user, passives, category_id
):
    status, body = plugin_client.graphql(
        DEFINE, {"cat": category_id, "code": "ohms", "label": "Ohms"}, user=plugin_staff_user
    )
    assert status == 200
    assert _errors(body, "electronicsDefineParameter") == [("categoryId", "NOT_FOUND")]
    status, body = plugin_client.graphql(PARAMETERS, {"cat": category_id}, user=plugin_staff_user)
    assert status == 200 and "errors" not in body, body
    if category_id:  # an empty id is no category: every parameter
        assert body["data"]["electronicsParameters"] == []
    status, body = plugin_client.graphql(
        SEARCH, {"filters": [], "cats": [category_id]}, user=plugin_staff_user
    )
    assert status == 200 and "errors" not in body, body
    assert not CategoryParameter.objects.filter(code="ohms").exists()


def test_hostile_part_values_are_reported_and_nothing_is_saved(
    plugin_client, plugin_staff_user, make_part
):
    make_part("R1", "resistors", {"resistance": "10k", "package": "0603"})
    before = sorted(PartParameter.objects.values_list("code", "raw"))
    for parameters in [
        [{"code": "package", "value": "P" * 41}],
        [{"code": "resistance", "value": "1" * 81 + "k"}],
        [{"code": "resistance", "value": "1e400"}],
        [{"code": "resistance", "value": "NaN"}],
        [{"code": "resistance", "value": "inf"}],
        [{"code": "resistance", "value": "-1e-400"}],
        [{"code": "nope", "value": "1"}],
    ]:
        status, body = plugin_client.graphql(
            SET, {"sku": "R1", "parameters": parameters}, user=plugin_staff_user
        )
        assert status == 200, parameters
        errors = _errors(body, "electronicsSetPartParameters")
        assert errors and errors[0][0] == parameters[0]["code"], (parameters, errors)
    assert sorted(PartParameter.objects.values_list("code", "raw")) == before


def test_reel_rules_out_of_range(plugin_client, plugin_staff_user, make_part):
    make_part("R1", "resistors", {"resistance": "10k", "package": "0603"})
    for variables, expected in [
        ({"reel": -1, "mode": "ANY"}, ("reelQuantity", "INVALID")),
        ({"reel": 0, "mode": "REEL_ONLY"}, ("reelQuantity", "INVALID")),
        ({"mode": "REEL_ONLY"}, ("reelQuantity", "REQUIRED")),
        ({"reel": 10, "mode": "CUT_TAPE_FROM", "cut": -5}, ("cutTapeFrom", "REQUIRED")),
        ({"reel": 10, "mode": "ANY", "min": 0}, ("minimumQuantity", "INVALID")),
        ({"reel": 10, "mode": "ANY", "min": -(2**31)}, ("minimumQuantity", "INVALID")),
    ]:
        status, body = plugin_client.graphql(
            REEL, {"sku": "R1", **variables}, user=plugin_staff_user
        )
        assert _errors(body, "electronicsSetReelRule") == [expected], variables
    status, body = plugin_client.graphql(
        REEL, {"sku": "R1", "mode": "ANY", "min": 2**31 - 1}, user=plugin_staff_user
    )
    assert _errors(body, "electronicsSetReelRule") == []


@pytest.mark.parametrize("first", [-1, 0, 2**31 - 1])
def test_alternates_with_odd_page_sizes(plugin_client, plugin_staff_user, make_part, first):
    make_part("R1", "resistors", {"resistance": "10k", "package": "0603"})
    make_part("R2", "resistors", {"resistance": "10k", "package": "0603"})
    status, body = plugin_client.graphql(
        ALTERNATES, {"sku": "R1", "first": first}, user=plugin_staff_user
    )
    assert status == 200
    if "errors" in body:
        assert body["errors"][0]["extensions"]["code"] == "INVALID_PAGE", body
    else:
        assert body["data"]["electronicsAlternates"]["errors"] == []


@pytest.mark.parametrize(
    "variables",
    [
        {"first": -1},
        {"first": 2**31 - 1},
        {"offset": -1},
        {"offset": 2**31 - 1},
        {"text": "x" * 5000},
        {"filters": [{"parameter": "resistance", "min": "abc"}]},
        {"filters": [{"parameter": "resistance", "min": "1e400", "max": "-1e400"}]},
        {"filters": [{"parameter": "nope", "values": ["1"]}]},
        {"filters": [{"parameter": "package", "values": ["0603"] * 1000}]},
    ],
)
def test_search_with_hostile_arguments(plugin_client, plugin_staff_user, make_part, variables):
    make_part("R1", "resistors", {"resistance": "10k", "package": "0603"})
    status, body = plugin_client.graphql(
        SEARCH, {"filters": [], **variables}, user=plugin_staff_user
    )
    assert status == 200
    if "errors" in body:
        codes = {e.get("extensions", {}).get("code") for e in body["errors"]}
        assert codes <= {"INVALID_PAGE", "QUERY_TOO_COSTLY", "REQUEST_TOO_LARGE"}, body
    else:
        payload = body["data"]["electronicsSearch"]
        assert payload["total"] >= 0
