"""The signup portal through HTTP: landing page, as-you-type checks, a good
signup landing in the tenant console, bad input creating nothing, the login
hand-over, and two signups racing for one subdomain."""

from __future__ import annotations

import re
import threading

import pytest
from django.core import signing
from django.db import connection, connections
from django.test import Client, override_settings
from django_tenants.utils import schema_context, schema_exists

from core.accounts.models import Role, User
from tenants.models import Subscription, SubscriptionStatus, Tenant, TenantStatus
from tenants.portal.signup import HANDOFF_SALT

from .signup_support import GOOD_PASSWORD, good_form, made_tenants_fixture, public_client  # noqa: F401

db = pytest.mark.django_db


def radio_disabled(html: str, plan: str) -> bool:
    match = re.search(rf'<input type="radio" name="plan" value="{plan}"[^>]*>', html)
    assert match, plan
    return "disabled" in match.group(0)


def post_json(client: Client, data: dict):
    return client.post("/signup/", data, HTTP_ACCEPT="application/json")


# --- the landing page -------------------------------------------------------------
@db
def test_landing_shows_plans_and_form_in_english_and_chinese():
    en = public_client("en").get("/")
    assert en.status_code == 200
    text = en.content.decode()
    for phrase in (
        "Free trial",
        "Basic",
        "Pro",
        "Company name",
        "Create my site",
        'name="subdomain"',
    ):
        assert phrase in text
    assert 'name="viewport"' in text
    zh = public_client("zh-hans").get("/").content.decode()
    assert "免费试用" in zh and "公司名称" in zh and 'lang="zh-hans"' in zh


@db
@override_settings(STRIPE_SECRET_KEY="", STRIPE_WEBHOOK_SECRET="")
def test_without_stripe_only_the_trial_is_offered_and_the_page_says_so():
    text = public_client("en").get("/").content.decode()
    assert 'id="billing-notice"' in text
    assert "only the free trial can be chosen" in text
    assert radio_disabled(text, "basic") and radio_disabled(text, "pro")
    assert not radio_disabled(text, "trial")


@db
@override_settings(STRIPE_SECRET_KEY="sk_test_x", STRIPE_WEBHOOK_SECRET="whsec_x")
def test_with_stripe_a_paid_plan_with_a_price_is_offered():
    from tenants.models import Plan

    Plan.objects.filter(code="basic").update(stripe_price_id="price_basic")
    text = public_client("en").get("/").content.decode()
    assert 'id="billing-notice"' not in text
    assert not radio_disabled(text, "basic")
    assert radio_disabled(text, "pro")  # no Stripe price: not sellable


@db
def test_language_switch_sets_the_language():
    client = public_client("en")
    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert response.status_code == 302
    assert "免费试用" in client.get("/").content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert "Free trial" in client.get("/").content.decode()


# --- as you type ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("subdomain", "message"),
    [
        ("a", "Use 3 to 32 lowercase letters"),
        ("Bad_Name", "Use 3 to 32 lowercase letters"),
        ("www", "This name is reserved."),
        ("admin", "This name is reserved."),
        ("api", "This name is reserved."),
        ("alpha", "This name is already taken."),
        ("", "Choose the address of your ordering site."),
    ],
)
@db
def test_check_subdomain(tenant, subdomain, message):
    body = public_client().get("/signup/check/", {"subdomain": subdomain}).json()
    assert message in " ".join(body["errors"]["subdomain"])


@db
def test_check_accepts_a_free_subdomain():
    assert public_client().get("/signup/check/", {"subdomain": "fresh-name"}).json() == {
        "errors": {"subdomain": []}
    }


@db
def test_check_in_chinese():
    body = public_client("zh-hans").get("/signup/check/", {"subdomain": "www"}).json()
    assert body["errors"]["subdomain"] == ["该名称为保留名称。"]


