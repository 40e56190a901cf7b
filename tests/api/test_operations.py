"""Every documented operation in graphql/operations/ runs against a real tenant."""

import pytest

from core.api.contract import OPERATIONS_DIR
from core.testing.factories import TEST_PASSWORD, DealerUserFactory, StockFactory, UserFactory
from core.testing.pytest_plugin import gql, token_for

OPERATIONS = sorted(p.stem for p in OPERATIONS_DIR.glob("*.graphql"))


def _case(name, env):
    """Variables, token and a check of the data for each operation."""
    staff, buyer = env["staff"], env["buyer"]
    cases = {
        "SignIn": ({"username": buyer.username, "password": TEST_PASSWORD}, None,
                   lambda d: d["tokenCreate"]["token"] and d["tokenCreate"]["errors"] == []),
        "Me": ({}, token_for(buyer), lambda d: d["me"]["dealer"]["code"] == buyer.dealer.code),
        "Products": ({"first": 5}, token_for(buyer),
                     lambda d: d["products"]["totalCount"] == 1
                     and d["products"]["edges"][0]["node"]["skus"][0]["available"] == 100),
        "Dealers": ({}, token_for(staff), lambda d: d["dealers"]["totalCount"] == 1),
        "Search": (_indexed({"text": "Product", "first": 5}), token_for(buyer),
                   lambda d: d["search"]["total"] == 1 and d["search"]["errors"] == []
                   and d["search"]["hits"][0]["product"]["skus"][0]["available"] == 100
                   and d["search"]["hits"][0]["inStock"]),
        "DealerCredit": ({}, token_for(buyer), lambda d: d["dealerCredit"]["available"] == "100000.00"),
        "DealerPrices": (_base_prices(), token_for(buyer),
                         lambda d: d["dealerPrices"][0]["unitPrice"] == "12.5000"
                         and d["dealerPrices"][0]["source"]["priceListCode"] == "BASE"),
    }
    return cases.get(name)


def _base_prices():
    """A base price list pricing every SKU at 12.50; the SKU codes as variables."""
    from core.catalog.models import Sku
    from core.testing.factories import PriceListFactory, PriceListItemFactory

    base = PriceListFactory(code="BASE")
    skus = list(Sku.objects.all())
    for sku in skus:
        PriceListItemFactory(price_list=base, sku=sku, unit_price="12.50")
    return {"skuCodes": [s.code for s in skus]}


def _indexed(variables):
    """Index the catalogue for the Search operation (the transaction never commits,
    so the after-commit indexing would not run)."""
    from core.catalog.models import Product
    from search.indexing import index_now

    index_now(Product.objects.values_list("id", flat=True))
    return variables


@pytest.mark.parametrize("name", OPERATIONS)
def test_operation_runs(name, tenant_db, tenant_client):
    env = {"staff": UserFactory(), "buyer": DealerUserFactory()}
    StockFactory()
    case = _case(name, env)
    assert case is not None, f"graphql/operations/{name}.graphql has no test case here"
    variables, token, check = case
    query = (OPERATIONS_DIR / f"{name}.graphql").read_text()
    status, body = gql(tenant_client, query, variables, token=token, operation_name=name)
    assert status == 200 and "errors" not in body, body
    assert check(body["data"]), body
