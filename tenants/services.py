"""Tenant lifecycle: provisioning by cloning the template schema, suspension, deletion.

These services are the only way tenants are created or removed. The signup
portal, the ``create_tenant`` management command, the demo loader and the
tests all call :func:`provision_tenant`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context, schema_exists

from .clone import clone_template
from .models import Domain, Tenant, TenantStatus

SUBDOMAIN_RE = re.compile(r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")
RESERVED_SUBDOMAINS = frozenset(
    {
        "www",
        "admin",
        "api",
        "app",
        "public",
        "static",
        "media",
        "mail",
        "smtp",
        "ftp",
        "graphql",
        "billing",
        "signup",
        "login",
        "help",
        "support",
        "status",
        "docs",
        "dev",
        "test",
        "staging",
        "demo-template",
        "tenant-template",
        "pg",
        "information-schema",
    }
)


class ProvisioningError(Exception):
    """A tenant could not be created; ``field`` and ``code`` say why."""

    def __init__(self, message: str, *, field: str, code: str):
        super().__init__(message)
        self.field = field
        self.code = code


@dataclass(frozen=True)
class AdminUser:
    email: str
    password: str
    first_name: str = ""
    last_name: str = ""


def template_schema_name() -> str:
    return settings.TENANT_BASE_SCHEMA


def schema_for_subdomain(subdomain: str) -> str:
    return subdomain.replace("-", "_")


def tenant_host(subdomain: str) -> str:
    return f"{subdomain}.{settings.BASE_DOMAIN}"


def validate_subdomain(subdomain: str) -> str:
    """Return the normalised subdomain or raise :class:`ProvisioningError`."""
    value = (subdomain or "").strip().lower()
    if not SUBDOMAIN_RE.match(value) or "--" in value:
        raise ProvisioningError(
            _("Use 3 to 32 lowercase letters, digits or dashes, starting with a letter."),
            field="subdomain",
            code="INVALID",
        )
    if (
        value in RESERVED_SUBDOMAINS
        or value.startswith("pg-")
        or value == settings.PUBLIC_SCHEMA_NAME
    ):
        raise ProvisioningError(_("This name is reserved."), field="subdomain", code="RESERVED")
    if value.replace("-", "_") == template_schema_name():
        raise ProvisioningError(_("This name is reserved."), field="subdomain", code="RESERVED")
    if (
        Domain.objects.filter(domain=tenant_host(value)).exists()
        or Tenant.objects.filter(schema_name=schema_for_subdomain(value)).exists()
    ):
        raise ProvisioningError(_("This name is already taken."), field="subdomain", code="TAKEN")
    return value


_template_checked = False


def ensure_public_tenant() -> Tenant:
    """The row that routes the platform's own host (``BASE_DOMAIN``) to the public schema."""
    tenant, _created = Tenant.objects.get_or_create(
        schema_name=settings.PUBLIC_SCHEMA_NAME,
        defaults={"name": "Dinghuo", "status": TenantStatus.ACTIVE},
    )
    for host in (settings.BASE_DOMAIN, "127.0.0.1"):
        Domain.objects.get_or_create(
            domain=host, defaults={"tenant": tenant, "is_primary": host == settings.BASE_DOMAIN}
        )
    return tenant


def ensure_template_schema(*, force: bool = False, verbosity: int = 0) -> None:
    """Create the template schema if missing and bring it to the latest migration.

    Runs once per process (the check costs a migration-graph load); ``force``
    checks again. ``make run``, the test harness and ``migrate_all`` call it.
    """
    global _template_checked
    if _template_checked and not force:
        return
    name = template_schema_name()
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA IF NOT EXISTS "{name}"')
    call_command(
        "migrate_schemas", tenant=True, schema_name=name, interactive=False, verbosity=verbosity
    )
    connection.set_schema_to_public()
    _template_checked = True