@db
def test_check_only_the_fields_asked_and_password_against_email():
    client = public_client()
    body = client.post(
        "/signup/check/",
        {
            "fields": "email,password",
            "email": "not-an-email",
            "password": "12345678",
            "subdomain": "www",
        },
    ).json()
    assert set(body["errors"]) == {"email", "password"}
    assert "valid email" in body["errors"]["email"][0]
    assert any("entirely numeric" in m or "too common" in m for m in body["errors"]["password"])
    similar = client.post(
        "/signup/check/",
        {"fields": "password", "email": "zhangwei@acme.test", "password": "zhangwei@acme"},
    ).json()
    assert any("too similar" in m for m in similar["errors"]["password"])


@db
def test_check_never_reads_a_password_from_the_url():
    body = public_client().get("/signup/check/", {"password": "1"}).json()
    assert body == {"errors": {}}


# --- submitting ---------------------------------------------------------------------
BAD_INPUTS = [
    ({"company_name": ""}, "company_name", "Enter your company name."),
    ({"subdomain": "x"}, "subdomain", "Use 3 to 32 lowercase letters"),
    ({"subdomain": "www"}, "subdomain", "This name is reserved."),
    ({"subdomain": "alpha"}, "subdomain", "This name is already taken."),
    ({"admin_name": ""}, "admin_name", "Enter your name."),
    ({"email": "nobody@"}, "email", "Enter a valid email address"),
    ({"password": "password"}, "password", "This password is too common."),
    ({"password": "short1"}, "password", "This password is too short."),
    ({"terms": None}, "terms", "Accept the terms of service to continue."),
    ({"modules": ["pharma", "food"]}, "modules", "allows at most 1 industry modules"),
    ({"modules": ["astrology"]}, "modules", "Unknown module"),
    ({"plan": "basic"}, "plan", "Paid plans are not available yet"),
    ({"plan": "platinum"}, "plan", "Choose one of the plans offered."),
]


@db
@pytest.mark.parametrize(("override", "field", "message"), BAD_INPUTS)
def test_bad_input_is_reported_on_its_field_and_creates_nothing(tenant, override, field, message):
    before = Tenant.objects.count()
    response = post_json(public_client(), good_form(**override))
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert message in " ".join(errors[field])
    assert Tenant.objects.count() == before
    assert not schema_exists("acme_signup")


@db
def test_bad_input_without_javascript_renders_the_message_beside_the_field():
    response = public_client().post("/signup/", good_form(email="nope"))
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="error-email" aria-live="polite">Enter a valid email address' in html
    assert 'value="Acme Pharma 阿克米"' in html  # what was typed is kept
    assert GOOD_PASSWORD not in html or 'type="password"' in html


@db
def test_chinese_messages_on_submit():
    response = post_json(public_client("zh-hans"), good_form(terms=None, email="bad"))
    errors = response.json()["errors"]
    assert errors["terms"] == ["请接受服务条款以继续。"]
    assert errors["email"] == ["请输入有效的电子邮件地址，例如 name@company.com。"]


def test_good_signup_provisions_and_lands_in_the_console(made_tenants, tenant):
    response = post_json(public_client(), good_form(modules=["pharma"]))
    made_tenants.append("acme_signup")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["ok"] is True
    assert body["redirect"].startswith("http://acme-signup.localhost/login/handoff/?token=")
    tenant = Tenant.objects.get(schema_name="acme_signup")
    assert tenant.name == "Acme Pharma 阿克米" and tenant.status == TenantStatus.TRIAL
    assert tenant.modules == ["pharma"]
    sub = Subscription.objects.get(tenant=tenant)
    assert sub.plan.code == "trial" and sub.status == SubscriptionStatus.TRIALING
    assert sub.billing_email == "li.lei@acme.test" and sub.language == "en"
    assert sub.trial_ends_at is not None
    with schema_context("acme_signup"):
        admin = User.objects.get()
        assert admin.email == "li.lei@acme.test" and admin.role == Role.TENANT_ADMIN
        assert admin.first_name == "Li Lei" and admin.check_password(GOOD_PASSWORD)

    console = Client(HTTP_HOST="acme-signup.localhost", HTTP_ACCEPT_LANGUAGE="en")
    token = body["redirect"].split("token=", 1)[1]
    handoff = console.get("/login/handoff/", {"token": token})
    assert handoff.status_code == 302 and handoff["Location"] == "/admin/"
    page = console.get("/admin/")
    assert page.status_code == 200
    assert b"li.lei@acme.test" in page.content or b"Li Lei" in page.content
    billing = console.get("/billing/")
    assert billing.status_code == 200 and b"Free trial" in billing.content

    # The token is one-time: a second use is refused, in a fresh browser too.
    again = Client(HTTP_HOST="acme-signup.localhost", HTTP_ACCEPT_LANGUAGE="en").get(
        "/login/handoff/", {"token": token}
    )
    assert again.status_code == 400 and b"already been used" in again.content
    # and it only works on its own tenant's host
    foreign = Client(HTTP_HOST="alpha.localhost", HTTP_ACCEPT_LANGUAGE="en").get(
        "/login/handoff/", {"token": token}
    )
    assert foreign.status_code == 400


