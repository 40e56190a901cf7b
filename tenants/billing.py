"""Stripe billing: Checkout for paid plans, the Billing Portal, and the webhook.

Outbound calls go through :func:`stripe_client`, whose API address can be
changed with ``STRIPE_API_BASE`` (the tests point it at a local fake Stripe
server). Every call that creates something passes a deterministic
``Idempotency-Key``, so a retried request never makes a second customer or
checkout session.

Webhook events are verified with ``stripe.Webhook.construct_event``, recorded
by id (a replayed event is a no-op) and applied only when newer than the last
event applied to the subscription, so events arriving out of order never move
a subscription backwards.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.exceptions import DomainError, has_nul

from .models import Plan, StripeEvent, Subscription, SubscriptionStatus, Tenant, TenantStatus
from .plans import billing_configured, is_purchasable

log = logging.getLogger(__name__)


class BillingError(DomainError):
    code = "BILLING_ERROR"


# --- outbound -----------------------------------------------------------------
def stripe_client() -> stripe.StripeClient:
    if not settings.STRIPE_SECRET_KEY:
        raise BillingError(
            _("Online payment is not configured on this installation."),
            code="BILLING_NOT_CONFIGURED",
        )
    kwargs: dict[str, Any] = {"max_network_retries": 2}
    if settings.STRIPE_API_BASE:
        kwargs["base_addresses"] = {"api": settings.STRIPE_API_BASE}
    return stripe.StripeClient(settings.STRIPE_SECRET_KEY, **kwargs)


def idempotency_key(*parts: object) -> str:
    """A deterministic key from what identifies the object being created."""
    raw = ":".join(str(p) for p in parts)
    return "dinghuo-" + hashlib.sha256(raw.encode()).hexdigest()[:40]


def _call(fn, params: dict, key: str):
    try:
        return fn(params=params, options={"idempotency_key": key})
    except stripe.StripeError as exc:
        log.warning("Stripe call failed: %s", exc)
        raise BillingError(
            _("The payment service could not be reached. Please try again in a moment.")
        ) from exc


def ensure_customer(subscription: Subscription) -> str:
    """The Stripe customer of the tenant, created once."""
    if subscription.stripe_customer_id:
        return subscription.stripe_customer_id
    tenant = subscription.tenant
    customer = _call(
        stripe_client().v1.customers.create,
        {
            "name": tenant.name,
            "email": subscription.billing_email or None,
            "metadata": {"tenant": tenant.schema_name},
        },
        idempotency_key("customer", tenant.schema_name, tenant.pk),
    )
    Subscription.objects.filter(pk=subscription.pk).update(stripe_customer_id=customer.id)
    subscription.stripe_customer_id = customer.id
    return customer.id


@dataclass(frozen=True)
class CheckoutStart:
    session_id: str
    url: str


def start_checkout(
    *, subscription: Subscription, plan: Plan, success_url: str, cancel_url: str
) -> CheckoutStart:
    """A Stripe Checkout session (subscription mode) for ``plan``.

    The idempotency key names the tenant, the plan and the checkout attempt:
    a double click or a retried request returns the same session; a new
    attempt starts after Stripe reports the previous session expired.
    """
    if plan.is_free or not is_purchasable(plan):
        raise BillingError(_("This plan cannot be bought online."), field="plan", code="INVALID")
    customer = ensure_customer(subscription)
    tenant = subscription.tenant
    session = _call(
        stripe_client().v1.checkout.sessions.create,
        {
            "mode": "subscription",
            "customer": customer,
            "client_reference_id": tenant.schema_name,
            "line_items": [{"price": plan.stripe_price_id, "quantity": 1}],
            "success_url": success_url,
            "cancel_url": cancel_url,
            "metadata": {"tenant": tenant.schema_name, "plan": plan.code},
            "subscription_data": {"metadata": {"tenant": tenant.schema_name, "plan": plan.code}},
        },
        idempotency_key(
            "checkout", tenant.schema_name, tenant.pk, plan.code, subscription.checkout_attempt
        ),
    )
    Subscription.objects.filter(pk=subscription.pk).update(requested_plan=plan)
    return CheckoutStart(session_id=session.id, url=session.url)


def open_billing_portal(*, subscription: Subscription, return_url: str) -> str:
    """The URL of a Stripe Billing Portal session (change plan, card, invoices)."""
    customer = ensure_customer(subscription)
    # Portal sessions are short-lived: one per customer per minute is plenty,
    # and a retried request within that minute gets the same session.
    window = int(timezone.now().timestamp() // 60)
    session = _call(
        stripe_client().v1.billing_portal.sessions.create,
        {"customer": customer, "return_url": return_url},
        idempotency_key("portal", customer, return_url, window),
    )
    return session.url


# --- webhook --------------------------------------------------------------------
# Customer, subscription and price ids are kept in columns of 100 characters.
STRIPE_ID_MAX = 100


class WebhookRejected(Exception):
    """The request is not a genuine Stripe event (bad signature, stale, malformed)."""


def verify_event(payload: bytes, signature: str | None) -> stripe.Event:
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        raise WebhookRejected("webhook secret not configured")
    try:
        event = stripe.Webhook.construct_event(
            payload, signature, secret, tolerance=settings.STRIPE_WEBHOOK_TOLERANCE
        )
    except (ValueError, stripe.SignatureVerificationError) as exc:
        raise WebhookRejected(str(exc)) from exc
    except (AttributeError, TypeError) as exc:  # signed, but JSON that is no object
        raise WebhookRejected(f"malformed event: {exc}") from exc
    _check_event(event, payload)
    return event


def _check_event(event: Any, payload: bytes) -> None:
    """What process_event stores of the event itself must fit its columns; NUL (which
    PostgreSQL cannot store or compare) is nowhere. Stripe sends neither."""
    event_id, event_type = _get(event, "id"), _get(event, "type", "")
    if not isinstance(event_id, str) or not 0 < len(event_id) <= 255:
        raise WebhookRejected("malformed event: id")
    if not isinstance(event_type, str) or len(event_type) > 100:
        raise WebhookRejected("malformed event: type")
    if _get(event, "created") is not None and _ts(_get(event, "created")) is None:
        raise WebhookRejected("malformed event: created")
    if has_nul(json.loads(payload)):
        raise WebhookRejected("malformed event: NUL in text")
    _check_ids(_get(_get(event, "data", {}), "object", {}))


# The ids of an event's object that find the subscription or are stored on it.
_OBJECT_IDS = ("customer", "subscription", "client_reference_id")


def _check_ids(obj: Any) -> None:
    """An id the event carries is a Stripe id (text of at most ``STRIPE_ID_MAX``) or
    absent: one that is not would be passed over (``_id`` reads it as absent) while
    the rest of the event applied, to the subscription found by another of its keys."""
    keys = [(obj, key) for key in _OBJECT_IDS]
    if _get(obj, "object") == "subscription":
        keys.append((obj, "id"))
    keys.append((_get(obj, "metadata", {}), "tenant"))
    for holder, key in keys:
        if _get(holder, key) is not None and _id(holder, key) is None:
            raise WebhookRejected(f"malformed event: {key}")


def _ts(value: Any) -> datetime | None:
    """A Unix timestamp as a datetime; ``None`` when empty or not a time (text, out of range)."""
    if not value or isinstance(value, bool):
        return None
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _id(obj: Any, key: str) -> str | None:
    """A Stripe id of the object (customer, subscription …): text that fits the columns
    that keep it, else ``None``."""
    value = _get(obj, key)
    return value if isinstance(value, str) and 0 < len(value) <= STRIPE_ID_MAX else None


def _get(obj: Any, key: str, default: Any = None) -> Any:
    try:
        value = obj[key]
    except (KeyError, TypeError, IndexError):
        return default
    return default if value is None else value


def process_event(event: Any) -> str:
    """Apply one verified event; returns the outcome (``applied``, ``duplicate``,
    ``stale``, ``ignored``, ``unknown_tenant``). Runs in one transaction: if
    applying fails, the event is not recorded and Stripe's retry applies it."""
    event_id = _get(event, "id")
    event_type = _get(event, "type", "")
    created = _ts(_get(event, "created")) or timezone.now()
    obj = _get(_get(event, "data", {}), "object", {})
    try:
        with transaction.atomic():
            record = StripeEvent.objects.create(event_id=event_id, type=event_type, created=created)
            handler = HANDLERS.get(event_type)
            if handler is None:
                outcome, sub = "ignored", None
            else:
                sub = _find_subscription(obj)
                if sub is None:
                    outcome = "unknown_tenant"
                else:
                    outcome = handler(sub, obj, created)
            record.outcome = outcome
            record.tenant_id = sub.tenant_id if sub else None
            record.save(update_fields=["outcome", "tenant"])
    except IntegrityError:
        if StripeEvent.objects.filter(event_id=event_id).exists():
            return "duplicate"
        raise
    return outcome


