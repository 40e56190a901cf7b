"""``manage.py migrate_tenants``: migrate the tenant template and every tenant
schema, skipping the schemas that are already up to date.

``migrate_schemas --tenant`` runs Django's whole ``migrate`` command in every
schema, even when there is nothing to apply: it reconnects, rebuilds the
migration plan and sends ``post_migrate``, whose content-type and permission
checks cost about a hundred SQL statements per schema (some 130 ms a tenant,
see ``python -m bench tenants``). With thousands of tenants a deploy would
spend minutes doing nothing.

This command loads the migration graph once, reads the applied migrations of
all schemas in a few queries (one per 500 schemas), and runs
``migrate_schemas`` only in the schemas that miss something, the template
first (so tenants cloned afterwards are current). A schema that misses nothing
needs no ``post_migrate`` either: content types and permissions only change
with a migration that adds or alters a model, which makes the schema out of
date. ``--check`` lists out-of-date schemas and fails without migrating
(for deploy pipelines).

A migration that changes the layout of the PostgreSQL search index (it says
so with ``rebuilds_search_index = True``) leaves the index empty: the command
rebuilds the index of each tenant it applied such a migration to, right after
migrating it, so search never stays empty after a deploy.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.migrations.loader import MigrationLoader

CHUNK = 500
#: The attribute of a ``Migration`` class that empties the PostgreSQL search index.
REBUILDS_SEARCH_INDEX = "rebuilds_search_index"

Key = tuple[str, str]


def expected_migrations() -> tuple[set[Key], dict[Key, list[Key]]]:
    """Every migration of the project (all apps: a tenant schema records the
    shared apps' migrations too, their operations skipped by the router), and
    the migrations each squashed migration replaces."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    replaces = {key: list(migration.replaces) for key, migration in loader.replacements.items()}
    return set(loader.graph.nodes), replaces


def _applied_by_schema(schemas: list[str]) -> dict[str, set[Key]]:
    """Applied migrations per schema; a schema without a migration table is absent."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT schemaname FROM pg_tables WHERE tablename = 'django_migrations'"
            " AND schemaname = ANY(%s)",
            [schemas],
        )
        migrated = [row[0] for row in cursor.fetchall()]
        applied: dict[str, set[Key]] = {name: set() for name in migrated}
        for start in range(0, len(migrated), CHUNK):
            chunk = migrated[start : start + CHUNK]
            sql = " UNION ALL ".join(
                f"SELECT %s, app, name FROM {quote(name)}.django_migrations" for name in chunk
            )
            cursor.execute(sql, chunk)
            for schema, app, name in cursor.fetchall():
                applied[schema].add((app, name))
    return applied


def pending_migrations(schemas: list[str]) -> dict[str, list[Key]]:
    """The migrations each schema still misses (only schemas that miss some)."""
    expected, replaces = expected_migrations()
    applied = _applied_by_schema(list(schemas))
    pending: dict[str, list[Key]] = {}
    for schema in schemas:
        done = applied.get(schema, set())
        missing = sorted(
            key
            for key in expected
            if key not in done and not (key in replaces and all(r in done for r in replaces[key]))
        )
        if missing:
            pending[schema] = missing
    return pending


def index_rebuilding_migrations() -> set[Key]:
    """The migrations that leave the PostgreSQL search index to be rebuilt."""
    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    return {
        key
        for key, migration in graph.nodes.items()
        if getattr(migration, REBUILDS_SEARCH_INDEX, False)
    }


def rebuild_search_index(schema: str) -> int | None:
    """Rebuild ``schema``'s search index when the deployment searches with PostgreSQL
    (another backend keeps its own index); the number of products indexed."""
    import search
    from search.indexing import reindex_all
    from tenants.models import Tenant

    if search.backend().name != "postgres":
        return None
    connection.set_tenant(Tenant.objects.get(schema_name=schema))
    try:
        return reindex_all()
    finally:
        connection.set_schema_to_public()


def tenant_schemas() -> list[str]:
    from tenants.models import Tenant

    return list(
        Tenant.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME)
        .order_by("schema_name")
        .values_list("schema_name", flat=True)
    )


def _n(count: int) -> str:
    return f"{count} schema" if count == 1 else f"{count} schemas"


class Command(BaseCommand):
    help = (
        "Migrate the tenant template and the tenant schemas that have unapplied "
        "migrations, skipping those already up to date."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--check",
            action="store_true",
            help="List the schemas with unapplied migrations and exit with an error if any; change nothing.",
        )
        parser.add_argument(
            "--no-template",
            action="store_true",
            help="Leave the tenant template schema alone.",
        )

    def handle(self, *args, check: bool, no_template: bool, verbosity: int = 1, **options):
        from tenants.services import ensure_template_schema

        started = time.perf_counter()
        connection.set_schema_to_public()
        template = settings.TENANT_BASE_SCHEMA
        schemas = ([] if no_template else [template]) + tenant_schemas()
        pending = pending_migrations(schemas)
        checked_ms = (time.perf_counter() - started) * 1000
        if verbosity >= 1:
            self.stdout.write(
                f"Checked {_n(len(schemas))} in {checked_ms:.0f} ms: "
                f"{len(schemas) - len(pending)} up to date, {len(pending)} to migrate."
            )
        if verbosity >= 2 or check:
            for schema, missing in pending.items():
                names = ", ".join(f"{app}.{name}" for app, name in missing[:5])
                more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
                self.stdout.write(f"  {schema}: {names}{more}")
        if check:
            if pending:
                raise CommandError(f"{len(pending)} schemas have unapplied migrations.")
            return
        rebuilding = index_rebuilding_migrations() if pending else set()
        for schema, missing in pending.items():
            if verbosity >= 1:
                self.stdout.write(f"Migrating {schema}…")
            if schema == template:
                ensure_template_schema(force=True, verbosity=max(verbosity - 1, 0))
            else:
                call_command(
                    "migrate_schemas",
                    tenant=True,
                    schema_name=schema,
                    interactive=False,
                    verbosity=max(verbosity - 1, 0),
                )
            connection.set_schema_to_public()
            if schema != template and rebuilding.intersection(missing):
                count = rebuild_search_index(schema)
                if count is not None and verbosity >= 1:
                    self.stdout.write(f"Rebuilt the search index of {schema} ({count} indexed).")
        if pending and verbosity >= 1:
            total = time.perf_counter() - started
            self.stdout.write(
                self.style.SUCCESS(f"Migrated {len(pending)} schemas in {total:.1f} s.")
            )
