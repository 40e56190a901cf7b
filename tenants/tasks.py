from celery import shared_task
from django.db import connection


@shared_task(name="tenants.ping")
def ping() -> str:
    """Answer with the schema the task ran in: the worker health check."""
    return connection.schema_name
