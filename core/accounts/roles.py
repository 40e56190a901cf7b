"""What each role may do in the tenant console, as data.

Every console role has one ``django.contrib.auth`` group in each tenant schema,
named after the role (``tenant_admin``, ``staff``, ``sales_rep``), holding the
model permissions of :data:`ROLE_PERMISSIONS`. A user is put in its role's
group when the role is set (:func:`core.accounts.services.create_user`,
:func:`core.accounts.services.set_role`, the console's user form), so the
console shows a staff user the catalogue, prices, stock and orders, and not
users or API keys.

The groups decide *which models* a role may open; *which rows* it sees there
stays with the selectors (``core.accounts.selectors``): a sales rep opening the
dealer list sees only the dealers it covers.

The groups are brought to this table after every ``migrate`` of a tenant
schema (the ``post_migrate`` handler below, which runs in the template schema,
so cloned tenants start with them), and created on first use where they are
missing. A tenant may make more groups of its own; only the role groups are
kept in line with this table.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.apps import apps as global_apps
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

from .models import Role, User

#: The group of each role that uses the console (dealer users have none).
GROUP_NAMES: dict[str, str] = {
    Role.TENANT_ADMIN: "tenant_admin",
    Role.STAFF: "staff",
    Role.SALES_REP: "sales_rep",
}
#: Roles that may sign in to the console (``is_staff``).
CONSOLE_ROLES = frozenset(GROUP_NAMES)

VIEW = frozenset({"view"})
MANAGE = frozenset({"view", "add", "change"})
EVERYTHING = frozenset({"view", "add", "change", "delete"})

#: Stands for every app of ``settings.TENANT_APPS``.
TENANT_APPS = "@tenant"
#: Stands for every industry plugin's app (``plugins.manager.plugin_django_apps``).
INDUSTRY_APPS = "@industry"
ANY_MODEL = "*"

DEALER_MODELS = ("dealer", "dealeraddress", "dealercontact")

#: role -> ((app label or marker, model name or ``*``, actions), ...)
ROLE_PERMISSIONS: dict[str, tuple[tuple[str, str, frozenset[str]], ...]] = {
    Role.TENANT_ADMIN: ((TENANT_APPS, ANY_MODEL, EVERYTHING),),
    # Staff run the business: catalogue, prices, promotions, rebates, credit,
    # quotes, stock, orders, imports and the industry modules' data, and the
    # dealers. Deleting, users, API keys, groups and billing stay with admins.
    Role.STAFF: (
        ("catalog", ANY_MODEL, MANAGE),
        ("pricing", ANY_MODEL, MANAGE),
        ("inventory", ANY_MODEL, MANAGE),
        ("orders", ANY_MODEL, MANAGE),
        ("imports", ANY_MODEL, MANAGE),
        (INDUSTRY_APPS, ANY_MODEL, MANAGE),
        *(("accounts", model, MANAGE) for model in DEALER_MODELS),
    ),
    # A sales rep looks at the dealers it covers (the dealer list is scoped by
    # selectors.visible_dealer_ids). Orders are not granted: the orders
    # console (core/orders/admin.py) does not narrow its rows to the rep's
    # dealers yet, so view_order would show a rep every dealer's orders.
    Role.SALES_REP: tuple(("accounts", model, VIEW) for model in DEALER_MODELS),
}


def _labels_of(entries: Iterable[str]) -> set[str]:
    """App labels of settings entries given as module paths or AppConfig paths."""
    entries = set(entries)
    labels = set()
    for config in global_apps.get_app_configs():
        config_path = f"{type(config).__module__}.{type(config).__qualname__}"
        if config.name in entries or config_path in entries:
            labels.add(config.label)
    return labels


def tenant_app_labels() -> set[str]:
    return _labels_of(settings.TENANT_APPS)


def industry_app_labels() -> set[str]:
    from plugins.manager import plugin_django_apps

    return _labels_of(plugin_django_apps())


def _expand(app: str) -> set[str]:
    if app == TENANT_APPS:
        return tenant_app_labels()
    if app == INDUSTRY_APPS:
        return industry_app_labels()
    return {app}


def granted(role: str) -> set[tuple[str, str, str]]:
    """``(app_label, model, action)`` rules of ``role``; ``model`` may be ``*``."""
    rules = set()
    for app, model, actions in ROLE_PERMISSIONS.get(role, ()):
        for label in _expand(app):
            rules.update((label, model, action) for action in actions)
    return rules


def _action(codename: str, model: str) -> str | None:
    """``view`` for ``view_product``; ``None`` for a custom permission."""
    action, _, rest = codename.partition("_")
    return action if rest == model and action in EVERYTHING else None


def sync_role_groups(*, using: str = DEFAULT_DB_ALIAS) -> dict[str, object]:
    """Create the role groups of the current schema where missing and give each
    exactly the permissions of :data:`ROLE_PERMISSIONS`. Returns the groups by role."""
    from django.contrib.auth.models import Group, Permission

    tenant_labels = tenant_app_labels()
    permissions = list(
        Permission.objects.using(using)
        .filter(content_type__app_label__in=tenant_labels)
        .values_list("pk", "codename", "content_type__app_label", "content_type__model")
    )
    groups = {}
    for role, name in GROUP_NAMES.items():
        rules = granted(role)
        wanted = set()
        for pk, codename, label, model in permissions:
            action = _action(codename, model)
            if role == Role.TENANT_ADMIN and label in tenant_labels:
                wanted.add(pk)  # custom permissions included
            elif action and (
                (label, model, action) in rules or (label, ANY_MODEL, action) in rules
            ):
                wanted.add(pk)
        group, _ = Group.objects.using(using).get_or_create(name=name)
        through = Group.permissions.through.objects.using(using)
        current = set(through.filter(group_id=group.pk).values_list("permission_id", flat=True))
        if current - wanted:
            through.filter(group_id=group.pk, permission_id__in=current - wanted).delete()
        if wanted - current:
            through.bulk_create(
                [
                    Group.permissions.through(group_id=group.pk, permission_id=pk)
                    for pk in wanted - current
                ]
            )
        groups[role] = group
    return groups


def role_group(role: str, *, using: str = DEFAULT_DB_ALIAS):
    """The group of ``role`` in the current schema (made now if missing), or
    ``None`` for roles without console access."""
    from django.contrib.auth.models import Group

    name = GROUP_NAMES.get(role)
    if name is None:
        return None
    group = Group.objects.using(using).filter(name=name).first()
    if group is None:
        group = sync_role_groups(using=using)[role]
    return group


def apply_role_flags(user: User) -> None:
    """Set the console flags that follow from the role (before saving the user)."""
    user.is_staff = user.role in CONSOLE_ROLES
    user.is_superuser = user.role == Role.TENANT_ADMIN


def assign_role_group(user: User, *, created: bool = False) -> None:
    """Put a saved ``user`` in its role's group and out of the other role groups;
    groups a tenant made itself are left alone."""
    from django.contrib.auth.models import Group

    group = role_group(user.role)
    if not created:
        others = [name for role, name in GROUP_NAMES.items() if role != user.role]
        Group.user_set.through.objects.filter(user_id=user.pk, group__name__in=others).delete()
    if group is not None:
        user.groups.add(group)


def on_post_migrate(sender, app_config=None, using=DEFAULT_DB_ALIAS, **kwargs) -> None:
    """After ``migrate`` in a tenant schema (the template included): bring the
    role groups to :data:`ROLE_PERMISSIONS`.

    ``post_migrate`` is sent once per app, after each app's permissions are
    created; the groups are synced once, for the last app, when every
    permission exists."""
    from django_tenants.utils import get_public_schema_name

    connection = connections[using]
    if getattr(connection, "schema_name", None) in (None, get_public_schema_name()):
        return
    with_models = [c for c in global_apps.get_app_configs() if c.models_module is not None]
    if not with_models or app_config is not with_models[-1]:
        return
    sync_role_groups(using=using)
