"""Periodic pricing work: rebate accrual and quote expiry, per tenant.

Beat sends the ``*_all_tenants`` tasks in the public schema; each sends one
task per tenant, which the tenant-aware Celery app runs in that tenant's schema.
"""

from __future__ import annotations

from celery import shared_task
from django.db import connection
from django_tenants.utils import get_public_schema_name, schema_context


def _tenant_schemas() -> list[str]:
    from tenants.models import Tenant

    return list(
        Tenant.objects.exclude(schema_name=get_public_schema_name()).values_list(
            "schema_name", flat=True
        )
    )


def _fan_out(task) -> int:
    schemas = _tenant_schemas()
    for schema in schemas:
        with schema_context(schema):
            task.delay()
    return len(schemas)


@shared_task(name="pricing.accrue_rebates")
def accrue_rebates() -> int:
    """Accrue the closed rebate periods of the current tenant (idempotent)."""
    from .services import accrue_rebates as accrue

    if connection.schema_name == get_public_schema_name():
        return 0
    return accrue()


@shared_task(name="pricing.expire_quotes")
def expire_quotes() -> int:
    from .services import expire_quotes as expire

    if connection.schema_name == get_public_schema_name():
        return 0
    return expire()


@shared_task(name="pricing.accrue_rebates_all_tenants")
def accrue_rebates_all_tenants() -> int:
    """Beat's entry point: one ``pricing.accrue_rebates`` per tenant."""
    return _fan_out(accrue_rebates)


@shared_task(name="pricing.expire_quotes_all_tenants")
def expire_quotes_all_tenants() -> int:
    return _fan_out(expire_quotes)
