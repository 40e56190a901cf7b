"""Pricing over GraphQL: a dealer sees only its own prices, credit and quotes;
staff manage lists, prices, promotions and the ledger; tenants stay apart."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from graphql_relay import to_global_id

from core.accounts.models import Role
from core.pricing.models import PriceListItem
from core.pricing.services import charge_order
from core.testing.factories import DealerFactory, SkuFactory, StockFactory, UserFactory
from core.testing.pytest_plugin import gql, token_for

from .conftest import add_list

PRICES = """query($codes: [String!]!, $dealer: ID) { dealerPrices(skuCodes: $codes, dealerId: $dealer) {
  skuCode unitPrice currency breaks { minQuantity unitPrice } promotions { code } source { priceListCode kind } } }"""
CREDIT = (
    "query($dealer: ID) { dealerCredit(dealerId: $dealer) { limit balance available currency } }"
)


@pytest.fixture
def env(world):
    w = world
    add_list("BASE", prices=[(w.sku, "each", 1, "100")])
    add_list(
        "A-ONLY",
        kind="dealer",
        dealers=[w.dealer],
        prices=[(w.sku, "each", 1, "77"), (w.sku, "each", 10, "70")],
    )
    add_list("B-ONLY", kind="dealer", dealers=[w.sibling], prices=[(w.sku, "each", 1, "55")])
    w.buyer_a = UserFactory(role=Role.DEALER_BUYER, dealer=w.dealer)
    w.buyer_b = UserFactory(role=Role.DEALER_BUYER, dealer=w.sibling)
    w.parent_admin = UserFactory(role=Role.DEALER_ADMIN, dealer=w.parent)
    w.staff = UserFactory(role=Role.STAFF)
    return w


def gid(obj):
    return to_global_id("Dealer", obj.pk)


def test_each_dealer_sees_only_its_own_price(env, tenant_client):
    for user, price, list_code in ((env.buyer_a, "77", "A-ONLY"), (env.buyer_b, "55", "B-ONLY")):
        status, body = gql(tenant_client, PRICES, {"codes": ["DRILL-1"]}, token=token_for(user))
        assert status == 200 and "errors" not in body, body
        (p,) = body["data"]["dealerPrices"]
        assert (Decimal(p["unitPrice"]), p["source"]["priceListCode"]) == (
            Decimal(price),
            list_code,
        )
        assert "55" not in str(body) if user is env.buyer_a else "77" not in str(body)


def test_a_buyer_cannot_ask_for_another_dealers_prices_but_a_parent_admin_can(env, tenant_client):
    _, body = gql(
        tenant_client,
        PRICES,
        {"codes": ["DRILL-1"], "dealer": gid(env.sibling)},
        token=token_for(env.buyer_a),
    )
    assert body["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED" and not (
        body.get("data") or {}
    ).get("dealerPrices")
    assert "55" not in str(body)
    _, body = gql(
        tenant_client,
        PRICES,
        {"codes": ["DRILL-1"], "dealer": gid(env.dealer)},
        token=token_for(env.parent_admin),
    )
    assert body["data"]["dealerPrices"][0]["source"]["priceListCode"] == "A-ONLY"
    _, body = gql(tenant_client, CREDIT, {"dealer": gid(env.parent)}, token=token_for(env.buyer_a))
    assert body["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"


def test_credit_and_rebates_for_my_dealer(env, tenant_client):
    charge_order(dealer=env.dealer, amount=Decimal("1500.00"), currency="CNY", reference="SO-1")
    _, body = gql(tenant_client, CREDIT, {}, token=token_for(env.buyer_a))
    assert body["data"]["dealerCredit"] == {
        "limit": "100000.00",
        "balance": "1500.00",
        "available": "98500.00",
        "currency": "CNY",
    }
    _, body = gql(tenant_client, CREDIT, {}, token=token_for(env.buyer_b))
    assert body["data"]["dealerCredit"]["balance"] == "0"
    _, body = gql(
        tenant_client,
        "{ dealerRebates { balance currency entries { amount } } }",
        token=token_for(env.buyer_a),
    )
    assert body["data"]["dealerRebates"] == {"balance": "0", "currency": "CNY", "entries": []}


def test_another_tenant_never_sees_these_prices(
    env, tenant_client, other_tenant_client, other_tenant, in_tenant, tenant
):
    with in_tenant(other_tenant):
        dealer = DealerFactory(code="SHOP-A")
        SkuFactory(code="DRILL-1")
        buyer = UserFactory(role=Role.DEALER_BUYER, dealer=dealer)
        token = token_for(buyer)
    _, body = gql(other_tenant_client, PRICES, {"codes": ["DRILL-1"]}, token=token)
    assert body["data"]["dealerPrices"] == []
    status, _body = gql(
        other_tenant_client, PRICES, {"codes": ["DRILL-1"]}, token=token_for(env.buyer_a)
    )
    assert status == 401


QUOTE_REQUEST = """mutation($lines: [QuoteLineInput!]!) { quoteRequest(lines: $lines, note: "please") {
  quote { id number status lines { id skuCode quantity listUnitPrice } } errors { field code } } }"""
QUOTE_ANSWER = """mutation($id: ID!, $prices: [QuotePriceInput!]!, $exp: DateTime!) {
  quoteAnswer(id: $id, prices: $prices, expiresAt: $exp) { quote { status total } errors { field code } } }"""
QUOTE_ACCEPT = "mutation($id: ID!) { quoteAccept(id: $id) { orderNumber quote { status } errors { field code } } }"


def test_quote_round_trip(env, tenant_client):
    StockFactory(sku=env.sku, on_hand=100)
    _, body = gql(
        tenant_client,
        QUOTE_REQUEST,
        {"lines": [{"skuCode": "DRILL-1", "quantity": 12}]},
        token=token_for(env.buyer_a),
    )
    quote = body["data"]["quoteRequest"]["quote"]
    assert quote["status"] == "REQUESTED" and quote["lines"][0]["listUnitPrice"] == "70.0000"
    exp = (timezone.now() + timedelta(days=3)).isoformat()
    prices = [{"lineId": quote["lines"][0]["id"], "unitPrice": "65"}]
    _, body = gql(
        tenant_client,
        QUOTE_ANSWER,
        {"id": quote["id"], "prices": prices, "exp": exp},
        token=token_for(env.buyer_a),
    )
    assert body["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
    _, body = gql(
        tenant_client,
        QUOTE_ANSWER,
        {"id": quote["id"], "prices": prices, "exp": exp},
        token=token_for(env.staff),
    )
    assert body["data"]["quoteAnswer"]["quote"] == {"status": "ANSWERED", "total": "780.00"}
    _, body = gql(tenant_client, "{ quotes { totalCount } }", token=token_for(env.buyer_b))
    assert body["data"]["quotes"]["totalCount"] == 0
    _, body = gql(tenant_client, QUOTE_ACCEPT, {"id": quote["id"]}, token=token_for(env.buyer_b))
    assert body["data"]["quoteAccept"]["errors"][0]["code"] == "NOT_FOUND"
    _, body = gql(tenant_client, QUOTE_ACCEPT, {"id": quote["id"]}, token=token_for(env.buyer_a))
    assert (
        body["data"]["quoteAccept"]["quote"]["status"] == "ACCEPTED"
        and body["data"]["quoteAccept"]["orderNumber"]
    )
    _, body = gql(tenant_client, "{ quotes { totalCount } }", token=token_for(env.parent_admin))
    assert body["data"]["quotes"]["totalCount"] == 1


UPSERT = """mutation($list: String!, $prices: [PriceRowInput!]!) { pricesBulkUpsert(priceListCode: $list, prices: $prices) {
  created replaced errors { field code } } }"""


def test_bulk_upsert_prices_all_or_nothing(env, tenant_client):
    token = token_for(env.staff)
    bad = [
        {"skuCode": "DRILL-1", "minQuantity": 5, "unitPrice": "90"},
        {"skuCode": "DRILL-1", "minQuantity": 5, "unitPrice": "80"},
        {"skuCode": "BIT-1", "unitPrice": "-1"},
        {"skuCode": "GLOVE-1", "unitPrice": "3", "currency": "USD"},
        {"skuCode": "NOPE", "unitPrice": "3"},
    ]
    _, body = gql(tenant_client, UPSERT, {"list": "BASE", "prices": bad}, token=token)
    assert body["data"]["pricesBulkUpsert"]["errors"] == [
        {"field": "prices.1.minQuantity", "code": "OVERLAPPING_BREAKS"},
        {"field": "prices.2.unitPrice", "code": "NEGATIVE_PRICE"},
        {"field": "prices.3.currency", "code": "CURRENCY_MISMATCH"},
        {"field": "prices.4.skuCode", "code": "UNKNOWN_SKU"},
    ]
    assert PriceListItem.objects.filter(price_list__code="BASE").count() == 1
    good = [
        {"skuCode": "DRILL-1", "unitPrice": "99"},
        {"skuCode": "DRILL-1", "minQuantity": 5, "unitPrice": "90"},
        {"skuCode": "DRILL-1", "unitCode": "case", "unitPrice": "1000", "currency": "CNY"},
    ]
    _, body = gql(tenant_client, UPSERT, {"list": "BASE", "prices": good}, token=token)
    assert body["data"]["pricesBulkUpsert"] == {"created": 3, "replaced": 1, "errors": []}
    _, body = gql(
        tenant_client, UPSERT, {"list": "BASE", "prices": good}, token=token_for(env.buyer_a)
    )
    assert body["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"


PROMO = """mutation($input: PromotionInput!) { promotionCreate(input: $input) { promotion { code rule } errors { field code } } }"""


def test_staff_create_promotions_and_dealers_see_them(env, tenant_client):
    token = token_for(env.staff)
    _, body = gql(
        tenant_client,
        PROMO,
        {"input": {"code": "X", "name": "X", "kind": "percent_off", "rule": '{"percent": "10"}'}},
        token=token,
    )
    assert body["data"]["promotionCreate"]["errors"] == [{"field": "targets", "code": "NO_TARGET"}]
    _, body = gql(
        tenant_client,
        PROMO,
        {
            "input": {
                "code": "X",
                "name": "X",
                "kind": "percent_off",
                "rule": '{"percent": "10"}',
                "skuCodes": ["DRILL-1"],
                "dealerCodes": ["SHOP-A"],
            }
        },
        token=token,
    )
    assert body["data"]["promotionCreate"]["errors"] == []
    _, body = gql(tenant_client, PRICES, {"codes": ["DRILL-1"]}, token=token_for(env.buyer_a))
    assert body["data"]["dealerPrices"][0]["promotions"] == [{"code": "X"}]
    _, body = gql(tenant_client, PRICES, {"codes": ["DRILL-1"]}, token=token_for(env.buyer_b))
    assert body["data"]["dealerPrices"][0]["promotions"] == []


def test_staff_record_payments_and_credit_notes(env, tenant_client):
    q = """mutation($d: ID!, $a: Decimal!, $r: String!) { paymentRecord(dealerId: $d, amount: $a, currency: "CNY", reference: $r) {
      credit { balance available } errors { field code } } }"""
    _, body = gql(
        tenant_client,
        q,
        {"d": gid(env.dealer), "a": "100.00", "r": "BANK-1"},
        token=token_for(env.staff),
    )
    assert body["data"]["paymentRecord"] == {
        "credit": {"balance": "-100.00", "available": "100100.00"},
        "errors": [],
    }
    _, body = gql(
        tenant_client,
        q,
        {"d": gid(env.dealer), "a": "100.00", "r": "BANK-1"},
        token=token_for(env.staff),
    )
    assert body["data"]["paymentRecord"]["errors"] == [
        {"field": "reference", "code": "DUPLICATE_REFERENCE"}
    ]
    _, body = gql(
        tenant_client,
        q,
        {"d": gid(env.dealer), "a": "100.00", "r": "BANK-2"},
        token=token_for(env.buyer_a),
    )
    assert body["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"


def test_text_longer_than_its_column_is_a_field_error(env, tenant_client):
    """An 81-character payment reference, a 256-character note or a 41-character list
    code: a typed error on the field, not an internal error from the database."""
    q = """mutation($d: ID!, $r: String!, $n: String) { paymentRecord(dealerId: $d, amount: "1.00",
      currency: "CNY", reference: $r, note: $n) { credit { balance } errors { field code message } } }"""
    token = token_for(env.staff)
    _, body = gql(
        tenant_client, q, {"d": gid(env.dealer), "r": "R" * 81, "n": "n" * 256}, token=token
    )
    errors = body["data"]["paymentRecord"]["errors"]
    assert [(e["field"], e["code"]) for e in errors] == [
        ("reference", "TOO_LONG"),
        ("note", "TOO_LONG"),
    ]
    assert "80" in errors[0]["message"] and "255" in errors[1]["message"]
    q = """mutation($c: String!) { priceListCreate(input: {code: $c, name: "N", kind: BASE, currency: "CNY"}) {
      priceList { code } errors { field code } } }"""
    _, body = gql(tenant_client, q, {"c": "C" * 41}, token=token)
    assert body["data"]["priceListCreate"] == {
        "priceList": None,
        "errors": [{"field": "code", "code": "TOO_LONG"}],
    }
    _, body = gql(tenant_client, CREDIT, {"dealer": gid(env.dealer)}, token=token)
    assert body["data"]["dealerCredit"]["balance"] == "0"


@pytest.mark.parametrize(
    ("kind", "rule", "field"),
    [
        ("percent_off", [10], "rule"),
        ("bundle_price", {"components": 5, "price": "10"}, "rule.components"),
        ("bundle_price", {"components": [1], "price": "10"}, "rule.components.0"),
        ("bundle_price", {"components": ["sku_code"], "price": "10"}, "rule.components.0"),
    ],
)
def test_a_promotion_rule_of_the_wrong_shape_is_invalid_rule(env, tenant_client, kind, rule, field):
    """A list for the rule, or components that are not objects: INVALID_RULE, not an internal error."""
    import json

    q = """mutation($i: PromotionInput!) { promotionCreate(input: $i) { promotion { code }
      errors { field code } } }"""
    data = {
        "code": "BAD",
        "name": "Bad",
        "kind": kind,
        "rule": json.dumps(rule),
        "currency": "CNY",
        "skuCodes": ["DRILL-1"],
    }
    _, body = gql(tenant_client, q, {"i": data}, token=token_for(env.staff))
    assert "errors" not in body, body
    assert body["data"]["promotionCreate"] == {
        "promotion": None,
        "errors": [{"field": field, "code": "INVALID_RULE"}],
    }


def test_promotion_and_rebate_codes_longer_than_their_columns_are_field_errors(env, tenant_client):
    import json

    token = token_for(env.staff)
    q = """mutation($i: PromotionInput!) { promotionCreate(input: $i) { promotion { code }
      errors { field code } } }"""
    data = {
        "code": "C" * 200,
        "name": "N",
        "kind": "percent_off",
        "rule": json.dumps({"percent": "5"}),
        "skuCodes": ["DRILL-1"],
    }
    _, body = gql(tenant_client, q, {"i": data}, token=token)
    assert body["data"]["promotionCreate"] == {
        "promotion": None,
        "errors": [{"field": "code", "code": "TOO_LONG"}],
    }
    q = """mutation($n: String!) { rebateProgrammeCreate(code: "R1", name: $n, currency: "CNY", period: "month",
      startsOn: "2026-01-01", tiers: [{threshold: "1", percent: "1"}]) { errors { field code } } }"""
    _, body = gql(tenant_client, q, {"n": "n" * 300}, token=token)
    assert body["data"]["rebateProgrammeCreate"]["errors"] == [
        {"field": "name", "code": "TOO_LONG"}
    ]
