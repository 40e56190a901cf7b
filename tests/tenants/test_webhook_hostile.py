"""The Stripe webhook under hostile payloads: a wrong signature is 400 and changes nothing;
a correctly signed but malformed event is answered without a 500 (Stripe would retry it for
days) and changes nothing."""

from __future__ import annotations

import json
import time

import pytest
from django.test import Client, override_settings

from tenants.models import Plan, StripeEvent, Subscription, SubscriptionStatus, TenantStatus
from tenants.services import resume_tenant

from .stripe_fake import sign_payload
from .test_billing_webhooks import SECRET, checkout_completed, eager_tasks, stripe_keys  # noqa: F401


@pytest.fixture
def sub(tenant):
    """The test tenant's subscription, waiting for its first payment (as in test_billing_webhooks)."""
    Plan.objects.filter(code="basic").update(stripe_price_id="price_basic")
    resume_tenant(tenant, status=TenantStatus.TRIAL)
    return Subscription.objects.create(
        tenant=tenant,
        plan=Plan.objects.get(code="trial"),
        requested_plan=Plan.objects.get(code="basic"),
        status=SubscriptionStatus.INCOMPLETE,
        billing_email="boss@alpha.test",
        language="en",
        stripe_customer_id="cus_alpha",
    )


pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_keys")]


def post(payload: str | bytes, signature: str | None = None):
    if signature is None:
        signature = sign_payload(
            payload if isinstance(payload, str) else payload.decode("latin-1"), SECRET
        )
    return Client(HTTP_HOST="localhost").post(
        "/billing/webhook/",
        payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature,
    )


def _state(row):
    row.refresh_from_db()
    return (row.status, row.plan_id, row.stripe_customer_id, row.stripe_subscription_id)


@pytest.mark.parametrize(
    "signature",
    ["", "t=1,v1=00", "garbage", "t=abc,v1=" + "0" * 64, f"t={int(time.time())},v1=" + "0" * 64],
)
def test_a_wrong_signature_is_refused(sub, signature):
    before = _state(sub)
    response = post(checkout_completed(), signature)
    assert response.status_code == 400
    assert _state(sub) == before and not StripeEvent.objects.exists()


def test_a_signature_of_another_secret_is_refused(sub):
    payload = checkout_completed()
    response = post(payload, sign_payload(payload, "whsec_other"))
    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


@override_settings(STRIPE_WEBHOOK_SECRET="")
def test_without_a_secret_nothing_is_accepted(sub):
    response = post(checkout_completed())
    assert response.status_code == 400


def _event(**fields):
    body = {
        "id": "evt_x",
        "object": "event",
        "type": "checkout.session.completed",
        "created": int(time.time()),
        "data": {
            "object": {
                "object": "checkout.session",
                "client_reference_id": "alpha",
                "customer": "cus_alpha",
                "subscription": "sub_1",
            }
        },
    }
    body.update(fields)
    return json.dumps(body)


@pytest.mark.parametrize(
    "payload",
    [
        "not json",
        "[]",
        "null",
        _event(id=None),
        _event(id="e" * 300),
        _event(id="evt\u0000"),
        _event(created="yesterday"),
        _event(created=10**20),
        _event(created=-(10**20)),
        _event(type="t" * 300),
        _event(data="x"),
        _event(data={"object": ["x"]}),
        _event(
            data={"object": {"object": "checkout.session", "client_reference_id": "al\u0000pha"}}
        ),
        _event(
            data={
                "object": {
                    "object": "subscription",
                    "id": "s" * 300,
                    "customer": "cus_alpha",
                    "status": "active",
                    "metadata": {"tenant": "alpha"},
                }
            },
            type="customer.subscription.updated",
        ),
        _event(
            data={
                "object": {
                    "object": "subscription",
                    "id": "sub_1",
                    "customer": "cus_alpha",
                    "status": "active",
                    "current_period_end": "soon",
                    "metadata": {"tenant": "alpha"},
                }
            },
            type="customer.subscription.updated",
        ),
        _event(
            data={
                "object": {
                    "object": "subscription",
                    "id": "sub_1",
                    "customer": 12,
                    "status": "trialing",
                    "trial_end": 10**20,
                    "metadata": {"tenant": "alpha"},
                }
            },
            type="customer.subscription.updated",
        ),
    ],
)
def test_a_signed_but_malformed_event_is_no_server_error(sub, payload):
    before = _state(sub)
    response = post(payload)
    assert response.status_code in (200, 400), response.content
    if response.status_code == 400:
        assert _state(sub) == before


def _subscription_updated(**fields):
    obj = {
        "object": "subscription",
        "id": "sub_1",
        "customer": "cus_alpha",
        "status": "active",
        "items": {"data": [{"price": {"id": "price_basic"}}]},
        "metadata": {"tenant": "alpha"},
    }
    obj.update(fields)
    return _event(data={"object": obj}, type="customer.subscription.updated")


@pytest.mark.parametrize(
    "payload",
    [
        # each found the subscription by another key and activated it, the bad id passed over
        _subscription_updated(id="s" * 101),
        _subscription_updated(id=7),
        _subscription_updated(customer="c" * 101),
        _subscription_updated(customer=12),
        _subscription_updated(metadata={"tenant": "t" * 101}),
        _event(
            data={
                "object": {
                    "object": "checkout.session",
                    "client_reference_id": "alpha",
                    "customer": "cus_alpha",
                    "subscription": ["sub_1"],
                    "mode": "subscription",
                    "payment_status": "paid",
                }
            }
        ),
    ],
)
def test_an_event_with_a_malformed_id_is_refused_and_changes_nothing(sub, payload):
    before = _state(sub)
    response = post(payload)
    assert response.status_code == 400, response.content
    assert _state(sub) == before
    assert not StripeEvent.objects.exists()


def test_the_same_event_with_good_ids_activates_the_subscription(sub):
    response = post(_subscription_updated())
    assert response.status_code == 200, response.content
    sub.refresh_from_db()
    assert (sub.status, sub.plan.code, sub.stripe_subscription_id) == (
        SubscriptionStatus.ACTIVE,
        "basic",
        "sub_1",
    )
