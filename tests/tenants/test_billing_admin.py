"""The platform admin on the public host: tenants with plan, status and usage;
suspend, resume, delete with confirmation. The tenant console never shows it."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_exists

from core.accounts.models import User
from core.testing.factories import DealerFactory
from tenants.models import Plan, Subscription, Tenant, TenantStatus
from tenants.services import provision_tenant

from .signup_support import made_tenants_fixture  # noqa: F401

CHANGELIST = "/admin/tenants/tenant/"


def operator_client() -> Client:
    connection.set_schema_to_public()  # operators are public-schema users
    operator, _ = User.objects.get_or_create(
        username="operator",
        defaults={"is_staff": True, "is_superuser": True, "email": "ops@dinghuo.test"},
    )
    client = Client(HTTP_HOST="localhost", HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(operator)
    return client


@pytest.mark.django_db
def test_tenant_list_shows_plan_status_and_usage(tenant, in_tenant):
    Subscription.objects.create(tenant=tenant, plan=Plan.objects.get(code="trial"))
    with in_tenant(tenant):
        DealerFactory.create_batch(3)
    response = operator_client().get(CHANGELIST)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Alpha Brand" in page and "alpha.localhost" in page and "Free trial" in page
    assert "dealers 3/20" in page and "Trial" in page
    assert "none (unlimited)" in page  # beta has no subscription


@pytest.mark.django_db
def test_suspend_and_resume_actions(tenant):
    client = operator_client()
    client.post(CHANGELIST, {"action": "suspend_selected", ACTION_CHECKBOX_NAME: [tenant.pk]})
    tenant.refresh_from_db()
    assert tenant.status == TenantStatus.SUSPENDED and tenant.suspended_at
    assert Client(HTTP_HOST="alpha.localhost").get("/health/").status_code == 403
    client.post(CHANGELIST, {"action": "resume_selected", ACTION_CHECKBOX_NAME: [tenant.pk]})
    tenant.refresh_from_db()
    assert tenant.status == TenantStatus.ACTIVE and tenant.suspended_at is None


@pytest.mark.django_db
def test_the_public_tenant_cannot_be_suspended():
    public = Tenant.objects.get(schema_name="public")
    response = operator_client().post(
        CHANGELIST, {"action": "suspend_selected", ACTION_CHECKBOX_NAME: [public.pk]}, follow=True
    )
    assert b"cannot be suspended" in response.content
    public.refresh_from_db()
    assert public.status == TenantStatus.ACTIVE


def test_delete_needs_the_schema_name_typed(made_tenants):
    victim = provision_tenant(name="Doomed", subdomain="doomed")
    made_tenants.append("doomed")
    client = operator_client()
    ask = client.post(
        CHANGELIST, {"action": "delete_with_confirmation", ACTION_CHECKBOX_NAME: [victim.pk]}
    )
    assert ask.status_code == 200 and b"Type each tenant" in ask.content
    assert Tenant.objects.filter(pk=victim.pk).exists()
    wrong = client.post(
        CHANGELIST,
        {
            "action": "delete_with_confirmation",
            ACTION_CHECKBOX_NAME: [victim.pk],
            "confirmed": "yes",
            f"confirm_{victim.pk}": "doomd",
        },
    )
    assert b"to confirm deletion" in wrong.content
    assert schema_exists("doomed")
    client.post(
        CHANGELIST,
        {
            "action": "delete_with_confirmation",
            ACTION_CHECKBOX_NAME: [victim.pk],
            "confirmed": "yes",
            f"confirm_{victim.pk}": "doomed",
        },
    )
    assert not Tenant.objects.filter(pk=victim.pk).exists()
    assert not schema_exists("doomed")
    with connection.cursor() as cursor:  # the ORM's cascade would visit tenant-only tables
        cursor.execute("DELETE FROM public.accounts_user WHERE username = 'operator'")


@pytest.mark.django_db
def test_plain_delete_is_not_offered(tenant):
    client = operator_client()
    assert client.get(f"{CHANGELIST}{tenant.pk}/delete/").status_code == 403
    assert b"delete_selected" not in client.get(CHANGELIST).content


@pytest.mark.django_db
def test_tenant_console_does_not_expose_the_platform_admin(tenant, in_tenant):
    with in_tenant(tenant):
        admin = User.objects.create_user(
            username="boss", password="x", is_staff=True, is_superuser=True
        )
        client = Client(HTTP_HOST="alpha.localhost")
        client.force_login(admin)
    assert client.get("/admin/tenants/tenant/").status_code == 404
    assert client.get("/admin/tenants/plan/").status_code == 404
    index = client.get("/admin/")
    assert index.status_code == 200 and b'href="/billing/"' in index.content
