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


@pytest.fixture(name="made_tenants")
def made_tenants_fixture(django_db_blocker, django_db_setup):
    """Committed database access (provisioning is DDL) for tests that create
    tenants; every schema named in the yielded list is dropped afterwards."""
    made: list[str] = []
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        try:
            yield made
        finally:
            drop_tenants(*made)
