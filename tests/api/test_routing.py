"""Tenant routing (tenants.middleware.TenantRoutingMiddleware): one statement finds the
host's tenant and sets the search_path; nothing is cached, so a suspension, a domain
change or a deleted domain takes effect on the very next request."""

from django.db import connection
from django.test import Client

from core.accounts.models import Role
from core.testing.factories import UserFactory
from core.testing.pytest_plugin import gql, host_of, token_for
from core.testing.queries import count_queries
from tenants.models import Domain, Tenant, TenantStatus

TYPENAME = "{ __typename }"


def test_routing_is_one_statement_and_lands_in_the_tenants_schema(tenant_db, tenant_client):
    staff = UserFactory(role=Role.STAFF, username="router-staff")
    token = token_for(staff)
    connection.set_schema_to_public()  # as a fresh request would find the connection
    with count_queries() as q:
        status, body = gql(tenant_client, "{ me { username } }", token=token)
    assert status == 200 and body["data"]["me"]["username"] == "router-staff"
    assert q.count == 2, str(q)  # routing, then the user read from the tenant's schema
    assert "set_config('search_path'" in q.statements[0]


def test_a_suspension_made_behind_the_orms_back_applies_to_the_next_request(
    db, tenant, tenant_client
):
    assert gql(tenant_client, TYPENAME)[0] == 200
    Tenant.objects.filter(pk=tenant.pk).update(status=TenantStatus.SUSPENDED)  # no signal
    status, body = gql(tenant_client, TYPENAME)
    assert status == 403 and body["errors"][0]["extensions"]["code"] == "TENANT_SUSPENDED"
    Tenant.objects.filter(pk=tenant.pk).update(status=TenantStatus.ACTIVE)
    assert gql(tenant_client, TYPENAME)[0] == 200


def test_a_domain_change_and_an_unknown_host(db, tenant, other_tenant):
    old = host_of(tenant)
    assert (
        Client(HTTP_HOST=old)
        .post("/graphql/", '{"query":"{ __typename }"}', content_type="application/json")
        .status_code
        == 200
    )
    Domain.objects.filter(domain=old).update(domain="renamed.localhost")
    assert Client(HTTP_HOST=old).get("/graphql/").status_code == 404
    status, _body = gql(Client(HTTP_HOST="renamed.localhost"), TYPENAME)
    assert status == 200
    assert Client(HTTP_HOST="nobody.localhost").get("/graphql/").status_code == 404
    # The connection left by a 404 is on the public schema, and the next host routes normally.
    assert gql(Client(HTTP_HOST=host_of(other_tenant)), TYPENAME)[0] == 200


def test_each_host_reads_its_own_tenants_data(tenant, other_tenant, in_tenant):
    with in_tenant(tenant):
        a = token_for(UserFactory(role=Role.STAFF, username="alpha-staff"))
    with in_tenant(other_tenant):
        b = token_for(UserFactory(role=Role.STAFF, username="beta-staff"))
    alpha, beta = Client(HTTP_HOST=host_of(tenant)), Client(HTTP_HOST=host_of(other_tenant))
    for _ in range(2):  # alternate on the same connection
        assert (
            gql(alpha, "{ me { username } }", token=a)[1]["data"]["me"]["username"] == "alpha-staff"
        )
        assert (
            gql(beta, "{ me { username } }", token=b)[1]["data"]["me"]["username"] == "beta-staff"
        )
    status, body = gql(beta, "{ me { username } }", token=a)  # alpha's token on beta's host
    assert status == 401


def test_the_routed_tenant_is_the_orms_tenant(db, tenant):
    """Built from the routing row with every field's converters: ``modules`` (JSON) is a
    list, dates are datetimes, exactly as ``Tenant.objects.get`` gives them."""
    from tenants.middleware import tenant_for_host

    Tenant.objects.filter(pk=tenant.pk).update(modules=["food", "pharma"])
    routed = tenant_for_host(host_of(tenant))
    fresh = Tenant.objects.get(pk=tenant.pk)
    assert routed.modules == ["food", "pharma"]
    for field in Tenant._meta.concrete_fields:
        assert getattr(routed, field.attname) == getattr(fresh, field.attname), field.name
    assert tenant_for_host("nobody.localhost") is None
