"""``manage.py reindex_search --schema acme`` (or ``--all``): rebuild tenants' search indexes."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils.translation import gettext as _


class Command(BaseCommand):
    help = "Rebuild the search index of one tenant (--schema) or of every tenant (--all), without downtime."

    def add_arguments(self, parser):
        parser.add_argument("--schema", help="The tenant's schema name.")
        parser.add_argument("--all", action="store_true", help="Every tenant.")
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, schema=None, all=False, batch_size=500, **options):
        from tenants.models import Tenant

        from ...indexing import reindex_all

        tenants = Tenant.objects.exclude(schema_name="public")
        if schema:
            tenants = tenants.filter(schema_name=schema)
        elif not all:
            raise CommandError(_("Give --schema NAME or --all."))
        if not tenants.exists():
            raise CommandError(_("No such tenant: %(schema)s") % {"schema": schema})
        for tenant in tenants:
            connection.set_tenant(tenant)
            count = reindex_all(batch_size=batch_size)
            self.stdout.write(f"{tenant.schema_name}: {count}")
        connection.set_schema_to_public()
