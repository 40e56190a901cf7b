"""Provision a tenant from the command line (the same service the signup portal uses)."""

from django.core.management.base import BaseCommand, CommandError

from tenants.services import AdminUser, ProvisioningError, provision_tenant


class Command(BaseCommand):
    help = "Create a tenant: its schema (cloned from the template), domain and admin user."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="Company name.")
        parser.add_argument(
            "--subdomain", required=True, help="Host name part: acme → acme.<BASE_DOMAIN>."
        )
        parser.add_argument("--admin-email", required=True)
        parser.add_argument("--admin-password", required=True)
        parser.add_argument(
            "--module", action="append", default=[], help="Industry module to enable (repeat)."
        )
        parser.add_argument("--status", default="trial", choices=["trial", "active"])

    def handle(
        self, *args, name, subdomain, admin_email, admin_password, module, status, **options
    ):
        try:
            tenant = provision_tenant(
                name=name,
                subdomain=subdomain,
                modules=module,
                status=status,
                admin=AdminUser(email=admin_email, password=admin_password),
            )
        except ProvisioningError as exc:
            raise CommandError(f"{exc.field}: {exc}") from exc
        domain = tenant.get_primary_domain().domain
        self.stdout.write(
            self.style.SUCCESS(
                f"Created {tenant.name} at http://{domain}/ (schema {tenant.schema_name})"
            )
        )