def _find_subscription(obj: Any) -> Subscription | None:
    """The subscription an event object belongs to, locked for update."""
    qs = Subscription.objects.select_for_update().select_related("tenant", "plan")
    metadata = _get(obj, "metadata", {}) or {}
    schema = _id(obj, "client_reference_id") or _id(metadata, "tenant")
    if schema:
        sub = qs.filter(tenant__schema_name=schema).first()
        if sub:
            return sub
    object_type = _get(obj, "object")
    sub_id = _id(obj, "id") if object_type == "subscription" else _id(obj, "subscription")
    if isinstance(sub_id, str) and sub_id:
        sub = qs.filter(stripe_subscription_id=sub_id).first()
        if sub:
            return sub
    customer = _id(obj, "customer")
    if isinstance(customer, str) and customer:
        return qs.filter(stripe_customer_id=customer).first()
    return None


def _is_stale(sub: Subscription, created: datetime) -> bool:
    return sub.stripe_state_at is not None and created < sub.stripe_state_at


def _mark(sub: Subscription, created: datetime) -> None:
    if sub.stripe_state_at is None or created > sub.stripe_state_at:
        sub.stripe_state_at = created


def _plan_for_price(price_id: str | None) -> Plan | None:
    if not price_id:
        return None
    return Plan.objects.filter(stripe_price_id=price_id).first()


