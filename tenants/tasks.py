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
