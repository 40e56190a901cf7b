"""pytest fixtures for Dinghuo and for plugin vendors' test suites.

Enable with ``pytest_plugins = ["core.testing.pytest_plugin"]``.

* ``tenant`` and ``other_tenant``: two tenants (schemas cloned from the
  template), created once per test run.
* ``in_tenant``: switch the test's database connection into a tenant's schema.
* ``tenant_client`` / ``other_tenant_client``: Django test clients bound to
  each tenant's host; ``gql(client, query, variables, token=...)`` posts GraphQL.
* ``count_queries`` (from :mod:`core.testing.queries`) and pytest-django's
  ``django_assert_max_num_queries`` count SQL statements.
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager

import pytest
from django.db import connection
from django.test import Client

from core.testing.queries import count_queries  # noqa: F401 - re-exported for tests

TENANT_SUBDOMAIN = "alpha"
OTHER_TENANT_SUBDOMAIN = "beta"


def pytest_sessionfinish(session, exitstatus):
    import os

    from config import embedded_pg

    if not os.environ.get("DATABASE_URL") and embedded_pg.started_here:
        embedded_pg.stop()


@pytest.fixture(scope="session")
def django_db_setup(
    request,
    django_test_environment,
    django_db_blocker,
    django_db_keepdb,
    django_db_createdb,
    django_db_modify_db_settings,
):
    """The test database, always created, with the tenant template schema migrated once.

    pytest-django creates the test database only when some collected test is
    marked ``django_db`` or uses ``db``; a run of only ``committed_db`` tests
    would otherwise talk to the development database. So this creates it
    whatever the selection.
    """
    from django.conf import settings
    from django.test.utils import setup_databases, teardown_databases

    from tenants.services import ensure_public_tenant, ensure_template_schema

    settings.STATIC_ROOT.mkdir(parents=True, exist_ok=True)
    keepdb = django_db_keepdb and not django_db_createdb
    with django_db_blocker.unblock():
        db_cfg = setup_databases(
            verbosity=request.config.option.verbose,
            interactive=False,
            aliases={"default"},
            keepdb=keepdb,
        )
        ensure_public_tenant()
        ensure_template_schema(force=True)
    yield
    if not django_db_keepdb:
        with django_db_blocker.unblock():
            _end_other_sessions()
            teardown_databases(db_cfg, verbosity=request.config.option.verbose)


def _end_other_sessions() -> None:
    """Before the test database is dropped: end sessions other processes (a worker,
    a live server still shutting down) or pooled connections still hold on it."""
    from django.db import connections

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    connections.close_all()
    if getattr(connection, "pool", None) is not None:
        connection.close_pool()


def _provision(subdomain: str, name: str, modules=()):
    from tenants.models import Tenant
    from tenants.services import provision_tenant

    existing = Tenant.objects.filter(schema_name=subdomain).first()
    if existing:
        return existing
    return provision_tenant(name=name, subdomain=subdomain, modules=list(modules))


@pytest.fixture(scope="session")
def tenant(django_db_setup, django_db_blocker):
    """A tenant that lives for the whole run; each test's data is rolled back."""
    with django_db_blocker.unblock():
        return _provision(TENANT_SUBDOMAIN, "Alpha Brand")


@pytest.fixture(scope="session")
def other_tenant(django_db_setup, django_db_blocker):
    """A second tenant, for isolation tests."""
    with django_db_blocker.unblock():
        return _provision(OTHER_TENANT_SUBDOMAIN, "Beta Brand")


KEEP_TABLES = {"django_migrations", "django_content_type", "auth_permission"}


def reset_tenant_data(*tenants) -> None:
    """Empty every table of the tenants' schemas except the migration bookkeeping."""
    with connection.cursor() as cursor:
        for t in tenants:
            cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", [t.schema_name])
            tables = [r[0] for r in cursor.fetchall() if r[0] not in KEEP_TABLES]
            if tables:
                names = ", ".join(f'"{t.schema_name}"."{name}"' for name in tables)
                cursor.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")


@pytest.fixture
def committed_db(django_db_setup, django_db_blocker, tenant, other_tenant):
    """Database access without a wrapping transaction: what the test writes is
    committed and visible to other connections (threads racing for stock, a
    worker process, a live HTTP server). Afterwards both test tenants' data is
    emptied, so tests stay independent.

    Use this rather than ``transaction=True``: Django's flush after such tests
    would also empty the public schema's tenant table.
    """
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        try:
            yield
        finally:
            connection.set_schema_to_public()
            reset_tenant_data(tenant, other_tenant)