def _activate(sub: Subscription, plan: Plan | None) -> None:
    if plan is not None:
        sub.plan = plan
    sub.requested_plan = None
    sub.status = SubscriptionStatus.ACTIVE
    sub.past_due_since = None
    tenant = sub.tenant
    if tenant.status != TenantStatus.SUSPENDED or sub.suspended_by_billing:
        tenant.status = TenantStatus.ACTIVE
        tenant.suspended_at = None
        tenant.save(update_fields=["status", "suspended_at"])
    sub.suspended_by_billing = False


def _go_past_due(sub: Subscription, since: datetime, *, notice: str) -> None:
    from .tasks import send_billing_notice

    first = sub.status != SubscriptionStatus.PAST_DUE
    sub.status = SubscriptionStatus.PAST_DUE
    if sub.past_due_since is None:
        sub.past_due_since = since
    tenant = sub.tenant
    if tenant.status != TenantStatus.SUSPENDED:
        tenant.status = TenantStatus.PAST_DUE
        tenant.save(update_fields=["status"])
    if first:
        send_billing_notice.delay_on_commit(sub.pk, notice)


def on_checkout_completed(sub: Subscription, obj: Any, created: datetime) -> str:
    if _get(obj, "mode") != "subscription":
        return "ignored"
    if sub.status == SubscriptionStatus.CANCELED and sub.stripe_subscription_id == _id(
        obj, "subscription"
    ):
        return "stale"
    sub.stripe_customer_id = _id(obj, "customer") or sub.stripe_customer_id
    sub.stripe_subscription_id = _id(obj, "subscription") or sub.stripe_subscription_id
    if _is_stale(sub, created):
        sub.save()
        return "stale"
    paid = _get(obj, "payment_status") in ("paid", "no_payment_required")
    if paid:
        code = _get(_get(obj, "metadata", {}), "plan")
        plan = Plan.objects.filter(code=code).first() if code else sub.requested_plan
        _activate(sub, plan or sub.requested_plan)
    _mark(sub, created)
    sub.save()
    return "applied" if paid else "ignored"