def test_signup_without_javascript_redirects_to_the_handoff(made_tenants):
    response = public_client().post("/signup/", good_form(subdomain="plain-form"))
    made_tenants.append("plain_form")
    assert response.status_code == 303
    assert response["Location"].startswith("http://plain-form.localhost/login/handoff/?token=")


def test_the_redirect_keeps_the_port_the_portal_was_reached_on(made_tenants):
    client = Client(HTTP_HOST="localhost:8000")
    response = client.post(
        "/signup/", good_form(subdomain="with-port"), HTTP_ACCEPT="application/json"
    )
    made_tenants.append("with_port")
    assert response.json()["redirect"].startswith("http://with-port.localhost:8000/login/handoff/")


@db
def test_expired_or_forged_handoff_token_is_refused(tenant):
    with schema_context("alpha"):
        from core.testing.factories import UserFactory

        user = UserFactory(role=Role.TENANT_ADMIN, is_staff=True)
    payload = signing.dumps(
        {"s": "alpha", "u": user.pk, "l": "", "n": "/admin/"}, salt=HANDOFF_SALT
    )
    client = Client(HTTP_HOST="alpha.localhost", HTTP_ACCEPT_LANGUAGE="en")
    with override_settings(SIGNUP_HANDOFF_MAX_AGE=-1):
        expired = client.get("/login/handoff/", {"token": payload})
    assert expired.status_code == 400 and b"expired" in expired.content
    forged = client.get("/login/handoff/", {"token": payload[:-2] + "xx"})
    assert forged.status_code == 400 and b"not valid" in forged.content
    ok = client.get("/login/handoff/", {"token": payload})
    assert ok.status_code == 302
    connection.set_schema_to_public()


def test_failed_provisioning_rolls_back_and_can_be_retried(made_tenants, monkeypatch):
    import tenants.portal.signup as signup_module

    def broken(**kwargs):
        raise RuntimeError("subscription store down")

    monkeypatch.setattr(signup_module, "start_subscription", broken)
    response = post_json(public_client(), good_form(subdomain="retry-me"))
    assert response.status_code == 400
    assert "Nothing was created" in response.json()["errors"]["__all__"][0]
    assert not Tenant.objects.filter(schema_name="retry_me").exists()
    assert not schema_exists("retry_me")
    monkeypatch.undo()
    response = post_json(public_client(), good_form(subdomain="retry-me"))
    made_tenants.append("retry_me")
    assert response.status_code == 200
    assert Subscription.objects.filter(tenant__schema_name="retry_me").count() == 1


def test_two_signups_racing_for_one_subdomain_make_one_tenant(made_tenants):
    barrier = threading.Barrier(2)
    results: list[tuple[int, dict]] = []

    def attempt(email: str):
        try:
            client = public_client()
            barrier.wait()
            response = post_json(client, good_form(subdomain="racer-web", email=email))
            results.append((response.status_code, response.json()))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=(f"boss{i}@race.test",)) for i in range(2)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    made_tenants.append("racer_web")
    codes = sorted(code for code, _ in results)
    assert codes == [200, 400], results
    loser = next(body for code, body in results if code == 400)
    assert loser["errors"]["subdomain"] == ["This name is already taken."]
    assert Tenant.objects.filter(schema_name="racer_web").count() == 1
    assert Subscription.objects.filter(tenant__schema_name="racer_web").count() == 1
    with schema_context("racer_web"):
        assert User.objects.count() == 1
