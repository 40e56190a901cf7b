"""Delete a tenant and drop its schema, after the schema name is typed back."""

from django.core.management.base import BaseCommand, CommandError

from tenants.models import Tenant
from tenants.services import ConfirmationRequired, delete_tenant


class Command(BaseCommand):
    help = "Drop a tenant's schema and rows. Asks for the schema name as confirmation."

    def add_arguments(self, parser):
        parser.add_argument("schema_name")
        parser.add_argument("--confirm", help="The schema name again, for non-interactive use.")

    def handle(self, *args, schema_name, confirm=None, **options):
        tenant = Tenant.objects.filter(schema_name=schema_name).first()
        if tenant is None:
            raise CommandError(f"No tenant with schema {schema_name!r}.")
        if confirm is None:
            confirm = input(
                f"This drops every order, dealer and product of {tenant.name}. Type {schema_name} to confirm: "
            )
        try:
            delete_tenant(tenant, confirm=confirm.strip())
        except ConfirmationRequired as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"Deleted {schema_name}."))