def provision_tenant(
    *,
    name: str,
    subdomain: str,
    admin: AdminUser | None = None,
    modules: list[str] | tuple[str, ...] = (),
    status: str = TenantStatus.TRIAL,
    extra_domains: list[str] | tuple[str, ...] = (),
    use_template: bool = True,
) -> Tenant:
    """Create a tenant, its schema (cloned from the template), its domain and its admin.

    Everything happens in one transaction: PostgreSQL DDL is transactional, so
    a failure leaves no schema, no tenant row and no half-made admin, and the
    call can simply be retried. Two concurrent calls for one subdomain end with
    exactly one tenant (unique schema name and domain), the other raising
    :class:`ProvisioningError` with code ``TAKEN``.

    ``use_template=False`` runs every migration instead of cloning; it exists
    for the provisioning benchmark and for emergencies.
    """
    from django.db import IntegrityError

    subdomain = validate_subdomain(subdomain)
    if not (name or "").strip():
        raise ProvisioningError(_("Enter the company name."), field="name", code="REQUIRED")
    schema_name = schema_for_subdomain(subdomain)
    if use_template:
        ensure_template_schema()
    try:
        with transaction.atomic():
            tenant = Tenant(
                name=name.strip(), schema_name=schema_name, status=status, modules=list(modules)
            )
            tenant.save()
            _create_schema(tenant, use_template=use_template)
            Domain.objects.create(domain=tenant_host(subdomain), tenant=tenant, is_primary=True)
            for extra in extra_domains:
                Domain.objects.create(domain=extra, tenant=tenant, is_primary=False)
            if admin is not None:
                with schema_context(schema_name):
                    from core.accounts.services import create_tenant_admin

                    create_tenant_admin(
                        email=admin.email,
                        password=admin.password,
                        first_name=admin.first_name,
                        last_name=admin.last_name,
                    )
    except IntegrityError as exc:
        raise ProvisioningError(
            _("This name is already taken."), field="subdomain", code="TAKEN"
        ) from exc
    finally:
        connection.set_schema_to_public()
    return tenant


def _create_schema(tenant: Tenant, *, use_template: bool) -> None:
    template = template_schema_name()
    if use_template:
        if schema_exists(tenant.schema_name, case_sensitive=False):
            raise ProvisioningError(
                _("This name is already taken."), field="subdomain", code="TAKEN"
            )
        # The template carries its django_migrations rows, so the clone is
        # already recorded as fully migrated; no fake migration run is needed.
        clone_template(template, tenant.schema_name)
    else:
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA "{tenant.schema_name}"')
        call_command(
            "migrate_schemas",
            tenant=True,
            schema_name=tenant.schema_name,
            interactive=False,
            verbosity=0,
        )
    connection.set_schema_to_public()


def suspend_tenant(tenant: Tenant) -> Tenant:
    tenant.status = TenantStatus.SUSPENDED
    tenant.suspended_at = timezone.now()
    tenant.save(update_fields=["status", "suspended_at"])
    return tenant


def resume_tenant(tenant: Tenant, *, status: str = TenantStatus.ACTIVE) -> Tenant:
    tenant.status = status
    tenant.suspended_at = None
    tenant.save(update_fields=["status", "suspended_at"])
    return tenant


class ConfirmationRequired(Exception):
    """Deleting a tenant needs its schema name typed back as confirmation."""


def delete_tenant(tenant: Tenant, *, confirm: str) -> None:
    """Drop the tenant's schema and its rows. ``confirm`` must equal the schema name."""
    if confirm != tenant.schema_name:
        raise ConfirmationRequired(
            _("Type the tenant's schema name (%(name)s) to confirm deletion.")
            % {"name": tenant.schema_name}
        )
    _drop_search_index(tenant)
    with transaction.atomic():
        connection.set_schema_to_public()
        tenant.delete(force_drop=True)


def _drop_search_index(tenant: Tenant) -> None:
    """The tenant's search index (Elasticsearch) goes with it; PostgreSQL's goes with the schema."""
    import logging

    try:
        from search import backend

        with schema_context(tenant.schema_name):
            backend().drop()
    except Exception:  # noqa: BLE001 - an unreachable search server must not keep a tenant alive
        logging.getLogger(__name__).warning(
            "Could not drop the search index of %s", tenant.schema_name, exc_info=True
        )
