"""The tenant console (Django admin): API keys shown once and stored hashed, dealers
managed with the same validation, and one tenant's console never shows another's data."""

import hashlib

import pytest

from core.accounts import services
from core.accounts.models import ApiKey, Dealer, Role, User
from core.testing.factories import DealerUserFactory, UserFactory
from core.testing.pytest_plugin import gql


@pytest.fixture
def admin_client(tenant_db, tenant_client):
    admin = UserFactory(role=Role.TENANT_ADMIN, is_staff=True, is_superuser=True)
    tenant_client.force_login(admin)
    return tenant_client


def test_api_key_secret_is_shown_once_and_stored_hashed(admin_client):
    response = admin_client.post(
        "/admin/accounts/apikey/add/",
        {"name": "ERP", "scopes": ["catalog:read", "dealers:read"], "expires_at": ""},
    )
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    secret = response.context["secret"]
    assert secret.startswith("dh_") and secret.encode() in response.content
    key = ApiKey.objects.get()
    assert key.scopes == ["catalog:read", "dealers:read"]
    assert key.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    # The change page and the list never show it again.
    for url in ("/admin/accounts/apikey/", f"/admin/accounts/apikey/{key.pk}/change/"):
        page = admin_client.get(url)
        assert page.status_code == 200 and secret.encode() not in page.content
    # It works as a key, with exactly its scopes.
    _, body = gql(admin_client, "{ dealers { totalCount } }", api_key=secret)
    assert "errors" not in body
    _, body = gql(admin_client, '{ skuLookup(codes: ["X"]) { query } }', api_key=secret)
    assert "errors" not in body
    _, body = gql(
        admin_client, 'mutation { brandCreate(name: "X") { errors { code } } }', api_key=secret
    )
    assert body["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"


def test_revoking_in_the_console(admin_client):
    created = services.create_api_key(name="Old", scopes=["catalog:read"])
    admin_client.post(
        "/admin/accounts/apikey/", {"action": "revoke", "_selected_action": [created.api_key.pk]}
    )
    created.api_key.refresh_from_db()
    assert created.api_key.revoked_at is not None


def test_unknown_scope_is_refused(admin_client):
    response = admin_client.post("/admin/accounts/apikey/add/", {"name": "X", "scopes": ["root"]})
    assert response.status_code == 200 and not ApiKey.objects.exists()
    assert response.context["adminform"].form.errors["scopes"]


def test_dealer_form_validates_like_the_api(admin_client):
    hq = services.create_dealer(code="HQ", name="HQ")
    shop = services.create_dealer(code="SHOP", name="Shop", parent=hq)
    response = admin_client.post(
        f"/admin/accounts/dealer/{hq.pk}/change/",
        {
            "code": "HQ",
            "name": "HQ",
            "parent": shop.pk,
            "status": "active",
            "currency": "CNY",
            "credit_limit": "0",
            "payment_terms": "prepaid",
            "addresses-TOTAL_FORMS": "0",
            "addresses-INITIAL_FORMS": "0",
            "contacts-TOTAL_FORMS": "0",
            "contacts-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200  # the form came back with an error
    assert "parent" in response.context["adminform"].form.errors
    assert Dealer.objects.get(code="HQ").parent_id is None
    response = admin_client.post(
        "/admin/accounts/dealer/add/",
        {
            "code": "NEW",
            "name": "New",
            "parent": hq.pk,
            "status": "active",
            "currency": "cny",
            "credit_limit": "100",
            "payment_terms": "net_30",
            "addresses-TOTAL_FORMS": "0",
            "addresses-INITIAL_FORMS": "0",
            "contacts-TOTAL_FORMS": "0",
            "contacts-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    new = Dealer.objects.get(code="NEW")
    assert new.currency == "CNY" and new.depth == 1 and new.path == f"{hq.path}{new.pk}/"


def test_dealer_users_cannot_enter_the_console(tenant_db, tenant_client):
    tenant_client.force_login(DealerUserFactory(role=Role.DEALER_ADMIN))
    assert tenant_client.get("/admin/accounts/dealer/").status_code == 302


def test_consoles_are_per_tenant(admin_client, other_tenant, other_tenant_client, in_tenant):
    services.create_dealer(code="ALPHA-ONLY", name="Alpha")
    with in_tenant(other_tenant):
        other_admin = UserFactory(role=Role.TENANT_ADMIN, is_staff=True, is_superuser=True)
        services.create_dealer(code="BETA-ONLY", name="Beta")
        other_tenant_client.force_login(other_admin)
    page = other_tenant_client.get("/admin/accounts/dealer/")
    assert b"BETA-ONLY" in page.content and b"ALPHA-ONLY" not in page.content
    page = admin_client.get("/admin/accounts/dealer/")
    assert b"ALPHA-ONLY" in page.content and b"BETA-ONLY" not in page.content


def test_user_form_requires_a_dealer_for_dealer_roles(admin_client):
    form = {
        "username": "buyer1",
        "email": "",
        "role": Role.DEALER_BUYER,
        "dealer": "",
        "password1": "Long-Enough-Pass-2026",
        "password2": "Long-Enough-Pass-2026",
        "usable_password": "true",
    }
    response = admin_client.post("/admin/accounts/user/add/", form)
    assert response.status_code == 200  # the form came back with the service's error
    assert "dealer" in response.context["adminform"].form.errors
    assert not User.objects.filter(username="buyer1").exists()

    shop = services.create_dealer(code="SHOP", name="Shop")
    response = admin_client.post("/admin/accounts/user/add/", {**form, "dealer": shop.pk})
    assert response.status_code == 302
    buyer = User.objects.get(username="buyer1")
    assert buyer.dealer == shop and buyer.groups.count() == 0


def test_user_form_drops_the_dealer_of_a_console_role(admin_client):
    shop = services.create_dealer(code="SHOP", name="Shop")
    user = services.create_user(
        username="u1", password="x", role=Role.DEALER_BUYER, dealer=shop, validate=False
    )
    page = admin_client.get(f"/admin/accounts/user/{user.pk}/change/")
    form = page.context["adminform"].form
    data = {
        name: value
        for name, value in form.initial.items()
        if name in form.fields and value is not None and name not in ("groups", "user_permissions")
    }
    data.update(
        {
            "role": Role.STAFF,
            "dealer": shop.pk,
            "is_active": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        }
    )
    data.pop("last_login", None)
    data.pop("password", None)
    response = admin_client.post(f"/admin/accounts/user/{user.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    user.refresh_from_db()
    assert user.role == Role.STAFF and user.dealer is None and user.is_staff
    assert list(user.groups.values_list("name", flat=True)) == ["staff"]
