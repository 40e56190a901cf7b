"""Views of the tenant host: the login hand-over from the portal, and the
billing page of the tenant console (plan, usage, modules, Stripe)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth import login as auth_login
from django.contrib.auth.decorators import user_passes_test
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from core.accounts.models import Role
from core.exceptions import DomainError, has_nul
from tenants import billing
from tenants.models import Plan, Subscription
from tenants.plans import MODULES, is_purchasable, plan_label, set_tenant_modules

from .signup import HandoffRefused, redeem_handoff_token

LOGIN_URL = "/admin/login/"


@require_GET
def login_handoff(request: HttpRequest) -> HttpResponse:
    """Exchange the portal's one-time token for a session on this host."""
    try:
        with transaction.atomic():
            user, next_path = redeem_handoff_token(request.GET.get("token", ""))
            auth_login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    except HandoffRefused as exc:
        return render(
            request, "tenants/portal/handoff_refused.html", {"message": exc.message}, status=400
        )
    return HttpResponseRedirect(next_path)


def _is_staff(user) -> bool:
    return user.is_active and user.is_staff


def _is_billing_admin(user) -> bool:
    return user.is_active and (user.is_superuser or user.role == Role.TENANT_ADMIN)


staff_required = user_passes_test(_is_staff, login_url=LOGIN_URL)
billing_admin_required = user_passes_test(_is_billing_admin, login_url=LOGIN_URL)


def _tenant():
    return connection.tenant


def _subscription() -> Subscription | None:
    return (
        Subscription.objects.select_related("tenant", "plan", "requested_plan")
        .filter(tenant_id=_tenant().pk)
        .first()
    )


def _urls(request: HttpRequest) -> tuple[str, str]:
    base = request.build_absolute_uri("/billing/")
    return base + "?checkout=success", base + "?checkout=cancelled"


@staff_required
def billing_page(request: HttpRequest) -> HttpResponse:
    tenant = _tenant()
    state = billing.billing_state(tenant)
    sub = state["subscription"]
    plans = [
        {"plan": p, "label": plan_label(p), "available": is_purchasable(p)}
        for p in Plan.objects.filter(is_active=True)
        if not p.is_free
    ]
    checkout = request.GET.get("checkout")
    if checkout == "success":
        messages.success(
            request, _("Thank you! Your plan is activated as soon as Stripe confirms the payment.")
        )
    elif checkout == "cancelled":
        messages.warning(request, _("Payment was cancelled; your plan is unchanged."))
    context = {
        **admin.site.each_context(request),
        "title": _("Plan and billing"),
        "tenant": tenant,
        "subscription": sub,
        "plan_label": plan_label(sub.plan) if sub else _("No plan (unlimited)"),
        "usage": state["usage"],
        "plans": plans,
        "billing_configured": state["billing_configured"],
        "modules": [
            (code, label, code in (tenant.modules or [])) for code, label in MODULES.items()
        ],
        "can_manage": _is_billing_admin(request.user),
    }
    return render(request, "tenants/console/billing.html", context)


def _checkout(request: HttpRequest, plan_code: str) -> HttpResponse:
    sub = _subscription()
    # A posted code holding NUL names no plan (PostgreSQL cannot compare it).
    plan = (
        None if has_nul(plan_code) else Plan.objects.filter(code=plan_code, is_active=True).first()
    )
    if sub is None or plan is None:
        messages.error(request, _("Choose one of the plans offered."))
        return HttpResponseRedirect("/billing/")
    success, cancel = _urls(request)
    try:
        start = billing.start_checkout(
            subscription=sub, plan=plan, success_url=success, cancel_url=cancel
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return HttpResponseRedirect("/billing/")
    return HttpResponseRedirect(start.url, status=303)


@billing_admin_required
@require_GET
def billing_start(request: HttpRequest, plan_code: str) -> HttpResponse:
    """Right after signing up for a paid plan: straight on to Stripe Checkout."""
    return _checkout(request, plan_code)


@billing_admin_required
@require_POST
def billing_checkout(request: HttpRequest) -> HttpResponse:
    return _checkout(request, request.POST.get("plan", ""))


@billing_admin_required
@require_POST
def billing_portal(request: HttpRequest) -> HttpResponse:
    """Open the Stripe Billing Portal (change plan, card, see invoices)."""
    sub = _subscription()
    if sub is None:
        messages.error(request, _("This account has no subscription to manage."))
        return HttpResponseRedirect("/billing/")
    try:
        url = billing.open_billing_portal(
            subscription=sub, return_url=request.build_absolute_uri("/billing/")
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return HttpResponseRedirect("/billing/")
    return HttpResponseRedirect(url, status=303)


@billing_admin_required
@require_POST
def billing_modules(request: HttpRequest) -> HttpResponse:
    """Enable the industry modules ticked, within the plan."""
    try:
        set_tenant_modules(tenant=_tenant(), modules=request.POST.getlist("modules"))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Industry modules saved."))
    return HttpResponseRedirect("/billing/")
