"""GraphQL for dealers: every query and mutation scoped, with two dealers and a parent,
and two tenants."""

import pytest
from graphql_relay import to_global_id

from core.accounts import services
from core.accounts.models import Dealer, Role
from core.accounts.services import create_api_key
from core.testing.factories import DealerUserFactory, UserFactory
from core.testing.pytest_plugin import gql, token_for

DEALERS = """query($search: String, $underId: ID) { dealers(search: $search, underId: $underId) {
  totalCount edges { node { id code depth parent { code } children { code } paymentTerms creditLimit
  addresses { kind line1 isDefault } contacts { name } salesReps { username } } } } }"""
NODE = "query($id: ID!) { node(id: $id) { ... on Dealer { code } } }"
CREATE = """mutation($input: DealerCreateInput!) { dealerCreate(input: $input) {
  dealer { id code depth parent { code } paymentTerms creditLimit } errors { field code message } } }"""
UPDATE = """mutation($id: ID!, $input: DealerUpdateInput!) { dealerUpdate(id: $id, input: $input) {
  dealer { code depth parent { code } } errors { field code } } }"""
ADD_USER = """mutation($dealerId: ID!, $username: String!, $role: Role) {
  dealerUserCreate(dealerId: $dealerId, username: $username, password: "Xk9!long-pass", role: $role) {
    user { username role dealer { code } } errors { field code } } }"""


def gid(dealer):
    return to_global_id("Dealer", dealer.pk)


@pytest.fixture
def tree(tenant_db):
    hq = services.create_dealer(code="HQ", name="HQ")
    east = services.create_dealer(code="EAST", name="East", parent=hq)
    s1 = services.create_dealer(
        code="S1",
        name="Shop 1",
        parent=east,
        payment_terms="net_30",
        addresses=[{"kind": "shipping", "line1": "1 Dock"}],
    )
    s2 = services.create_dealer(code="S2", name="Shop 2", parent=east)
    west = services.create_dealer(code="WEST", name="West", parent=hq)
    return {d.code: d for d in (hq, east, s1, s2, west)}


def listed(body):
    return sorted(e["node"]["code"] for e in body["data"]["dealers"]["edges"])


def test_dealers_query_is_scoped_for_every_role(tree, tenant_client):
    buyer = DealerUserFactory(dealer=tree["S1"])
    admin = DealerUserFactory(dealer=tree["EAST"], role=Role.DEALER_ADMIN)
    rep = UserFactory(role=Role.SALES_REP)
    tree["WEST"].sales_reps.add(rep)
    staff = UserFactory(role=Role.STAFF)
    _, body = gql(tenant_client, DEALERS, token=token_for(buyer))
    assert listed(body) == ["S1"]
    node = body["data"]["dealers"]["edges"][0]["node"]
    # The buyer does not see its parent (not its dealer) nor anything about it.
    assert node["parent"] is None and node["paymentTerms"] == "NET_30"
    assert node["addresses"] == [{"kind": "SHIPPING", "line1": "1 Dock", "isDefault": True}]
    _, body = gql(tenant_client, DEALERS, token=token_for(admin))
    assert listed(body) == ["EAST", "S1", "S2"]
    east = next(e["node"] for e in body["data"]["dealers"]["edges"] if e["node"]["code"] == "EAST")
    assert sorted(c["code"] for c in east["children"]) == ["S1", "S2"] and east["parent"] is None
    _, body = gql(tenant_client, DEALERS, token=token_for(rep))
    assert listed(body) == ["WEST"] and body["data"]["dealers"]["edges"][0]["node"][
        "salesReps"
    ] == [{"username": rep.username}]
    _, body = gql(tenant_client, DEALERS, token=token_for(staff))
    assert listed(body) == ["EAST", "HQ", "S1", "S2", "WEST"]
    _, body = gql(tenant_client, DEALERS, {"underId": gid(tree["EAST"])}, token=token_for(staff))
    assert listed(body) == ["EAST", "S1", "S2"]
    _, body = gql(tenant_client, DEALERS, {"search": "shop"}, token=token_for(admin))
    assert listed(body) == ["S1", "S2"]
    # A dealer outside the caller's subtree cannot be used as a filter either.
    _, body = gql(tenant_client, DEALERS, {"underId": gid(tree["WEST"])}, token=token_for(admin))
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"


