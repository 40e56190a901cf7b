"""The GraphQL endpoint: authentication, tenant binding, throttling, typed errors, limits."""

import json

import pytest
from django.core.cache import cache
from django.test import override_settings

from core.accounts.models import ApiKey, Role
from core.accounts.services import create_api_key
from core.testing.factories import TEST_PASSWORD, DealerUserFactory, ProductFactory, UserFactory
from core.testing.pytest_plugin import gql, token_for

SIGN_IN = """mutation($u: String!, $p: String!) { tokenCreate(username: $u, password: $p) {
  token errors { field code message } } }"""
ME = "{ me { username role dealer { code } } }"


@pytest.fixture(autouse=True)
def _clear_cache(db):
    cache.clear()
    yield
    cache.clear()


def test_sign_in_and_use_the_token(tenant_db, tenant_client):
    buyer = DealerUserFactory()
    _, body = gql(tenant_client, SIGN_IN, {"u": buyer.username, "p": TEST_PASSWORD})
    token = body["data"]["tokenCreate"]["token"]
    status, body = gql(tenant_client, ME, token=token)
    assert status == 200
    assert body["data"]["me"] == {
        "username": buyer.username,
        "role": "DEALER_BUYER",
        "dealer": {"code": buyer.dealer.code},
    }
    assert body["extensions"]["cost"]["requestedQueryCost"] >= 1


def test_sign_in_by_email(tenant_db, tenant_client):
    UserFactory(email="Someone@Brand.test")
    _, body = gql(tenant_client, SIGN_IN, {"u": "someone@brand.test", "p": TEST_PASSWORD})
    assert body["data"]["tokenCreate"]["token"]


def test_wrong_password_is_a_typed_error(tenant_db, tenant_client):
    user = UserFactory()
    status, body = gql(tenant_client, SIGN_IN, {"u": user.username, "p": "nope"})
    assert status == 200
    assert body["data"]["tokenCreate"]["errors"][0]["message"] in (
        "Wrong user name or password.",
        "用户名或密码错误。",
    )
    assert body["data"]["tokenCreate"] == {
        "token": None,
        "errors": [
            {
                "field": "password",
                "code": "INVALID_CREDENTIALS",
                "message": body["data"]["tokenCreate"]["errors"][0]["message"],
            }
        ],
    }


def test_token_from_one_tenant_is_refused_by_another(
    tenant_db, tenant_client, other_tenant_client, other_tenant, in_tenant
):
    token = token_for(UserFactory(username="same-name"))
    with in_tenant(other_tenant):
        UserFactory(username="same-name")  # the same user name and id may exist there
    status, body = gql(other_tenant_client, ME, token=token)
    assert status == 401
    assert body["errors"][0]["extensions"]["code"] == "INVALID_TOKEN"
    assert "data" not in body


def test_expired_and_forged_tokens_are_refused(tenant_db, tenant_client):
    token = token_for(UserFactory())
    with override_settings(AUTH_TOKEN_TTL_SECONDS=-1):
        status, body = gql(tenant_client, ME, token=token)
    assert status == 401 and body["errors"][0]["extensions"]["code"] == "TOKEN_EXPIRED"
    status, body = gql(tenant_client, ME, token=token[:-3] + "abc")
    assert status == 401 and body["errors"][0]["extensions"]["code"] == "INVALID_TOKEN"


def test_password_change_revokes_tokens(tenant_db, tenant_client):
    user = UserFactory()
    token = token_for(user)
    user.set_password("Another-Pass-88")
    user.save()
    status, body = gql(tenant_client, ME, token=token)
    assert status == 401


def test_brute_force_is_throttled_per_tenant(
    tenant_db, tenant_client, other_tenant, other_tenant_client, in_tenant
):
    UserFactory(username="target")
    with override_settings(LOGIN_THROTTLE_ATTEMPTS=3):
        for _ in range(3):
            _, body = gql(tenant_client, SIGN_IN, {"u": "target", "p": "bad"})
            assert body["data"]["tokenCreate"]["errors"][0]["code"] == "INVALID_CREDENTIALS"
        _, body = gql(tenant_client, SIGN_IN, {"u": "target", "p": TEST_PASSWORD})
        assert body["data"]["tokenCreate"]["errors"][0]["code"] == "LOGIN_THROTTLED"
        assert body["data"]["tokenCreate"]["token"] is None
        # The other tenant's "target" is not locked out by this tenant's failures.
        with in_tenant(other_tenant):
            UserFactory(username="target")
        _, body = gql(other_tenant_client, SIGN_IN, {"u": "target", "p": TEST_PASSWORD})
        assert body["data"]["tokenCreate"]["token"]


