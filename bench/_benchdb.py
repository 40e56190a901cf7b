"""A separate database for benchmarks, so they never disturb the dev or demo data.

:func:`use_bench_database` must run before Django is set up: it creates the
database (``dinghuo_bench`` by default) on the same server the project uses
(the server of ``DATABASE_URL``, or the embedded PostgreSQL when that is
unset) and points ``DATABASE_URL`` at it. :func:`prepare` then migrates the
public schema and the tenant template there, and :func:`drop_tenants` removes
the tenants a benchmark made.
"""

from __future__ import annotations

import os
import tempfile
from urllib.parse import parse_qs, quote, unquote, urlencode, urlparse, urlunparse

BENCH_DATABASE = "dinghuo_bench"


def _server_url() -> str:
    """A URL for the project's database (``DATABASE_URL`` or the embedded server)."""
    url = os.environ.get("DATABASE_URL", "")
    if url:
        return url
    from config import embedded_pg

    db = embedded_pg.ensure_running()
    auth = quote(db["USER"] or "postgres")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"])
    return f"postgresql://{auth}@:{db['PORT']}/{db['NAME']}?" + urlencode({"host": db["HOST"]})


def _with_database(url: str, name: str) -> str:
    return urlunparse(urlparse(url)._replace(path="/" + name))


def _conninfo(url: str) -> dict:
    """psycopg connection arguments, read the way config/settings.py reads the URL.

    (config.settings itself is not imported here: Django would then reuse that
    module, evaluated before ``DATABASE_URL`` pointed at the bench database.)
    """
    parts = urlparse(url)
    query = parse_qs(parts.query)
    return {
        "dbname": unquote(parts.path.lstrip("/")) or "postgres",
        "user": unquote(parts.username or "") or None,
        "password": unquote(parts.password or "") or None,
        "host": query.get("host", [parts.hostname or ""])[0] or None,
        "port": parts.port,
    }


def use_bench_database(name: str = BENCH_DATABASE) -> str:
    """Create ``name`` on the project's server if missing; point ``DATABASE_URL`` at it.

    Also gives the process its own Celery file-broker folder, so nothing a
    benchmark enqueues reaches the worker of ``make run``. Returns the URL.
    """
    import psycopg

    server = _server_url()
    with psycopg.connect(**_conninfo(server), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    url = _with_database(server, name)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("CELERY_DIR", tempfile.mkdtemp(prefix="dinghuo-bench-celery-"))
    return url


def prepare() -> None:
    """Migrate the public schema and the tenant template of the bench database."""
    from django.core.management import call_command

    from tenants.services import ensure_public_tenant, ensure_template_schema

    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)
    ensure_public_tenant()
    ensure_template_schema(force=True)


def drop_tenants(prefix: str = "bench_") -> int:
    """Delete every tenant whose schema starts with ``prefix``; returns how many."""
    from django.db import connection

    from tenants.models import Tenant
    from tenants.services import delete_tenant

    connection.set_schema_to_public()
    count = 0
    for tenant in Tenant.objects.filter(schema_name__startswith=prefix):
        delete_tenant(tenant, confirm=tenant.schema_name)
        count += 1
    return count
