"""Tenant provisioning and no-op migration cost.

``python -m bench tenants [--quick]``

1. Provisioning time of :func:`tenants.services.provision_tenant` by cloning
   the migrated template schema (the default) and by running every tenant
   migration (``use_template=False``), alternating one of each so both see
   the same machine load; p50/p95 over 10 tenants each (``--quick``: 3), and
   ``clone_speedup`` = migrate p95 / clone p95. One clone is made first and
   not counted (the clone path dumps the template once per process; its time
   is reported as ``template_dump_s``); the migration modules are already
   imported when the migration count is taken, so the migration path needs no
   warm-up.
2. ``noop_migrate_per_tenant_ms``: ``migrate_schemas --tenant`` when every
   tenant schema is already migrated, divided by the number of tenants, with
   100 tenants (``--quick``: 20); the same with django-tenants'
   multiprocessing executor (not in ``--quick`` runs); and with ``migrate_tenants``, the command that
   skips up-to-date schemas after one query over all of them (it also checks
   the template schema, so it looks at one schema more).

Targets: clone p95 <= 1 s and >= 10x faster than migrations; no-op migrate
<= 50 ms per tenant. Runs in its own database (``dinghuo_bench``, see
:mod:`bench._benchdb`) and drops every tenant it made.
"""

from __future__ import annotations

import argparse
import time

from bench import _benchdb
from bench.common import emit, log, setup_django, summary

BENCH = "tenants"


def _tenant_migration_count() -> int:
    from django.apps import apps
    from django.conf import settings
    from django.db.migrations.loader import MigrationLoader

    tenant_apps = set(settings.TENANT_APPS)  # module paths or AppConfig class paths
    labels = {
        cfg.label
        for cfg in apps.get_app_configs()
        if cfg.name in tenant_apps or f"{type(cfg).__module__}.{type(cfg).__name__}" in tenant_apps
    }
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return sum(1 for app_label, _name in loader.disk_migrations if app_label in labels)


def _provision(subdomain: str, *, use_template: bool) -> float:
    from tenants.services import provision_tenant

    started = time.perf_counter()
    provision_tenant(name=f"Bench {subdomain}", subdomain=subdomain, use_template=use_template)
    return time.perf_counter() - started


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench tenants")
    parser.add_argument(
        "--quick", action="store_true", help="3 tenants per path, 20 for no-op migrate"
    )
    parser.add_argument("--tenants", type=int, help="tenants per provisioning path (default 10)")
    parser.add_argument(
        "--noop-tenants", type=int, help="tenants for the no-op migrate (default 100)"
    )
    args = parser.parse_args(argv)
    per_path = args.tenants or (3 if args.quick else 10)
    noop_count = args.noop_tenants or (20 if args.quick else 100)

    _benchdb.use_bench_database()
    setup_django()
    from django.core.management import call_command
    from django.db import connection

    from tenants import clone
    from tenants.models import Tenant

    log("bench tenants: preparing the bench database…")
    _benchdb.prepare()
    _benchdb.drop_tenants()  # leftovers of an interrupted run
    common = {"quick": args.quick}
    try:
        emit(BENCH, "tenant_migrations", _tenant_migration_count(), "count", **common)

        clone._cache.clear()
        dump_s = _timed(lambda: clone.clone_script(clone.settings.TENANT_BASE_SCHEMA))
        emit(
            BENCH,
            "template_dump_s",
            dump_s,
            "s",
            note="once per process, before the first clone",
            **common,
        )
        _provision("bench-warm-c", use_template=True)

        clone_times: list[float] = []
        migrate_times: list[float] = []
        for i in range(per_path):
            log(f"  provisioning pair {i + 1}/{per_path}")
            clone_times.append(_provision(f"bench-c-{i:03d}", use_template=True))
            migrate_times.append(_provision(f"bench-m-{i:03d}", use_template=False))
        clone_s, migrate_s = summary(clone_times), summary(migrate_times)
        extra = {"n": per_path, **common}
        emit(BENCH, "provision_clone_p50_s", clone_s["p50"], "s", **extra)
        emit(BENCH, "provision_clone_p95_s", clone_s["p95"], "s", target="<= 1", **extra)
        emit(BENCH, "provision_migrate_p50_s", migrate_s["p50"], "s", **extra)
        emit(BENCH, "provision_migrate_p95_s", migrate_s["p95"], "s", **extra)
        emit(
            BENCH,
            "clone_speedup",
            migrate_s["p95"] / clone_s["p95"],
            "x",
            baseline="provision_migrate_p95_s",
            target=">= 10",
            **extra,
        )

        existing = Tenant.objects.exclude(schema_name="public").count()
        for i in range(noop_count - existing):
            _provision(f"bench-n-{i:03d}", use_template=True)
        tenants = Tenant.objects.exclude(schema_name="public").count()
        log(f"  no-op migrate over {tenants} tenant schemas")
        results = {}
        runs = [
            ("migrate_schemas --tenant", "migrate_schemas", {"tenant": True, "interactive": False})
        ]
        if not args.quick:
            runs.append(
                (
                    "migrate_schemas --tenant --executor=multiprocessing",
                    "migrate_schemas",
                    {"tenant": True, "interactive": False, "executor": "multiprocessing"},
                )
            )
        runs.append(("migrate_tenants", "migrate_tenants", {}))
        for label, command, kwargs in runs:
            connection.close()
            seconds = _timed(lambda c=command, k=kwargs: call_command(c, verbosity=0, **k))
            connection.set_schema_to_public()
            results[label] = seconds * 1000 / tenants
        emit(
            BENCH,
            "noop_migrate_per_tenant_ms",
            results["migrate_schemas --tenant"],
            "ms",
            tenants=tenants,
            command="migrate_schemas --tenant",
            target="<= 50",
            **common,
        )
        if "migrate_schemas --tenant --executor=multiprocessing" in results:
            emit(
                BENCH,
                "noop_migrate_multiprocessing_per_tenant_ms",
                results["migrate_schemas --tenant --executor=multiprocessing"],
                "ms",
                tenants=tenants,
                command="migrate_schemas --tenant --executor=multiprocessing",
                baseline="noop_migrate_per_tenant_ms",
                target="<= 50",
                **common,
            )
        emit(
            BENCH,
            "noop_migrate_tenants_per_tenant_ms",
            results["migrate_tenants"],
            "ms",
            tenants=tenants,
            command="migrate_tenants (skips up-to-date schemas; template included)",
            baseline="noop_migrate_per_tenant_ms",
            target="<= 50",
            **common,
        )
    finally:
        connection.set_schema_to_public()
        dropped = _benchdb.drop_tenants()
        log(f"bench tenants: dropped {dropped} bench tenants")
