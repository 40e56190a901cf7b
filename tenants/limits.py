"""Plan limits, enforced by the services that create what a plan counts.

Call :func:`enforce_plan_limit` inside the service (and its transaction)
before creating a dealer, a SKU or an order::

    from tenants.limits import enforce_plan_limit

    def create_dealer(...):
        enforce_plan_limit("dealers")
        ...

It reads the tenant of the current connection (``connection.tenant``) and
raises :class:`core.exceptions.DomainError` with code ``PLAN_LIMIT_EXCEEDED``
and ``field`` set to the resource when the plan would be exceeded. The public
schema and tenants without a subscription have no limits.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from datetime import datetime

from django.apps import apps
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.exceptions import DomainError

from .models import Plan, Tenant
from .plans import PLAN_LIMIT_CODE, plan_for_tenant, plan_label

RESOURCES: dict[str, tuple[str, str]] = {
    # resource: (Plan field holding the limit, label)
    "dealers": ("max_dealers", gettext_lazy("dealers")),
    "skus": ("max_skus", gettext_lazy("SKUs")),
    "orders_per_month": ("max_orders_per_month", gettext_lazy("orders this month")),
    "modules": ("max_modules", gettext_lazy("industry modules")),
}

UsageCounter = Callable[[Tenant], int]
_counters: dict[str, UsageCounter] = {}


def register_usage_counter(resource: str, counter: UsageCounter) -> None:
    """Replace how ``resource`` is counted (the orders app registers its own
    ``orders_per_month`` counter in its ``AppConfig.ready``). The counter runs
    with the connection in the tenant's schema."""
    if resource not in RESOURCES:
        raise ValueError(f"Unknown plan resource {resource!r}")
    _counters[resource] = counter


def month_start(now: datetime | None = None) -> datetime:
    local = timezone.localtime(now or timezone.now())
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _count_dealers(tenant: Tenant) -> int:
    from core.accounts.models import Dealer, DealerStatus

    return Dealer.objects.exclude(status=DealerStatus.CLOSED).count()


def _count_skus(tenant: Tenant) -> int:
    from core.catalog.models import Sku

    return Sku.objects.count()


def _count_orders_this_month(tenant: Tenant) -> int:
    """Orders placed since the first of the month (local time), once an orders
    app with an ``Order`` model exists; 0 until then."""
    if not apps.is_installed("core.orders"):
        return 0
    try:
        order = apps.get_model("orders", "Order")
    except LookupError:
        return 0
    fields = {f.name for f in order._meta.get_fields()}
    since = month_start()
    for name in ("submitted_at", "placed_at", "created_at"):
        if name in fields:
            return order.objects.filter(**{f"{name}__gte": since}).count()
    return 0


def _count_modules(tenant: Tenant) -> int:
    return len(tenant.modules or [])


_DEFAULT_COUNTERS: dict[str, UsageCounter] = {
    "dealers": _count_dealers,
    "skus": _count_skus,
    "orders_per_month": _count_orders_this_month,
    "modules": _count_modules,
}


def current_tenant() -> Tenant | None:
    tenant = getattr(connection, "tenant", None)
    if tenant is None or not isinstance(tenant, Tenant) or tenant.pk is None:
        return None
    return tenant


def usage(resource: str, tenant: Tenant | None = None) -> int:
    """How much of ``resource`` the tenant of the current connection uses."""
    if resource not in RESOURCES:
        raise ValueError(f"Unknown plan resource {resource!r}")
    tenant = tenant or current_tenant()
    if tenant is None:
        return 0
    counter = _counters.get(resource) or _DEFAULT_COUNTERS[resource]
    return counter(tenant)


def limit_of(plan: Plan | None, resource: str) -> int | None:
    if plan is None:
        return None
    return getattr(plan, RESOURCES[resource][0])


def enforce_plan_limit(resource: str, *, adding: int = 1, tenant: Tenant | None = None) -> None:
    """Refuse to add ``adding`` more of ``resource`` beyond the tenant's plan.

    ``resource`` is one of ``dealers``, ``skus``, ``orders_per_month``,
    ``modules``. Inside a transaction, concurrent checks for the same tenant
    and resource are serialised (an advisory lock held until commit), so two
    racing creations cannot both take the last free place.
    """
    if resource not in RESOURCES:
        raise ValueError(f"Unknown plan resource {resource!r}")
    tenant = tenant or current_tenant()
    plan = plan_for_tenant(tenant)
    limit = limit_of(plan, resource)
    if limit is None or adding <= 0:
        return
    if connection.in_atomic_block:
        key = zlib.crc32(f"plan-limit:{tenant.schema_name}:{resource}".encode())
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])
    used = usage(resource, tenant)
    if used + adding > limit:
        raise DomainError(
            _(
                "Your %(plan)s plan allows %(limit)d %(resource)s and you have %(used)d. "
                "Upgrade your plan to add more."
            )
            % {
                "plan": plan_label(plan),
                "limit": limit,
                "resource": RESOURCES[resource][1],
                "used": used,
            },
            code=PLAN_LIMIT_CODE,
            field=resource,
            limit=limit,
            used=used,
        )


def usage_summary(tenant: Tenant) -> list[dict]:
    """Usage against limits for each resource, with the connection switched to
    the tenant's schema for the counts (the public admin and the billing page)."""
    from django_tenants.utils import schema_context

    plan = plan_for_tenant(tenant)
    rows = []
    with schema_context(tenant.schema_name):
        for resource, (_field, label) in RESOURCES.items():
            rows.append(
                {
                    "resource": resource,
                    "label": label,
                    "used": usage(resource, tenant),
                    "limit": limit_of(plan, resource),
                }
            )
    return rows
