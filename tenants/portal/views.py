"""Pages of the public host: the landing page with the plans and the signup
form, the as-you-type check, and the Stripe webhook."""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from core.exceptions import DomainError
from tenants import billing
from tenants.plans import MODULES, billing_configured, is_purchasable, offered_plans, plan_label
from tenants.services import ProvisioningError

from .forms import SignupForm
from .signup import signup

log = logging.getLogger(__name__)


# The signup form's field for a service's field name (the admin user's columns).
SIGNUP_FIELDS = {"username": "email", "first_name": "admin_name", "name": "company_name"}


def tenant_base_url(request: HttpRequest, domain: str) -> str:
    """``http://<tenant domain>[:port]``, on the scheme and port the portal was reached on."""
    host = request.get_host()
    port = ""
    if not host.endswith("]") and ":" in host:
        port = ":" + host.rsplit(":", 1)[1]
    return f"{request.scheme}://{domain}{port}"


def _plan_cards() -> list[dict]:
    cards = []
    for plan in offered_plans():
        cards.append(
            {
                "plan": plan,
                "label": plan_label(plan),
                "available": is_purchasable(plan),
                "modules": [str(MODULES[m]) for m in plan.allowed_modules if m in MODULES],
            }
        )
    return cards


def _render_landing(request: HttpRequest, form: SignupForm, status: int = 200) -> HttpResponse:
    return render(
        request,
        "tenants/portal/landing.html",
        {
            "form": form,
            "plans": _plan_cards(),
            "billing_configured": billing_configured(),
            "base_domain": settings.BASE_DOMAIN,
        },
        status=status,
    )


def landing(request: HttpRequest) -> HttpResponse:
    """The landing page: plans and the signup form."""
    initial = {"plan": request.GET.get("plan") or "trial"}
    return _render_landing(request, SignupForm(initial=initial))


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _errors(form: SignupForm) -> dict[str, list[str]]:
    return {name: [str(m) for m in messages] for name, messages in form.errors.items()}


@require_http_methods(["GET", "POST"])
def signup_view(request: HttpRequest) -> HttpResponse:
    """Submit the signup form. With ``Accept: application/json`` (the page's
    script) answers ``{"ok": true, "redirect": ...}`` or ``{"ok": false,
    "errors": {field: [message]}}``; without script, a redirect or the page again."""
    if request.method == "GET":
        return HttpResponseRedirect("/")
    form = SignupForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            result = signup(
                company_name=data["company_name"],
                subdomain=data["subdomain"],
                admin_name=data["admin_name"],
                email=data["email"],
                password=data["password"],
                modules=data["modules"],
                plan=data["plan"],
                language=get_language() or "",
            )
        except ProvisioningError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        except DomainError as exc:
            for error in getattr(exc, "errors", None) or [
                exc
            ]:  # ValidationFailed: each on its field
                name = SIGNUP_FIELDS.get(error.field, error.field)
                form.add_error(name if name in form.fields else None, error.message)
        except Exception:
            log.exception("Signup failed")
            form.add_error(
                None,
                _(
                    "Something went wrong while creating your account. Nothing was created; please try again."
                ),
            )
        else:
            url = tenant_base_url(request, result.tenant.get_primary_domain().domain)
            redirect = f"{url}/login/handoff/?token={result.handoff_token}"
            if _wants_json(request):
                return JsonResponse(
                    {"ok": True, "redirect": redirect, "tenant": result.tenant.schema_name}
                )
            return HttpResponseRedirect(redirect, status=303)
    if _wants_json(request):
        return JsonResponse({"ok": False, "errors": _errors(form)}, status=400)
    return _render_landing(request, form, status=400)


@require_http_methods(["GET", "POST"])
def signup_check(request: HttpRequest) -> JsonResponse:
    """Validate some fields as the user types: ``?subdomain=acme`` (GET) or the
    whole form with ``fields=subdomain,email`` (POST). Answers
    ``{"errors": {field: [message, …]}}`` for the fields asked about (an empty
    list means the field is fine)."""
    data = request.POST if request.method == "POST" else request.GET
    asked = data.get("fields")
    names = [
        n for n in (asked.split(",") if asked else list(data.keys())) if n in SignupForm.base_fields
    ]
    if request.method == "GET" and "password" in names:
        names.remove("password")  # never in a URL
    form = SignupForm(data)
    form.is_valid()
    return JsonResponse({"errors": form.errors_for(names)})


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    """Stripe's events: verified, deduplicated and applied in order of creation."""
    try:
        event = billing.verify_event(request.body, request.headers.get("Stripe-Signature"))
    except billing.WebhookRejected as exc:
        log.warning("Stripe webhook refused: %s", exc)
        return JsonResponse({"error": "invalid signature or payload"}, status=400)
    outcome = billing.process_event(event)
    return JsonResponse({"received": True, "outcome": outcome})
