"""Alternates: parts with matching parameters, orderable by the dealer, with its
price and availability, in a fixed number of queries; the GraphQL fields for a
tenant with the plugin and refused for one without."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.testing.factories import (
    CatalogueFactory,
    DealerFactory,
    DealerUserFactory,
    PriceListItemFactory,
    StockFactory,
    UserFactory,
    WarehouseFactory,
)
from plugins.electronics import selectors
from plugins.electronics.models import PartParameter
from plugins.testing import assert_plugin_disabled

R = "resistors"
BASE = {"package": "0603", "voltage": "50V", "power": "0.1W", "temperature": "-55~125°C"}


@pytest.fixture
def parts(make_part):
    """R0 is the part asked about (10 kΩ ±1 %); the others match or fail one rule each."""
    specs = {
        "R0": {"resistance": "10k", "tolerance": "1%"},
        "OK-EXACT": {"resistance": "10k", "tolerance": "0.5%", "voltage": "75V"},
        "OK-NEAR": {"resistance": "10.05k", "tolerance": "1%"},
        "OK-WIDE-TEMP": {"resistance": "9.95k", "tolerance": "1%", "temperature": "-55~155°C"},
        "X-FAR": {"resistance": "10.2k", "tolerance": "1%"},
        "X-LOOSE": {"resistance": "10k", "tolerance": "5%"},
        "X-PACKAGE": {"resistance": "10k", "tolerance": "1%", "package": "0402"},
        "X-VOLTAGE": {"resistance": "10k", "tolerance": "1%", "voltage": "25V"},
        "X-POWER": {"resistance": "10k", "tolerance": "1%", "power": "1/16W"},
        "X-TEMP": {"resistance": "10k", "tolerance": "1%", "temperature": "-40~85°C"},
        "X-NO-VOLTAGE": {"resistance": "10k", "tolerance": "1%", "voltage": None},
    }
    skus = {}
    for code, values in specs.items():
        merged = {**BASE, **values}
        skus[code] = make_part(code, R, {k: v for k, v in merged.items() if v is not None})
    skus["X-CAP"] = make_part("X-CAP", "capacitors", {"capacitance": "10nF", "package": "0603"})
    return skus


def test_matching_rules(parts):
    found = selectors.alternates(parts["R0"])
    assert [a.sku.code for a in found] == ["OK-EXACT", "OK-NEAR", "OK-WIDE-TEMP"]
    assert found[1].distance == Decimal("50")


@pytest.fixture
def dealer_setup(parts):
    warehouse = WarehouseFactory(code="EAST", region="east")
    dealer = DealerFactory(region="east")
    item = PriceListItemFactory(sku=parts["OK-NEAR"], unit_price="0.0200")
    PriceListItemFactory(price_list=item.price_list, sku=parts["OK-EXACT"], unit_price="0.0300")
    PriceListItemFactory(price_list=item.price_list, sku=parts["R0"], unit_price="0.0250")
    StockFactory(sku=parts["OK-EXACT"], warehouse=warehouse, on_hand=7000, reserved=1000)
    StockFactory(sku=parts["OK-NEAR"], warehouse=warehouse, on_hand=0)
    return dealer


def test_for_a_dealer_only_priced_parts_with_price_and_availability(parts, dealer_setup):
    found = selectors.alternates(parts["R0"], dealer=dealer_setup)
    # OK-WIDE-TEMP has no price for this dealer: not orderable, left out.
    assert [(a.sku.code, a.price.unit_price, a.available) for a in found] == [
        ("OK-EXACT", Decimal("0.0300"), 6000),
        ("OK-NEAR", Decimal("0.0200"), 0),
    ]
    assert [
        a.sku.code
        for a in selectors.alternates(parts["R0"], dealer=dealer_setup, in_stock_only=True)
    ] == ["OK-EXACT"]


def test_only_the_dealers_authorised_catalogue(parts, dealer_setup):
    CatalogueFactory(grants={"products": [parts["OK-NEAR"].product], "dealers": [dealer_setup]})
    found = selectors.alternates(parts["R0"], dealer=dealer_setup)
    assert [a.sku.code for a in found] == ["OK-NEAR"]


def test_queries_do_not_grow_with_candidates(make_part, passives, dealer_setup, parts):
    def count() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as ctx:
            found = selectors.alternates(parts["R0"], dealer=dealer_setup)
        return len(ctx.captured_queries), len(found)

    few, n_few = count()
    from core.pricing.models import PriceListItem

    price_list = PriceListItem.objects.filter(sku__code="OK-NEAR").first().price_list
    for i in range(10):
        sku = make_part(f"MORE-{i}", R, {**BASE, "resistance": "10k", "tolerance": "1%"})
        PriceListItemFactory(price_list=price_list, sku=sku, unit_price="0.0100")
    many, n_many = count()
    assert n_many == n_few + 10
    assert many == few


ALTERNATES = """query($sku: String!, $first: Int) {
  electronicsAlternates(skuCode: $sku, first: $first) {
    part { skuCode parameters { code display value unit } reelRule { reelQuantity mode } }
    alternates { part { skuCode parameters { code display } }
                 price { unitPrice currency } available }
    errors { code field }
  } }"""


def test_graphql_alternates_for_a_dealer_user(plugin_client, parts, dealer_setup):
    from plugins.electronics import services

    services.set_reel_rule(sku=parts["OK-EXACT"], reel_quantity=5000, mode="reel_only")
    buyer = DealerUserFactory(dealer=dealer_setup)
    status, body = plugin_client.graphql(ALTERNATES, {"sku": "R0"}, user=buyer)
    assert status == 200 and "errors" not in body, body
    data = body["data"]["electronicsAlternates"]
    assert data["errors"] == []
    own = {p["code"]: p for p in data["part"]["parameters"]}
    assert own["resistance"] == {
        "code": "resistance",
        "display": "10kΩ",
        "value": 10000.0,
        "unit": "Ω",
    }
    assert [a["part"]["skuCode"] for a in data["alternates"]] == ["OK-EXACT", "OK-NEAR"]
    first = data["alternates"][0]
    assert first["price"] == {"unitPrice": "0.0300", "currency": "CNY"}
    assert first["available"] == 6000
    status, body = plugin_client.graphql(ALTERNATES, {"sku": "NOPE"}, user=buyer)
    assert body["data"]["electronicsAlternates"]["errors"] == [
        {"code": "NOT_FOUND", "field": "skuCode"}
    ]


SET = """mutation($sku: String!, $parameters: [ElectronicsParameterInput!]!) {
  electronicsSetPartParameters(skuCode: $sku, parameters: $parameters) {
    part { parameters { code display raw } } errors { code field message } } }"""
REEL = """mutation($sku: String!) {
  electronicsSetReelRule(skuCode: $sku, mode: CUT_TAPE_FROM, reelQuantity: 5000,
                         cutTapeFrom: 0) { reelRule { mode } errors { code field } } }"""
SEARCH = """query($filters: [ElectronicsFilterInput!]!) {
  electronicsSearch(filters: $filters) {
    total hits { name skuCodes parameters { code display } }
    facets { key kind values { value count } min max buckets { lower upper count } }
    errors { code field } } }"""


def test_graphql_staff_mutations(plugin_client, plugin_staff_user, parts):
    status, body = plugin_client.graphql(
        SET,
        {
            "sku": "R0",
            "parameters": [
                {"code": "resistance", "value": "4K7"},
                {"code": "voltage", "value": "100 V"},
            ],
        },
        user=plugin_staff_user,
    )
    payload = body["data"]["electronicsSetPartParameters"]
    assert payload["errors"] == []
    shown = {p["code"]: p["display"] for p in payload["part"]["parameters"]}
    assert shown["resistance"] == "4.7kΩ" and shown["voltage"] == "100V"
    status, body = plugin_client.graphql(
        SET,
        {
            "sku": "R0",
            "parameters": [
                {"code": "resistance", "value": "4.7 qΩ"},
                {"code": "voltage", "value": "1nF"},
            ],
        },
        user=plugin_staff_user,
    )
    payload = body["data"]["electronicsSetPartParameters"]
    assert payload["part"] is None
    assert sorted((e["field"], e["code"]) for e in payload["errors"]) == [
        ("resistance", "UNKNOWN_UNIT"),
        ("voltage", "WRONG_QUANTITY"),
    ]
    # A parameter given twice is refused, not silently set to the last value.
    status, body = plugin_client.graphql(
        SET,
        {
            "sku": "R0",
            "parameters": [
                {"code": "voltage", "value": "50 V"},
                {"code": "voltage", "value": "200 V"},
            ],
        },
        user=plugin_staff_user,
    )
    payload = body["data"]["electronicsSetPartParameters"]
    assert payload["part"] is None
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [
        ("parameters.1.code", "DUPLICATE")
    ]
    assert PartParameter.objects.get(product__skus__code="R0", code="voltage").raw == "100 V"
    status, body = plugin_client.graphql(REEL, {"sku": "R0"}, user=plugin_staff_user)
    assert body["data"]["electronicsSetReelRule"]["errors"] == [
        {"code": "REQUIRED", "field": "cutTapeFrom"}
    ]
    buyer = DealerUserFactory()
    status, body = plugin_client.graphql(SET, {"sku": "R0", "parameters": []}, user=buyer)
    assert body["data"]["electronicsSetPartParameters"] is None
    assert body["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"


def test_graphql_parametric_search(plugin_client, parts):
    from core.catalog.models import Product
    from search.indexing import index_now

    index_now(Product.objects.values_list("id", flat=True))
    buyer = DealerUserFactory()
    status, body = plugin_client.graphql(
        SEARCH,
        {
            "filters": [
                {"parameter": "resistance", "min": "9.9k", "max": "10.1k"},
                {"parameter": "package", "values": ["0603", "0402"]},
                {"parameter": "tolerance", "max": "1%"},
            ]
        },
        user=buyer,
    )
    assert status == 200 and "errors" not in body, body
    result = body["data"]["electronicsSearch"]
    assert result["errors"] == []
    assert sorted(h["skuCodes"][0] for h in result["hits"]) == [
        "OK-EXACT",
        "OK-NEAR",
        "OK-WIDE-TEMP",
        "R0",
        "X-NO-VOLTAGE",
        "X-PACKAGE",
        "X-POWER",
        "X-TEMP",
        "X-VOLTAGE",
    ]
    packages = next(f for f in result["facets"] if f["key"] == "electronics_package")
    assert packages["values"] == [{"value": "0603", "count": 8}, {"value": "0402", "count": 1}]
    resistance = next(f for f in result["facets"] if f["key"] == "electronics_resistance")
    assert (resistance["kind"], resistance["min"], resistance["max"]) == ("number", 9950, 10050)
    assert sum(b["count"] for b in resistance["buckets"]) == 9
    status, body = plugin_client.graphql(
        SEARCH, {"filters": [{"parameter": "resistance", "min": "10 volts"}]}, user=buyer
    )
    assert body["data"]["electronicsSearch"]["errors"] == [
        {"code": "WRONG_QUANTITY", "field": "resistance"}
    ]


def test_graphql_refused_for_a_disabled_tenant(plugin_disabled_client, plugin_disabled_tenant):
    connection.set_tenant(plugin_disabled_tenant)
    staff = UserFactory(role="tenant_admin")
    _, body = plugin_disabled_client.graphql(ALTERNATES, {"sku": "R0"}, user=staff)
    assert_plugin_disabled(body, "electronicsAlternates")
    _, body = plugin_disabled_client.graphql(SEARCH, {"filters": []}, user=staff)
    assert_plugin_disabled(body, "electronicsSearch")
    _, body = plugin_disabled_client.graphql(SET, {"sku": "R0", "parameters": []}, user=staff)
    assert_plugin_disabled(body, "electronicsSetPartParameters")
    _, body = plugin_disabled_client.graphql("{ electronicsParameters { code } }", user=staff)
    assert_plugin_disabled(body, "electronicsParameters")
