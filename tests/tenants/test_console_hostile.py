"""Hostile form posts to the tenant console's billing pages: a message and a redirect,
never a 500, nothing changed, no call to Stripe."""

from __future__ import annotations

import pytest

from tenants.models import Subscription

from .test_billing import console, fake_stripe, priced_plans  # noqa: F401 - fixtures


@pytest.mark.parametrize("plan", ["", "basic\x00", "b" * 10_000, "trial", "../pro", "BASIC"])
def test_checkout_with_a_hostile_plan(fake_stripe, priced_plans, console, plan):  # noqa: F811
    client, sub = console
    response = client.post("/billing/checkout/", {"plan": plan}, follow=True)
    assert response.status_code == 200
    if plan != "trial":  # the free plan is a plan, but not one to pay for
        assert b"Choose one of the plans offered." in response.content
    assert fake_stripe.requests == []
    assert Subscription.objects.get(pk=sub.pk).requested_plan_id is None


@pytest.mark.parametrize("modules", [["food\x00"], ["food"] * 500, ["x" * 10_000], [""], ["FOOD"]])
def test_modules_with_hostile_names(console, tenant, modules):  # noqa: F811
    client, _sub = console
    response = client.post("/billing/modules/", {"modules": modules}, follow=True)
    assert response.status_code == 200
    tenant.refresh_from_db()
    assert tenant.modules in ([], ["food"])


@pytest.mark.parametrize("token", ["", "x", "a\x00b", "e30:1:" + "A" * 5000])
def test_a_hostile_handoff_token_is_refused(tenant, db, token):
    from django.test import Client

    response = Client(HTTP_HOST="alpha.localhost").get("/login/handoff/", {"token": token})
    assert response.status_code == 400