def on_checkout_expired(sub: Subscription, obj: Any, created: datetime) -> str:
    # The next checkout needs a new session, hence a new idempotency key.
    sub.checkout_attempt += 1
    sub.save(update_fields=["checkout_attempt", "updated_at"])
    return "applied"


def _price_of_subscription(obj: Any) -> str | None:
    items = _get(_get(obj, "items", {}), "data", []) or []
    if items:
        return _get(_get(items[0], "price", {}), "id")
    return None


def _period_end(obj: Any) -> datetime | None:
    end = _get(obj, "current_period_end")
    if not end:
        items = _get(_get(obj, "items", {}), "data", []) or []
        end = _get(items[0], "current_period_end") if items else None
    return _ts(end)


def on_subscription_changed(sub: Subscription, obj: Any, created: datetime) -> str:
    stripe_id = _id(obj, "id")
    if sub.status == SubscriptionStatus.CANCELED and sub.stripe_subscription_id == stripe_id:
        # A canceled subscription never comes back; a new one has a new id.
        return "stale"
    if _is_stale(sub, created):
        return "stale"
    sub.stripe_subscription_id = stripe_id or sub.stripe_subscription_id
    sub.stripe_customer_id = _id(obj, "customer") or sub.stripe_customer_id
    sub.current_period_end = _period_end(obj) or sub.current_period_end
    status = _get(obj, "status")
    plan = _plan_for_price(_price_of_subscription(obj))
    if status in ("active", "trialing"):
        _activate(sub, plan)
        if status == "trialing":
            sub.trial_ends_at = _ts(_get(obj, "trial_end")) or sub.trial_ends_at
    elif status in ("past_due", "unpaid"):
        if plan is not None:
            sub.plan = plan
        _go_past_due(sub, created, notice="payment_failed")
    elif status in ("canceled", "incomplete_expired"):
        return _cancel(sub, created)
    _mark(sub, created)
    sub.save()
    return "applied"


def _cancel(sub: Subscription, created: datetime) -> str:
    from .plans import trial_plan

    sub.status = SubscriptionStatus.CANCELED
    sub.plan = trial_plan()
    sub.requested_plan = None
    tenant = sub.tenant
    if tenant.status != TenantStatus.SUSPENDED:
        tenant.status = TenantStatus.PAST_DUE
        tenant.save(update_fields=["status"])
    if sub.past_due_since is None:
        sub.past_due_since = created
    from .tasks import send_billing_notice

    send_billing_notice.delay_on_commit(sub.pk, "canceled")
    _mark(sub, created)
    sub.save()
    return "applied"


def on_subscription_deleted(sub: Subscription, obj: Any, created: datetime) -> str:
    if sub.stripe_subscription_id and _id(obj, "id") != sub.stripe_subscription_id:
        return "ignored"  # an older subscription of this customer, already replaced
    if sub.status == SubscriptionStatus.CANCELED:
        return "duplicate"
    # Deletion is final for this subscription: applied even when it arrives late.
    return _cancel(sub, created)


def on_invoice_paid(sub: Subscription, obj: Any, created: datetime) -> str:
    if sub.status == SubscriptionStatus.CANCELED:
        return "stale"
    if _is_stale(sub, created):
        return "stale"
    _activate(sub, None if sub.plan.code != "trial" else sub.requested_plan)
    period_end = _ts(_get(obj, "period_end"))
    if period_end and (sub.current_period_end is None or period_end > sub.current_period_end):
        sub.current_period_end = period_end
    _mark(sub, created)
    sub.save()
    return "applied"


def on_invoice_payment_failed(sub: Subscription, obj: Any, created: datetime) -> str:
    if sub.status == SubscriptionStatus.CANCELED:
        return "stale"
    if _is_stale(sub, created):
        return "stale"
    _go_past_due(sub, created, notice="payment_failed")
    _mark(sub, created)
    sub.save()
    return "applied"


