"""Background work runs in a real worker process, in the schema of the tenant that sent it."""

import time
import uuid

import pytest
from django.core.cache import cache
from django.db import connection, transaction

from tenants.tasks import ping

pytestmark = [pytest.mark.worker, pytest.mark.usefixtures("committed_db")]


def _wait_for(key: str, seconds: float = 20.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = cache.get(key)
        if value is not None:
            return value
        time.sleep(0.05)
    return None


def test_tasks_run_in_the_senders_schema(celery_worker_process, tenant, other_tenant):
    for t in (tenant, other_tenant):
        connection.set_tenant(t)
        assert ping.delay().get(timeout=30) == t.schema_name
    connection.set_schema_to_public()
    assert ping.delay().get(timeout=30) == "public"


def test_tasks_are_sent_only_after_commit(celery_worker_process, tenant):
    connection.set_tenant(tenant)
    rolled_back, committed = uuid.uuid4().hex, uuid.uuid4().hex
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            ping.delay_on_commit(rolled_back)
            raise RuntimeError("abort")
    with transaction.atomic():
        ping.delay_on_commit(committed)
        # Not sent yet: the worker cannot have answered inside the transaction.
        assert cache.get(f"ping:{committed}") is None
    assert _wait_for(f"ping:{committed}") == tenant.schema_name
    # The cache key is tenant-aware, and the rolled-back task never ran.
    assert cache.get(f"ping:{rolled_back}") is None
    connection.set_schema_to_public()
    assert cache.get(f"ping:{committed}") is None


def test_the_worker_takes_no_tasks_between_the_tests_that_ask_for_it(_celery_worker_session):
    """Tests without the worker commit too, and their queued work must not run beside
    them (racing their assertions or the emptying of their tables): it waits, and the
    next test that asks for the worker purges it."""
    from config.celery import app

    queued = ping.delay()
    time.sleep(3)
    assert not queued.ready()
    app.control.purge()
