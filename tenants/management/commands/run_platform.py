"""``make run``: bring the whole platform up on this machine and keep it running.

Migrates the public schema and the tenant template, provisions the ``demo``
tenant with its data (once; later runs reuse it), then starts the ASGI web
server (uvicorn) and a Celery worker process, prints the URLs and logins, and
stops everything it started on Ctrl-C, the embedded PostgreSQL included.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection, connections


class Command(BaseCommand):
    help = "Start the platform (web + worker) with a demo tenant."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument(
            "--no-worker", action="store_true", help="Do not start a Celery worker."
        )
        parser.add_argument(
            "--setup-only", action="store_true", help="Migrate and load the demo, then exit."
        )

    def handle(self, *args, host, port, no_worker, setup_only, **options):
        from config import embedded_pg
        from core.demo import DEMO_LOGINS, DEMO_PASSWORD, DEMO_SUBDOMAIN

        self.stdout.write("Migrating the public schema and the tenant template…")
        call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
        call_command("createcachetable", verbosity=0)
        from tenants.services import ensure_public_tenant, ensure_template_schema

        ensure_public_tenant()
        ensure_template_schema(force=True)
        call_command("migrate_tenants", verbosity=0)  # only schemas with unapplied migrations
        call_command("collectstatic", interactive=False, verbosity=0)
        self._ensure_demo()
        connections.close_all()
        if setup_only:
            return

        env = {**os.environ}
        if not os.environ.get("DATABASE_URL"):
            db = settings.DATABASES["default"]
            env["DATABASE_URL"] = f"postgresql://{db['USER']}@/{db['NAME']}?host={db['HOST']}"
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "config.asgi:application",
                    "--host",
                    host,
                    "--port",
                    str(port),
                    "--workers",
                    os.environ.get("WEB_CONCURRENCY", "1"),
                ],
                env=env,
            )
        ]
        if not no_worker:
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "celery",
                        "-A",
                        "config",
                        "worker",
                        "--loglevel",
                        "INFO",
                        "--concurrency",
                        os.environ.get("CELERY_CONCURRENCY", "2"),
                        "--beat",
                        "--schedule",
                        str(settings.DATA_DIR / "celerybeat-schedule"),
                    ],
                    env=env,
                )
            )
        base = settings.BASE_DOMAIN
        lines = [
            "",
            "Dinghuo is running. Ctrl-C stops everything.",
            f"  Signup portal:    http://{base}:{port}/",
            f"  Platform admin:   http://{base}:{port}/admin/",
            f"  Demo tenant API:  http://{DEMO_SUBDOMAIN}.{base}:{port}/graphql/",
            f"  Demo console:     http://{DEMO_SUBDOMAIN}.{base}:{port}/admin/",
            "  Demo logins (password " + DEMO_PASSWORD + "):",
            *[f"    {login:<22} {what}" for login, what in DEMO_LOGINS],
            f"  Celery broker:    {settings.CELERY_BROKER_URL}",
            "",
        ]
        self.stdout.write("\n".join(lines))
        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping and all(p.poll() is None for p in procs):
                time.sleep(0.5)
        finally:
            for p in procs:
                if p.poll() is None:
                    p.terminate()
            for p in procs:
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
            if not os.environ.get("DATABASE_URL"):
                embedded_pg.stop()
                self.stdout.write("Stopped the web server, the worker and the embedded PostgreSQL.")

    def _ensure_demo(self):
        from core.demo import DEMO_ADMIN_EMAIL, DEMO_PASSWORD, DEMO_SUBDOMAIN, seed_demo
        from tenants.models import Tenant, TenantStatus
        from tenants.services import AdminUser, provision_tenant, schema_for_subdomain

        tenant = Tenant.objects.filter(schema_name=schema_for_subdomain(DEMO_SUBDOMAIN)).first()
        if tenant is None:
            self.stdout.write("Provisioning the demo tenant…")
            tenant = provision_tenant(
                name="Dinghuo Demo 演示品牌",
                subdomain=DEMO_SUBDOMAIN,
                status=TenantStatus.ACTIVE,
                admin=AdminUser(email=DEMO_ADMIN_EMAIL, password=DEMO_PASSWORD, first_name="Demo"),
            )
        self._enable_plugins(tenant)
        connection.set_tenant(tenant)
        try:
            seed_demo()
            from plugins.manager import hooks_for

            # Each enabled industry module adds its demo records (idempotent).
            hooks_for(tenant).load_demo_data(tenant)
        finally:
            connection.set_schema_to_public()

    def _enable_plugins(self, tenant):
        """The demo shows every installed industry module."""
        from plugins.services import available_plugins, set_enabled_plugins

        names = sorted(info.name for info in available_plugins())
        if names and sorted(tenant.modules or []) != names:
            set_enabled_plugins(tenant=tenant, names=names)
            tenant.refresh_from_db()
