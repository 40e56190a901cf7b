"""Billing e-mails to a tenant's billing contact, in the language it signed up in."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from .models import Subscription
from .plans import plan_label

NOTICE_KINDS = ("payment_failed", "trial_will_end", "trial_ended", "canceled", "suspended")


def tenant_url(tenant, path: str = "/") -> str:
    """An absolute URL on the tenant's host, built from ``PLATFORM_URL``."""
    base = urlsplit(settings.PLATFORM_URL)
    port = f":{base.port}" if base.port else ""
    host = tenant.get_primary_domain().domain
    return f"{base.scheme}://{host}{port}{path}"


def _subject(kind: str, name: str) -> str:
    subjects = {
        "payment_failed": _("Payment failed for %(name)s"),
        "trial_will_end": _("Your Dinghuo trial for %(name)s ends soon"),
        "trial_ended": _("Your Dinghuo trial for %(name)s has ended"),
        "canceled": _("The subscription of %(name)s has ended"),
        "suspended": _("%(name)s has been suspended for non-payment"),
    }
    return subjects[kind] % {"name": name}


def send_notice(subscription_id: int, kind: str) -> bool:
    if kind not in NOTICE_KINDS:
        raise ValueError(f"Unknown notice {kind!r}")
    sub = Subscription.objects.select_related("tenant", "plan").filter(pk=subscription_id).first()
    if sub is None or not sub.billing_email:
        return False
    with translation.override(sub.language or settings.LANGUAGE_CODE):
        context = {
            "kind": kind,
            "tenant": sub.tenant,
            "plan": plan_label(sub.plan),
            "subscription": sub,
            "billing_url": tenant_url(sub.tenant, "/billing/"),
            "grace_days": round(settings.BILLING_GRACE_PERIOD_SECONDS / 86400, 1),
        }
        body = render_to_string("tenants/email/billing_notice.txt", context)
        send_mail(_subject(kind, sub.tenant.name), body, None, [sub.billing_email])
    return True
