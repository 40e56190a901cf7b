"""Provisioning, routing, suspension and deletion of tenants."""

import threading

import pytest
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context, schema_exists

from core.accounts.models import Role, User
from tenants.models import Domain, Tenant, TenantStatus
from tenants.services import (
    AdminUser,
    ConfirmationRequired,
    ProvisioningError,
    delete_tenant,
    provision_tenant,
    resume_tenant,
    suspend_tenant,
)


@pytest.fixture
def committed(django_db_blocker, django_db_setup):
    """Tests that provision tenants commit (DDL), and clean up after themselves."""
    made = []
    with django_db_blocker.unblock():
        yield made
        for schema in made:
            t = Tenant.objects.filter(schema_name=schema).first()
            if t:
                delete_tenant(t, confirm=schema)


def test_provision_clones_template_with_admin(committed):
    tenant = provision_tenant(
        name="Acme",
        subdomain="acme-x",
        admin=AdminUser(email="Boss@Acme.test", password="Very-Secret-42"),
        modules=["pharma"],
    )
    committed.append(tenant.schema_name)
    assert tenant.schema_name == "acme_x"
    assert schema_exists("acme_x")
    assert Domain.objects.get(tenant=tenant).domain == "acme-x.localhost"
    with schema_context("acme_x"):
        admin = User.objects.get()
        assert admin.email == "boss@acme.test" and admin.role == Role.TENANT_ADMIN
        assert admin.check_password("Very-Secret-42")
        # The clone carries the template's migration records: nothing left to apply.
        from django.db.migrations.executor import MigrationExecutor

        executor = MigrationExecutor(connection)
        assert executor.migration_plan(executor.loader.graph.leaf_nodes()) == []


@pytest.mark.parametrize(
    ("subdomain", "code"),
    [
        ("a", "INVALID"),
        ("Has_Under", "INVALID"),
        ("www", "RESERVED"),
        ("admin", "RESERVED"),
        ("public", "RESERVED"),
        ("-lead", "INVALID"),
        ("double--dash", "INVALID"),
    ],
)
def test_bad_subdomains_create_nothing(committed, subdomain, code):
    before = Tenant.objects.count()
    with pytest.raises(ProvisioningError) as err:
        provision_tenant(name="X", subdomain=subdomain)
    assert err.value.code == code and err.value.field == "subdomain"
    assert Tenant.objects.count() == before


def test_failed_provisioning_rolls_back_and_can_be_retried(committed):
    from core.exceptions import DomainError

    with pytest.raises(DomainError) as err:
        provision_tenant(
            name="Weak", subdomain="weakpw", admin=AdminUser(email="a@b.test", password="123")
        )
    assert err.value.code == "PASSWORD_TOO_WEAK"
    assert not Tenant.objects.filter(schema_name="weakpw").exists()
    assert not schema_exists("weakpw")
    tenant = provision_tenant(
        name="Weak",
        subdomain="weakpw",
        admin=AdminUser(email="a@b.test", password="Much-Better-91"),
    )
    committed.append(tenant.schema_name)
    assert schema_exists("weakpw")


def test_taken_subdomain(committed, tenant):
    with pytest.raises(ProvisioningError) as err:
        provision_tenant(name="Again", subdomain="alpha")
    assert err.value.code == "TAKEN"


def test_two_concurrent_provisionings_of_one_subdomain_make_one_tenant(committed):
    results, barrier = [], threading.Barrier(2)

    def attempt():
        from django.db import connections

        try:
            barrier.wait()
            results.append(provision_tenant(name="Race", subdomain="racer").schema_name)
        except ProvisioningError as exc:
            results.append(exc.code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    committed.append("racer")
    assert sorted(results) == ["TAKEN", "racer"]
    assert Tenant.objects.filter(schema_name="racer").count() == 1


def test_unknown_host_is_a_404_page(db):
    response = Client(HTTP_HOST="nobody.localhost").get("/graphql/")
    assert response.status_code == 404
    assert b"Traceback" not in response.content


def test_suspended_tenant_is_refused_everywhere(committed):
    tenant = provision_tenant(name="Sleepy", subdomain="sleepy")
    committed.append(tenant.schema_name)
    client = Client(HTTP_HOST="sleepy.localhost")
    assert client.get("/health/").status_code == 200
    suspend_tenant(tenant)
    for path in ("/graphql/", "/admin/", "/health/"):
        response = client.post(path, "{}", content_type="application/json")
        assert response.status_code == 403, path
    body = client.post(
        "/graphql/", '{"query":"{ me { username } }"}', content_type="application/json"
    ).json()
    assert body["errors"][0]["extensions"]["code"] == "TENANT_SUSPENDED"
    resume_tenant(tenant)
    assert client.get("/health/").status_code == 200
    assert Tenant.objects.get(pk=tenant.pk).status == TenantStatus.ACTIVE


def test_delete_needs_confirmation(committed):
    tenant = provision_tenant(name="Gone", subdomain="goner")
    committed.append(tenant.schema_name)
    with pytest.raises(ConfirmationRequired):
        delete_tenant(tenant, confirm="yes")
    assert schema_exists("goner")
    delete_tenant(tenant, confirm="goner")
    assert not schema_exists("goner")
    assert not Tenant.objects.filter(schema_name="goner").exists()
