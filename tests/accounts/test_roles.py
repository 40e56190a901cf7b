"""Roles get their console permissions as data: one auth group per role in each
tenant schema. Staff manage the catalogue (not users or API keys), sales reps
look at the dealers they cover, and the selectors still decide which rows."""

import pytest
from django.contrib.auth.models import Group, Permission
from django_tenants.utils import schema_context

from core.accounts import roles, services
from core.accounts.models import Role, User
from core.catalog.models import Product
from core.exceptions import DomainError
from core.testing.factories import TEST_PASSWORD, DealerFactory, ProductFactory, UserFactory
from tenants.services import template_schema_name


def _staff(username="clerk"):
    return services.create_user(username=username, password=TEST_PASSWORD, role=Role.STAFF)


def _perms(group_name):
    return {
        f"{label}.{codename}"
        for label, codename in Group.objects.get(name=group_name).permissions.values_list(
            "content_type__app_label", "codename"
        )
    }


def test_the_template_schema_carries_the_role_groups(db):
    """New tenants are clones of the template, so they start with the groups."""
    with schema_context(template_schema_name()):
        assert set(Group.objects.values_list("name", flat=True)) >= set(roles.GROUP_NAMES.values())
        staff = _perms("staff")
        admin = _perms("tenant_admin")
        rep = _perms("sales_rep")
    assert {
        "catalog.view_product",
        "catalog.change_product",
        "pricing.change_pricelist",
        "inventory.change_stock",
        "orders.view_order",
        "accounts.change_dealer",
        "imports.add_importjob",
        "pharma.change_batch",
    } <= staff
    assert not {p for p in staff if p.startswith("catalog.delete_")}
    assert (
        not {
            "accounts.view_user",
            "accounts.change_user",
            "accounts.view_apikey",
            "accounts.add_apikey",
            "auth.view_group",
            "auth.change_group",
        }
        & staff
    )
    assert {
        "accounts.view_user",
        "accounts.add_apikey",
        "auth.change_group",
        "catalog.delete_product",
        "autoparts.delete_vehicle",
    } <= admin
    assert rep == {
        "accounts.view_dealer",
        "accounts.view_dealeraddress",
        "accounts.view_dealercontact",
    }


def test_the_table_decides_the_permissions(tenant_db):
    """The groups hold exactly what ROLE_PERMISSIONS grants: a permission given
    by hand to a role group is taken away again, a missing one given."""
    group = roles.role_group(Role.STAFF)
    group.permissions.remove(Permission.objects.get(codename="change_product"))
    group.permissions.add(Permission.objects.get(codename="view_apikey"))
    roles.sync_role_groups()
    assert "catalog.change_product" in _perms("staff")
    assert "accounts.view_apikey" not in _perms("staff")


def test_users_get_their_role_group_and_console_flags(tenant_db):
    staff = _staff()
    rep = services.create_user(username="rep", password=TEST_PASSWORD, role=Role.SALES_REP)
    buyer = services.create_user(
        username="buyer", password=TEST_PASSWORD, role=Role.DEALER_BUYER, dealer=DealerFactory()
    )
    assert list(staff.groups.values_list("name", flat=True)) == ["staff"]
    assert list(rep.groups.values_list("name", flat=True)) == ["sales_rep"]
    assert not buyer.groups.exists()
    assert staff.is_staff and rep.is_staff and not buyer.is_staff
    assert not staff.is_superuser
    staff = User.objects.get(pk=staff.pk)  # a fresh permission cache
    assert staff.has_perm("catalog.change_product") and not staff.has_perm("accounts.view_user")


def test_changing_the_role_moves_the_user_between_groups(tenant_db):
    user = _staff()
    own = Group.objects.create(name="Price approvers")
    user.groups.add(own)
    services.set_role(user, role=Role.SALES_REP)
    assert set(user.groups.values_list("name", flat=True)) == {"sales_rep", "Price approvers"}
    dealer = DealerFactory()
    services.set_role(user, role=Role.DEALER_BUYER, dealer=dealer)
    user.refresh_from_db()
    assert set(user.groups.values_list("name", flat=True)) == {"Price approvers"}
    assert not user.is_staff and user.dealer_id == dealer.pk
    services.set_role(user, role=Role.TENANT_ADMIN)
    user.refresh_from_db()
    assert user.is_staff and user.is_superuser and user.dealer_id is None
    assert set(user.groups.values_list("name", flat=True)) == {"tenant_admin", "Price approvers"}


def test_bad_roles_are_refused_and_change_nothing(tenant_db):
    user = _staff()
    with pytest.raises(DomainError) as exc:
        services.set_role(user, role="owner")
    assert exc.value.code == "INVALID" and exc.value.field == "role"
    with pytest.raises(DomainError) as exc:
        services.set_role(user, role=Role.DEALER_ADMIN)  # a dealer role needs a dealer
    assert exc.value.code == "REQUIRED" and exc.value.field == "dealer"
    user = User.objects.get(pk=user.pk)
    assert user.role == Role.STAFF and list(user.groups.values_list("name", flat=True)) == ["staff"]


