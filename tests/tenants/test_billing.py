"""Outbound Stripe calls, checked at the HTTP boundary against a local fake
Stripe server: Checkout, the Billing Portal, idempotency keys, failures."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings
from django_tenants.utils import schema_context

from core.accounts.models import Role
from core.testing.factories import UserFactory
from tenants.models import Plan, Subscription, SubscriptionStatus

from .signup_support import good_form, made_tenants_fixture, public_client  # noqa: F401
from .stripe_fake import FakeStripe


@pytest.fixture
def fake_stripe():
    with (
        FakeStripe() as fake,
        override_settings(
            STRIPE_SECRET_KEY="sk_test_fake",
            STRIPE_WEBHOOK_SECRET="whsec_fake",
            STRIPE_API_BASE=fake.url,
        ),
    ):
        yield fake


@pytest.fixture
def priced_plans(django_db_blocker):
    with django_db_blocker.unblock():
        Plan.objects.filter(code="basic").update(stripe_price_id="price_basic_monthly")
        Plan.objects.filter(code="pro").update(stripe_price_id="price_pro_monthly")
        yield
        Plan.objects.filter(code__in=["basic", "pro"]).update(stripe_price_id="")


@pytest.fixture
def console(tenant, db):
    """A tenant admin logged in to alpha's console, alpha on the trial."""
    sub = Subscription.objects.create(
        tenant=tenant, plan=Plan.objects.get(code="trial"), billing_email="boss@alpha.test"
    )
    with schema_context(tenant.schema_name):
        admin = UserFactory(role=Role.TENANT_ADMIN, is_staff=True, is_superuser=True)
        client = Client(HTTP_HOST="alpha.localhost", HTTP_ACCEPT_LANGUAGE="en")
        client.force_login(admin)
    return client, sub


def test_checkout_creates_customer_and_subscription_session(fake_stripe, priced_plans, console):
    client, sub = console
    response = client.post("/billing/checkout/", {"plan": "basic"})
    assert response.status_code == 303
    assert response["Location"].startswith(fake_stripe.url + "/checkout/cs_test_")

    [customer] = fake_stripe.calls("/v1/customers")
    assert customer["form"]["metadata[tenant]"] == "alpha"
    assert customer["form"]["email"] == "boss@alpha.test"
    assert customer["headers"]["Authorization"] == "Bearer sk_test_fake"
    assert customer["headers"]["Idempotency-Key"].startswith("dinghuo-")

    [session] = fake_stripe.calls("/v1/checkout/sessions")
    form = session["form"]
    assert form["mode"] == "subscription"
    assert form["line_items[0][price]"] == "price_basic_monthly"
    assert form["line_items[0][quantity]"] == "1"
    assert form["client_reference_id"] == "alpha"
    assert form["metadata[plan]"] == "basic"
    assert form["subscription_data[metadata][tenant]"] == "alpha"
    assert form["customer"].startswith("cus_")
    assert form["success_url"] == "http://alpha.localhost/billing/?checkout=success"
    assert form["cancel_url"] == "http://alpha.localhost/billing/?checkout=cancelled"
    sub.refresh_from_db()
    assert sub.stripe_customer_id == form["customer"]
    assert sub.requested_plan.code == "basic"
    assert sub.plan.code == "trial"  # nothing changes until Stripe confirms


def test_idempotency_keys_are_deterministic(fake_stripe, priced_plans, console):
    client, sub = console
    client.post("/billing/checkout/", {"plan": "basic"})
    client.post("/billing/checkout/", {"plan": "basic"})  # a double click
    client.post("/billing/checkout/", {"plan": "pro"})
    keys = [r["headers"]["Idempotency-Key"] for r in fake_stripe.calls("/v1/checkout/sessions")]
    assert keys[0] == keys[1] and keys[2] != keys[0]
    assert len(fake_stripe.calls("/v1/customers")) == 1  # the customer is made once
    # After Stripe reports the session expired, the next checkout is a new attempt.
    Subscription.objects.filter(pk=sub.pk).update(checkout_attempt=1)
    client.post("/billing/checkout/", {"plan": "basic"})
    assert fake_stripe.calls("/v1/checkout/sessions")[-1]["headers"]["Idempotency-Key"] != keys[0]


def test_billing_portal_session(fake_stripe, priced_plans, console):
    client, sub = console
    Subscription.objects.filter(pk=sub.pk).update(stripe_customer_id="cus_existing")
    response = client.post("/billing/portal/")
    assert response.status_code == 303
    assert response["Location"].startswith(fake_stripe.url + "/portal/bps_")
    [call] = fake_stripe.calls("/v1/billing_portal/sessions")
    assert call["form"] == {
        "customer": "cus_existing",
        "return_url": "http://alpha.localhost/billing/",
    }
    assert call["headers"]["Idempotency-Key"].startswith("dinghuo-")
    assert fake_stripe.calls("/v1/customers") == []


def test_stripe_failure_is_a_clear_message(fake_stripe, priced_plans, console):
    client, sub = console
    fake_stripe.fail_with = 400
    response = client.post("/billing/checkout/", {"plan": "basic"}, follow=True)
    assert b"The payment service could not be reached" in response.content
    sub.refresh_from_db()
    assert sub.stripe_customer_id == "" and sub.requested_plan is None


@override_settings(STRIPE_SECRET_KEY="", STRIPE_WEBHOOK_SECRET="")
def test_without_stripe_keys_checkout_is_refused(console):
    client, _sub = console
    response = client.post("/billing/checkout/", {"plan": "basic"}, follow=True)
    assert b"cannot be bought online" in response.content
    page = client.get("/billing/")
    assert b"Online payment is not configured" in page.content


def test_billing_pages_need_a_staff_login(tenant, db):
    client = Client(HTTP_HOST="alpha.localhost")
    response = client.get("/billing/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    with schema_context("alpha"):
        buyer = UserFactory(role=Role.STAFF, is_staff=False)
        client.force_login(buyer)
    assert client.post("/billing/checkout/", {"plan": "basic"}).status_code == 302


def test_console_modules_within_the_plan(console, tenant):
    client, _sub = console
    response = client.post("/billing/modules/", {"modules": ["pharma", "food"]}, follow=True)
    assert b"at most 1 industry modules" in response.content
    tenant.refresh_from_db()
    assert tenant.modules == []
    client.post("/billing/modules/", {"modules": ["food"]})
    tenant.refresh_from_db()
    assert tenant.modules == ["food"]


def test_paid_signup_goes_through_checkout(fake_stripe, priced_plans, made_tenants):
    response = public_client().post(
        "/signup/", good_form(subdomain="paid-co", plan="basic"), HTTP_ACCEPT="application/json"
    )
    made_tenants.append("paid_co")
    assert response.status_code == 200, response.content
    sub = Subscription.objects.get(tenant__schema_name="paid_co")
    assert sub.status == SubscriptionStatus.INCOMPLETE
    assert sub.plan.code == "trial" and sub.requested_plan.code == "basic"
    console = Client(HTTP_HOST="paid-co.localhost")
    handoff = console.get(response.json()["redirect"].split("paid-co.localhost", 1)[1])
    assert handoff["Location"] == "/billing/start/basic/"
    start = console.get("/billing/start/basic/")
    assert start.status_code == 303 and start["Location"].startswith(fake_stripe.url + "/checkout/")
    [session] = fake_stripe.calls("/v1/checkout/sessions")
    assert session["form"]["client_reference_id"] == "paid_co"
    assert session["form"]["success_url"] == "http://paid-co.localhost/billing/?checkout=success"