def on_trial_will_end(sub: Subscription, obj: Any, created: datetime) -> str:
    from .tasks import send_billing_notice

    trial_end = _ts(_get(obj, "trial_end"))
    if trial_end:
        sub.trial_ends_at = trial_end
    sub.trial_notice_sent_at = timezone.now()
    sub.save(update_fields=["trial_ends_at", "trial_notice_sent_at", "updated_at"])
    send_billing_notice.delay_on_commit(sub.pk, "trial_will_end")
    return "applied"


HANDLERS = {
    "checkout.session.completed": on_checkout_completed,
    "checkout.session.expired": on_checkout_expired,
    "customer.subscription.created": on_subscription_changed,
    "customer.subscription.updated": on_subscription_changed,
    "customer.subscription.deleted": on_subscription_deleted,
    "invoice.paid": on_invoice_paid,
    "invoice.payment_failed": on_invoice_payment_failed,
    "customer.subscription.trial_will_end": on_trial_will_end,
}


# --- grace periods and the free trial ----------------------------------------------
def grace_period() -> timedelta:
    return timedelta(seconds=settings.BILLING_GRACE_PERIOD_SECONDS)


def enforce_grace_periods(now: datetime | None = None) -> dict[str, list[str]]:
    """The periodic sweep: warn trials about to end, move ended trials to past
    due, and suspend tenants past due for longer than the grace period.
    Returns the schema names acted on, by action."""
    from .services import suspend_tenant
    from .tasks import send_billing_notice

    now = now or timezone.now()
    done: dict[str, list[str]] = {"trial_will_end": [], "trial_ended": [], "suspended": []}
    warn_before = timedelta(days=settings.BILLING_TRIAL_NOTICE_DAYS)
    local_trials = Subscription.objects.filter(
        status=SubscriptionStatus.TRIALING, stripe_subscription_id="", trial_ends_at__isnull=False
    )
    for sub in local_trials.filter(
        trial_notice_sent_at__isnull=True,
        trial_ends_at__gt=now,
        trial_ends_at__lte=now + warn_before,
    ).select_related("tenant"):
        Subscription.objects.filter(pk=sub.pk).update(trial_notice_sent_at=now)
        send_billing_notice.delay_on_commit(sub.pk, "trial_will_end")
        done["trial_will_end"].append(sub.tenant.schema_name)
    for sub_id in local_trials.filter(trial_ends_at__lte=now).values_list("pk", flat=True):
        with transaction.atomic():
            sub = Subscription.objects.select_for_update().select_related("tenant").get(pk=sub_id)
            if sub.status != SubscriptionStatus.TRIALING:
                continue
            _go_past_due(sub, sub.trial_ends_at, notice="trial_ended")
            sub.save()
            done["trial_ended"].append(sub.tenant.schema_name)
    overdue = Subscription.objects.filter(
        status__in=[SubscriptionStatus.PAST_DUE, SubscriptionStatus.CANCELED],
        past_due_since__lte=now - grace_period(),
    ).exclude(tenant__status=TenantStatus.SUSPENDED)
    for sub_id in overdue.values_list("pk", flat=True):
        with transaction.atomic():
            sub = Subscription.objects.select_for_update().select_related("tenant").get(pk=sub_id)
            if sub.tenant.status == TenantStatus.SUSPENDED:
                continue
            suspend_tenant(sub.tenant)
            sub.suspended_by_billing = True
            sub.save(update_fields=["suspended_by_billing", "updated_at"])
            send_billing_notice.delay_on_commit(sub.pk, "suspended")
            done["suspended"].append(sub.tenant.schema_name)
    return done


def billing_state(tenant: Tenant) -> dict[str, Any]:
    """What the tenant console's billing page shows."""
    from .limits import usage_summary

    sub = (
        Subscription.objects.select_related("plan", "requested_plan").filter(tenant=tenant).first()
    )
    return {
        "subscription": sub,
        "usage": usage_summary(tenant),
        "billing_configured": billing_configured(),
    }
