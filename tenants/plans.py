"""Plans, the industry modules they allow, and each tenant's plan in force."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from core.exceptions import DomainError

from .models import Plan, Subscription, SubscriptionStatus, Tenant

TRIAL_PLAN_CODE = "trial"

# The built-in industry modules (plugins) a tenant can enable.
MODULES: dict[str, str] = {
    "pharma": gettext_lazy("Pharma"),
    "autoparts": gettext_lazy("Auto parts"),
    "electronics": gettext_lazy("Electronics"),
    "food": gettext_lazy("Food & beverage"),
}

# Plan names are data; these are the default plans' names, marked so that
# makemessages puts them in the catalogue and ``plan_label`` can translate them.
_PLAN_NAMES = (gettext_noop("Free trial"), gettext_noop("Basic"), gettext_noop("Pro"))

PLAN_LIMIT_CODE = "PLAN_LIMIT_EXCEEDED"


def plan_label(plan: Plan) -> str:
    """The plan's name in the active language (the default plans are translated)."""
    return _(plan.name) if plan.name else plan.code


def billing_configured() -> bool:
    """Stripe keys present: paid plans can be sold. Without them only the trial is offered."""
    return bool(settings.STRIPE_SECRET_KEY and settings.STRIPE_WEBHOOK_SECRET)


def is_purchasable(plan: Plan) -> bool:
    """Whether a new tenant can choose ``plan`` on this installation now."""
    if not plan.is_active:
        return False
    if plan.is_free:
        return True
    return billing_configured() and bool(plan.stripe_price_id)


def offered_plans() -> list[Plan]:
    return list(Plan.objects.filter(is_active=True))


def trial_plan() -> Plan:
    return Plan.objects.get(code=TRIAL_PLAN_CODE)


def plan_for_tenant(tenant: Tenant | None) -> Plan | None:
    """The plan whose limits apply to ``tenant``; ``None`` means no limits
    (the public schema, and tenants an operator made without a subscription)."""
    if tenant is None or tenant.schema_name == settings.PUBLIC_SCHEMA_NAME:
        return None
    sub = Subscription.objects.select_related("plan").filter(tenant_id=tenant.pk).first()
    return sub.plan if sub else None


def check_modules(plan: Plan | None, modules: list[str] | tuple[str, ...]) -> list[str]:
    """Return ``modules`` de-duplicated, or raise :class:`DomainError` (field ``modules``)
    for an unknown module or one the plan does not allow."""
    chosen: list[str] = []
    for code in modules:
        if code not in MODULES:
            raise DomainError(
                _("Unknown module: %(module)s.") % {"module": code}, field="modules", code="INVALID"
            )
        if code not in chosen:
            chosen.append(code)
    if plan is None:
        return chosen
    allowed = set(plan.allowed_modules or [])
    refused = [code for code in chosen if code not in allowed]
    if refused:
        raise DomainError(
            _("The %(plan)s plan does not include the module %(module)s. Choose a larger plan.")
            % {"plan": plan_label(plan), "module": MODULES[refused[0]]},
            field="modules",
            code=PLAN_LIMIT_CODE,
        )
    if plan.max_modules is not None and len(chosen) > plan.max_modules:
        raise DomainError(
            _("The %(plan)s plan allows at most %(limit)d industry modules; you chose %(count)d.")
            % {"plan": plan_label(plan), "limit": plan.max_modules, "count": len(chosen)},
            field="modules",
            code=PLAN_LIMIT_CODE,
            limit=plan.max_modules,
        )
    return chosen


def set_tenant_modules(*, tenant: Tenant, modules: list[str] | tuple[str, ...]) -> Tenant:
    """Enable exactly ``modules`` for ``tenant``, within its plan."""
    chosen = check_modules(plan_for_tenant(tenant), modules)
    tenant.modules = chosen
    tenant.save(update_fields=["modules"])
    return tenant


def start_subscription(
    *, tenant: Tenant, plan: Plan, billing_email: str = "", language: str = ""
) -> Subscription:
    """The subscription of a tenant that just signed up.

    The trial starts at once (no card). A paid plan is *requested*: until
    Stripe confirms the payment the tenant runs on the trial plan's limits.
    """
    trial = trial_plan()
    now = timezone.now()
    with transaction.atomic():
        return Subscription.objects.create(
            tenant=tenant,
            plan=trial,
            requested_plan=None if plan.is_free else plan,
            status=SubscriptionStatus.TRIALING if plan.is_free else SubscriptionStatus.INCOMPLETE,
            trial_ends_at=now + timedelta(days=trial.trial_days or 14),
            billing_email=billing_email,
            language=language,
        )
