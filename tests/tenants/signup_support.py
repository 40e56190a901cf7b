"""Helpers shared by the signup, billing and browser tests."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client

from tenants.models import Tenant
from tenants.services import delete_tenant

GOOD_PASSWORD = "Blue-Lantern-2931"


def good_form(**overrides) -> dict:
    data = {
        "company_name": "Acme Pharma 阿克米",
        "subdomain": "acme-signup",
        "admin_name": "Li Lei",
        "email": "li.lei@acme.test",
        "password": GOOD_PASSWORD,
        "plan": "trial",
        "modules": ["pharma"],
        "terms": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def public_client(language: str = "en") -> Client:
    return Client(HTTP_HOST="localhost", HTTP_ACCEPT_LANGUAGE=language)


def drop_tenants(*schemas: str) -> None:
    connection.set_schema_to_public()
    for schema in schemas:
        tenant = Tenant.objects.filter(schema_name=schema).first()
        if tenant is not None:
            delete_tenant(tenant, confirm=schema)


def require_test_database() -> None:
    """Refuse to run against the development database. pytest-django creates
    the test database only when the run selects at least one django_db test;
    committed-access fixtures would otherwise write to the real one."""
    db = connection.settings_dict
    if db["NAME"] != db.get("TEST", {}).get("NAME"):
        pytest.fail(
            "The test database is not set up: select at least one django_db test in this run."
        )


@pytest.fixture(name="made_tenants")
def made_tenants_fixture(django_db_blocker, django_db_setup):
    """Committed database access (provisioning is DDL) for tests that create
    tenants; every schema named in the yielded list is dropped afterwards."""
    made: list[str] = []
    require_test_database()
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        try:
            yield made
        finally:
            drop_tenants(*made)
