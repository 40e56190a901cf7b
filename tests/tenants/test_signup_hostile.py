"""Hostile input to the signup portal over HTTP: a message on its field, status 400,
no tenant and no schema."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_exists

from tenants.models import Tenant

from .signup_support import good_form, made_tenants_fixture, public_client  # noqa: F401

db = pytest.mark.django_db

LONG_EMAIL = "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + ".com"  # 196 characters, valid


def post_json(data: dict):
    return public_client().post("/signup/", data, HTTP_ACCEPT="application/json")


@db
@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"company_name": "Acme\x00"}, "company_name"),
        ({"company_name": "   "}, "company_name"),
        ({"company_name": "C" * 201}, "company_name"),
        ({"subdomain": "acme\x00"}, "subdomain"),
        ({"subdomain": "-acme"}, "subdomain"),
        ({"subdomain": "a" * 64}, "subdomain"),
        ({"subdomain": "acme_signup"}, "subdomain"),
        ({"admin_name": "Li\x00"}, "admin_name"),
        ({"admin_name": "L" * 151}, "admin_name"),
        ({"email": "li\x00@acme.test"}, "email"),
        ({"password": "Blue-Lantern\x00-2931"}, "password"),
        ({"plan": "trial\x00"}, "plan"),
        ({"plan": ""}, "plan"),
        ({"modules": ["pharma\x00"]}, "modules"),
        ({"modules": ["pharma"] * 900 + ["x"]}, "modules"),
    ],
)
def test_hostile_fields_are_refused_on_their_field(tenant, override, field):
    before = Tenant.objects.count()
    response = post_json(good_form(**override))
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert errors.get(field), errors
    assert Tenant.objects.count() == before
    assert not schema_exists("acme_signup")


@db
def test_the_check_endpoint_with_hostile_input(tenant):
    client = public_client()
    for params in (
        {"subdomain": "a\x00b"},
        {"subdomain": "x" * 10_000},
        {"fields": "subdomain," * 1000},
        {"fields": "__class__,errors"},
        {"email": "\x00"},
    ):
        response = client.get("/signup/check/", params)
        assert response.status_code == 200, params
        assert isinstance(response.json()["errors"], dict)


def test_an_email_longer_than_a_user_name_is_refused_on_email(made_tenants, tenant):
    response = post_json(good_form(email=LONG_EMAIL))
    made_tenants.append("acme_signup")
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert errors.get("email"), errors
    assert not Tenant.objects.filter(schema_name="acme_signup").exists()
    assert not schema_exists("acme_signup")
