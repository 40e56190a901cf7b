"""``manage.py migrate_tenants``: skips up-to-date schemas, migrates the others."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenants.management.commands import migrate_tenants
from tenants.management.commands.migrate_tenants import pending_migrations


def _shared_only_leaf() -> tuple[str, str]:
    """A migration of a public-only app that nothing depends on: tenant schemas
    record it while the router skips its operations, so forgetting and
    re-applying it there changes no table."""
    from django.apps import apps
    from django.conf import settings
    from django.db.migrations.loader import MigrationLoader

    tenant_apps = set(settings.TENANT_APPS)
    tenant_labels = {
        cfg.label
        for cfg in apps.get_app_configs()
        # An entry is a module path or an AppConfig class path.
        if cfg.name in tenant_apps or f"{type(cfg).__module__}.{type(cfg).__name__}" in tenant_apps
    }
    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    leaves = [k for k in graph.leaf_nodes() if k[0] not in tenant_labels]
    assert leaves, "the tenants app always has migrations"
    return leaves[0]


def _forget(schema: str, key: tuple[str, str]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f'DELETE FROM "{schema}".django_migrations WHERE app = %s AND name = %s', list(key)
        )
        assert cursor.rowcount == 1


def _recorded(schema: str, key: tuple[str, str]) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT count(*) FROM "{schema}".django_migrations WHERE app = %s AND name = %s',
            list(key),
        )
        return cursor.fetchone()[0] == 1


def test_up_to_date_schemas_cost_a_few_queries_and_no_migrate_run(db, tenant, other_tenant, capsys):
    with CaptureQueriesContext(connection) as captured:
        call_command("migrate_tenants")
    # Tenant list, migration-table lookup, one read of all schemas: no per-schema migrate.
    assert len(captured.captured_queries) <= 5
    out = capsys.readouterr().out
    assert "0 to migrate" in out and "Migrating" not in out
    call_command("migrate_tenants", check=True)  # does not raise


def test_only_the_out_of_date_schema_is_reported_and_migrated(db, tenant, other_tenant, capsys):
    shared_only = _shared_only_leaf()
    _forget(tenant.schema_name, shared_only)
    assert pending_migrations([tenant.schema_name, other_tenant.schema_name]) == {
        tenant.schema_name: [shared_only]
    }
    with pytest.raises(CommandError):
        call_command("migrate_tenants", check=True)
    out = capsys.readouterr().out
    assert f"{tenant.schema_name}: {shared_only[0]}.{shared_only[1]}" in out
    assert f"{other_tenant.schema_name}:" not in out
    assert not _recorded(tenant.schema_name, shared_only)  # --check changed nothing

    call_command("migrate_tenants")
    out = capsys.readouterr().out
    assert f"Migrating {tenant.schema_name}" in out
    assert f"Migrating {other_tenant.schema_name}" not in out
    connection.set_schema_to_public()
    assert _recorded(tenant.schema_name, shared_only)
    assert pending_migrations([tenant.schema_name, other_tenant.schema_name]) == {}


def test_a_schema_without_migration_table_misses_everything(db):
    with connection.cursor() as cursor:
        cursor.execute('CREATE SCHEMA "bare_schema"')
    expected, _replaces = migrate_tenants.expected_migrations()
    assert set(pending_migrations(["bare_schema"])["bare_schema"]) == expected


def test_a_squashed_migration_counts_as_applied_when_all_it_replaces_are(db, tenant, monkeypatch):
    expected, _ = migrate_tenants.expected_migrations()
    squash = ("catalog", "0001_squashed_for_test")
    replaced = sorted(k for k in expected if k[0] == "catalog")
    monkeypatch.setattr(
        migrate_tenants,
        "expected_migrations",
        lambda: ((expected - set(replaced)) | {squash}, {squash: replaced}),
    )
    assert pending_migrations([tenant.schema_name]) == {}
    _forget(tenant.schema_name, replaced[-1])
    assert pending_migrations([tenant.schema_name]) == {tenant.schema_name: [squash]}


def test_search_layout_migrations_say_that_they_empty_the_index(db):
    assert ("search", "0002_narrow_terms_and_dictionaries") in (
        migrate_tenants.index_rebuilding_migrations()
    )


def test_a_migration_that_empties_the_search_index_is_followed_by_a_rebuild(
    db, tenant, other_tenant, in_tenant, capsys, monkeypatch
):
    from core.testing.factories import SkuFactory
    from search.models import SearchDocument

    for each in (tenant, other_tenant):
        with in_tenant(each):
            SkuFactory()
            SearchDocument.objects.all().delete()  # what such a migration leaves
    shared_only = _shared_only_leaf()
    monkeypatch.setattr(migrate_tenants, "index_rebuilding_migrations", lambda: {shared_only})
    _forget(tenant.schema_name, shared_only)

    call_command("migrate_tenants")
    out = capsys.readouterr().out
    assert f"Rebuilt the search index of {tenant.schema_name} (1 indexed)." in out
    assert other_tenant.schema_name not in out  # up to date: neither migrated nor rebuilt
    assert connection.schema_name == "public"
    with in_tenant(tenant):
        assert SearchDocument.objects.count() == 1
    with in_tenant(other_tenant):
        assert SearchDocument.objects.count() == 0
