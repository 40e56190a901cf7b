"""The GraphQL ``search`` field: the dealer's catalogue and prices, typed errors, tenants apart."""

from __future__ import annotations

import pytest
from django.apps import apps

from core.catalog.models import Catalogue, Product
from core.testing.factories import DealerUserFactory, UserFactory
from core.testing.pytest_plugin import gql, token_for
from search.indexing import index_now

from . import catalogue

QUERY = """
query($text: String, $attributes: [AttributeFilterInput!], $sort: SearchSort, $categoryIds: [ID!],
      $first: Int, $facets: [String!]) {
  search(text: $text, attributes: $attributes, sort: $sort, categoryIds: $categoryIds, first: $first,
         facets: $facets) {
    total
    errors { field code message }
    hits { highlight inStock product { name price { unitPrice } } }
    facets { brands { label count } attributes { key values { value count } min max } }
  }
}
"""


@pytest.fixture
def cat(tenant_db):
    data = catalogue.build()
    index_now(Product.objects.values_list("id", flat=True))
    return data


def test_a_dealer_searches_its_authorised_catalogue_with_its_prices(cat, tenant_client):
    buyer = DealerUserFactory()
    limited = Catalogue.objects.create(name="Health only")
    limited.categories.add(cat["health"])
    limited.dealers.add(buyer.dealer)
    if apps.is_installed("core.pricing"):
        cat["dealer_list"].assignments.create(dealer=buyer.dealer)
    status, body = gql(
        tenant_client, QUERY, {"sort": "PRICE_ASC", "first": 10}, token=token_for(buyer)
    )
    assert status == 200 and "errors" not in body, body
    result = body["data"]["search"]
    names = [h["product"]["name"] for h in result["hits"]]
    assert set(names) == {"维生素C泡腾片", "维生素B族片", "钙维生素D软胶囊", "Vitamin C Chewable"}
    assert result["total"] == 4
    if apps.is_installed("core.pricing"):
        # ca costs 9 on the dealer's own list (88 on the base list): cheapest first.
        assert names[0] == "钙维生素D软胶囊"
        assert float(result["hits"][0]["product"]["price"]["unitPrice"]) == 9.0
    # Nothing outside the catalogue, whatever the filters.
    status, body = gql(tenant_client, QUERY, {"text": "电阻"}, token=token_for(buyer))
    assert body["data"]["search"]["total"] == 0 and body["data"]["search"]["hits"] == []


def test_staff_search_with_facets_and_highlight(cat, tenant_client):
    staff = UserFactory()
    variables = {
        "text": "电阻",
        "attributes": [{"key": "resistance", "min": 5000}],
        "facets": ["package", "resistance"],
    }
    status, body = gql(tenant_client, QUERY, variables, token=token_for(staff))
    result = body["data"]["search"]
    assert result["errors"] == [] and result["total"] == 2
    assert {h["highlight"] for h in result["hits"]} == {
        "贴片<em>电阻</em> 10kΩ 0603",
        "贴片<em>电阻</em> 1MΩ 1206",
    }
    facets = {f["key"]: f for f in result["facets"]["attributes"]}
    assert facets["package"]["values"] == [
        {"value": "0603", "count": 1},
        {"value": "1206", "count": 1},
    ]
    assert (facets["resistance"]["min"], facets["resistance"]["max"]) == (10000.0, 1000000.0)
    assert {b["label"] for b in result["facets"]["brands"]} == {"Yageo", "Vishay"}


@pytest.mark.parametrize(
    ("variables", "code", "field"),
    [
        ({"attributes": [{"key": "colour", "values": ["red"]}]}, "UNKNOWN_FILTER", "colour"),
        (
            {"attributes": [{"key": "resistance", "min": 10, "max": 1}]},
            "INVALID_RANGE",
            "resistance",
        ),
        ({"text": "x" * 500}, "QUERY_TOO_LONG", "text"),
        ({"first": 5000}, "INVALID", "first"),
        ({"categoryIds": ["not-an-id"]}, "INVALID", "categoryIds"),
        # A global id whose number is past PostgreSQL's bigint; a plain one; zero.
        ({"categoryIds": ["T3JkZXI6OTk5OTk5OTk5OTk5OTk5OTk5OTk5"]}, "INVALID", "categoryIds"),
        ({"categoryIds": [str(2**64)]}, "INVALID", "categoryIds"),
        ({"categoryIds": ["-1"]}, "INVALID", "categoryIds"),
    ],
)
def test_bad_input_is_a_typed_error(cat, tenant_client, variables, code, field):
    status, body = gql(tenant_client, QUERY, variables, token=token_for(UserFactory()))
    assert status == 200 and "errors" not in body, body
    errors = body["data"]["search"]["errors"]
    assert [(e["code"], e["field"]) for e in errors] == [(code, field)] and errors[0]["message"]
    assert body["data"]["search"]["hits"] == []


def test_reserved_syntax_is_literal(cat, tenant_client):
    status, body = gql(
        tenant_client, QUERY, {"text": '"USB-C" (1m) AND/OR *'}, token=token_for(UserFactory())
    )
    assert [h["product"]["name"] for h in body["data"]["search"]["hits"]] == [
        'Cable "USB-C" (1m) AND/OR *'
    ]


def test_anonymous_callers_are_refused(cat, tenant_client):
    status, body = gql(tenant_client, QUERY, {"text": "维生素"})
    assert body["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
    assert body["data"] is None or body["data"].get("search") is None


def test_another_tenant_sees_none_of_it(
    cat, tenant_db, other_tenant, other_tenant_client, in_tenant
):
    with in_tenant(other_tenant):
        staff = UserFactory()
        token = token_for(staff)
    status, body = gql(other_tenant_client, QUERY, {"text": "维生素"}, token=token)
    assert status == 200 and body["data"]["search"]["total"] == 0