def test_missing_groups_are_made_on_first_use(tenant_db):
    """A schema emptied by hand (or older than the groups) gets them back."""
    Group.objects.filter(name__in=roles.GROUP_NAMES.values()).delete()
    user = _staff()
    assert list(user.groups.values_list("name", flat=True)) == ["staff"]
    assert "catalog.change_product" in _perms("staff")
    assert Group.objects.filter(name__in=roles.GROUP_NAMES.values()).count() == 3


def _change_product(client, product, name):
    page = client.get(f"/admin/catalog/product/{product.pk}/change/")
    assert page.status_code == 200
    return client.post(
        f"/admin/catalog/product/{product.pk}/change/",
        {
            "code": product.code,
            "name": name,
            "status": product.status,
            "tax_rate": str(product.tax_rate),
            "attributes": "{}",
            "description": "",
            "skus-TOTAL_FORMS": "0",
            "skus-INITIAL_FORMS": "0",
            "images-TOTAL_FORMS": "0",
            "images-INITIAL_FORMS": "0",
        },
    )


@pytest.mark.parametrize("which", ["tenant", "other_tenant"])
def test_staff_change_a_product_but_not_users_or_api_keys(
    which, tenant, other_tenant, in_tenant, tenant_client, other_tenant_client
):
    """In each of two tenants, a staff user (not an admin) works in the console."""
    tenant, client = {
        "tenant": (tenant, tenant_client),
        "other_tenant": (other_tenant, other_tenant_client),
    }[which]
    with in_tenant(tenant):
        product = ProductFactory(name="Old name")
        client.force_login(_staff(f"clerk-{which}"))
    index = client.get("/admin/")
    assert index.status_code == 200
    assert b"/admin/catalog/product/" in index.content
    assert b"/admin/accounts/user/" not in index.content
    assert b"/admin/accounts/apikey/" not in index.content
    response = _change_product(client, product, "New name")
    assert response.status_code == 302
    with in_tenant(tenant):
        assert Product.objects.get(pk=product.pk).name == "New name"
    for url in (
        "/admin/accounts/user/",
        "/admin/accounts/user/add/",
        "/admin/accounts/apikey/",
        "/admin/accounts/apikey/add/",
        "/admin/auth/group/",
    ):
        assert client.get(url).status_code == 403, url
    assert client.get(f"/admin/catalog/product/{product.pk}/delete/").status_code == 403
    assert client.get("/admin/accounts/dealer/").status_code == 200


def test_one_tenants_staff_see_only_their_tenants_products(
    tenant, other_tenant, in_tenant, tenant_client
):
    with in_tenant(other_tenant):
        ProductFactory(code="BETA-ONLY")
    with in_tenant(tenant):
        ProductFactory(code="ALPHA-ONLY")
        tenant_client.force_login(_staff())
    page = tenant_client.get("/admin/catalog/product/")
    assert b"ALPHA-ONLY" in page.content and b"BETA-ONLY" not in page.content


def test_sales_reps_see_the_dealers_they_cover_and_nothing_else(tenant_db, tenant_client):
    rep = services.create_user(username="rep", password=TEST_PASSWORD, role=Role.SALES_REP)
    covered = services.create_dealer(code="COVERED", name="Covered", sales_reps=[rep])
    services.create_dealer(code="SHOP-BELOW", name="Shop below", parent=covered)
    other = services.create_dealer(code="NOT-MINE", name="Not mine")
    tenant_client.force_login(rep)
    page = tenant_client.get("/admin/accounts/dealer/")
    assert page.status_code == 200
    assert b"COVERED" in page.content and b"SHOP-BELOW" in page.content
    assert b"NOT-MINE" not in page.content
    # Another dealer's page is out of the rep's rows: the console says it does not exist.
    assert tenant_client.get(f"/admin/accounts/dealer/{other.pk}/change/").status_code == 302
    assert tenant_client.get(f"/admin/accounts/dealer/{covered.pk}/change/").status_code == 200
    # View only, and nothing else: no edits, no catalogue, no users, no orders.
    response = tenant_client.post(
        f"/admin/accounts/dealer/{covered.pk}/change/", {"name": "Renamed"}
    )
    assert response.status_code == 403
    for url in ("/admin/catalog/product/", "/admin/accounts/user/", "/admin/orders/order/"):
        assert tenant_client.get(url).status_code == 403, url


def test_the_console_user_form_sets_the_role_group(tenant_db, tenant_client):
    admin = UserFactory(role=Role.TENANT_ADMIN, is_staff=True, is_superuser=True)
    user = _staff()
    tenant_client.force_login(admin)
    response = tenant_client.post(
        f"/admin/accounts/user/{user.pk}/change/",
        {
            "username": user.username,
            "first_name": "",
            "last_name": "",
            "email": "",
            "is_active": "on",
            "groups": [],
            "user_permissions": [],
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
            "role": Role.SALES_REP,
            "dealer": "",
            "phone": "",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    user = User.objects.get(pk=user.pk)
    assert user.role == Role.SALES_REP and user.is_staff and not user.is_superuser
    assert list(user.groups.values_list("name", flat=True)) == ["sales_rep"]
