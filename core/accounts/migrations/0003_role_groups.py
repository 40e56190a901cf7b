"""One auth group per console role in every tenant schema, with the existing
users put in their role's group (and sales reps allowed into the console).

The groups' permissions are given by ``core.accounts.roles.on_post_migrate``
after the migration run, once every app's permissions exist; this migration
also makes each existing tenant schema out of date, so ``migrate_tenants``
runs there and that handler fills them.
"""

from django.db import migrations

GROUP_NAMES = {"tenant_admin": "tenant_admin", "staff": "staff", "sales_rep": "sales_rep"}


def create_role_groups(apps, schema_editor):
    from django_tenants.utils import get_public_schema_name

    connection = schema_editor.connection
    if getattr(connection, "schema_name", None) in (None, get_public_schema_name()):
        return  # the public schema's users are the platform's operators
    alias = connection.alias
    Group = apps.get_model("auth", "Group")
    User = apps.get_model("accounts", "User")
    Membership = User.groups.through
    for role, name in GROUP_NAMES.items():
        group, _ = Group.objects.using(alias).get_or_create(name=name)
        members = set(Membership.objects.using(alias).filter(group_id=group.pk).values_list("user_id", flat=True))
        Membership.objects.using(alias).bulk_create([
            Membership(user_id=pk, group_id=group.pk)
            for pk in User.objects.using(alias).filter(role=role).values_list("pk", flat=True)
            if pk not in members
        ])
    User.objects.using(alias).filter(role__in=list(GROUP_NAMES)).update(is_staff=True)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_dealer_tree_terms_addresses_contacts"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.RunPython(create_role_groups, migrations.RunPython.noop),
    ]
