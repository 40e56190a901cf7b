"""The Stripe webhook: real signature verification with payloads signed here,
forged and stale signatures, replayed events, events out of order, and the
grace period that ends in suspension."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import stripe
from django.core import mail
from django.test import Client, override_settings
from django.utils import timezone

from config.celery import app as celery_app
from tenants.billing import enforce_grace_periods
from tenants.models import Plan, StripeEvent, Subscription, SubscriptionStatus, TenantStatus
from tenants.services import resume_tenant

from .stripe_fake import event, sign_payload

SECRET = "whsec_test_secret"
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_keys")]


@pytest.fixture
def stripe_keys():
    with override_settings(
        STRIPE_SECRET_KEY="sk_test_x", STRIPE_WEBHOOK_SECRET=SECRET, LANGUAGE_CODE="en"
    ):
        yield


@pytest.fixture(autouse=True)
def eager_tasks():
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def sub(tenant):
    Plan.objects.filter(code="basic").update(stripe_price_id="price_basic")
    Plan.objects.filter(code="pro").update(stripe_price_id="price_pro")
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


def post(payload: str, signature: str | None = None, **kw):
    headers = {
        "HTTP_STRIPE_SIGNATURE": signature
        if signature is not None
        else sign_payload(payload, SECRET)
    }
    return Client(HTTP_HOST="localhost").post(
        "/billing/webhook/", payload, content_type="application/json", **headers, **kw
    )


def deliver(payload: str, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(payload)
    assert response.status_code == 200, response.content
    return response.json()["outcome"]


def checkout_completed(evt="evt_checkout", created=None):
    return event(
        evt,
        "checkout.session.completed",
        {
            "id": "cs_1",
            "object": "checkout.session",
            "mode": "subscription",
            "client_reference_id": "alpha",
            "customer": "cus_alpha",
            "subscription": "sub_1",
            "payment_status": "paid",
            "metadata": {"tenant": "alpha", "plan": "basic"},
        },
        created,
    )


def subscription_event(evt, type_, status, created=None, price="price_basic", sub_id="sub_1"):
    return event(
        evt,
        type_,
        {
            "id": sub_id,
            "object": "subscription",
            "customer": "cus_alpha",
            "status": status,
            "metadata": {"tenant": "alpha"},
            "items": {
                "object": "list",
                "data": [
                    {
                        "id": "si_1",
                        "price": {"id": price},
                        "current_period_end": int(time.time()) + 30 * 86400,
                    }
                ],
            },
        },
        created,
    )


def invoice_event(evt, type_, created=None):
    return event(
        evt,
        type_,
        {
            "id": "in_1",
            "object": "invoice",
            "customer": "cus_alpha",
            "subscription": "sub_1",
            "period_end": int(time.time()) + 30 * 86400,
        },
        created,
    )


def test_the_signature_helper_follows_stripes_scheme():
    payload = checkout_completed()
    assert stripe.WebhookSignature.verify_header(
        payload, sign_payload(payload, SECRET), SECRET, tolerance=300
    )


def test_checkout_completed_activates_the_paid_plan(sub, django_capture_on_commit_callbacks):
    assert deliver(checkout_completed(), django_capture_on_commit_callbacks) == "applied"
    sub.refresh_from_db()
    assert sub.status == SubscriptionStatus.ACTIVE and sub.plan.code == "basic"
    assert sub.requested_plan is None and sub.stripe_subscription_id == "sub_1"
    assert sub.tenant.status == TenantStatus.ACTIVE
    assert StripeEvent.objects.get(event_id="evt_checkout").outcome == "applied"


def test_forged_signature_is_refused_and_changes_nothing(sub):
    payload = checkout_completed()
    forged = sign_payload(payload, "whsec_someone_else")
    assert post(payload, forged).status_code == 400
    tampered = payload.replace('"basic"', '"pro"')
    assert post(tampered, sign_payload(payload, SECRET)).status_code == 400
    assert post(payload, "").status_code == 400
    assert post("not json", sign_payload("not json", SECRET)).status_code == 400
    sub.refresh_from_db()
    assert sub.status == SubscriptionStatus.INCOMPLETE
    assert not StripeEvent.objects.exists()


def test_stale_timestamp_is_refused(sub):
    payload = checkout_completed()
    old = sign_payload(payload, SECRET, timestamp=int(time.time()) - 301)
    assert post(payload, old).status_code == 400
    sub.refresh_from_db()
    assert sub.status == SubscriptionStatus.INCOMPLETE


def test_without_a_webhook_secret_everything_is_refused(sub):
    payload = checkout_completed()
    with override_settings(STRIPE_WEBHOOK_SECRET=""):
        assert post(payload).status_code == 400


def test_replayed_event_is_applied_once(sub, django_capture_on_commit_callbacks):
    payload = invoice_event("evt_failed", "invoice.payment_failed")
    assert deliver(payload, django_capture_on_commit_callbacks) == "applied"
    assert deliver(payload, django_capture_on_commit_callbacks) == "duplicate"
    assert StripeEvent.objects.filter(event_id="evt_failed").count() == 1
    assert len(mail.outbox) == 1


def test_payment_failed_then_grace_period_then_suspended(sub, django_capture_on_commit_callbacks):
    deliver(checkout_completed(), django_capture_on_commit_callbacks)
    deliver(invoice_event("evt_f1", "invoice.payment_failed"), django_capture_on_commit_callbacks)
    sub.refresh_from_db()
    assert sub.status == SubscriptionStatus.PAST_DUE and sub.tenant.status == TenantStatus.PAST_DUE
    assert sub.past_due_since is not None
    [notice] = mail.outbox
    assert notice.to == ["boss@alpha.test"] and "Payment failed for Alpha Brand" in notice.subject
    assert "http://alpha.localhost:8000/billing/" in notice.body

    with django_capture_on_commit_callbacks(execute=True):
        assert enforce_grace_periods(now=sub.past_due_since + timedelta(days=6))["suspended"] == []
    with django_capture_on_commit_callbacks(execute=True):
        done = enforce_grace_periods(now=sub.past_due_since + timedelta(days=7, seconds=1))
    assert done["suspended"] == ["alpha"]
    sub.refresh_from_db()
    assert sub.tenant.status == TenantStatus.SUSPENDED and sub.suspended_by_billing
    assert "suspended for non-payment" in mail.outbox[-1].subject
    assert Client(HTTP_HOST="alpha.localhost").get("/health/").status_code == 403

    # Paying later brings the tenant back.
    assert (
        deliver(invoice_event("evt_paid", "invoice.paid"), django_capture_on_commit_callbacks)
        == "applied"
    )
    sub.refresh_from_db()
    assert sub.status == SubscriptionStatus.ACTIVE and sub.tenant.status == TenantStatus.ACTIVE
    assert not sub.suspended_by_billing and sub.past_due_since is None


@override_settings(BILLING_GRACE_PERIOD_SECONDS=60)
def test_grace_period_is_configurable(sub, django_capture_on_commit_callbacks):
    deliver(invoice_event("evt_f2", "invoice.payment_failed"), django_capture_on_commit_callbacks)
    sub.refresh_from_db()
    assert enforce_grace_periods(now=sub.past_due_since + timedelta(seconds=61))["suspended"] == [
        "alpha"
    ]


def test_out_of_order_events_never_move_backwards(sub, django_capture_on_commit_callbacks):
    now = int(time.time())
    # The newer "active" update arrives first ...
    assert (
        deliver(
            subscription_event("evt_u2", "customer.subscription.updated", "active", created=now),
            django_capture_on_commit_callbacks,
        )
        == "applied"
    )
    # ... then an older payment failure and an older "incomplete" creation: both stale.
    assert (
        deliver(
            invoice_event("evt_old_fail", "invoice.payment_failed", created=now - 20),
            django_capture_on_commit_callbacks,
        )
        == "stale"
    )
    assert (
        deliver(
            subscription_event(
                "evt_u1", "customer.subscription.created", "past_due", created=now - 30
            ),
            django_capture_on_commit_callbacks,
        )
        == "stale"
    )
    sub.refresh_from_db()
    assert sub.status == SubscriptionStatus.ACTIVE and sub.plan.code == "basic"
    assert sub.tenant.status == TenantStatus.ACTIVE
    assert mail.outbox == []


def test_a_deleted_subscription_is_not_revived_by_a_late_update(
    sub, django_capture_on_commit_callbacks
):
    now = int(time.time())
    deliver(
        subscription_event("evt_a", "customer.subscription.updated", "active", created=now - 5),
        django_capture_on_commit_callbacks,
    )
    assert (
        deliver(
            subscription_event("evt_d", "customer.subscription.deleted", "canceled", created=now),
            django_capture_on_commit_callbacks,
        )
        == "applied"
    )
    assert (
        deliver(
            subscription_event(
                "evt_late", "customer.subscription.updated", "active", created=now + 1
            ),
            django_capture_on_commit_callbacks,
        )
        == "stale"
    )
    sub.refresh_from_db()
    assert sub.status == SubscriptionStatus.CANCELED and sub.plan.code == "trial"
    assert sub.tenant.status == TenantStatus.PAST_DUE
    assert "has ended" in mail.outbox[-1].subject


def test_plan_change_through_the_portal(sub, django_capture_on_commit_callbacks):
    deliver(checkout_completed(), django_capture_on_commit_callbacks)
    deliver(
        subscription_event(
            "evt_up",
            "customer.subscription.updated",
            "active",
            price="price_pro",
            created=int(time.time()) + 5,
        ),
        django_capture_on_commit_callbacks,
    )
    sub.refresh_from_db()
    assert sub.plan.code == "pro" and sub.current_period_end is not None


def test_trial_will_end_sends_a_notice(sub, django_capture_on_commit_callbacks):
    payload = event(
        "evt_trial",
        "customer.subscription.trial_will_end",
        {
            "id": "sub_1",
            "object": "subscription",
            "customer": "cus_alpha",
            "status": "trialing",
            "trial_end": int(time.time()) + 3 * 86400,
            "metadata": {"tenant": "alpha"},
        },
    )
    assert deliver(payload, django_capture_on_commit_callbacks) == "applied"
    assert "ends soon" in mail.outbox[-1].subject


def test_notice_in_the_language_of_signup(sub, django_capture_on_commit_callbacks):
    Subscription.objects.filter(pk=sub.pk).update(language="zh-hans")
    deliver(invoice_event("evt_zh", "invoice.payment_failed"), django_capture_on_commit_callbacks)
    assert mail.outbox[-1].subject == "Alpha Brand 付款失败"


def test_unknown_events_and_customers_are_acknowledged(sub, django_capture_on_commit_callbacks):
    assert (
        deliver(
            event("evt_x", "charge.refunded", {"id": "ch_1", "object": "charge"}),
            django_capture_on_commit_callbacks,
        )
        == "ignored"
    )
    stranger = event(
        "evt_y", "invoice.paid", {"id": "in_9", "object": "invoice", "customer": "cus_nobody"}
    )
    assert deliver(stranger, django_capture_on_commit_callbacks) == "unknown_tenant"


def test_local_trial_reminder_end_and_suspension(sub, django_capture_on_commit_callbacks):
    ends = timezone.now() + timedelta(days=2)
    Subscription.objects.filter(pk=sub.pk).update(
        status=SubscriptionStatus.TRIALING,
        requested_plan=None,
        trial_ends_at=ends,
        stripe_customer_id="",
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert enforce_grace_periods()["trial_will_end"] == ["alpha"]
        assert enforce_grace_periods()["trial_will_end"] == []  # once
    assert "ends soon" in mail.outbox[-1].subject
    with django_capture_on_commit_callbacks(execute=True):
        assert enforce_grace_periods(now=ends + timedelta(seconds=1))["trial_ended"] == ["alpha"]
    sub.refresh_from_db()
    assert sub.status == SubscriptionStatus.PAST_DUE and sub.tenant.status == TenantStatus.PAST_DUE
    assert "has ended" in mail.outbox[-1].subject
    with django_capture_on_commit_callbacks(execute=True):
        assert enforce_grace_periods(now=ends + timedelta(days=7, seconds=2))["suspended"] == [
            "alpha"
        ]
