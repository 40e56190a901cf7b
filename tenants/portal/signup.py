"""Signing up: provision the tenant with its admin, start its subscription,
and hand the new admin's login over to the tenant host.

Sessions are host-only cookies, so the portal cannot log the admin in on
``acme.localhost`` itself. It signs a short-lived, one-time hand-over token
bound to the tenant's schema and to the admin; the tenant host exchanges it
for a session (:func:`redeem_handoff_token`).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.db import connection, transaction
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context

from core.accounts.models import User
from core.exceptions import DomainError
from tenants.models import Plan, Tenant, TenantStatus
from tenants.plans import check_modules, start_subscription
from tenants.services import AdminUser, ensure_template_schema, provision_tenant

HANDOFF_SALT = "dinghuo.signup.handoff"


@dataclass(frozen=True)
class SignupResult:
    tenant: Tenant
    admin: User
    handoff_token: str
    next_path: str


def signup(
    *,
    company_name: str,
    subdomain: str,
    admin_name: str,
    email: str,
    password: str,
    modules: list[str],
    plan: Plan,
    language: str = "",
) -> SignupResult:
    """Create the tenant (cloned schema, domain, admin, modules) and its
    subscription in one transaction: on any failure nothing is left behind and
    the signup can be retried. Raises :class:`tenants.services.ProvisioningError`
    or :class:`core.exceptions.DomainError` naming the field at fault."""
    from plugins.services import available_plugins, enable_plugin

    modules = check_modules(plan, modules)
    installed = {info.name for info in available_plugins()}
    ensure_template_schema()
    with transaction.atomic():
        tenant = provision_tenant(
            name=company_name,
            subdomain=subdomain,
            modules=[m for m in modules if m not in installed],
            status=TenantStatus.TRIAL,
            admin=AdminUser(email=email, password=password, first_name=admin_name.strip()),
        )
        start_subscription(tenant=tenant, plan=plan, billing_email=email, language=language)
        # Enabling through the plugin service runs each module's plugin_enabled hook.
        for name in modules:
            if name in installed:
                enable_plugin(tenant=tenant, name=name)
        with schema_context(tenant.schema_name):
            admin = User.objects.get(email=email.lower())
    next_path = "/admin/" if plan.is_free else f"/billing/start/{plan.code}/"
    token = make_handoff_token(schema_name=tenant.schema_name, user=admin, next_path=next_path)
    return SignupResult(tenant=tenant, admin=admin, handoff_token=token, next_path=next_path)


def _login_stamp(user: User) -> str:
    return user.last_login.isoformat() if user.last_login else ""


def make_handoff_token(*, schema_name: str, user: User, next_path: str = "/admin/") -> str:
    """A signed token for ``user`` of ``schema_name``; valid for
    ``SIGNUP_HANDOFF_MAX_AGE`` seconds and only until the user next logs in."""
    payload = {"s": schema_name, "u": user.pk, "l": _login_stamp(user), "n": next_path}
    return signing.dumps(payload, salt=HANDOFF_SALT, compress=True)


class HandoffRefused(DomainError):
    code = "HANDOFF_REFUSED"


def redeem_handoff_token(token: str) -> tuple[User, str]:
    """The user a hand-over token names in the current tenant, and where to go.

    Call inside a transaction and log the user in within it: the user row is
    locked, and logging in changes ``last_login``, which spends the token.
    """
    try:
        payload = signing.loads(
            token or "", salt=HANDOFF_SALT, max_age=settings.SIGNUP_HANDOFF_MAX_AGE
        )
    except signing.SignatureExpired as exc:
        raise HandoffRefused(
            _("This sign-in link has expired. Sign in with your email and password.")
        ) from exc
    except signing.BadSignature as exc:
        raise HandoffRefused(_("This sign-in link is not valid.")) from exc
    if payload.get("s") != connection.schema_name:
        raise HandoffRefused(_("This sign-in link is not valid."))
    user = User.objects.select_for_update().filter(pk=payload.get("u"), is_active=True).first()
    if user is None or payload.get("l") != _login_stamp(user):
        raise HandoffRefused(
            _("This sign-in link has already been used. Sign in with your email and password.")
        )
    next_path = payload.get("n") or "/admin/"
    if not next_path.startswith("/") or next_path.startswith("//"):
        next_path = "/admin/"
    return user, next_path