def test_anonymous_and_unauthorised_access(tenant_db, tenant_client):
    status, body = gql(tenant_client, ME)
    assert body["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
    assert body["data"]["me"] is None
    status, body = gql(tenant_client, "{ dealers { totalCount } }")
    assert body["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"


def test_api_key_scopes_and_tenant_binding(tenant_db, tenant_client, other_tenant_client):
    ProductFactory()
    created = create_api_key(name="ERP", scopes=["catalog:read"])
    stored = ApiKey.objects.get()
    assert created.secret not in (stored.key_hash, stored.prefix) and len(stored.key_hash) == 64
    status, body = gql(
        tenant_client, "{ products(first: 5) { totalCount } }", api_key=created.secret
    )
    assert status == 200 and body["data"]["products"]["totalCount"] == 1
    _, body = gql(tenant_client, "{ dealers { totalCount } }", api_key=created.secret)
    assert body["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
    status, body = gql(other_tenant_client, "{ products { totalCount } }", api_key=created.secret)
    assert status == 401 and body["errors"][0]["extensions"]["code"] == "INVALID_API_KEY"
    from core.accounts.services import revoke_api_key

    revoke_api_key(stored)
    status, _ = gql(tenant_client, "{ products { totalCount } }", api_key=created.secret)
    assert status == 401


def test_dealer_user_sees_only_its_own_dealer(tenant_db, tenant_client):
    buyer = DealerUserFactory()
    other = DealerUserFactory()
    staff = UserFactory(role=Role.STAFF)
    _, body = gql(tenant_client, "{ dealers { edges { node { code } } } }", token=token_for(buyer))
    assert [e["node"]["code"] for e in body["data"]["dealers"]["edges"]] == [buyer.dealer.code]
    _, body = gql(tenant_client, "{ dealers { totalCount } }", token=token_for(staff))
    assert body["data"]["dealers"]["totalCount"] == 2
    # Another dealer's node cannot be fetched by its global ID either.
    from graphql_relay import to_global_id

    _, body = gql(
        tenant_client,
        "query($id: ID!) { node(id: $id) { id } }",
        {"id": to_global_id("Dealer", other.dealer.pk)},
        token=token_for(buyer),
    )
    assert body["data"]["node"] is None


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ("{not json", 400, None),
        (json.dumps({"query": "{ me { username "}), 400, None),
        (json.dumps({"query": "{ nosuchfield }"}), 400, None),
        (
            json.dumps({"query": 'mutation { tokenCreate(username: 5, password: "x") { token } }'}),
            400,
            None,
        ),
        (
            json.dumps(
                {
                    "query": "query($n: Int) { products(first: $n) { totalCount } }",
                    "variables": {"n": "many"},
                }
            ),
            200,
            None,
        ),
    ],
)
def test_malformed_requests_are_typed_errors(tenant_db, tenant_client, payload, status, code):
    response = tenant_client.post("/graphql/", payload, content_type="application/json")
    assert response.status_code in (status, 400)
    body = response.json()
    assert body["errors"] and body["errors"][0]["message"]


def test_unknown_authorization_scheme(tenant_db, tenant_client):
    response = tenant_client.post(
        "/graphql/",
        json.dumps({"query": ME}),
        content_type="application/json",
        HTTP_AUTHORIZATION="Basic abc",
    )
    assert response.status_code == 401


def test_depth_limit(tenant_db, tenant_client):
    deep = "{ dealers { edges { node { " + "parent { " * 14 + "code" + " }" * 14 + " } } } }"
    status, body = gql(tenant_client, deep, token=token_for(UserFactory()))
    assert status == 400 and "exceeds maximum operation depth" in body["errors"][0]["message"]
    shallow = "{ dealers { edges { node { parent { parent { code } } } } } }"
    assert gql(tenant_client, shallow, token=token_for(UserFactory()))[0] == 200


def test_cost_limit_refuses_before_running(tenant_db, tenant_client):
    query = "{ a: products(first: 100) { edges { node { skus { code } } } } b: dealers(first: 100) { edges { node { parent { code } } } } }"
    with override_settings(GRAPHQL_MAX_COST=300):
        status, body = gql(tenant_client, query, token=token_for(UserFactory()))
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert body["extensions"]["cost"]["requestedQueryCost"] > 300
    assert "data" not in body or body["data"] is None


def test_cost_uses_page_size_from_variables(tenant_db, tenant_client):
    query = "query($n: Int) { products(first: $n) { edges { node { skus { code } } } } }"
    _, small = gql(tenant_client, query, {"n": 2}, token=token_for(UserFactory()))
    _, large = gql(tenant_client, query, {"n": 50}, token=token_for(UserFactory()))
    assert (
        small["extensions"]["cost"]["requestedQueryCost"]
        < large["extensions"]["cost"]["requestedQueryCost"]
    )


def test_page_size_is_capped(tenant_db, tenant_client):
    status, body = gql(
        tenant_client, "{ products(first: 500) { totalCount } }", token=token_for(UserFactory())
    )
    assert body["errors"][0]["extensions"] == {"code": "INVALID_PAGE", "argument": "first"}


@pytest.mark.parametrize(
    "connection", ["products", "orders", "dealers", "quotes", "priceLists", "promotions"]
)
@pytest.mark.parametrize(
    ("argument", "value"),
    [("first", -1), ("first", 101), ("last", -1), ("last", 2**31 - 1), ("offset", -1)],
)
def test_page_arguments_out_of_range_are_typed_errors(
    tenant_db, tenant_client, connection, argument, value
):
    """Not an internal error from deep in the connection: a typed error before anything runs."""
    query = f"query($n: Int) {{ {connection}({argument}: $n) {{ edges {{ cursor }} }} }}"
    status, body = gql(tenant_client, query, {"n": value}, token=token_for(UserFactory()))
    assert [e["extensions"] for e in body["errors"]] == [
        {"code": "INVALID_PAGE", "argument": argument}
    ]
    assert not body.get("data")
    _, body = gql(
        tenant_client,
        query,
        {"n": 0 if argument == "offset" else 100},
        token=token_for(UserFactory()),
    )
    assert "errors" not in body and body["data"][connection]["edges"] == []


def test_alias_limit(tenant_db, tenant_client):
    query = "{ " + " ".join(f"a{i}: me {{ username }}" for i in range(40)) + " }"
    status, body = gql(tenant_client, query, token=token_for(UserFactory()))
    assert status == 400 and body["errors"][0]["extensions"]["code"] == "TOO_MANY_ALIASES"


def test_batches_are_limited(tenant_db, tenant_client):
    token = token_for(UserFactory())
    batch = [{"query": ME}] * 3
    response = tenant_client.post(
        "/graphql/",
        json.dumps(batch),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 200 and len(response.json()) == 3
    with override_settings(GRAPHQL_MAX_BATCH=2):
        response = tenant_client.post(
            "/graphql/",
            json.dumps(batch),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BATCH_TOO_LARGE"


def test_products_listing_query_count_does_not_grow_with_page(
    tenant_db, tenant_client, django_assert_max_num_queries
):
    from core.testing.factories import SkuFactory, StockFactory

    for _ in range(15):
        StockFactory(sku=SkuFactory())
    token = token_for(UserFactory())
    query = "{ products(first: 15) { totalCount edges { node { name skus { code available } } } } }"
    # host → tenant, 2× search_path, user, count, products, SKUs with stock: 7 whatever the page size
    with django_assert_max_num_queries(7):
        _, body = gql(tenant_client, query, token=token)
    assert len(body["data"]["products"]["edges"]) == 15


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        (SIGN_IN, {"u": "some\x00one", "p": "x"}),
        ('mutation { tokenCreate(username: "some\\u0000one", password: "x") { token } }', None),
        ("query($c: [String!]!) { skuLookup(codes: $c) { query } }", {"c": ["A", "B\x00"]}),
        (
            'mutation($l: [OrderLineInput!]!) { placeOrder(lines: $l, idempotencyKey: "k") { errors { code } } }',
            {"l": [{"sku": "SKU\x000", "quantity": 1}]},
        ),
    ],
)
def test_text_with_nul_is_a_typed_error(tenant_db, tenant_client, query, variables):
    """PostgreSQL refuses NUL in text: the API says so instead of failing inside a query."""
    buyer = DealerUserFactory()
    status, body = gql(tenant_client, query, variables, token=token_for(buyer))
    assert [e["extensions"]["code"] for e in body["errors"]] == ["INVALID_TEXT"]
    assert not body.get("data")


@pytest.mark.parametrize(
    "node_id",
    ["", "1", "garbage", "!!!", "x" * 5000, "T3JkZXI6YWJj", "T3JkZXI6", "Tm9wZTox", "RGVhbGVyOi0x"],
)
def test_node_with_an_id_that_is_not_ours_is_a_typed_error(tenant_db, tenant_client, node_id):
    """Order:abc, Order:, Nope:1, Dealer:-1 and non-base64: INVALID on id, not an internal error."""
    query = "query($id: ID!) { node(id: $id) { id } }"
    _, body = gql(tenant_client, query, {"id": node_id}, token=token_for(UserFactory()))
    assert [e["extensions"] for e in body["errors"]] == [{"code": "INVALID", "field": "id"}]
    assert body["data"]["node"] is None


def test_node_with_a_well_formed_unknown_id_answers_null(tenant_db, tenant_client):
    from graphql_relay import to_global_id

    dealer = DealerUserFactory().dealer
    query = "query($id: ID!) { node(id: $id) { id } }"
    for node_id, found in (
        (to_global_id("Dealer", dealer.pk), True),
        (to_global_id("Dealer", 10**30), False),
    ):
        _, body = gql(tenant_client, query, {"id": node_id}, token=token_for(UserFactory()))
        assert "errors" not in body
        assert (body["data"]["node"] == {"id": node_id}) is found
