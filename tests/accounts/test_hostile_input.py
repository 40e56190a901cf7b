"""Hostile input to the dealer and user mutations over GraphQL: typed field errors, nothing
saved, and no dealer outside the caller's scope reachable."""

import pytest
from graphql_relay import to_global_id

from core.accounts import services
from core.accounts.models import Dealer, Role, User
from core.testing.factories import DealerUserFactory, UserFactory
from core.testing.pytest_plugin import gql, token_for

CREATE = """mutation($input: DealerCreateInput!) { dealerCreate(input: $input) {
  dealer { code } errors { field code } } }"""
ADD_USER = """mutation($dealerId: ID!, $username: String!, $password: String!, $role: Role) {
  dealerUserCreate(dealerId: $dealerId, username: $username, password: $password, role: $role) {
    user { username } errors { field code } } }"""
TOKEN = """mutation($u: String!, $p: String!) { tokenCreate(username: $u, password: $p) {
  token errors { field code } } }"""


@pytest.fixture
def tree(tenant_db):
    hq = services.create_dealer(code="HQ", name="HQ")
    east = services.create_dealer(code="EAST", name="East", parent=hq)
    west = services.create_dealer(code="WEST", name="West", parent=hq)
    return {d.code: d for d in (hq, east, west)}


def _errors(body, field):
    assert "errors" not in body, body
    return {(e["field"], e["code"]) for e in body["data"][field]["errors"]}


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"creditLimit": "NaN"}, ("creditLimit", "INVALID")),
        ({"creditLimit": "sNaN"}, ("creditLimit", "INVALID")),
        ({"creditLimit": "Infinity"}, ("creditLimit", "INVALID")),
        ({"creditLimit": "1e30"}, ("creditLimit", "INVALID")),
        ({"parentId": to_global_id("Dealer", 2**64)}, ("parentId", "NOT_FOUND")),
        ({"parentId": to_global_id("User", 1)}, ("parentId", "INVALID")),
        ({"parentId": "garbage"}, ("parentId", "INVALID")),
        ({"salesRepIds": [to_global_id("User", 2**64)]}, ("salesRepIds", "NOT_FOUND")),
        ({"salesRepIds": ["garbage"]}, ("salesRepIds", "INVALID")),
        ({"currency": "cnyx"}, ("currency", "INVALID")),
        ({"code": "C" * 41}, ("code", "INVALID")),
        (
            {"addresses": [{"kind": "SHIPPING", "line1": "x", "country": "CHN"}]},
            ("addresses.0.country", "INVALID"),
        ),
        (
            {"addresses": [{"kind": "SHIPPING", "line1": "x", "country": "1"}]},
            ("addresses.0.country", "INVALID"),
        ),
    ],
)
def test_dealer_create_with_hostile_fields(tree, tenant_client, extra, expected):
    staff = token_for(UserFactory(role=Role.STAFF))
    status, body = gql(
        tenant_client, CREATE, {"input": {"code": "N1", "name": "New", **extra}}, token=staff
    )
    assert status == 200
    errors = _errors(body, "dealerCreate")
    assert expected in errors, errors
    assert Dealer.objects.count() == 3


def test_dealer_admin_cannot_reach_another_branch(tree, tenant_client):
    admin = token_for(DealerUserFactory(dealer=tree["EAST"], role=Role.DEALER_ADMIN))
    for dealer_id in (
        to_global_id("Dealer", tree["WEST"].pk),
        to_global_id("Dealer", tree["HQ"].pk),
        to_global_id("Dealer", 2**64),
        "",
    ):
        _, body = gql(
            tenant_client,
            ADD_USER,
            {"dealerId": dealer_id, "username": "intruder", "password": "Xk9!long-pass"},
            token=admin,
        )
        if "errors" in body:
            assert body["errors"][0]["extensions"]["code"] in ("PERMISSION_DENIED", "NOT_FOUND")
        else:
            errors = _errors(body, "dealerUserCreate")
            assert errors and all(
                code in ("NOT_FOUND", "INVALID", "PERMISSION_DENIED") for _f, code in errors
            ), (dealer_id, errors)
    _, body = gql(
        tenant_client,
        ADD_USER,
        {
            "dealerId": to_global_id("Dealer", tree["EAST"].pk),
            "username": "boss",
            "password": "Xk9!long-pass",
            "role": "TENANT_ADMIN",
        },
        token=admin,
    )
    assert "errors" in body or _errors(body, "dealerUserCreate")
    assert not User.objects.filter(username__in=["intruder", "boss"]).exists()


@pytest.mark.parametrize(
    ("username", "password"),
    [("", ""), (" ", "x"), ("u" * 10_000, "p"), ("nobody", "p" * 20_000), ("a@b", "")],
)
def test_token_create_with_hostile_credentials(tenant_db, tenant_client, username, password):
    status, body = gql(tenant_client, TOKEN, {"u": username, "p": password})
    assert status == 200
    errors = _errors(body, "tokenCreate")
    assert errors and {code for _f, code in errors} <= {
        "INVALID_CREDENTIALS",
        "REQUIRED",
        "LOGIN_THROTTLED",
    }
    assert body["data"]["tokenCreate"]["token"] is None


@pytest.mark.parametrize(
    "variables",
    [
        {"search": "%"},
        {"search": "_" * 5000},
        {"search": "   "},
        {"underId": "garbage"},
        {"underId": to_global_id("Dealer", 2**64)},
        {"underId": to_global_id("User", 1)},
    ],
)
def test_dealer_search_with_hostile_arguments(tree, tenant_client, variables):
    staff = token_for(UserFactory(role=Role.STAFF))
    query = """query($search: String, $underId: ID) { dealers(search: $search, underId: $underId) {
      totalCount } }"""
    status, body = gql(tenant_client, query, variables, token=staff)
    assert status == 200
    if "errors" in body:
        codes = {e.get("extensions", {}).get("code") for e in body["errors"]}
        assert codes <= {"INVALID", "NOT_FOUND"}, body
    else:
        assert body["data"]["dealers"]["totalCount"] in (0, 3), body


@pytest.mark.parametrize(
    ("username", "password", "code"),
    [
        ("", "Xk9!long-pass", "REQUIRED"),
        ("   ", "Xk9!long-pass", "REQUIRED"),
        ("u" * 151, "Xk9!long-pass", "TOO_LONG"),
        ("newbie", "", "PASSWORD_TOO_WEAK"),
        ("newbie", "12345678", "PASSWORD_TOO_WEAK"),
    ],
)
def test_dealer_user_create_with_hostile_credentials(tree, tenant_client, username, password, code):
    staff = token_for(UserFactory(role=Role.STAFF))
    _, body = gql(
        tenant_client,
        ADD_USER,
        {
            "dealerId": to_global_id("Dealer", tree["EAST"].pk),
            "username": username,
            "password": password,
        },
        token=staff,
    )
    assert code in {c for _f, c in _errors(body, "dealerUserCreate")}, body
    assert not User.objects.filter(dealer=tree["EAST"]).exists()
