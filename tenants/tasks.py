from celery import shared_task
from django.core.cache import cache
from django.db import connection


@shared_task(name="tenants.ping")
def ping(token: str | None = None) -> str:
    """Answer with the schema the task ran in: the worker health check.

    With a ``token``, also leave the answer in the (tenant-aware) cache under
    ``ping:<token>``, so a caller that cannot wait for a result can look.
    """
    if token:
        cache.set(f"ping:{token}", connection.schema_name, timeout=300)
    return connection.schema_name


@shared_task(name="tenants.send_billing_notice")
def send_billing_notice(subscription_id: int, kind: str) -> bool:
    """E-mail the tenant's billing contact about its subscription (``kind``:
    payment_failed, trial_will_end, trial_ended, canceled, suspended)."""
    from .notices import send_notice

    return send_notice(subscription_id, kind)


@shared_task(name="tenants.enforce_billing_grace_periods")
def enforce_billing_grace_periods() -> dict:
    """Periodic (Celery beat): trial reminders, ended trials, suspension after the grace period."""
    from .billing import enforce_grace_periods

    connection.set_schema_to_public()
    return enforce_grace_periods()