def test_node_lookup_obeys_the_scope(tree, tenant_client):
    admin = DealerUserFactory(dealer=tree["EAST"], role=Role.DEALER_ADMIN)
    buyer = DealerUserFactory(dealer=tree["S2"])
    for user, code, visible in [
        (admin, "S1", True),
        (admin, "HQ", False),
        (admin, "WEST", False),
        (buyer, "S2", True),
        (buyer, "S1", False),
        (buyer, "EAST", False),
    ]:
        _, body = gql(tenant_client, NODE, {"id": gid(tree[code])}, token=token_for(user))
        assert (body["data"]["node"] is not None) is visible, (user.role, code)


def test_api_key_needs_the_dealers_scope(tree, tenant_client):
    reader = create_api_key(name="CRM", scopes=["dealers:read"]).secret
    catalog_only = create_api_key(name="PIM", scopes=["catalog:read"]).secret
    _, body = gql(tenant_client, DEALERS, api_key=reader)
    assert body["data"]["dealers"]["totalCount"] == 5
    _, body = gql(tenant_client, DEALERS, api_key=catalog_only)
    assert body["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
    _, body = gql(tenant_client, CREATE, {"input": {"code": "X", "name": "X"}}, api_key=reader)
    assert body["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
    writer = create_api_key(name="ERP", scopes=["dealers:write"]).secret
    _, body = gql(
        tenant_client, CREATE, {"input": {"code": "ERP-1", "name": "From ERP"}}, api_key=writer
    )
    assert body["data"]["dealerCreate"]["errors"] == []


def test_staff_create_update_and_move(tree, tenant_client):
    staff = token_for(UserFactory(role=Role.STAFF))
    _, body = gql(
        tenant_client,
        CREATE,
        {
            "input": {
                "code": "S3",
                "name": "Shop 3",
                "parentId": gid(tree["WEST"]),
                "paymentTerms": "NET_60",
                "creditLimit": "25000.50",
                "addresses": [{"kind": "BILLING", "line1": "9 Road"}],
                "contacts": [{"name": "Wang", "isPrimary": True}],
            }
        },
        token=staff,
    )
    data = body["data"]["dealerCreate"]
    assert data["errors"] == []
    assert data["dealer"]["depth"] == 2 and data["dealer"]["parent"]["code"] == "WEST"
    assert (
        data["dealer"]["creditLimit"] == "25000.50" and data["dealer"]["paymentTerms"] == "NET_60"
    )
    # Move East (with its shops) under West.
    _, body = gql(
        tenant_client,
        UPDATE,
        {"id": gid(tree["EAST"]), "input": {"parentId": gid(tree["WEST"])}},
        token=staff,
    )
    assert body["data"]["dealerUpdate"]["dealer"]["depth"] == 2
    assert Dealer.objects.get(code="S1").depth == 3
    # Under its own shop: refused, nothing changes.
    _, body = gql(
        tenant_client,
        UPDATE,
        {"id": gid(tree["EAST"]), "input": {"parentId": gid(tree["S1"])}},
        token=staff,
    )
    assert body["data"]["dealerUpdate"]["errors"] == [{"field": "parent", "code": "INVALID_PARENT"}]
    assert Dealer.objects.get(code="EAST").parent.code == "WEST"


def test_bad_input_is_typed_and_nothing_is_saved(tree, tenant_client):
    staff = token_for(UserFactory(role=Role.STAFF))
    _, body = gql(
        tenant_client,
        CREATE,
        {
            "input": {
                "code": "S1",
                "name": " ",
                "currency": "RMB!",
                "creditLimit": "-1",
                "addresses": [{"kind": "SHIPPING", "line1": "ok"}],
            }
        },
        token=staff,
    )
    errors = {(e["field"], e["code"]) for e in body["data"]["dealerCreate"]["errors"]}
    assert errors == {
        ("code", "TAKEN"),
        ("name", "REQUIRED"),
        ("currency", "INVALID"),
        ("creditLimit", "INVALID"),
    }
    assert body["data"]["dealerCreate"]["dealer"] is None
    assert Dealer.objects.count() == 5


def test_non_staff_cannot_manage_dealers(tree, tenant_client):
    admin = token_for(DealerUserFactory(dealer=tree["EAST"], role=Role.DEALER_ADMIN))
    _, body = gql(
        tenant_client,
        CREATE,
        {"input": {"code": "X", "name": "X", "parentId": gid(tree["EAST"])}},
        token=admin,
    )
    assert body["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
    _, body = gql(
        tenant_client, UPDATE, {"id": gid(tree["S1"]), "input": {"name": "Hijacked"}}, token=admin
    )
    assert body["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
    assert Dealer.objects.get(code="S1").name == "Shop 1"


def test_dealer_admin_adds_users_to_its_subtree_only(tree, tenant_client):
    admin = token_for(DealerUserFactory(dealer=tree["EAST"], role=Role.DEALER_ADMIN))
    _, body = gql(
        tenant_client, ADD_USER, {"dealerId": gid(tree["S1"]), "username": "s1-buyer"}, token=admin
    )
    assert body["data"]["dealerUserCreate"]["user"] == {
        "username": "s1-buyer",
        "role": "DEALER_BUYER",
        "dealer": {"code": "S1"},
    }
    _, body = gql(
        tenant_client, ADD_USER, {"dealerId": gid(tree["WEST"]), "username": "w"}, token=admin
    )
    assert body["data"]["dealerUserCreate"]["errors"][0]["code"] == "NOT_FOUND"
    _, body = gql(
        tenant_client,
        ADD_USER,
        {"dealerId": gid(tree["S1"]), "username": "boss", "role": "STAFF"},
        token=admin,
    )
    assert body["data"]["dealerUserCreate"]["errors"][0] == {"field": "role", "code": "INVALID"}
    buyer = token_for(DealerUserFactory(dealer=tree["S1"]))
    _, body = gql(
        tenant_client, ADD_USER, {"dealerId": gid(tree["S1"]), "username": "friend"}, token=buyer
    )
    assert body["data"]["dealerUserCreate"]["errors"][0]["code"] == "PERMISSION_DENIED"


def test_user_fields_longer_than_their_columns_are_field_errors(tree, tenant_client):
    q = """mutation($d: ID!, $u: String!, $e: String, $f: String) { dealerUserCreate(dealerId: $d,
      username: $u, email: $e, firstName: $f, password: "Xk9!long-pass") { user { username }
      errors { field code } } }"""
    variables = {"d": gid(tree["S1"]), "u": "u" * 151, "e": "e" * 250 + "@x.cn", "f": "f" * 151}
    _, body = gql(tenant_client, q, variables, token=token_for(UserFactory(role=Role.STAFF)))
    assert body["data"]["dealerUserCreate"] == {
        "user": None,
        "errors": [
            {"field": "username", "code": "TOO_LONG"},
            {"field": "email", "code": "TOO_LONG"},
            {"field": "firstName", "code": "TOO_LONG"},
        ],
    }
    assert not tree["S1"].users.exists()


def test_dealers_of_one_tenant_are_invisible_in_another(
    tree, tenant_client, other_tenant, other_tenant_client, in_tenant
):
    with in_tenant(other_tenant):
        staff_b = token_for(UserFactory(role=Role.STAFF))
        services.create_dealer(code="B-ONLY", name="Beta dealer")
    _, body = gql(other_tenant_client, DEALERS, token=staff_b)
    assert listed(body) == ["B-ONLY"]
    _, body = gql(other_tenant_client, NODE, {"id": gid(tree["HQ"])}, token=staff_b)
    assert body["data"]["node"] in (
        None,
        {"code": "B-ONLY"},
    )  # an id is only a number in that tenant


def test_address_and_contact_text_longer_than_its_column_is_a_field_error(tree, tenant_client):
    staff = token_for(UserFactory(role=Role.STAFF))
    for extra, error in (
        (
            {"addresses": [{"kind": "SHIPPING", "line1": "1 Dock", "city": "c" * 300}]},
            "addresses.0.city",
        ),
        ({"contacts": [{"name": "n" * 300}]}, "contacts.0.name"),
    ):
        _, body = gql(
            tenant_client, CREATE, {"input": {"code": "NEW", "name": "New", **extra}}, token=staff
        )
        assert "errors" not in body, body
        assert body["data"]["dealerCreate"]["errors"] == [
            {
                "field": error,
                "code": "TOO_LONG",
                "message": body["data"]["dealerCreate"]["errors"][0]["message"],
            }
        ]
    assert not Dealer.objects.filter(code="NEW").exists()
