"""pytest fixtures for Dinghuo and for plugin vendors' test suites.

Enable with ``pytest_plugins = ["core.testing.pytest_plugin"]``.

* ``tenant`` and ``other_tenant``: two tenants (schemas cloned from the
  template), created once per test run.
* ``in_tenant``: switch the test's database connection into a tenant's schema.
* ``tenant_client`` / ``other_tenant_client``: Django test clients bound to
  each tenant's host; ``gql(client, query, variables, token=...)`` posts GraphQL.
* ``count_queries`` (from :mod:`core.testing.queries`) and pytest-django's
  ``django_assert_max_num_queries`` count SQL statements.
"""

from __future__ import annotations

import json
from contextlib import contextmanager

import pytest
from django.db import connection
from django.test import Client

from core.testing.queries import count_queries  # noqa: F401 - re-exported for tests

TENANT_SUBDOMAIN = "alpha"
OTHER_TENANT_SUBDOMAIN = "beta"


def pytest_sessionfinish(session, exitstatus):
    import os

    from config import embedded_pg

    if not os.environ.get("DATABASE_URL") and embedded_pg.started_here:
        embedded_pg.stop()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The test database, with the tenant template schema migrated once."""
    from django.conf import settings

    from tenants.services import ensure_public_tenant, ensure_template_schema

    settings.STATIC_ROOT.mkdir(parents=True, exist_ok=True)
    with django_db_blocker.unblock():
        ensure_public_tenant()
        ensure_template_schema(force=True)
    yield


def _provision(subdomain: str, name: str, modules=()):
    from tenants.models import Tenant
    from tenants.services import provision_tenant

    existing = Tenant.objects.filter(schema_name=subdomain).first()
    if existing:
        return existing
    return provision_tenant(name=name, subdomain=subdomain, modules=list(modules))


@pytest.fixture(scope="session")
def tenant(django_db_setup, django_db_blocker):
    """A tenant that lives for the whole run; each test's data is rolled back."""
    with django_db_blocker.unblock():
        return _provision(TENANT_SUBDOMAIN, "Alpha Brand")


@pytest.fixture(scope="session")
def other_tenant(django_db_setup, django_db_blocker):
    """A second tenant, for isolation tests."""
    with django_db_blocker.unblock():
        return _provision(OTHER_TENANT_SUBDOMAIN, "Beta Brand")


@contextmanager
def _schema_of(tenant_obj):
    previous = connection.tenant
    connection.set_tenant(tenant_obj)
    try:
        yield tenant_obj
    finally:
        connection.set_tenant(previous)


@pytest.fixture
def in_tenant(db):
    """``with in_tenant(tenant): ...`` runs ORM code in that tenant's schema."""
    yield _schema_of
    connection.set_schema_to_public()


@pytest.fixture
def tenant_db(db, tenant):
    """The test's connection switched into ``tenant``'s schema for the whole test."""
    connection.set_tenant(tenant)
    yield tenant
    connection.set_schema_to_public()


def host_of(tenant_obj) -> str:
    return tenant_obj.get_primary_domain().domain


@pytest.fixture
def tenant_client(tenant):
    return Client(HTTP_HOST=host_of(tenant))


@pytest.fixture
def other_tenant_client(other_tenant):
    return Client(HTTP_HOST=host_of(other_tenant))


def gql(client: Client, query: str, variables: dict | None = None, *, token: str | None = None,
        api_key: str | None = None, operation_name: str | None = None):
    """POST a GraphQL operation; returns ``(status_code, body)``.

    The connection's schema is restored afterwards, so assertions can keep
    using the ORM in the schema the test was in.
    """
    headers = {}
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    if api_key:
        headers["HTTP_AUTHORIZATION"] = f"ApiKey {api_key}"
    previous = connection.tenant if hasattr(connection, "tenant") else None
    payload = {"query": query, "variables": variables or {}}
    if operation_name:
        payload["operationName"] = operation_name
    response = client.post("/graphql/", json.dumps(payload), content_type="application/json", **headers)
    if previous is not None:
        connection.set_tenant(previous)
    return response.status_code, response.json()


@pytest.fixture
def graphql():
    return gql


def token_for(user) -> str:
    """A login token for ``user``, issued in the current schema."""
    from core.accounts.services import issue_token

    return issue_token(user).token