@contextmanager
def _schema_of(tenant_obj):
    previous = connection.tenant
    connection.set_tenant(tenant_obj)
    try:
        yield tenant_obj
    finally:
        connection.set_tenant(previous)


@pytest.fixture
def in_tenant(db):
    """``with in_tenant(tenant): ...`` runs ORM code in that tenant's schema."""
    yield _schema_of
    connection.set_schema_to_public()


@pytest.fixture
def tenant_db(db, tenant):
    """The test's connection switched into ``tenant``'s schema for the whole test."""
    connection.set_tenant(tenant)
    yield tenant
    connection.set_schema_to_public()


def host_of(tenant_obj) -> str:
    return tenant_obj.get_primary_domain().domain


@pytest.fixture
def tenant_client(tenant):
    return Client(HTTP_HOST=host_of(tenant))


@pytest.fixture
def other_tenant_client(other_tenant):
    return Client(HTTP_HOST=host_of(other_tenant))


def gql(
    client: Client,
    query: str,
    variables: dict | None = None,
    *,
    token: str | None = None,
    api_key: str | None = None,
    operation_name: str | None = None,
):
    """POST a GraphQL operation; returns ``(status_code, body)``.

    The connection's schema is restored afterwards, so assertions can keep
    using the ORM in the schema the test was in.
    """
    headers = {}
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    if api_key:
        headers["HTTP_AUTHORIZATION"] = f"ApiKey {api_key}"
    previous = connection.tenant if hasattr(connection, "tenant") else None
    payload = {"query": query, "variables": variables or {}}
    if operation_name:
        payload["operationName"] = operation_name
    response = client.post(
        "/graphql/", json.dumps(payload), content_type="application/json", **headers
    )
    if previous is not None:
        connection.set_tenant(previous)
    return response.status_code, response.json()


@pytest.fixture
def graphql():
    return gql


def token_for(user) -> str:
    """A login token for ``user``, issued in the current schema."""
    from core.accounts.services import issue_token

    return issue_token(user).token


def database_url_for_subprocess() -> str:
    """A DATABASE_URL naming the database this test run uses (the test database)."""
    from urllib.parse import quote

    db = connection.settings_dict
    auth = quote(db["USER"] or "")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"])
    host = db.get("HOST") or ""
    if host.startswith("/"):
        return f"postgresql://{auth}@/{db['NAME']}?host={host}"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgresql://{auth}@{host}{port}/{db['NAME']}"


@pytest.fixture(scope="session")
def _celery_worker_session(django_db_setup, tenant, other_tenant):
    """One real Celery worker process for the run (see ``celery_worker_process``)."""
    import subprocess

    from django.conf import settings

    from core.testing.processes import start_celery_worker

    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_subprocess(),
        "CELERY_DIR": str(settings.CELERY_DIR),
    }
    proc = start_celery_worker(env)
    from config.celery import app

    _worker_consumes(app, proc, False)  # until a test asks for it
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture
def celery_worker_process(_celery_worker_session):
    """A real Celery worker process on the test database and this run's broker.

    Tests that use it must commit what the worker should see (``committed_db``).
    Messages earlier tests left queued (indexing and outbox work for data that
    is gone) are purged first, so the test waits only for its own tasks. The
    worker consumes only while such a test runs: afterwards it stops taking
    tasks, so work that later tests queue (they commit too) never runs beside
    them, racing their assertions or the emptying of their tables.
    """
    import time

    from config.celery import app
    from tenants.tasks import ping

    app.control.purge()
    _worker_consumes(app, _celery_worker_session, True)
    deadline = time.monotonic() + 120
    while True:
        try:
            ping.delay().get(timeout=10)
            break
        except Exception:  # noqa: BLE001 - still finishing the task it had in hand
            if _celery_worker_session.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("The Celery worker does not answer") from None
    yield _celery_worker_session
    _worker_consumes(app, _celery_worker_session, False)


def _worker_consumes(app, proc, consume: bool) -> None:
    """Start or stop the worker taking tasks from the default queue, and wait for its answer.

    The solo pool answers between tasks, so once it has answered a stop no task is running.
    """
    import time

    queue = app.conf.task_default_queue
    command = app.control.add_consumer if consume else app.control.cancel_consumer
    deadline = time.monotonic() + 120
    while not command(queue, reply=True, timeout=5):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("The Celery worker does not answer control commands")
